//! Reading a webhook body without trusting its size.
//!
//! A sender that is refused for a body over the limit must still read the refusal. Many HTTP
//! clients write the whole body before they read the answer; if the server answers early and
//! closes with unread bytes in its receive buffer, the kernel resets the connection and the
//! client sees a broken pipe instead of the 413. So a body over the limit is read to its end and
//! thrown away (up to [`DRAIN_LIMIT`], which bounds the work a hostile sender can cause) before
//! the JSON 413 is sent. Only past that does the connection close without an answer.

use crate::deadline::BodyTimedOut;
use crate::error::ApiError;
use axum::body::{Body, Bytes};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use passage_core::engine::ErrorKind;

/// Bodies up to this size are read to the end before an oversized one is refused.
pub const DRAIN_LIMIT: usize = 8 * 1024 * 1024;

/// The body if it fits in `limit` bytes; otherwise the JSON refusal, once the sender has
/// finished sending (or has sent more than [`DRAIN_LIMIT`]).
pub(crate) async fn read_limited(body: Body, limit: usize) -> Result<Bytes, Box<Response>> {
    let mut body = body;
    let mut kept: Vec<u8> = Vec::new();
    let mut seen: usize = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Box::new(unreadable(&e).into_response()))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        seen = seen.saturating_add(data.len());
        if seen <= limit {
            kept.extend_from_slice(&data);
        } else if seen > DRAIN_LIMIT {
            break;
        }
    }
    if seen > limit {
        return Err(Box::new(too_large(seen, limit)));
    }
    Ok(Bytes::from(kept))
}

/// A body that ran past its deadline is the sender's slowness (408); any other failure to read
/// it, a malformed request (400).
fn unreadable(e: &axum::Error) -> ApiError {
    match BodyTimedOut::find(e) {
        Some(timed_out) => ApiError::new(
            ErrorKind::TimedOut,
            "request_timeout",
            timed_out.to_string(),
        ),
        None => ApiError::new(
            ErrorKind::Malformed,
            "unreadable_body",
            format!("the request body could not be read: {e}"),
        ),
    }
}

fn too_large(seen: usize, limit: usize) -> Response {
    let size = if seen > DRAIN_LIMIT {
        format!("more than {DRAIN_LIMIT} bytes")
    } else {
        format!("{seen} bytes")
    };
    ApiError::new(
        ErrorKind::TooLarge,
        "payload_too_large",
        format!("event body of {size} exceeds the limit of {limit} bytes"),
    )
    .into_response()
}
