//! A deadline for a request's whole body.
//!
//! A client that sends a body one byte at a time holds its connection for as long as it likes
//! unless something counts the total: a timeout between frames is reset by every byte. So the
//! host that reads bodies off the network (the embedded listener; API Gateway buffers them
//! before a Lambda function sees them) wraps each request's body in [`DeadlineBody`], which
//! fails once the deadline set when the request arrived has passed. Routes that read a body
//! answer that failure 408 `request_timeout` (see `body::read_limited`).

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use http_body::{Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// Gives every request to `app` at most `limit` to deliver its body, counted from when the
/// request (its headers) arrived.
pub fn body_deadline(app: Router, limit: Duration) -> Router {
    app.layer(axum::middleware::map_request(
        move |req: Request| async move {
            let (parts, body) = req.into_parts();
            Request::from_parts(parts, Body::new(DeadlineBody::new(body, limit)))
        },
    ))
}

/// The body ran past its deadline.
#[derive(Debug)]
pub(crate) struct BodyTimedOut(pub(crate) Duration);

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the request body did not arrive within {:?}", self.0)
    }
}

impl std::error::Error for BodyTimedOut {}

impl BodyTimedOut {
    /// The deadline failure somewhere in `error`'s chain of causes, if that is what it is.
    pub(crate) fn find<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Self> {
        let mut cause = Some(error);
        while let Some(e) = cause {
            if let Some(timed_out) = e.downcast_ref::<Self>() {
                return Some(timed_out);
            }
            cause = e.source();
        }
        None
    }
}

/// A body that fails with [`BodyTimedOut`] once its deadline passes.
pub(crate) struct DeadlineBody {
    inner: Body,
    limit: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl DeadlineBody {
    fn new(inner: Body, limit: Duration) -> Self {
        Self {
            inner,
            limit,
            deadline: Box::pin(tokio::time::sleep_until(Instant::now() + limit)),
        }
    }
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut(this.limit)))));
        }
        Pin::new(&mut this.inner)
            .poll_frame(cx)
            .map(|frame| frame.map(|f| f.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
