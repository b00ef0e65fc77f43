//! One request gate for the SaaS emulators (SCIM, Slack, GitHub): latency, authentication,
//! forced 429s, storms and the per-minute budget, injected 5xx, the handler, lost responses,
//! then request ids, the `Date` header and request accounting.
//!
//! The order and the "nothing rejected ever changes state" rule are the same as in the
//! identity-provider emulators; what differs per app — how it authenticates, how it says
//! "slow down" (Slack `Retry-After`, GitHub `x-ratelimit-*` and secondary limits, a SCIM
//! server's 429), which header names the request id — is a [`Door`].

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;

use crate::common::counters::{RequestCounters, UNMATCHED};
use crate::common::knobs::{self, Knobs};
use crate::common::ratelimit::{MinuteWindow, Quota};
use crate::common::server::Severer;

/// The controls and accounting one emulator's gate shares with its owner.
#[derive(Debug)]
pub struct GateParts {
    pub knobs: Knobs,
    pub counters: RequestCounters,
    pub bucket: MinuteWindow,
}

impl GateParts {
    /// Knobs with `faults` and a per-minute budget of `limit`.
    pub fn new(limit: u32, faults: &knobs::FaultConfig) -> Self {
        Self {
            knobs: Knobs::with_faults(limit, faults),
            counters: RequestCounters::new(),
            bucket: MinuteWindow::new(),
        }
    }
}

/// Why a request is throttled before it reaches its handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Throttle {
    /// A forced 429 or a storm: requests pass again at `until_ms` (epoch ms).
    Storm { until_ms: u64 },
    /// The per-minute budget is spent until the window's reset.
    Budget,
}

/// What one app's API does differently at the door.
pub(crate) trait Door: Clone + Send + Sync + 'static {
    /// The response header that carries the request id.
    const REQUEST_ID: &'static str;

    fn parts(&self) -> &Arc<GateParts>;

    /// A fresh request id in the app's shape.
    fn request_id(&self) -> String;

    /// Checks the request's credentials (and scopes, by route); an `Err` is the app's refusal.
    fn authenticate(
        &self,
        req: &Request,
        method: &Method,
        template: &str,
    ) -> Result<(), Box<Response>>;

    /// The app's answer to a throttled request to `template`, `now_ms` on the emulator's
    /// clock.
    fn throttled(&self, why: Throttle, quota: &Quota, now_ms: u64, template: &str) -> Response;

    /// The app's own 5xx.
    fn server_error(&self, status: u16) -> Response;

    /// Headers the app puts on every answer (rate-limit counters).
    fn decorate(&self, _response: &mut Response, _quota: &Quota) {}

    /// Routes that only read although their method is not GET (Slack's read methods may be
    /// POSTed): their answers are never lost.
    fn is_read(&self, method: &Method, _template: &str) -> bool {
        matches!(*method, Method::GET | Method::HEAD)
    }
}

/// The middleware: `axum::middleware::from_fn_with_state(door, gate::<D>)`.
pub(crate) async fn gate<D: Door>(State(door): State<D>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |p| p.as_str().to_owned());
    let mut response = admit_and_run(&door, req, next, &method, &template).await;
    if let Ok(value) = HeaderValue::from_str(&door.request_id()) {
        response.headers_mut().insert(D::REQUEST_ID, value);
    }
    let parts = door.parts();
    parts.knobs.timeline().stamp(&mut response);
    parts
        .counters
        .record(method.as_str(), &template, response.status().as_u16());
    response
}

async fn admit_and_run<D: Door>(
    door: &D,
    req: Request,
    next: Next,
    method: &Method,
    template: &str,
) -> Response {
    let parts = door.parts();
    parts.knobs.delay().await;
    let now_ms = parts.knobs.timeline().epoch_millis();
    let limit = parts.knobs.rate_limit_per_minute();
    let decorated = |mut response: Response, quota: Quota| {
        door.decorate(&mut response, &quota);
        response
    };
    if let Err(refusal) = door.authenticate(&req, method, template) {
        return decorated(*refusal, parts.bucket.peek(limit, now_ms));
    }
    let storm = if parts.knobs.take_burst_429() {
        Some(now_ms + 1000)
    } else {
        parts.knobs.storm_until(now_ms)
    };
    if let Some(until_ms) = storm {
        let quota = Quota {
            allowed: false,
            remaining: 0,
            reset_epoch_secs: until_ms.div_ceil(1000),
            ..parts.bucket.peek(limit, now_ms)
        };
        let answer = door.throttled(Throttle::Storm { until_ms }, &quota, now_ms, template);
        return decorated(answer, quota);
    }
    let quota = parts.bucket.take(limit, now_ms);
    if !quota.allowed {
        let answer = door.throttled(Throttle::Budget, &quota, now_ms, template);
        return decorated(answer, quota);
    }
    if let Some(status) = parts.knobs.roll_5xx() {
        return decorated(door.server_error(status), quota);
    }
    let severer = req.extensions().get::<Severer>().cloned();
    let response = next.run(req).await;
    if !door.is_read(method, template)
        && response.status().is_success()
        && let Some(lost) = parts.knobs.take_lost_response()
    {
        let lost = knobs::lose(lost, severer, |s| door.server_error(s)).await;
        return decorated(lost, quota);
    }
    decorated(response, quota)
}

/// Seconds from `now_ms` to `until_ms`, rounded up and at least one: what a `Retry-After`
/// says.
pub fn retry_after_secs(until_ms: u64, now_ms: u64) -> u64 {
    until_ms.saturating_sub(now_ms).div_ceil(1000).max(1)
}
