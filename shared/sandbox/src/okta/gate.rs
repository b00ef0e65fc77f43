//! The request gate in front of every endpoint: latency, authentication,
//! forced and real rate limiting, injected 5xx, lost responses, request ids,
//! rate-limit headers and request accounting.
//!
//! Every rejection happens before the handler runs, so a 401, 429 or
//! injected 5xx never changes org state.

use std::net::SocketAddr;
use std::time::SystemTime;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::common::clock;
use crate::common::counters::UNMATCHED;
use crate::common::ids;
use crate::common::ratelimit::Quota;
use crate::okta::errors::OktaError;
use crate::okta::service::AppState;

/// Response header carrying the request id, which Okta also writes to the
/// System Log as `debugContext.debugData.requestId`.
pub const REQUEST_ID_HEADER: &str = "x-okta-request-id";
/// Per-minute budget.
pub const RATE_LIMIT_LIMIT: &str = "x-rate-limit-limit";
/// Requests left in the current window.
pub const RATE_LIMIT_REMAINING: &str = "x-rate-limit-remaining";
/// Epoch second at which the window refills.
pub const RATE_LIMIT_RESET: &str = "x-rate-limit-reset";

/// What handlers know about the request beyond its path and query: used to
/// fill System Log events.
#[derive(Clone, Debug)]
pub(crate) struct RequestCtx {
    pub request_id: String,
    pub client_ip: String,
    pub user_agent: String,
    pub path: String,
    pub path_and_query: String,
}

impl RequestCtx {
    fn from_request(req: &Request) -> Self {
        let client_ip = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "127.0.0.1".to_owned(), |c| c.0.ip().to_string());
        let user_agent = req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("unknown")
            .to_owned();
        let path = req.uri().path().to_owned();
        let path_and_query = req
            .uri()
            .path_and_query()
            .map_or_else(|| path.clone(), |pq| pq.as_str().to_owned());
        Self {
            request_id: ids::request_id(),
            client_ip,
            user_agent,
            path,
            path_and_query,
        }
    }
}

/// The middleware itself; see the module docs for the order of checks.
pub(crate) async fn gate(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |p| p.as_str().to_owned());
    let ctx = RequestCtx::from_request(&req);
    let request_id = ctx.request_id.clone();

    let mut response = admit_and_run(&app, req, next, ctx, &method).await;

    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    app.shared
        .counters
        .record(method.as_str(), &template, response.status().as_u16());
    response
}

async fn admit_and_run(
    app: &AppState,
    mut req: Request,
    next: Next,
    ctx: RequestCtx,
    method: &Method,
) -> Response {
    let shared = &app.shared;
    let latency = shared.knobs.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }

    let now_ms = clock::epoch_millis(SystemTime::now());
    let limit = shared.knobs.rate_limit_per_minute();

    if !authorized(req.headers(), &shared.api_token) {
        let quota = shared.bucket.peek(limit, now_ms);
        return with_quota(OktaError::invalid_token().into_response(), quota);
    }

    if shared.knobs.take_burst_429() {
        let quota = Quota {
            allowed: false,
            limit,
            remaining: 0,
            reset_epoch_secs: clock::ceil_secs(now_ms) + 1,
        };
        return with_quota(OktaError::rate_limited().into_response(), quota);
    }

    let quota = shared.bucket.take(limit, now_ms);
    if !quota.allowed {
        return with_quota(OktaError::rate_limited().into_response(), quota);
    }

    if let Some(status) = shared.knobs.roll_5xx() {
        return with_quota(OktaError::server(status).into_response(), quota);
    }

    let mutating = !matches!(*method, Method::GET | Method::HEAD);
    req.extensions_mut().insert(ctx);
    let response = next.run(req).await;
    let response =
        if mutating && response.status().is_success() && shared.knobs.take_fail_after_apply() {
            OktaError::server(502).into_response()
        } else {
            response
        };
    with_quota(response, quota)
}

/// Okta API tokens travel as `Authorization: SSWS <token>`.
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut parts = value.trim().splitn(2, ' ');
    let scheme = parts.next().unwrap_or_default();
    let credential = parts.next().unwrap_or_default().trim();
    scheme.eq_ignore_ascii_case("SSWS") && credential == token
}

fn with_quota(mut response: Response, quota: Quota) -> Response {
    let headers = response.headers_mut();
    headers.insert(RATE_LIMIT_LIMIT, HeaderValue::from(quota.limit));
    headers.insert(RATE_LIMIT_REMAINING, HeaderValue::from(quota.remaining));
    headers.insert(RATE_LIMIT_RESET, HeaderValue::from(quota.reset_epoch_secs));
    response
}
