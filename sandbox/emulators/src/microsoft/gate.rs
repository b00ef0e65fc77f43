//! Request plumbing.
//!
//! The *envelope* wraps every request: it mints the `request-id`, echoes
//! `client-request-id` (or repeats the request id when the client sent
//! none, as Graph does), adds `x-ms-ags-diagnostic`, applies the latency
//! knob, renders error bodies with those ids and records counters.
//!
//! The *API gates* sit in front of Graph and the Exchange admin endpoint, in
//! the order the knobs document: authentication (401), forced 429 bursts,
//! storms (429, or 503 when so set, with a `Retry-After` that names the
//! storm's end), the per-app per-minute budget (429 with `Retry-After`),
//! injected 5xx, the handler, then lost responses. Every rejection happens
//! before the handler, so it never changes tenant state. The envelope stamps
//! `Date` and error bodies' `innerError.date` from the emulator's clock.

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::common::clock;
use crate::common::counters::UNMATCHED;
use crate::common::knobs;
use crate::common::server::Severer;
use crate::microsoft::audit::Actor;
use crate::microsoft::errors::{GraphError, PendingError};
use crate::microsoft::limits;
use crate::microsoft::service::AppState;
use crate::microsoft::token::{self, EXCHANGE_MANAGE_AS_APP, Resource};

/// Response header carrying Graph's request id.
pub const REQUEST_ID_HEADER: &str = "request-id";
/// Request header a client sets to correlate; echoed on the response.
pub const CLIENT_REQUEST_ID_HEADER: &str = "client-request-id";
/// Graph's data-centre diagnostic header.
pub const DIAGNOSTIC_HEADER: &str = "x-ms-ags-diagnostic";

const DIAGNOSTIC: &str = r#"{"ServerInfo":{"DataCenter":"West Europe","Slice":"E","Ring":"5","ScaleUnit":"003","RoleInstance":"AM2PEPF0000SBX1"}}"#;

/// Ids of the request being served.
#[derive(Clone, Debug)]
pub(crate) struct RequestCtx {
    pub request_id: String,
    pub client_request_id: String,
}

/// The authenticated app behind a Graph or Exchange request.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    pub app_id: String,
    pub app_name: String,
    pub service_principal_id: String,
    pub roles: Vec<String>,
    /// Directory role template ids the app's service principal holds (`wids`).
    pub wids: Vec<String>,
}

impl Caller {
    pub(crate) fn has_any(&self, roles: &[&str]) -> bool {
        self.roles
            .iter()
            .any(|r| roles.iter().any(|want| r.eq_ignore_ascii_case(want)))
    }

    pub(crate) fn actor(&self, ctx: &RequestCtx) -> Actor {
        Actor {
            app_id: self.app_id.clone(),
            app_name: self.app_name.clone(),
            service_principal_id: self.service_principal_id.clone(),
            request_id: ctx.request_id.clone(),
        }
    }
}

/// The outermost layer; see the module docs.
pub(crate) async fn envelope(
    State(app): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let method = req.method().clone();
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |p| p.as_str().to_owned());
    let request_id = uuid::Uuid::new_v4().to_string();
    let sent = req
        .headers()
        .get(CLIENT_REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let ctx = RequestCtx {
        client_request_id: sent.clone().unwrap_or_else(|| request_id.clone()),
        request_id,
    };
    req.extensions_mut().insert(ctx.clone());

    app.shared.knobs.delay().await;

    let mut response = next.run(req).await;
    let timeline = app.shared.knobs.timeline();
    timeline.stamp(&mut response);

    if let Some(PendingError(error)) = response.extensions_mut().remove::<PendingError>() {
        let date = format!("{}", timeline.now().strftime("%Y-%m-%dT%H:%M:%S"));
        if let Some(body) = error.body(&ctx.request_id, &ctx.client_request_id, &date) {
            *response.body_mut() = Body::from(body.to_string());
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
    }

    let headers = response.headers_mut();
    let is_identity_platform = headers.contains_key("x-ms-request-id");
    if !is_identity_platform {
        if let Ok(v) = HeaderValue::from_str(&ctx.request_id) {
            headers.insert(REQUEST_ID_HEADER, v);
        }
        headers.insert(DIAGNOSTIC_HEADER, HeaderValue::from_static(DIAGNOSTIC));
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    if (!is_identity_platform || sent.is_some())
        && let Ok(v) = HeaderValue::from_str(&ctx.client_request_id)
    {
        headers.insert(CLIENT_REQUEST_ID_HEADER, v);
    }
    app.shared
        .counters
        .record(method.as_str(), &template, response.status().as_u16());
    response
}

/// Gate for `/v1.0/...`.
pub(crate) async fn graph_gate(State(app): State<AppState>, req: Request, next: Next) -> Response {
    api_gate(app, req, next, Resource::Graph).await
}

/// A write that says neither how long its body is nor that it is chunked: Graph's front end
/// answers 411, so a bodiless POST (`revokeSignInSessions`, Intune device actions) must carry
/// `Content-Length: 0`.
fn lacks_length(req: &Request) -> bool {
    let writes = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH);
    let h = req.headers();
    writes && !h.contains_key(header::CONTENT_LENGTH) && !h.contains_key(header::TRANSFER_ENCODING)
}

/// Gate for `/adminapi/...`.
pub(crate) async fn exchange_gate(
    State(app): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    api_gate(app, req, next, Resource::Exchange).await
}

async fn api_gate(app: AppState, mut req: Request, next: Next, resource: Resource) -> Response {
    if lacks_length(&req) {
        return GraphError::length_required().into_response();
    }
    let shared = &app.shared;
    let caller = match token::authenticate(shared, req.headers(), resource) {
        Ok(caller) => caller,
        Err(problem) => {
            return match resource {
                Resource::Graph => GraphError::invalid_token(problem.graph_message()),
                Resource::Exchange => GraphError::exchange_unauthorized(),
            }
            .into_response();
        }
    };
    if resource == Resource::Exchange && !caller.has_any(&[EXCHANGE_MANAGE_AS_APP]) {
        return GraphError::exchange_unauthorized().into_response();
    }

    if shared.knobs.take_burst_429() {
        return throttled(1, &caller, shared.tenant_id.as_str());
    }
    let now_ms = shared.knobs.timeline().epoch_millis();
    if let Some(until_ms) = shared.knobs.storm_until(now_ms) {
        let wait = clock::ceil_secs(until_ms.saturating_sub(now_ms)).max(1);
        return storm(shared, wait, &caller);
    }
    let service = limits::limit(resource, req.method(), req.uri().path());
    let by_service = shared
        .service_bucket(&caller.app_id, service)
        .map(|window| window.take(service.requests, now_ms))
        .filter(|quota| !quota.allowed);
    let quota = match by_service {
        Some(refused) => refused,
        None => shared
            .bucket(&caller.app_id)
            .take(shared.knobs.rate_limit_per_minute(), now_ms),
    };
    if !quota.allowed {
        let wait = quota
            .reset_epoch_secs
            .saturating_sub(clock::ceil_secs(now_ms))
            .max(1);
        return throttled(wait, &caller, shared.tenant_id.as_str());
    }
    if let Some(status) = shared.knobs.roll_5xx() {
        return GraphError::server(status).into_response();
    }

    let mutating = !matches!(*req.method(), Method::GET | Method::HEAD);
    let severer = req.extensions().get::<Severer>().cloned();
    req.extensions_mut().insert(caller);
    let response = next.run(req).await;
    let lost = if mutating && response.status().is_success() {
        shared.knobs.take_lost_response()
    } else {
        None
    };
    let mut response = match lost {
        Some(lost) => knobs::lose(lost, severer, |s| GraphError::server(s).into_response()).await,
        None => response,
    };
    if resource == Resource::Graph {
        response
            .headers_mut()
            .insert("x-ms-resource-unit", HeaderValue::from_static("1"));
    }
    response
}

/// A storm's answer: Graph's 429, or its 503 `serviceNotAvailable` when the
/// emulator is set to throttle that way; both carry `Retry-After`.
fn storm(shared: &crate::microsoft::service::Shared, wait_secs: u64, caller: &Caller) -> Response {
    if shared.storm_status() == 503 {
        return GraphError::server(503)
            .with_retry_after(wait_secs)
            .into_response();
    }
    throttled(wait_secs, caller, shared.tenant_id.as_str())
}

fn throttled(
    retry_after: u64,
    caller: &crate::microsoft::gate::Caller,
    tenant_id: &str,
) -> Response {
    let mut response = GraphError::throttled(retry_after).into_response();
    let scope = format!("Tenant_Application/ReadWrite/{}/{tenant_id}", caller.app_id);
    if let Ok(v) = HeaderValue::from_str(&scope) {
        response.headers_mut().insert("x-ms-throttle-scope", v);
    }
    response.headers_mut().insert(
        "x-ms-throttle-information",
        HeaderValue::from_static("ResourceUnitLimitExceeded"),
    );
    response
}
