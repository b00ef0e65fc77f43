//! API v2 (`/api/v2/…`): the graph (a user's groups and systems, a group's
//! members and membership changes), user groups, and Apple MDM devices with
//! their lock and erase commands.
//!
//! Lists are bare JSON arrays paged with `limit` (default 10, at most 100)
//! and `skip`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::Value;

use crate::jumpcloud::errors::{ApiFamily, JcError};
use crate::jumpcloud::gate::Caller;
use crate::jumpcloud::model::CommandKind;
use crate::jumpcloud::query::{self, DEFAULT_LIMIT, Params};
use crate::jumpcloud::render;
use crate::jumpcloud::service::{AppState, json_body, org_of};

type ApiResult = Result<Response, JcError>;

const F: ApiFamily = ApiFamily::V2;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v2/users/{id}/memberof", get(member_of))
        .route("/api/v2/users/{id}/systems", get(user_systems))
        .route(
            "/api/v2/users/{id}/associations",
            get(user_associations).post(change_user_associations),
        )
        .route("/api/v2/usergroups", get(list_groups))
        .route("/api/v2/usergroups/{id}", get(get_group))
        .route(
            "/api/v2/usergroups/{id}/members",
            get(list_members).post(change_members),
        )
        .route("/api/v2/applemdms", get(list_mdms))
        .route("/api/v2/applemdms/{id}/devices", get(list_devices))
        .route(
            "/api/v2/applemdms/{id}/devices/{device_id}",
            get(get_device),
        )
        .route(
            "/api/v2/applemdms/{id}/devices/{device_id}/lock",
            post(lock_device),
        )
        .route(
            "/api/v2/applemdms/{id}/devices/{device_id}/erase",
            post(erase_device),
        )
}

/// Filters (`field:op:value`), sorts and pages rendered items. `aliases`
/// maps documented filter fields onto rendered ones (`object_id` → `id`).
fn page(
    p: &Params,
    mut items: Vec<Value>,
    default_limit: usize,
    aliases: &[(&str, &str)],
) -> Result<Response, JcError> {
    let limit = p.limit(F, default_limit)?;
    let skip = p.skip(F)?;
    let mut filter = p.v2_filter()?;
    for cond in &mut filter.all {
        if let Some((_, to)) = aliases.iter().find(|(from, _)| *from == cond.field) {
            cond.field = (*to).to_owned();
        }
    }
    items.retain(|v| filter.matches(v));
    query::sort(&mut items, &p.sort(), "id");
    Ok(Json(query::page(items, skip, limit)).into_response())
}

// ----- graph ----------------------------------------------------------------

async fn member_of(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let p = Params::parse(raw);
    let state = app.tenant();
    let org = &state.orgs[org_of(&state, &caller)];
    org.user_by_id(&id).ok_or_else(|| JcError::not_found(F))?;
    let items = org
        .groups_of(&id)
        .into_iter()
        .map(|g| render::member_of(&org.groups[g]))
        .collect();
    page(&p, items, DEFAULT_LIMIT, &[("object_id", "id")])
}

async fn user_systems(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let p = Params::parse(raw);
    let state = app.tenant();
    let org = &state.orgs[org_of(&state, &caller)];
    org.user_by_id(&id).ok_or_else(|| JcError::not_found(F))?;
    let items = org
        .systems_of(&id)
        .into_iter()
        .map(|(s, sudo)| render::bound_system(&org.systems[s], sudo))
        .collect();
    page(&p, items, DEFAULT_LIMIT, &[("object_id", "id")])
}

/// `UserAssociation_Get`: the user's _direct_ associations of the `targets` type (required).
/// Only `system` is emulated; another target answers an empty list, as a user with none.
async fn user_associations(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let p = Params::parse(raw);
    let targets = p
        .get("targets")
        .ok_or_else(|| JcError::bad_request(F, "targets is required"))?;
    let state = app.tenant();
    let org = &state.orgs[org_of(&state, &caller)];
    org.user_by_id(&id).ok_or_else(|| JcError::not_found(F))?;
    let items = if targets == "system" {
        org.systems_of(&id)
            .into_iter()
            .map(|(s, sudo)| render::system_association(&org.systems[s], sudo))
            .collect()
    } else {
        Vec::new()
    };
    page(&p, items, DEFAULT_LIMIT, &[])
}

/// `UserAssociation_Set` for systems: 204.
async fn change_user_associations(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body = json_body(F, &body)?;
    let mut state = app.tenant();
    let o = org_of(&state, &caller);
    state.user_system_op(o, &id, &body)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ----- user groups ------------------------------------------------------------

async fn list_groups(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let p = Params::parse(raw);
    let state = app.tenant();
    let org = &state.orgs[org_of(&state, &caller)];
    let items = org
        .groups
        .iter()
        .map(|g| render::group(&org.id, g))
        .collect();
    page(&p, items, DEFAULT_LIMIT, &[])
}

async fn get_group(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult {
    let state = app.tenant();
    let org = &state.orgs[org_of(&state, &caller)];
    let g = org.group_by_id(&id).ok_or_else(|| JcError::not_found(F))?;
    Ok(Json(render::group(&org.id, &org.groups[g])).into_response())
}

async fn list_members(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let p = Params::parse(raw);
    let state = app.tenant();
    let org = &state.orgs[org_of(&state, &caller)];
    let g = org.group_by_id(&id).ok_or_else(|| JcError::not_found(F))?;
    let limit = p.limit(F, DEFAULT_LIMIT)?;
    let skip = p.skip(F)?;
    let items = org.groups[g]
        .members
        .iter()
        .map(|m| render::member(m))
        .collect();
    Ok(Json(query::page(items, skip, limit)).into_response())
}

/// `{"op": "add"|"remove"|"update", "type": "user", "id": "…"}` → 204.
/// Removing a non-member is a 404 and adding a member again a 409 (the
/// behaviour ConductorOne/baton-jumpcloud relies on).
async fn change_members(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body = json_body(F, &body)?;
    let mut state = app.tenant();
    let o = org_of(&state, &caller);
    state.member_op(o, &id, &body, &caller.origin)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ----- Apple MDM ----------------------------------------------------------------

async fn list_mdms(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let p = Params::parse(raw);
    let state = app.tenant();
    let org = &state.orgs[org_of(&state, &caller)];
    let items = org
        .mdm
        .iter()
        .map(|m| render::apple_mdm(&org.id, m))
        .collect();
    // `trait:limitDefault1`: this list defaults to one item.
    page(&p, items, 1, &[])
}

async fn list_devices(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let p = Params::parse(raw);
    let state = app.tenant();
    let org = &state.orgs[org_of(&state, &caller)];
    if org.mdm.as_ref().is_none_or(|m| m.id != id) {
        return Err(JcError::not_found(F));
    }
    let items = (0..org.devices.len())
        .filter_map(|d| {
            org.system_of_device(d)
                .map(|s| render::device(&org.devices[d], s))
        })
        .collect();
    page(&p, items, DEFAULT_LIMIT, &[])
}

async fn get_device(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, device_id)): Path<(String, String)>,
) -> ApiResult {
    let state = app.tenant();
    let org = &state.orgs[org_of(&state, &caller)];
    if org.mdm.as_ref().is_none_or(|m| m.id != id) {
        return Err(JcError::not_found(F));
    }
    let d = org
        .device_by_id(&device_id)
        .ok_or_else(|| JcError::not_found(F))?;
    let s = org
        .system_of_device(d)
        .ok_or_else(|| JcError::not_found(F))?;
    Ok(Json(render::device(&org.devices[d], s)).into_response())
}

async fn lock_device(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, device_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    mdm_command(&app, &caller, &id, &device_id, &body, CommandKind::Lock)
}

async fn erase_device(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, device_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    mdm_command(&app, &caller, &id, &device_id, &body, CommandKind::Erase)
}

/// 204; `{"pin": "123456"}` (six digits) is required for macOS.
fn mdm_command(
    app: &AppState,
    caller: &Caller,
    mdm_id: &str,
    device_id: &str,
    body: &Bytes,
    kind: CommandKind,
) -> ApiResult {
    let body = json_body(F, body)?;
    let mut state = app.tenant();
    let o = org_of(&state, caller);
    state.mdm_command(o, mdm_id, device_id, kind, &body, &caller.origin)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
