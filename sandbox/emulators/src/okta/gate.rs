//! The request gate in front of every endpoint: latency, authentication
//! (`SSWS` API token, or an OAuth `Bearer`/`DPoP` access token with the
//! operation's scope), forced bursts, storms and real rate limiting, injected
//! 5xx, lost responses, request ids, rate-limit headers, the `Date` header
//! (from the emulator's clock) and request accounting.
//!
//! Every rejection happens before the handler runs, so a 401, 403 for a
//! missing scope, 429 or injected 5xx never changes org state. A storm's 429
//! carries `X-Rate-Limit-Reset` at the second the storm ends, on the
//! emulator's clock (so a clock offset shows in it, as it would in Okta's).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::common::clock;
use crate::common::counters::UNMATCHED;
use crate::common::ids;
use crate::common::knobs;
use crate::common::ratelimit::Quota;
use crate::common::server::Severer;
use crate::okta::errors::OktaError;
use crate::okta::limits;
use crate::okta::oauth::{Challenge, Principal};
use crate::okta::scopes;
use crate::okta::service::AppState;
use crate::okta::syslog::LogActor;

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
    /// The System Log actor when it is not the API token's admin (a
    /// service app calling with an OAuth access token).
    pub actor: Option<LogActor>,
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
            actor: None,
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

    let mut response = admit_and_run(&app, req, next, ctx, &method, &template).await;

    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    app.shared.knobs.timeline().stamp(&mut response);
    app.shared
        .counters
        .record(method.as_str(), &template, response.status().as_u16());
    response
}

async fn admit_and_run(
    app: &AppState,
    mut req: Request,
    next: Next,
    mut ctx: RequestCtx,
    method: &Method,
    template: &str,
) -> Response {
    let shared = &app.shared;
    shared.knobs.delay().await;

    let now_ms = shared.knobs.timeline().epoch_millis();
    let limit = shared.knobs.rate_limit_per_minute();
    let endpoint = limits::endpoint(method, &ctx.path);

    let principal = match authenticate(app, req.headers(), method, &ctx.path) {
        Ok(principal) => principal,
        Err(challenge) => {
            let quota = shared.bucket.peek(limit, now_ms);
            let mut response = OktaError::invalid_token().into_response();
            if let Some(challenge) = challenge {
                challenge_header(&mut response, &challenge, &shared.base_url, &ctx.path);
            }
            return with_quota(response, quota);
        }
    };
    if let Some(scope) = scopes::required(method, template)
        && !principal.allows(scope)
    {
        let quota = shared.bucket.peek(limit, now_ms);
        let dpop = matches!(principal, Principal::OAuth { dpop: true, .. });
        let mut response = OktaError::insufficient_scope(scope).into_response();
        let challenge = Challenge::insufficient_scope(dpop, scope);
        challenge_header(&mut response, &challenge, &shared.base_url, &ctx.path);
        return with_quota(response, quota);
    }
    ctx.actor = principal.actor();

    if shared.knobs.take_burst_429() {
        let quota = Quota {
            allowed: false,
            limit: limit.min(endpoint.per_minute),
            remaining: 0,
            reset_epoch_secs: clock::ceil_secs(now_ms) + 1,
        };
        return with_quota(OktaError::rate_limited().into_response(), quota);
    }
    if let Some(until_ms) = shared.knobs.storm_until(now_ms) {
        let quota = Quota {
            allowed: false,
            limit: limit.min(endpoint.per_minute),
            remaining: 0,
            reset_epoch_secs: clock::ceil_secs(until_ms),
        };
        return with_quota(OktaError::rate_limited().into_response(), quota);
    }

    let by_endpoint = shared.limits.take(endpoint, now_ms);
    if let Some(quota) = by_endpoint.filter(|q| !q.allowed) {
        return with_quota(OktaError::rate_limited().into_response(), quota);
    }
    let quota = shared.bucket.take(limit, now_ms);
    if !quota.allowed {
        return with_quota(OktaError::rate_limited().into_response(), quota);
    }
    let quota = limits::tighter(by_endpoint, quota);

    if let Some(status) = shared.knobs.roll_5xx() {
        return with_quota(OktaError::server(status).into_response(), quota);
    }

    let mutating = !matches!(*method, Method::GET | Method::HEAD);
    let severer = req.extensions().get::<Severer>().cloned();
    req.extensions_mut().insert(ctx);
    app.org().settle();
    let response = next.run(req).await;
    if mutating
        && response.status().is_success()
        && let Some(lost) = shared.knobs.take_lost_response()
    {
        let lost = knobs::lose(lost, severer, |s| OktaError::server(s).into_response()).await;
        return with_quota(lost, quota);
    }
    with_quota(response, quota)
}

/// Okta API tokens travel as `Authorization: SSWS <token>`; OAuth access
/// tokens as `Bearer <token>`, or `DPoP <token>` with a `DPoP` proof
/// header. `Err(None)` is a plain 401; `Err(Some(_))` adds an OAuth
/// challenge.
fn authenticate(
    app: &AppState,
    headers: &HeaderMap,
    method: &Method,
    path: &str,
) -> Result<Principal, Option<Challenge>> {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(None);
    };
    let mut parts = value.trim().splitn(2, ' ');
    let scheme = parts.next().unwrap_or_default();
    let credential = parts.next().unwrap_or_default().trim();
    if scheme.eq_ignore_ascii_case("SSWS") {
        return if credential == app.shared.api_token {
            Ok(Principal::ApiToken)
        } else {
            Err(None)
        };
    }
    let dpop = scheme.eq_ignore_ascii_case("DPoP");
    if !dpop && !scheme.eq_ignore_ascii_case("Bearer") || credential.is_empty() {
        return Err(None);
    }
    let proofs: Vec<&str> = headers
        .get_all("dpop")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let url = format!("{}{path}", app.shared.base_url);
    app.shared
        .oauth()
        .authenticate(dpop, credential, &proofs, method.as_str(), &url)
        .map_err(Some)
}

fn challenge_header(response: &mut Response, challenge: &Challenge, base_url: &str, path: &str) {
    if let Ok(value) = HeaderValue::from_str(&challenge.header_value(base_url, path)) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
}

/// The lighter gate in front of the token endpoint: latency, request ids
/// and counters, but no API credential and no management API bucket (Okta
/// meters `/oauth2/v1/*` separately).
pub(crate) async fn token_gate(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |p| p.as_str().to_owned());
    app.shared.knobs.delay().await;
    let mut response = next.run(req).await;
    if let Ok(value) = HeaderValue::from_str(&ids::request_id()) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    app.shared.knobs.timeline().stamp(&mut response);
    app.shared
        .counters
        .record(method.as_str(), &template, response.status().as_u16());
    response
}

fn with_quota(mut response: Response, quota: Quota) -> Response {
    let headers = response.headers_mut();
    headers.insert(RATE_LIMIT_LIMIT, HeaderValue::from(quota.limit));
    headers.insert(RATE_LIMIT_REMAINING, HeaderValue::from(quota.remaining));
    headers.insert(RATE_LIMIT_RESET, HeaderValue::from(quota.reset_epoch_secs));
    response
}
