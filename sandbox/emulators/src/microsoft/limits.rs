//! Graph's documented service limits, per app per tenant
//! (<https://learn.microsoft.com/graph/throttling-limits>): identity reads and writes, Intune
//! and Outlook each keep their own window, of their own length. A single per-minute window for
//! everything (what this emulator used to keep) refused a client that kept to every
//! documented limit, and its Retry-After (up to a minute) then held all of that client's
//! calls: harsher than Graph in a way that hides real pacing bugs behind a false one.
//!
//! Every figure is the smallest tenant's, and each is counted in requests where Graph counts
//! resource units (a read costs one to three): a client paced to these limits stays under
//! Graph's. The Exchange admin endpoint publishes no limit; its window is an assumption.
//! The per-app window of [`MicrosoftConfig::rate_limit_per_minute`](super::MicrosoftConfig)
//! still applies on top (unlimited by default), for tests that model a tighter tenant.

use axum::http::Method;

use crate::microsoft::token::Resource;

/// One documented limit: its name (one window per app and name), and how many requests a
/// window of how long allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub name: &'static str,
    pub requests: u32,
    pub window_ms: u64,
}

/// The limit a request counts against.
pub fn limit(resource: Resource, method: &Method, path: &str) -> Limit {
    let l = |name, requests, window_secs: u64| Limit {
        name,
        requests,
        window_ms: window_secs * 1000,
    };
    if resource == Resource::Exchange {
        return l("exchange", 300, 60);
    }
    let segments: Vec<&str> = path
        .split_once("/v1.0/")
        .map_or(path, |(_, rest)| rest)
        .trim_matches('/')
        .split('/')
        .collect();
    match segments.as_slice() {
        ["deviceManagement", ..] => l("intune", 200, 20),
        [
            "users",
            _,
            "mailboxSettings" | "mailFolders" | "messages",
            ..,
        ] => l("outlook", 10_000, 600),
        _ if *method == Method::GET => l("identity_reads", 3500, 10),
        _ => l("identity_writes", 3000, 150),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_service_has_its_own_limit() {
        let name = |r, m: Method, p: &str| limit(r, &m, p).name;
        let g = Resource::Graph;
        assert_eq!(name(g, Method::GET, "/v1.0/users/u1"), "identity_reads");
        assert_eq!(
            name(g, Method::POST, "/v1.0/users/u1/revokeSignInSessions"),
            "identity_writes"
        );
        assert_eq!(
            name(
                g,
                Method::POST,
                "/v1.0/deviceManagement/managedDevices/d/wipe"
            ),
            "intune"
        );
        assert_eq!(
            name(g, Method::PATCH, "/v1.0/users/u1/mailboxSettings"),
            "outlook"
        );
        assert_eq!(
            name(
                Resource::Exchange,
                Method::POST,
                "/adminapi/beta/t/InvokeCommand"
            ),
            "exchange"
        );
        assert_eq!(limit(g, &Method::GET, "/v1.0/users").window_ms, 10_000);
    }
}
