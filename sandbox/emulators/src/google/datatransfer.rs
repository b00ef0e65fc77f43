//! Data Transfer API (`/admin/datatransfer/v1`): move a leaver's Drive and
//! Calendar data to another user. Transfers run asynchronously:
//! `overallTransferStatusCode` goes `new` → `inProgress` → `completed` as
//! the transfer is read back (one step per read) or time passes (one step
//! per `GoogleConfig::async_step`), and the data moves on completion. With
//! long operations configured, a transfer stays `inProgress` until exactly
//! that long after it was requested, however often it is read.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{Map, Value, json};

use crate::common::clock;
use crate::google::errors::GoogleError;
use crate::google::model::{APP_CALENDAR, APP_DRIVE, AppTransfer, TransferStatus, content_etag};
use crate::google::query::{Query, json_object, list_response, page};
use crate::google::service::AppState;
use crate::google::state::{Caller, GoogleState};

type ApiResult = Result<Response, GoogleError>;

/// The applications the customer can transfer data for, with their
/// parameters and allowed values.
const APPLICATIONS: [(&str, &str, &str, &[&str]); 2] = [
    (
        APP_DRIVE,
        "Drive and Docs",
        "PRIVACY_LEVEL",
        &["PRIVATE", "SHARED"],
    ),
    (APP_CALENDAR, "Calendar", "RELEASE_RESOURCES", &["TRUE"]),
];

pub(crate) fn routes() -> Router<AppState> {
    let t = "/admin/datatransfer/v1";
    Router::new()
        .route(
            &format!("{t}/transfers"),
            get(list_transfers).post(insert_transfer),
        )
        .route(
            &format!("{t}/transfers/{{dataTransferId}}"),
            get(get_transfer),
        )
        .route(&format!("{t}/applications"), get(list_applications))
        .route(
            &format!("{t}/applications/{{applicationId}}"),
            get(get_application),
        )
}

fn render_application(index: usize) -> Value {
    let (id, name, key, values) = APPLICATIONS[index];
    json!({
        "kind": "admin#datatransfer#ApplicationResource",
        "etag": content_etag(&format!("application/{id}")),
        "id": id,
        "name": name,
        "transferParams": [{ "key": key, "value": values }],
    })
}

fn render_transfer(state: &GoogleState, transfer: usize) -> Value {
    let t = &state.transfers[transfer];
    let apps: Vec<Value> = t
        .apps
        .iter()
        .map(|a| {
            let mut app = Map::new();
            app.insert("applicationId".into(), json!(a.application_id));
            if !a.params.is_empty() {
                let params: Vec<Value> = a
                    .params
                    .iter()
                    .map(|(k, v)| json!({ "key": k, "value": v }))
                    .collect();
                app.insert("applicationTransferParams".into(), Value::Array(params));
            }
            app.insert("applicationTransferStatus".into(), json!(t.status.as_str()));
            Value::Object(app)
        })
        .collect();
    json!({
        "kind": "admin#datatransfer#DataTransfer",
        "etag": t.etag,
        "id": t.id,
        "oldOwnerUserId": state.users[t.old_owner].id,
        "newOwnerUserId": state.users[t.new_owner].id,
        "applicationDataTransfers": apps,
        "overallTransferStatusCode": t.status.as_str(),
        "requestTime": clock::format_millis(t.request_time),
    })
}

/// `applications.list` (`maxResults` ≤ 500).
async fn list_applications(RawQuery(raw): RawQuery) -> ApiResult {
    let query = Query::parse(raw);
    let max = query.max_results(500, 500, false)?;
    let keyed: Vec<(u64, usize)> = (0..APPLICATIONS.len())
        .map(|i| (u64::try_from(i).unwrap_or(0), i))
        .collect();
    let (items, next) = page(&keyed, query.get("pageToken"), "applications", max)?;
    let items = items.into_iter().map(render_application).collect();
    Ok(Json(list_response(
        "admin#datatransfer#applicationsList",
        "applications",
        items,
        next,
    ))
    .into_response())
}

/// `applications.get`.
async fn get_application(Path(id): Path<String>) -> ApiResult {
    let index = APPLICATIONS
        .iter()
        .position(|(app, ..)| *app == id)
        .ok_or_else(|| GoogleError::not_found("applicationId"))?;
    Ok(Json(render_application(index)).into_response())
}

/// A user by numeric id only: the API takes ids, not addresses.
fn owner(
    state: &GoogleState,
    body: &Map<String, Value>,
    field: &str,
) -> Result<usize, GoogleError> {
    let id = match body.get(field) {
        Some(Value::String(id)) => id.as_str(),
        _ => return Err(GoogleError::invalid_input(field)),
    };
    state
        .users
        .iter()
        .position(|u| u.id == id)
        .ok_or_else(|| GoogleError::invalid_input(field))
}

fn parse_apps(body: &Map<String, Value>) -> Result<Vec<AppTransfer>, GoogleError> {
    let Some(Value::Array(items)) = body.get("applicationDataTransfers") else {
        return Err(GoogleError::invalid_input("applicationDataTransfers"));
    };
    if items.is_empty() {
        return Err(GoogleError::invalid_input("applicationDataTransfers"));
    }
    let mut apps = Vec::new();
    for item in items {
        let id = match item.get("applicationId") {
            Some(Value::String(id)) => id.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(GoogleError::invalid_input("applicationId")),
        };
        let (_, _, key, allowed) = APPLICATIONS
            .iter()
            .find(|(app, ..)| *app == id)
            .ok_or_else(|| GoogleError::invalid_input("applicationId"))?;
        let mut params = Vec::new();
        match item.get("applicationTransferParams") {
            None | Some(Value::Null) => {}
            Some(Value::Array(raw)) => {
                for param in raw {
                    let name = param.get("key").and_then(Value::as_str);
                    let values: Option<Vec<String>> =
                        param.get("value").and_then(Value::as_array).map(|v| {
                            v.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_owned)
                                .collect()
                        });
                    match (name, values) {
                        (Some(name), Some(values))
                            if name == *key
                                && values
                                    .iter()
                                    .all(|v| allowed.iter().any(|a| a.eq_ignore_ascii_case(v))) =>
                        {
                            params.push((name.to_owned(), values));
                        }
                        _ => return Err(GoogleError::invalid_input("applicationTransferParams")),
                    }
                }
            }
            Some(_) => return Err(GoogleError::invalid_input("applicationTransferParams")),
        }
        apps.push(AppTransfer {
            application_id: id,
            params,
        });
    }
    Ok(apps)
}

/// `transfers.insert`: 200 with the new transfer (`new`). Not idempotent:
/// every insert starts another transfer, so clients look for an existing
/// one with `transfers.list?oldOwnerUserId=…` first.
async fn insert_transfer(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult {
    let body = json_object(&body)?;
    let mut state = app.domain();
    let old_owner = owner(&state, &body, "oldOwnerUserId")?;
    let new_owner = owner(&state, &body, "newOwnerUserId")?;
    if old_owner == new_owner {
        return Err(GoogleError::invalid_input("newOwnerUserId"));
    }
    if state.users[new_owner].suspended || state.users[new_owner].archived {
        return Err(GoogleError::invalid_input("newOwnerUserId"));
    }
    let apps = parse_apps(&body)?;
    let transfer = state.insert_transfer(old_owner, new_owner, apps, &caller);
    Ok(Json(render_transfer(&state, transfer)).into_response())
}

/// `transfers.get`: each read moves the transfer one step forward.
async fn get_transfer(State(app): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let mut state = app.domain();
    let transfer = state
        .find_transfer(&id)
        .ok_or_else(|| GoogleError::not_found("dataTransferId"))?;
    state.advance_transfer(transfer, true);
    Ok(Json(render_transfer(&state, transfer)).into_response())
}

/// `transfers.list` (`oldOwnerUserId`, `newOwnerUserId`, `status`,
/// `maxResults` ≤ 500, `pageToken`).
async fn list_transfers(State(app): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult {
    let query = Query::parse(raw);
    let max = query.max_results(500, 500, false)?;
    let old_owner = query.get("oldOwnerUserId").map(str::to_owned);
    let new_owner = query.get("newOwnerUserId").map(str::to_owned);
    let status = query.get("status").map(str::to_owned);
    if let Some(s) = &status
        && ![
            TransferStatus::New,
            TransferStatus::InProgress,
            TransferStatus::Completed,
        ]
        .iter()
        .any(|t| t.as_str() == s)
        && s != "failed"
    {
        return Err(GoogleError::invalid_input("status"));
    }
    let mut state = app.domain();
    if let Some(customer) = query.get("customerId")
        && !state.is_customer(customer)
    {
        return Err(GoogleError::not_authorized());
    }
    let candidates: Vec<usize> = (0..state.transfers.len())
        .filter(|&t| {
            let tr = &state.transfers[t];
            old_owner
                .as_deref()
                .is_none_or(|id| state.users[tr.old_owner].id == id)
                && new_owner
                    .as_deref()
                    .is_none_or(|id| state.users[tr.new_owner].id == id)
        })
        .collect();
    for &t in &candidates {
        state.advance_transfer(t, true);
    }
    let keyed: Vec<(u64, usize)> = candidates
        .into_iter()
        .filter(|&t| {
            status
                .as_deref()
                .is_none_or(|s| state.transfers[t].status.as_str() == s)
        })
        .map(|t| (state.transfers[t].seq, t))
        .collect();
    let context = format!(
        "transfers/{}/{}/{}",
        old_owner.as_deref().unwrap_or("*"),
        new_owner.as_deref().unwrap_or("*"),
        status.as_deref().unwrap_or("*")
    );
    let (items, next) = page(&keyed, query.get("pageToken"), &context, max)?;
    let items = items
        .into_iter()
        .map(|t| render_transfer(&state, t))
        .collect();
    Ok(Json(list_response(
        "admin#datatransfer#dataTransfersList",
        "dataTransfers",
        items,
        next,
    ))
    .into_response())
}
