//! Okta's per-endpoint rate limits. Okta meters its management API per endpoint, each with
//! its own one-minute window and its own `X-Rate-Limit-*` headers
//! (https://developer.okta.com/docs/reference/rl-global-mgmt/, summarised in
//! `research/provider_apis.md` §3.4): spending the `/api/v1/groups/{id}` budget leaves
//! `/api/v1/users/{id}` untouched. A single org-wide window (what this emulator used to keep)
//! refuses a client that keeps to every documented budget, and its reset, up to a minute away,
//! then holds that client's every family: harsher than Okta in a way that hides real pacing
//! bugs behind a false one.
//!
//! Each figure is the lower of the Enterprise and Workforce Identity columns, so a client
//! paced for either tier is never refused. The org-wide window of
//! [`OktaConfig::rate_limit_per_minute`](super::OktaConfig) still applies on top (unlimited by
//! default), for tests and benches that model a tighter org or, with these limits off, a
//! raised one.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::Method;

use crate::common::lock;
use crate::common::ratelimit::{MinuteWindow, Quota, WindowUse};

/// One endpoint's budget: its name (one window per name) and its calls per minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub name: &'static str,
    pub per_minute: u32,
}

/// Which documented limit a request counts against.
pub fn endpoint(method: &Method, path: &str) -> Endpoint {
    let e = |name, per_minute| Endpoint { name, per_minute };
    let Some(rest) = path.strip_prefix("/api/v1/") else {
        return match path.starts_with("/oauth2/v1/") {
            true => e("oauth2", 1200),
            false => e("other", 600),
        };
    };
    let mut segments = rest.trim_end_matches('/').split('/');
    let family = segments.next().unwrap_or_default();
    let id = segments.next();
    let deeper = segments.next().is_some();
    match (family, id, deeper) {
        ("users", None, _) => e("users", 600),
        ("users", Some(_), false) if method == Method::GET => e("user_get", 1000),
        ("users", Some(_), _) => e("user", 600),
        ("groups", None, _) => e("groups", 500),
        ("groups", Some(_), _) => e("group", 600),
        ("apps", None, _) => e("apps", 100),
        ("apps", Some(_), _) => e("app", 500),
        ("logs", _, _) => e("logs", 50),
        _ => e("other", 600),
    }
}

/// The endpoints' windows, and whether they are enforced.
#[derive(Debug)]
pub struct EndpointLimits {
    windows: Mutex<HashMap<&'static str, MinuteWindow>>,
    enforced: AtomicBool,
}

impl Default for EndpointLimits {
    fn default() -> Self {
        Self {
            windows: Mutex::default(),
            enforced: AtomicBool::new(true),
        }
    }
}

impl EndpointLimits {
    /// Spends one request of `endpoint`'s window; `None` when the limits are not enforced.
    pub fn take(&self, endpoint: Endpoint, now_ms: u64) -> Option<Quota> {
        if !self.enforced.load(Ordering::Relaxed) {
            return None;
        }
        let mut windows = lock(&self.windows);
        let window = windows.entry(endpoint.name).or_default();
        Some(window.take(endpoint.per_minute, now_ms))
    }

    /// Turns the documented limits on or off (off: only the org-wide window counts).
    pub fn enforce(&self, on: bool) {
        self.enforced.store(on, Ordering::Relaxed);
    }

    /// How each endpoint's limit was used, by name.
    pub fn usage(&self) -> Vec<WindowUse> {
        let windows = lock(&self.windows);
        let mut out: Vec<WindowUse> = windows.iter().map(|(n, w)| w.usage(*n)).collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Forgets everything spent.
    pub fn reset(&self) {
        lock(&self.windows).clear();
    }
}

/// The answer's quota when both the endpoint's and the org's windows let the request through:
/// the one with less left, as that is the one the client must heed.
pub fn tighter(endpoint: Option<Quota>, org: Quota) -> Quota {
    match endpoint {
        Some(e) if e.remaining < org.remaining => e,
        _ => org,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_documented_endpoint_has_its_own_window() {
        let get = Method::GET;
        let post = Method::POST;
        let del = Method::DELETE;
        let name = |m: &Method, p: &str| endpoint(m, p).name;
        assert_eq!(name(&get, "/api/v1/users"), "users");
        assert_eq!(name(&get, "/api/v1/users/00u1"), "user_get");
        assert_eq!(name(&post, "/api/v1/users/00u1/lifecycle/suspend"), "user");
        assert_eq!(name(&get, "/api/v1/users/00u1/groups"), "user");
        assert_eq!(name(&get, "/api/v1/groups"), "groups");
        assert_eq!(name(&del, "/api/v1/groups/00g1/users/00u1"), "group");
        assert_eq!(name(&get, "/api/v1/apps"), "apps");
        assert_eq!(name(&del, "/api/v1/apps/0oa1/users/00u1"), "app");
        assert_eq!(name(&get, "/api/v1/logs"), "logs");
        assert_eq!(name(&get, "/api/v1/authorizationServers"), "other");
    }

    #[test]
    fn spending_one_endpoint_leaves_the_others_whole() {
        let limits = EndpointLimits::default();
        let groups = endpoint(&Method::DELETE, "/api/v1/groups/g/users/u");
        let users = endpoint(&Method::POST, "/api/v1/users/u/lifecycle/suspend");
        let t = 1_700_000_000_000;
        for _ in 0..groups.per_minute {
            assert!(limits.take(groups, t).unwrap().allowed);
        }
        let refused = limits.take(groups, t + 1).unwrap();
        assert!(!refused.allowed && refused.remaining == 0);
        let other = limits.take(users, t + 2).unwrap();
        assert!(other.allowed);
        assert_eq!(other.remaining, users.per_minute - 1);
        limits.enforce(false);
        assert_eq!(limits.take(groups, t + 3), None);
    }
}
