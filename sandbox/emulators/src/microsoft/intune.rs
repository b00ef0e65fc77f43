//! Intune managed devices on Graph: listing (tenant-wide with `$filter`, or
//! per user), reading one device with its `deviceActionResults`, and the
//! `retire`, `wipe` and `remoteLock` actions (204).
//!
//! An issued action reads `pending` until the device "checks in": after
//! the configured delay, or on the read after the first one that showed it
//! pending, whichever comes first; then `done`.

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::Value;

use crate::microsoft::errors::GraphError;
use crate::microsoft::gate::{Caller, RequestCtx};
use crate::microsoft::model::DeviceAction;
use crate::microsoft::odata::{Clause, Query, parse_filter};
use crate::microsoft::render;
use crate::microsoft::routes::{ApiResult, collection, entity, perms, resolve_user};
use crate::microsoft::service::AppState;

const FE_URL: &str = "https://fef.msub05.manage.microsoft.com/DeviceFE/StatelessDeviceFEService";

fn intune_url(path: &str) -> String {
    format!("{FE_URL}/{path}?api-version=2024-09-12")
}

fn need_intune(caller: &Caller, roles: &[&str], path: &str) -> Result<(), GraphError> {
    if caller.has_any(roles) {
        return Ok(());
    }
    Err(GraphError::intune(
        StatusCode::FORBIDDEN,
        "Forbidden",
        &format!(
            "Application is not authorized to perform this operation. Application must have one of the following scopes: {}",
            roles.join(", ")
        ),
        intune_url(path),
    ))
}

fn device_not_found(id: &str) -> GraphError {
    GraphError::intune(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        &format!(
            "Resource not found for the segment 'managedDevices'. ManagedDevice with id '{id}' was not found."
        ),
        intune_url(&format!("deviceManagement/managedDevices('{id}')")),
    )
}

fn parse_action(raw: &str) -> Result<DeviceAction, GraphError> {
    match raw.strip_prefix("microsoft.graph.").unwrap_or(raw) {
        "wipe" => Ok(DeviceAction::Wipe),
        "retire" => Ok(DeviceAction::Retire),
        "remoteLock" => Ok(DeviceAction::RemoteLock),
        _ => Err(GraphError::unknown_segment(raw)),
    }
}

/// `wipe` takes optional flags; others take no body.
fn check_body(action: DeviceAction, body: &[u8], path: &str) -> Result<(), GraphError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let bad = |msg: &str| {
        GraphError::intune(StatusCode::BAD_REQUEST, "BadRequest", msg, intune_url(path))
    };
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return Err(bad("The request body is not a valid JSON object."));
    };
    for (key, value) in &map {
        let ok = match (action, key.as_str()) {
            (DeviceAction::Wipe, "keepEnrollmentData" | "keepUserData" | "persistEsimDataPlan") => {
                value.is_boolean() || value.is_null()
            }
            (DeviceAction::Wipe, "macOsUnlockCode") => value.is_string() || value.is_null(),
            _ => false,
        };
        if !ok {
            return Err(bad(&format!(
                "The parameter '{key}' is not valid for this action."
            )));
        }
    }
    Ok(())
}

/// Filters `/deviceManagement/managedDevices` supports (`eq`, case-insensitive).
const FILTERABLE: &[&str] = &[
    "userPrincipalName",
    "userId",
    "deviceName",
    "operatingSystem",
    "id",
    "azureADDeviceId",
];

pub(crate) async fn list_devices(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    OriginalUri(uri): OriginalUri,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    need_intune(
        &caller,
        perms::DEVICES_READ,
        "deviceManagement/managedDevices",
    )?;
    let q = Query::parse(raw);
    let clauses = match q.get("$filter") {
        Some(f) => parse_filter(f)?,
        None => Vec::new(),
    };
    for clause in &clauses {
        let ok = matches!(clause, Clause::Eq(p, _) if FILTERABLE.iter().any(|f| f.eq_ignore_ascii_case(p)));
        if !ok {
            return Err(GraphError::intune(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Invalid filter clause",
                intune_url("deviceManagement/managedDevices"),
            ));
        }
    }
    list(app, &q, uri.path(), None, &clauses)
}

pub(crate) async fn list_user_devices(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    need_intune(&caller, perms::DEVICES_READ, "users/managedDevices")?;
    let q = Query::parse(raw);
    let user = resolve_user(&app.tenant(), &id)?;
    list(app, &q, uri.path(), Some(user), &[])
}

fn list(
    app: AppState,
    q: &Query,
    path: &str,
    owner: Option<usize>,
    clauses: &[Clause],
) -> ApiResult {
    let select = q.select();
    let props = render::device_select(&select)?;
    let top = q.top(999)?;
    let after = q.skiptoken()?.unwrap_or(0);
    let delay = app.shared.device_action_delay;
    let mut state = app.tenant();
    let matching: Vec<usize> = (0..state.devices.len())
        .filter(|&i| owner.is_none_or(|u| state.devices[i].user == u))
        .filter(|&i| {
            let d = &state.devices[i];
            let owner = &state.users[d.user];
            clauses.iter().all(|c| match c {
                Clause::Eq(p, v) => {
                    let value = match p.to_ascii_lowercase().as_str() {
                        "userprincipalname" => owner.upn.clone(),
                        "userid" => owner.id.clone(),
                        "devicename" => d.name.clone(),
                        "operatingsystem" => d.operating_system.clone(),
                        "azureaddeviceid" => d.azure_ad_device_id.clone(),
                        _ => d.id.clone(),
                    };
                    value.eq_ignore_ascii_case(v)
                }
                _ => false,
            })
        })
        .filter(|&i| i as u64 + 1 > after)
        .collect();
    let page: Vec<usize> = matching.iter().copied().take(top).collect();
    for &i in &page {
        state.observe_device(i, delay);
    }
    let next = (matching.len() > page.len())
        .then(|| {
            page.last()
                .map(|&i| q.next_link(&app.shared.base_url, path, i as u64 + 1))
        })
        .flatten();
    let value = page
        .iter()
        .map(|&i| Value::Object(render::device(&state, &state.devices[i], &props)))
        .collect();
    let context = match owner {
        Some(u) => format!(
            "{}/v1.0/$metadata#users('{}')/managedDevices",
            app.shared.base_url, state.users[u].id
        ),
        None => format!(
            "{}/v1.0/$metadata#deviceManagement/managedDevices",
            app.shared.base_url
        ),
    };
    Ok(collection(context, next, value))
}

pub(crate) async fn get_device(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    need_intune(
        &caller,
        perms::DEVICES_READ,
        &format!("deviceManagement/managedDevices('{id}')"),
    )?;
    one(app, &id, None, raw)
}

pub(crate) async fn get_user_device(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((user_id, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    need_intune(
        &caller,
        perms::DEVICES_READ,
        &format!("users/managedDevices('{id}')"),
    )?;
    let user = resolve_user(&app.tenant(), &user_id)?;
    one(app, &id, Some(user), raw)
}

fn one(app: AppState, id: &str, owner: Option<usize>, raw: Option<String>) -> ApiResult {
    let q = Query::parse(raw);
    let select = q.select();
    let props = render::device_select(&select)?;
    let delay = app.shared.device_action_delay;
    let mut state = app.tenant();
    let device = state
        .find_device(id)
        .filter(|&d| owner.is_none_or(|u| state.devices[d].user == u))
        .ok_or_else(|| device_not_found(id))?;
    state.observe_device(device, delay);
    let body = entity(
        render::entity_context(
            &app.shared.base_url,
            "deviceManagement/managedDevices",
            &select,
        ),
        render::device(&state, &state.devices[device], &props),
    );
    Ok(Json(Value::Object(body)).into_response())
}

pub(crate) async fn device_action(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(ctx): Extension<RequestCtx>,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    act(app, caller, ctx, &id, None, &action, &body)
}

pub(crate) async fn user_device_action(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(ctx): Extension<RequestCtx>,
    Path((user_id, id, action)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let user = resolve_user(&app.tenant(), &user_id)?;
    act(app, caller, ctx, &id, Some(user), &action, &body)
}

fn act(
    app: AppState,
    caller: Caller,
    ctx: RequestCtx,
    id: &str,
    owner: Option<usize>,
    action: &str,
    body: &[u8],
) -> Result<Response, GraphError> {
    let action = parse_action(action)?;
    let path = format!(
        "deviceManagement/managedDevices('{id}')/microsoft.management.services.api.{}",
        action.action_name()
    );
    need_intune(&caller, perms::DEVICES_ACT, &path)?;
    check_body(action, body, &path)?;
    let mut state = app.tenant();
    let device = state
        .find_device(id)
        .filter(|&d| owner.is_none_or(|u| state.devices[d].user == u))
        .ok_or_else(|| device_not_found(id))?;
    state.issue_device_action(device, action, &caller.actor(&ctx));
    Ok(StatusCode::NO_CONTENT.into_response())
}
