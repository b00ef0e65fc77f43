//! The HTTP listener of `passage serve`, bounded so that slow or idle clients cannot pile up.
//!
//! A server with no deadlines keeps every connection a client opens for as long as the client
//! likes: thousands of clients trickling one header byte at a time hold thousands of
//! connections and their buffers. So each connection here has three limits:
//!
//! - its request headers must be complete within [`HttpLimits::header_timeout`], counted from
//!   the moment the server starts waiting for them — when the connection opens, and again after
//!   each answer — so the same deadline closes a kept-alive connection left idle;
//! - a body must be complete within [`HttpLimits::body_timeout`] of its headers
//!   ([`passage_http::body_deadline`]); a slower one is answered 408;
//! - at most [`HttpLimits::max_connections`] are served at once. Further connections are not
//!   accepted until one closes; they wait in the operating system's listen backlog.
//!
//! Only HTTP/1.1 is served: HTTP/2 has no header deadline in the server library, and webhook
//! senders and reverse proxies speak HTTP/1.1.

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// How long a client may take and how many may be served at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Time for a request's headers to arrive, from the connection's start or the previous
    /// answer; also how long an idle kept-alive connection stays open.
    pub header_timeout: Duration,
    /// Time for a request's body to arrive, from its headers.
    pub body_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    /// Generous for any HR system or operator, and small enough that a slow client lets go
    /// quickly: 10 s for headers, 30 s for a body, 512 connections.
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 512,
        }
    }
}

/// Serves `app` on `listener` within `limits` until the task running it is aborted; aborting
/// it also closes every open connection.
pub async fn serve(listener: TcpListener, app: axum::Router, limits: HttpLimits) {
    let app = passage_http::body_deadline(app, limits.body_timeout);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut connections = JoinSet::new();
    loop {
        // Wait for a free slot before accepting, so an excess connection stays in the backlog.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: pause rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        let service = TowerToHyperService::new(app.clone());
        let header_timeout = limits.header_timeout;
        connections.spawn(async move {
            let _slot = slot;
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = served {
                tracing::debug!(%peer, error = %e, "connection closed");
            }
        });
    }
}
