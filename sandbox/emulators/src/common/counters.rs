//! Request accounting, so tests can assert how a client behaved ("retried
//! exactly twice", "never called suspend") rather than only what state it
//! left behind.

use crate::common::lock;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Route label used for requests that matched no route.
pub const UNMATCHED: &str = "<unmatched>";

/// Counts of served requests. Every request is recorded once, when its
/// response is produced, whatever the outcome (including 401, 429 and 5xx).
#[derive(Debug, Default)]
pub struct RequestCounters {
    total: AtomicU64,
    rate_limited: AtomicU64,
    server_errors: AtomicU64,
    by_route: Mutex<BTreeMap<(String, String), u64>>,
    by_status: Mutex<BTreeMap<u16, u64>>,
}

impl RequestCounters {
    /// Empty counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one served request. `template` is the route as registered
    /// (for example `/api/v1/users/{id}/lifecycle/suspend`).
    pub fn record(&self, method: &str, template: &str, status: u16) {
        self.total.fetch_add(1, Ordering::Relaxed);
        if status == 429 {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
        if status >= 500 {
            self.server_errors.fetch_add(1, Ordering::Relaxed);
        }
        *lock(&self.by_route)
            .entry((method.to_owned(), template.to_owned()))
            .or_default() += 1;
        *lock(&self.by_status).entry(status).or_default() += 1;
    }

    /// All requests served.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Requests answered with 429.
    pub fn rate_limited(&self) -> u64 {
        self.rate_limited.load(Ordering::Relaxed)
    }

    /// Requests answered with any 5xx.
    pub fn server_errors(&self) -> u64 {
        self.server_errors.load(Ordering::Relaxed)
    }

    /// Requests for one method and route template, whatever their status.
    pub fn count(&self, method: &str, template: &str) -> u64 {
        lock(&self.by_route)
            .get(&(method.to_owned(), template.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// Requests answered with one status code.
    pub fn with_status(&self, status: u16) -> u64 {
        lock(&self.by_status).get(&status).copied().unwrap_or(0)
    }

    /// Every (method, template) pair seen, with its count.
    pub fn by_route(&self) -> BTreeMap<(String, String), u64> {
        lock(&self.by_route).clone()
    }

    /// Zeroes every counter.
    pub fn reset(&self) {
        self.total.store(0, Ordering::Relaxed);
        self.rate_limited.store(0, Ordering::Relaxed);
        self.server_errors.store(0, Ordering::Relaxed);
        lock(&self.by_route).clear();
        lock(&self.by_status).clear();
    }
}
