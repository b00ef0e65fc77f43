//! A loopback endpoint that keeps every delivery verbatim (headers and raw body) without
//! judging it, so tests can check an HR emulator's webhook signatures with their own,
//! independent computation — and so an intake under test can be fed the exact same bytes.

use std::io;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

use crate::common::lock;
use crate::common::server::ServerHandle;
use crate::hr::plumbing;

/// Path the receiver listens on.
pub const RECEIVER_PATH: &str = "/hooks/hr";

/// One delivery as it arrived.
#[derive(Clone, Debug)]
pub struct RawDelivery {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl RawDelivery {
    /// A header's value as text (`None` when absent or not UTF-8).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body parsed as JSON.
    ///
    /// # Errors
    /// If the body is not JSON.
    pub fn json(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
    }
}

type Log = Arc<Mutex<Vec<RawDelivery>>>;

/// A running receiver; it answers 200 to everything.
#[derive(Debug)]
pub struct RawReceiver {
    server: ServerHandle,
    origin: String,
    log: Log,
}

impl RawReceiver {
    /// Starts on a free loopback port.
    ///
    /// # Errors
    /// If no loopback port can be bound.
    pub async fn start() -> io::Result<Self> {
        let log: Log = Arc::default();
        let router = Router::new()
            .route(RECEIVER_PATH, post(receive))
            .with_state(Arc::clone(&log));
        let (server, origin) = plumbing::serve(router).await?;
        Ok(Self {
            server,
            origin,
            log,
        })
    }

    /// The URL to deliver to.
    pub fn url(&self) -> String {
        format!("{}{RECEIVER_PATH}", self.origin)
    }

    /// Everything received so far, oldest first.
    pub fn received(&self) -> Vec<RawDelivery> {
        lock(&self.log).clone()
    }

    /// Stops the server.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

async fn receive(State(log): State<Log>, headers: HeaderMap, body: Bytes) -> StatusCode {
    lock(&log).push(RawDelivery {
        headers,
        body: body.to_vec(),
    });
    StatusCode::OK
}
