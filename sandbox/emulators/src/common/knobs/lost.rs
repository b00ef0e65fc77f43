//! Responses lost after the change was applied: the provider did the work, and the client
//! never learns it. The one fault that happens after a handler runs, and the one that tests
//! whether a client confirms by reading back instead of trusting (or repeating) blindly.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::common::server::Severer;

/// How a lost response is lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LostResponse {
    /// The provider's own 5xx (of this status) replaces the success answer.
    ServerError(u16),
    /// The connection is closed with no response at all.
    Dropped,
    /// Nothing is answered for this long (past any sensible client timeout), then the
    /// connection is closed.
    TimedOut(Duration),
}

impl Default for LostResponse {
    fn default() -> Self {
        Self::ServerError(502)
    }
}

/// Replaces an applied request's answer as `lost` says. `server_error` renders the provider's
/// own 5xx body; `severer` closes the request's connection (when the emulator serves through
/// [`crate::common::server::ServerHandle`]; without one a dropped answer degrades to a 502).
pub(crate) async fn lose(
    lost: LostResponse,
    severer: Option<Severer>,
    server_error: impl FnOnce(u16) -> Response,
) -> Response {
    match (lost, severer) {
        (LostResponse::ServerError(status), _) => server_error(status.clamp(500, 599)),
        (LostResponse::Dropped, Some(severer)) => {
            severer.sever();
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        (LostResponse::TimedOut(hold), Some(severer)) => {
            tokio::time::sleep(hold).await;
            severer.sever();
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        (_, None) => server_error(502),
    }
}
