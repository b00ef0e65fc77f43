//! Gmail API settings (`/gmail/v1/users/{userId}/settings/…`): delegates,
//! forwarding addresses, auto-forwarding and the vacation responder.
//!
//! Every call must be made as the mailbox owner: `userId` is `me` or the
//! impersonated user's own address, otherwise 403 "Delegation denied".
//! A token minted without `sub` has no mailbox (400 `failedPrecondition`),
//! a user without a Workspace licence has no Gmail service (400
//! `failedPrecondition` "Mail service not enabled"), and a suspended
//! user's token stops working altogether (401) — which is why delegation,
//! forwarding and the vacation reply must be set before suspension.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{Map, Value, json};

use crate::google::errors::GoogleError;
use crate::google::model::{AutoForwarding, Vacation};
use crate::google::query::{json_object, put_list, string_field};
use crate::google::service::AppState;
use crate::google::state::{Caller, GoogleState};

type ApiResult = Result<Response, GoogleError>;

pub(crate) fn routes() -> Router<AppState> {
    let s = "/gmail/v1/users/{userId}/settings";
    Router::new()
        .route(
            &format!("{s}/delegates"),
            get(list_delegates).post(create_delegate),
        )
        .route(
            &format!("{s}/delegates/{{delegateEmail}}"),
            get(get_delegate).delete(delete_delegate),
        )
        .route(
            &format!("{s}/forwardingAddresses"),
            get(list_forwarding).post(create_forwarding),
        )
        .route(
            &format!("{s}/forwardingAddresses/{{forwardingEmail}}"),
            get(get_forwarding).delete(delete_forwarding),
        )
        .route(
            &format!("{s}/autoForwarding"),
            get(get_auto_forwarding).put(update_auto_forwarding),
        )
        .route(
            &format!("{s}/vacation"),
            get(get_vacation).put(update_vacation),
        )
}

/// The mailbox a call addresses, checked against the caller.
fn mailbox(state: &GoogleState, caller: &Caller, user_id: &str) -> Result<usize, GoogleError> {
    let Some(subject) = caller.subject else {
        return Err(GoogleError::failed_precondition(
            "Precondition check failed.",
        ));
    };
    if user_id != "me" && state.find_user(user_id) != Some(subject) {
        return Err(GoogleError::delegation_denied(&caller.actor));
    }
    if !state.users[subject].has_mailbox() {
        return Err(GoogleError::failed_precondition("Mail service not enabled"));
    }
    Ok(subject)
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

fn delegate_json(email: &str, status: &str) -> Value {
    json!({ "delegateEmail": email, "verificationStatus": status })
}

fn forwarding_json(email: &str, status: &str) -> Value {
    json!({ "forwardingEmail": email, "verificationStatus": status })
}

// ----- delegates -------------------------------------------------------------

async fn list_delegates(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(user_id): Path<String>,
) -> ApiResult {
    let state = app.domain();
    let owner = mailbox(&state, &caller, &user_id)?;
    let items = state.users[owner]
        .mail
        .delegates
        .iter()
        .map(|d| delegate_json(&d.email, &d.verification_status))
        .collect();
    let mut out = Map::new();
    put_list(&mut out, "delegates", items);
    Ok(Json(Value::Object(out)).into_response())
}

/// `delegates.create`: the delegate must be the primary address of an
/// active user of the same organisation; created directly as `accepted`.
async fn create_delegate(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(user_id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body = json_object(&body)?;
    let email = string_field(&body, "delegateEmail")?
        .filter(|e| !e.trim().is_empty())
        .ok_or_else(|| GoogleError::invalid_argument("Invalid delegate"))?;
    let mut state = app.domain();
    let owner = mailbox(&state, &caller, &user_id)?;
    state.add_delegate(owner, email.trim(), &caller)?;
    let added = state.users[owner]
        .mail
        .delegates
        .last()
        .map(|d| delegate_json(&d.email, &d.verification_status))
        .unwrap_or(Value::Null);
    Ok(Json(added).into_response())
}

async fn get_delegate(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((user_id, email)): Path<(String, String)>,
) -> ApiResult {
    let state = app.domain();
    let owner = mailbox(&state, &caller, &user_id)?;
    let delegate = state.users[owner]
        .mail
        .delegates
        .iter()
        .find(|d| d.email.eq_ignore_ascii_case(&email))
        .ok_or_else(GoogleError::entity_not_found)?;
    Ok(Json(delegate_json(
        &delegate.email,
        &delegate.verification_status,
    ))
    .into_response())
}

async fn delete_delegate(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((user_id, email)): Path<(String, String)>,
) -> ApiResult {
    let mut state = app.domain();
    let owner = mailbox(&state, &caller, &user_id)?;
    state.remove_delegate(owner, &email, &caller)?;
    Ok(no_content())
}

// ----- forwarding addresses --------------------------------------------------

async fn list_forwarding(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(user_id): Path<String>,
) -> ApiResult {
    let state = app.domain();
    let owner = mailbox(&state, &caller, &user_id)?;
    let items = state.users[owner]
        .mail
        .forwarding_addresses
        .iter()
        .map(|f| forwarding_json(&f.email, &f.verification_status))
        .collect();
    let mut out = Map::new();
    put_list(&mut out, "forwardingAddresses", items);
    Ok(Json(Value::Object(out)).into_response())
}

/// `forwardingAddresses.create`: `accepted` for addresses in the domain,
/// `pending` (a confirmation mail goes out) for others.
async fn create_forwarding(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(user_id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body = json_object(&body)?;
    let email = string_field(&body, "forwardingEmail")?
        .filter(|e| e.contains('@'))
        .ok_or_else(|| GoogleError::invalid_argument("Invalid forwarding address"))?;
    let mut state = app.domain();
    let owner = mailbox(&state, &caller, &user_id)?;
    state.add_forwarding_address(owner, &email, &caller)?;
    let added = state.users[owner]
        .mail
        .forwarding_addresses
        .last()
        .map(|f| forwarding_json(&f.email, &f.verification_status))
        .unwrap_or(Value::Null);
    Ok(Json(added).into_response())
}

async fn get_forwarding(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((user_id, email)): Path<(String, String)>,
) -> ApiResult {
    let state = app.domain();
    let owner = mailbox(&state, &caller, &user_id)?;
    let found = state.users[owner]
        .mail
        .forwarding_addresses
        .iter()
        .find(|f| f.email.eq_ignore_ascii_case(&email))
        .ok_or_else(GoogleError::entity_not_found)?;
    Ok(Json(forwarding_json(&found.email, &found.verification_status)).into_response())
}

async fn delete_forwarding(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((user_id, email)): Path<(String, String)>,
) -> ApiResult {
    let mut state = app.domain();
    let owner = mailbox(&state, &caller, &user_id)?;
    state.remove_forwarding_address(owner, &email, &caller)?;
    Ok(no_content())
}

// ----- auto-forwarding -------------------------------------------------------

const DISPOSITIONS: [&str; 4] = ["leaveInInbox", "archive", "trash", "markRead"];

fn render_auto_forwarding(settings: &AutoForwarding) -> Value {
    let mut out = Map::new();
    out.insert("enabled".into(), json!(settings.enabled));
    if let Some(address) = &settings.email_address {
        out.insert("emailAddress".into(), json!(address));
    }
    if let Some(disposition) = &settings.disposition {
        out.insert("disposition".into(), json!(disposition));
    }
    Value::Object(out)
}

async fn get_auto_forwarding(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(user_id): Path<String>,
) -> ApiResult {
    let state = app.domain();
    let owner = mailbox(&state, &caller, &user_id)?;
    Ok(Json(render_auto_forwarding(
        &state.users[owner].mail.auto_forwarding,
    ))
    .into_response())
}

/// `updateAutoForwarding` (PUT, full replacement). Enabling needs an
/// `accepted` forwarding address; idempotent.
async fn update_auto_forwarding(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(user_id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body = json_object(&body)?;
    let enabled = match body.get("enabled") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(GoogleError::invalid_argument("Invalid value at 'enabled'")),
    };
    let email_address = string_field(&body, "emailAddress")?;
    let disposition = match string_field(&body, "disposition")? {
        None if enabled => Some("leaveInInbox".to_owned()),
        None => None,
        Some(d) if DISPOSITIONS.contains(&d.as_str()) => Some(d),
        Some(d) => {
            return Err(GoogleError::invalid_argument(&format!(
                "Invalid value at 'disposition' ({d})"
            )));
        }
    };
    let settings = AutoForwarding {
        enabled,
        email_address: email_address.map(|a| a.to_ascii_lowercase()),
        disposition,
    };
    let mut state = app.domain();
    let owner = mailbox(&state, &caller, &user_id)?;
    state.set_auto_forwarding(owner, settings, &caller)?;
    Ok(Json(render_auto_forwarding(
        &state.users[owner].mail.auto_forwarding,
    ))
    .into_response())
}

// ----- vacation --------------------------------------------------------------

fn render_vacation(v: &Vacation) -> Value {
    let mut out = Map::new();
    out.insert("enableAutoReply".into(), json!(v.enable_auto_reply));
    if let Some(subject) = &v.response_subject {
        out.insert("responseSubject".into(), json!(subject));
    }
    out.insert(
        "responseBodyPlainText".into(),
        json!(v.response_body_plain_text.clone().unwrap_or_default()),
    );
    if let Some(html) = &v.response_body_html {
        out.insert("responseBodyHtml".into(), json!(html));
    }
    out.insert("restrictToContacts".into(), json!(v.restrict_to_contacts));
    out.insert("restrictToDomain".into(), json!(v.restrict_to_domain));
    if let Some(start) = v.start_time {
        out.insert("startTime".into(), json!(start.to_string()));
    }
    if let Some(end) = v.end_time {
        out.insert("endTime".into(), json!(end.to_string()));
    }
    Value::Object(out)
}

fn epoch_ms(body: &Map<String, Value>, field: &str) -> Result<Option<i64>, GoogleError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| GoogleError::invalid_argument(&format!("Invalid value at '{field}'"))),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| GoogleError::invalid_argument(&format!("Invalid value at '{field}'"))),
        Some(_) => Err(GoogleError::invalid_argument(&format!(
            "Invalid value at '{field}'"
        ))),
    }
}

fn flag(body: &Map<String, Value>, field: &str) -> Result<bool, GoogleError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(GoogleError::invalid_argument(&format!(
            "Invalid value at '{field}'"
        ))),
    }
}

async fn get_vacation(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(user_id): Path<String>,
) -> ApiResult {
    let state = app.domain();
    let owner = mailbox(&state, &caller, &user_id)?;
    Ok(Json(render_vacation(&state.users[owner].mail.vacation)).into_response())
}

/// `updateVacation` (PUT, full replacement); idempotent.
async fn update_vacation(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(user_id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body = json_object(&body)?;
    let nonempty = |field: &str| -> Result<Option<String>, GoogleError> {
        Ok(string_field(&body, field)?.filter(|s| !s.is_empty()))
    };
    let vacation = Vacation {
        enable_auto_reply: flag(&body, "enableAutoReply")?,
        response_subject: nonempty("responseSubject")?,
        response_body_plain_text: nonempty("responseBodyPlainText")?,
        response_body_html: nonempty("responseBodyHtml")?,
        restrict_to_contacts: flag(&body, "restrictToContacts")?,
        restrict_to_domain: flag(&body, "restrictToDomain")?,
        start_time: epoch_ms(&body, "startTime")?,
        end_time: epoch_ms(&body, "endTime")?,
    };
    if vacation.enable_auto_reply
        && vacation.response_subject.is_none()
        && vacation.response_body_plain_text.is_none()
        && vacation.response_body_html.is_none()
    {
        return Err(GoogleError::invalid_argument(
            "Vacation responder requires a subject or a body",
        ));
    }
    if let (Some(start), Some(end)) = (vacation.start_time, vacation.end_time)
        && start >= end
    {
        return Err(GoogleError::invalid_argument(
            "Vacation start time must precede end time",
        ));
    }
    let mut state = app.domain();
    let owner = mailbox(&state, &caller, &user_id)?;
    state.set_vacation(owner, vacation, &caller);
    Ok(Json(render_vacation(&state.users[owner].mail.vacation)).into_response())
}
