//! `[server]`: where the embedded host keeps its data and listens, and how often its loops run.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Base URL auditors reach this server at, used when printing links.
    #[serde(default)]
    pub public_url: Option<String>,
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    #[serde(default = "default_workers")]
    pub workers: usize,
    #[serde(default = "default_sweep")]
    pub sweep_seconds: u64,
    /// How long a worker's claim on a step lasts. A step held by a crashed process is taken
    /// over after this; it must exceed the longest attempt (each provider call times out at 30 s).
    #[serde(default = "default_lease")]
    pub lease_seconds: u64,
    /// The longest backoff between retries of a failing step (each wait is drawn below it).
    /// The default, five minutes, spares a failing provider; a step that needs many reads to
    /// all succeed in one attempt gets through a provider failing a share of its requests
    /// sooner with a shorter cap, at the cost of more calls.
    #[serde(default)]
    pub retry_cap_seconds: Option<u64>,
    /// How often tenants with an HR API are compared with Passage.
    #[serde(default = "default_reconcile")]
    pub reconcile_minutes: u64,
    /// A request's headers must have arrived this many seconds after the connection opened
    /// (or after the previous answer on a kept-alive connection, so it also closes idle ones).
    #[serde(default = "default_header_timeout")]
    pub header_timeout_seconds: u64,
    /// A request's body must have arrived this many seconds after its headers; a slower one is
    /// answered 408 and the connection closed.
    #[serde(default = "default_body_timeout")]
    pub body_timeout_seconds: u64,
    /// Connections served at once; further ones wait, unanswered, until one closes.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// An RFC 3161 timestamp authority: every bundle's signature gets its token
    /// (`statement.tsr`), which `openssl ts -verify` checks.
    #[serde(default)]
    pub tsa_url: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            public_url: None,
            data_dir: default_data_dir(),
            workers: default_workers(),
            sweep_seconds: default_sweep(),
            lease_seconds: default_lease(),
            retry_cap_seconds: None,
            reconcile_minutes: default_reconcile(),
            header_timeout_seconds: default_header_timeout(),
            body_timeout_seconds: default_body_timeout(),
            max_connections: default_max_connections(),
            tsa_url: None,
        }
    }
}

fn default_listen() -> SocketAddr {
    "127.0.0.1:8080".parse().expect("static address")
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("passage-data")
}
fn default_workers() -> usize {
    8
}
fn default_sweep() -> u64 {
    5
}
fn default_lease() -> u64 {
    60
}
fn default_reconcile() -> u64 {
    60
}
fn default_header_timeout() -> u64 {
    10
}
fn default_body_timeout() -> u64 {
    30
}
fn default_max_connections() -> usize {
    512
}
