//! The SCIM endpoints (RFC 7644 §3.2) under the server's base path, and the door in front.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router, middleware};
use serde::Deserialize;
use serde_json::Value;

use crate::common::gate::{self, Door, GateParts, Throttle};
use crate::common::lock;
use crate::common::ratelimit::Quota;
use crate::scim::errors::ScimError;
use crate::scim::flavor::Flavor;
use crate::scim::model::list_response;
use crate::scim::state::{ScimState, request_id};

#[derive(Clone, Debug)]
pub(crate) struct AppState {
    pub state: Arc<Mutex<ScimState>>,
    pub parts: Arc<GateParts>,
    pub token: Arc<String>,
    pub flavor: Flavor,
    pub advertise_patch: Option<bool>,
}

impl AppState {
    fn state(&self) -> MutexGuard<'_, ScimState> {
        lock(&self.state)
    }
}

impl Door for AppState {
    const REQUEST_ID: &'static str = "x-request-id";

    fn parts(&self) -> &Arc<GateParts> {
        &self.parts
    }

    fn request_id(&self) -> String {
        request_id()
    }

    fn authenticate(&self, req: &Request, _: &Method, _: &str) -> Result<(), Box<Response>> {
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if presented == Some(self.token.as_str()) {
            return Ok(());
        }
        let mut refusal = ScimError::unauthorized(self.flavor).into_response();
        refusal
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        Err(Box::new(refusal))
    }

    fn throttled(&self, why: Throttle, quota: &Quota, now_ms: u64, _: &str) -> Response {
        let until_ms = match why {
            Throttle::Storm { until_ms } => until_ms,
            Throttle::Budget => quota.reset_epoch_secs * 1000,
        };
        let mut response = ScimError::new(
            self.flavor,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
        )
        .into_response();
        let wait = gate::retry_after_secs(until_ms, now_ms);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        response
    }

    fn server_error(&self, status: u16) -> Response {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ScimError::new(
            self.flavor,
            status,
            "The service is temporarily unavailable",
        )
        .into_response()
    }
}

/// The endpoints, nested under `base_path` (`/scim/v2`), with the door on every one of them.
pub(crate) fn router(app: AppState, base_path: &str) -> Router {
    let config_path = app.flavor.config_path();
    let api = Router::new()
        .route(config_path, get(service_provider_config))
        .route("/Users", get(list_users))
        .route(
            "/Users/{id}",
            get(get_user)
                .put(put_user)
                .patch(patch_user)
                .delete(delete_user),
        )
        .fallback(not_found);
    Router::new()
        .nest(base_path, api)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            app.clone(),
            gate::gate::<AppState>,
        ))
        .with_state(app)
}

/// A SCIM body with its media type and, where the server keeps versions, its ETag.
fn scim(status: StatusCode, body: Value, etag: Option<String>) -> Response {
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/scim+json"),
    );
    if let Some(tag) = etag.and_then(|t| HeaderValue::from_str(&t).ok()) {
        headers.insert(header::ETAG, tag);
    }
    response
}

fn etag_of(app: &AppState, state: &ScimState, id: &str) -> Option<String> {
    app.flavor.etags().then(|| state.etag(id)).flatten()
}

fn if_match(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn not_found(State(app): State<AppState>) -> Response {
    ScimError::new(app.flavor, StatusCode::NOT_FOUND, "Endpoint not found").into_response()
}

async fn service_provider_config(State(app): State<AppState>) -> Response {
    let base = app.state().base.clone();
    let mut config = app.flavor.service_provider_config(&base);
    if let Some(claim) = app.advertise_patch {
        config["patch"]["supported"] = claim.into();
    }
    scim(StatusCode::OK, config, None)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    filter: Option<String>,
    start_index: Option<usize>,
    count: Option<usize>,
}

async fn list_users(State(app): State<AppState>, Query(q): Query<ListQuery>) -> Response {
    let start = q.start_index.unwrap_or(1).max(1);
    match app.state().list(q.filter.as_deref(), start, q.count) {
        Ok((total, page)) => scim(StatusCode::OK, list_response(total, start, page), None),
        Err(e) => e.into_response(),
    }
}

async fn get_user(State(app): State<AppState>, Path(id): Path<String>) -> Response {
    let state = app.state();
    match state.user(&id) {
        Ok(user) => scim(StatusCode::OK, user, etag_of(&app, &state, &id)),
        Err(e) => e.into_response(),
    }
}

fn json_body(app: &AppState, body: &[u8]) -> Result<Value, ScimError> {
    serde_json::from_slice(body)
        .map_err(|e| ScimError::bad(app.flavor, "invalidSyntax", format!("not JSON: {e}")))
}

async fn patch_user(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let result = json_body(&app, &body).and_then(|body| {
        let mut state = app.state();
        let user = state.patch(&id, &body, if_match(&headers).as_deref())?;
        Ok(scim(StatusCode::OK, user, etag_of(&app, &state, &id)))
    });
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn put_user(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let result = json_body(&app, &body).and_then(|body| {
        let mut state = app.state();
        let user = state.put(&id, &body, if_match(&headers).as_deref())?;
        Ok(scim(StatusCode::OK, user, etag_of(&app, &state, &id)))
    });
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn delete_user(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match app.state().delete(&id, if_match(&headers).as_deref()) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}
