//! The pieces every handler and the request gate share, and the router that
//! ties endpoints, gate and fallbacks together.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::OriginalUri;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;

use crate::common::counters::RequestCounters;
use crate::common::knobs::Knobs;
use crate::common::lock;
use crate::common::ratelimit::MinuteWindow;
use crate::jumpcloud::auth::{self, Registry};
use crate::jumpcloud::errors::{ApiFamily, JcError};
use crate::jumpcloud::gate::Caller;
use crate::jumpcloud::state::JumpCloudState;
use crate::jumpcloud::{gate, insights, v1, v2};

/// Everything about the emulator that is not tenant data.
#[derive(Debug)]
pub(crate) struct Shared {
    pub knobs: Knobs,
    pub counters: RequestCounters,
    pub bucket: MinuteWindow,
    pub base_url: String,
    pub token_lifetime: Duration,
    pub registry: Mutex<Registry>,
    /// Whether storm 429s carry a `Retry-After` (JumpCloud documents none).
    pub storm_retry_after: AtomicBool,
}

impl Shared {
    pub fn storm_retry_after(&self) -> bool {
        self.storm_retry_after.load(Ordering::Relaxed)
    }

    pub fn registry(&self) -> MutexGuard<'_, Registry> {
        lock(&self.registry)
    }
}

/// Axum state: tenant data behind a mutex plus the shared controls.
#[derive(Clone, Debug)]
pub(crate) struct AppState {
    pub tenant: Arc<Mutex<JumpCloudState>>,
    pub shared: Arc<Shared>,
}

impl AppState {
    /// Locks the tenant. A panic in one handler must not take the emulator
    /// down for every later request, so poisoning is ignored.
    pub fn tenant(&self) -> MutexGuard<'_, JumpCloudState> {
        lock(&self.tenant)
    }
}

/// The organisation a caller acts on, as an index.
pub(crate) fn org_of(state: &JumpCloudState, caller: &Caller) -> usize {
    state.org_index(&caller.org_id).unwrap_or(0)
}

/// A JSON request body; empty means `null`. The content type is not
/// checked, as `curl -d` sends a form content type by default.
pub(crate) fn json_body(family: ApiFamily, body: &Bytes) -> Result<Value, JcError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body)
        .map_err(|e| JcError::bad_request(family, format!("invalid JSON body: {e}")))
}

/// The full router with the request gate on every route, including the
/// fallbacks, so unknown paths still authenticate and are counted.
pub(crate) fn router(app: AppState) -> Router {
    Router::new()
        .merge(v1::routes())
        .merge(v2::routes())
        .merge(insights::routes())
        .route("/oauth2/token", post(auth::token))
        .fallback(unknown_endpoint)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(app.clone(), gate::gate))
        .with_state(app)
}

async fn unknown_endpoint(OriginalUri(uri): OriginalUri) -> Response {
    JcError::not_found(ApiFamily::of_path(uri.path())).into_response()
}

async fn method_not_allowed(OriginalUri(uri): OriginalUri) -> Response {
    JcError::method_not_allowed(ApiFamily::of_path(uri.path())).into_response()
}
