//! The request gate in front of every API route — authentication, scope
//! and privilege checks, forced and real throttling, injected 5xx and lost
//! responses — and the accounting layer around every request.
//!
//! Every rejection happens before the handler runs, so a 401, 403, 429 or
//! injected 5xx never changes domain state. Google documents no request-id
//! or rate-limit response headers, and the emulator adds none: a storm
//! answers 403 with a rate reason (or 429) and nothing says when it ends,
//! except Gmail's 429, whose message names the instant to retry after.

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::common::clock;
use crate::common::counters::UNMATCHED;
use crate::common::knobs;
use crate::common::lock;
use crate::common::ratelimit::MinuteWindow;
use crate::common::server::Severer;
use crate::google::auth;
use crate::google::errors::{GoogleError, QuotaReason};
use crate::google::scopes;
use crate::google::service::AppState;

/// Outermost layer: added latency, then request accounting by route
/// template (the discovery path, e.g. `/admin/directory/v1/users/{userKey}`).
pub(crate) async fn record(State(app): State<AppState>, req: Request, next: Next) -> Response {
    app.shared.knobs.delay().await;
    let method = req.method().clone();
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |p| p.as_str().to_owned());
    let mut response = next.run(req).await;
    app.shared.knobs.timeline().stamp(&mut response);
    app.shared
        .counters
        .record(method.as_str(), &template, response.status().as_u16());
    response
}

/// The API gate; see the module docs for the order of checks.
pub(crate) async fn gate(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let Some(spec) = req
        .extensions()
        .get::<MatchedPath>()
        .and_then(|p| scopes::lookup(method.as_str(), p.as_str()))
    else {
        return next.run(req).await;
    };

    let grant = {
        let mut domain = app.domain();
        let grant = match auth::authenticate(&mut domain, req.headers()) {
            Ok(grant) => grant,
            Err(error) => return error.into_response(),
        };
        if !spec
            .scopes
            .iter()
            .any(|s| grant.scopes.iter().any(|g| g == s))
        {
            return GoogleError::insufficient_scope(spec.api.service(), spec.id, spec.scopes)
                .into_response();
        }
        if spec.api.needs_admin()
            && !grant
                .caller
                .subject
                .is_some_and(|u| domain.users[u].is_admin)
        {
            return GoogleError::not_authorized().into_response();
        }
        grant
    };

    let shared = &app.shared;
    let project = app.domain().project_number.clone();
    let service = spec.api.service();
    if shared.knobs.take_burst_429() {
        return GoogleError::too_many_requests(service, &project).into_response();
    }
    if let Some(reason) = shared.quota.take_403() {
        return GoogleError::quota(reason, service, &project).into_response();
    }
    let now_ms = shared.knobs.timeline().epoch_millis();
    if let Some(until_ms) = shared.knobs.storm_until(now_ms) {
        let gmail = req.uri().path().starts_with("/gmail/");
        return storm(&app, gmail, until_ms, service, &project).into_response();
    }
    let limit = shared.knobs.rate_limit_per_minute();
    let allowed = {
        let mut buckets = lock(&shared.buckets);
        // Each API keeps its own quota (the refusal names the service whose quota it is):
        // the Directory API's 2,400 a minute are not spent by License Manager reads.
        let key = format!("{}\n{}\n{service}", grant.client_id, grant.caller.actor);
        buckets
            .entry(key)
            .or_insert_with(MinuteWindow::new)
            .take(limit, now_ms)
            .allowed
    };
    if !allowed {
        return GoogleError::quota(QuotaReason::UserRateLimitExceeded, service, &project)
            .into_response();
    }
    if let Some(status) = shared.knobs.roll_5xx() {
        return GoogleError::server(status).into_response();
    }

    let mutating = !matches!(method, Method::GET | Method::HEAD);
    let severer = req.extensions().get::<Severer>().cloned();
    req.extensions_mut().insert(grant.caller);
    app.domain().advance_all();
    let response = next.run(req).await;
    if mutating
        && response.status().is_success()
        && let Some(lost) = shared.knobs.take_lost_response()
    {
        return knobs::lose(lost, severer, |s| GoogleError::server(s).into_response()).await;
    }
    response
}

/// A storm's answer: Gmail's 429 naming when to retry, or for the other APIs
/// the configured 403 rate reason (or 429).
fn storm(app: &AppState, gmail: bool, until_ms: u64, service: &str, project: &str) -> GoogleError {
    if gmail {
        let until = i64::try_from(until_ms)
            .ok()
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
            .unwrap_or_else(|| app.shared.knobs.timeline().now());
        return GoogleError::gmail_rate_limited(&clock::format_millis(until));
    }
    match app.shared.quota.storm_reason() {
        Some(reason) => GoogleError::quota(reason, service, project),
        None => GoogleError::too_many_requests(service, project),
    }
}
