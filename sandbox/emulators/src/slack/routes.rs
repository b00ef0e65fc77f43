//! Slack's two APIs and the door in front of both.
//!
//! The Web API (`/api/<method>`) answers HTTP 200 with `{"ok": false, "error": …}` for every
//! refusal — a bad token, a missing scope (with `needed` and `provided`), an unknown user —
//! except throttling, which is a 429 with `Retry-After`. SCIM (`/scim/v2/…`) uses HTTP
//! statuses and `{"Errors": {"description", "code"}}` bodies, and exists only on Business+
//! and Enterprise Grid; the `admin.*` methods only on Enterprise Grid.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router, middleware};
use serde_json::{Value, json};

use crate::common::gate::{self, Door, GateParts, Throttle};
use crate::common::ids;
use crate::common::lock;
use crate::common::ratelimit::Quota;
use crate::common::scim_filter;
use crate::slack::SlackPlan;
use crate::slack::state::{Refusal, SlackState};

/// Response header with Slack's request id.
pub const REQUEST_ID_HEADER: &str = "x-slack-req-id";

#[derive(Clone, Debug)]
pub(crate) struct AppState {
    pub state: Arc<Mutex<SlackState>>,
    pub parts: Arc<GateParts>,
    pub token: Arc<String>,
    pub scopes: Arc<Mutex<BTreeSet<String>>>,
    pub plan: SlackPlan,
    /// The SCIM base URL, for `meta.location`.
    pub scim_base: Arc<String>,
}

impl AppState {
    fn state(&self) -> MutexGuard<'_, SlackState> {
        lock(&self.state)
    }
}

/// The scope each Web API method needs (the spec's `security`); SCIM needs `admin`.
fn scope_of(template: &str) -> Option<&'static str> {
    Some(match template.strip_prefix("/api/")? {
        "users.lookupByEmail" => "users:read.email",
        "users.info" => "users:read",
        "admin.users.session.reset" => "admin.users:write",
        "admin.users.session.list" => "admin.users:read",
        _ => return None,
    })
}

fn is_scim(template: &str) -> bool {
    template.starts_with("/scim/")
}

/// A Web API answer: always HTTP 200.
fn web(body: Value) -> Response {
    (StatusCode::OK, Json(body)).into_response()
}

fn web_error(error: &str) -> Response {
    web(json!({"ok": false, "error": error}))
}

/// A SCIM error in Slack's shape.
fn scim_error(status: StatusCode, description: &str) -> Response {
    let body = json!({"Errors": {"description": description, "code": status.as_u16()}});
    (status, Json(body)).into_response()
}

impl Door for AppState {
    const REQUEST_ID: &'static str = REQUEST_ID_HEADER;

    fn parts(&self) -> &Arc<GateParts> {
        &self.parts
    }

    fn request_id(&self) -> String {
        ids::alnum(&mut rand::thread_rng(), 32).to_lowercase()
    }

    fn authenticate(&self, req: &Request, _: &Method, template: &str) -> Result<(), Box<Response>> {
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let scim = is_scim(template);
        let refuse = |error: &str| {
            Box::new(if scim {
                scim_error(StatusCode::UNAUTHORIZED, error)
            } else {
                web_error(error)
            })
        };
        match bearer {
            None => return Err(refuse("not_authed")),
            Some(t) if t != self.token.as_str() => return Err(refuse("invalid_auth")),
            Some(_) => {}
        }
        let scopes = lock(&self.scopes).clone();
        let provided = scopes.iter().cloned().collect::<Vec<_>>().join(",");
        let needed = if scim {
            Some("admin")
        } else {
            scope_of(template)
        };
        if let Some(needed) = needed.filter(|n| !scopes.contains(*n)) {
            let mut refusal = if scim {
                scim_error(StatusCode::FORBIDDEN, "missing_scope")
            } else {
                web(
                    json!({"ok": false, "error": "missing_scope", "needed": needed, "provided": provided}),
                )
            };
            if let Ok(v) = HeaderValue::from_str(needed) {
                refusal.headers_mut().insert("x-accepted-oauth-scopes", v);
            }
            return Err(Box::new(refusal));
        }
        Ok(())
    }

    fn throttled(&self, why: Throttle, quota: &Quota, now_ms: u64, template: &str) -> Response {
        let until_ms = match why {
            Throttle::Storm { until_ms } => until_ms,
            Throttle::Budget => quota.reset_epoch_secs * 1000,
        };
        let mut response = if is_scim(template) {
            scim_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited")
        } else {
            let body = json!({"ok": false, "error": "ratelimited"});
            (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response()
        };
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(gate::retry_after_secs(until_ms, now_ms)),
        );
        response
    }

    fn server_error(&self, status: u16) -> Response {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(json!({"ok": false, "error": "fatal_error"}))).into_response()
    }

    fn decorate(&self, response: &mut Response, _: &Quota) {
        let scopes = lock(&self.scopes)
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(",");
        if let Ok(v) = HeaderValue::from_str(&scopes) {
            response.headers_mut().insert("x-oauth-scopes", v);
        }
    }

    fn is_read(&self, method: &Method, template: &str) -> bool {
        matches!(*method, Method::GET | Method::HEAD)
            || template.ends_with(".list")
            || template.ends_with(".info")
    }
}

pub(crate) fn router(app: AppState) -> Router {
    Router::new()
        .route("/api/users.lookupByEmail", any(lookup_by_email))
        .route("/api/users.info", any(users_info))
        .route("/api/admin.users.session.reset", any(session_reset))
        .route("/api/admin.users.session.list", any(session_list))
        .route("/api/{method}", any(unknown_method))
        .route("/scim/v2/Users", get(scim_list))
        .route(
            "/scim/v2/Users/{id}",
            get(scim_get).patch(scim_patch).delete(scim_delete),
        )
        .layer(middleware::from_fn_with_state(
            app.clone(),
            gate::gate::<AppState>,
        ))
        .with_state(app)
}

/// A method's arguments, from the query string, a form body or a JSON body, as Slack takes
/// them all.
fn args(query: &std::collections::HashMap<String, String>, body: &[u8]) -> Value {
    let mut out = serde_json::Map::new();
    for (k, v) in query {
        out.insert(k.clone(), Value::String(v.clone()));
    }
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
        out.extend(map);
    } else if let Ok(text) = std::str::from_utf8(body) {
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            out.insert(k.to_owned(), Value::String(v.replace("%40", "@")));
        }
    }
    Value::Object(out)
}

type Args = Query<std::collections::HashMap<String, String>>;

async fn lookup_by_email(
    State(app): State<AppState>,
    Query(q): Args,
    body: axum::body::Bytes,
) -> Response {
    let args = args(&q, &body);
    let Some(email) = args["email"].as_str() else {
        return web_error("invalid_arguments");
    };
    let state = app.state();
    match state.by_email(email) {
        Some(m) => web(json!({"ok": true, "user": state.web_user(m)})),
        None => web_error("users_not_found"),
    }
}

async fn users_info(
    State(app): State<AppState>,
    Query(q): Args,
    body: axum::body::Bytes,
) -> Response {
    let args = args(&q, &body);
    let state = app.state();
    match args["user"].as_str().and_then(|id| state.by_id(id)) {
        Some(m) => web(json!({"ok": true, "user": state.web_user(m)})),
        None => web_error("user_not_found"),
    }
}

/// `admin.*` methods exist on Enterprise Grid only. [unverified: the error code a workspace
/// on another plan gets; `not_an_enterprise` is what the Admin API docs list for such calls.]
fn enterprise_only(app: &AppState) -> Option<Response> {
    (app.plan != SlackPlan::EnterpriseGrid).then(|| web_error("not_an_enterprise"))
}

async fn session_reset(
    State(app): State<AppState>,
    Query(q): Args,
    body: axum::body::Bytes,
) -> Response {
    if let Some(refusal) = enterprise_only(&app) {
        return refusal;
    }
    let args = args(&q, &body);
    let Some(id) = args["user_id"].as_str() else {
        return web_error("invalid_arguments");
    };
    match app.state().reset_sessions(id) {
        Ok(()) => web(json!({"ok": true})),
        Err(_) => web_error("user_not_found"),
    }
}

/// `admin.users.session.list`: documented on docs.slack.dev, absent from the 2020 OpenAPI.
async fn session_list(
    State(app): State<AppState>,
    Query(q): Args,
    body: axum::body::Bytes,
) -> Response {
    if let Some(refusal) = enterprise_only(&app) {
        return refusal;
    }
    let args = args(&q, &body);
    let state = app.state();
    let Some(m) = args["user_id"].as_str().and_then(|id| state.by_id(id)) else {
        return web_error("user_not_found");
    };
    let sessions: Vec<Value> = m
        .sessions
        .iter()
        .map(|s| {
            json!({"user_id": m.id, "team_id": state.team_id, "session_id": s,
            "created": {"device_hardware": "Mac", "os": "macOS", "slack_client_version": "4.41"}})
        })
        .collect();
    web(json!({"ok": true, "active_sessions": sessions, "response_metadata": {"next_cursor": ""}}))
}

async fn unknown_method() -> Response {
    web_error("unknown_method")
}

/// SCIM exists on Business+ and Enterprise Grid only. [unverified: the exact refusal Slack
/// gives a workspace on another plan; a 403 saying so is what the emulator answers.]
fn scim_available(app: &AppState) -> Option<Response> {
    (!app.plan.has_scim()).then(|| {
        scim_error(
            StatusCode::FORBIDDEN,
            "SCIM API is only available on Business+ and Enterprise Grid plans",
        )
    })
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    filter: Option<String>,
    start_index: Option<usize>,
    count: Option<usize>,
}

async fn scim_list(State(app): State<AppState>, Query(q): Query<ListQuery>) -> Response {
    if let Some(refusal) = scim_available(&app) {
        return refusal;
    }
    let state = app.state();
    let expr = match q.filter.as_deref().map(scim_filter::parse).transpose() {
        Ok(e) => e,
        Err(e) => return scim_error(StatusCode::BAD_REQUEST, &format!("invalid_filter: {e}")),
    };
    let matching: Vec<Value> = state
        .members
        .iter()
        .filter(|m| {
            expr.as_ref().is_none_or(|e| {
                e.matches(
                    &|attr| match attr.to_ascii_lowercase().as_str() {
                        "username" => vec![m.handle.clone()],
                        "email" | "emails" | "emails.value" => vec![m.email.clone()],
                        _ => Vec::new(),
                    },
                    true,
                )
            })
        })
        .map(|m| state.scim_user(m, &app.scim_base))
        .collect();
    let start = q.start_index.unwrap_or(1).max(1);
    let page: Vec<Value> = matching
        .iter()
        .skip(start - 1)
        .take(q.count.unwrap_or(100).min(1000))
        .cloned()
        .collect();
    Json(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": matching.len(),
        "itemsPerPage": page.len(),
        "startIndex": start,
        "Resources": page,
    }))
    .into_response()
}

async fn scim_get(State(app): State<AppState>, Path(id): Path<String>) -> Response {
    if let Some(refusal) = scim_available(&app) {
        return refusal;
    }
    let state = app.state();
    match state.by_id(&id) {
        Some(m) => Json(state.scim_user(m, &app.scim_base)).into_response(),
        None => scim_error(StatusCode::NOT_FOUND, "user_not_found"),
    }
}

fn refused(r: Refusal) -> Response {
    match r {
        Refusal::NotFound => scim_error(StatusCode::NOT_FOUND, "user_not_found"),
        Refusal::PrimaryOwner => scim_error(StatusCode::FORBIDDEN, "cannot_disable_primary_owner"),
    }
}

async fn scim_patch(
    State(app): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if let Some(refusal) = scim_available(&app) {
        return refusal;
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let active = body["Operations"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|op| match op["path"].as_str() {
            Some(p) if p.eq_ignore_ascii_case("active") => op["value"].as_bool(),
            Some(_) => None,
            None => op["value"]["active"].as_bool(),
        });
    let Some(active) = active else {
        return scim_error(StatusCode::BAD_REQUEST, "invalid_operation");
    };
    let mut state = app.state();
    if let Err(r) = state.set_active(&id, active) {
        return refused(r);
    }
    match state.by_id(&id) {
        Some(m) => Json(state.scim_user(m, &app.scim_base)).into_response(),
        None => refused(Refusal::NotFound),
    }
}

async fn scim_delete(State(app): State<AppState>, Path(id): Path<String>) -> Response {
    if let Some(refusal) = scim_available(&app) {
        return refusal;
    }
    match app.state().set_active(&id, false) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(r) => refused(r),
    }
}
