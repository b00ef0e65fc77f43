//! Okta's budgets: per-minute limits per endpoint family, and the `X-Rate-Limit-*` headers
//! every answer carries.

use crate::pace::{header_u64, read_budgets, refusal_signal};
use passage_core::pace::{PaceSignal, Rate};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// Per-minute org limits of the families Passage calls, the lower of the Enterprise and
/// Workforce Identity columns of Okta's management rate limits
/// (<https://developer.okta.com/docs/reference/rl-global-mgmt/>). Okta meters calls that
/// match no listed endpoint in the bucket of their base path, so a user's sessions, grants,
/// factors and lifecycle share the `users` budget, the lowest of its rows.
const BUDGETS: &[(&str, &str)] = &[
    ("users", "600/min"),
    ("groups", "500/min"),
    ("apps", "100/min"),
    ("app", "500/min"),
    ("logs", "50/min"),
    ("other", "600/min"),
];

pub(crate) fn budgets() -> Vec<(&'static str, Rate)> {
    read_budgets(BUDGETS)
}

/// The family of a call to `path`.
pub(crate) fn family(path: &str) -> &'static str {
    let mut segments = path.trim_start_matches('/').split('/');
    if (segments.next(), segments.next()) != (Some("api"), Some("v1")) {
        return "other";
    }
    match (segments.next(), segments.next()) {
        (Some("users"), _) => "users",
        (Some("groups"), _) => "groups",
        (Some("apps"), None | Some("")) => "apps",
        (Some("apps"), Some(_)) => "app",
        (Some("logs"), _) => "logs",
        _ => "other",
    }
}

/// Okta's count of what the bucket has left until its reset (epoch seconds on Okta's clock,
/// moved onto ours through the answer's `Date`), on every answer.
pub(crate) fn signal(status: StatusCode, headers: &HeaderMap) -> PaceSignal {
    let reset = header_u64(headers, "x-rate-limit-reset")
        .and_then(|s| jiff::Timestamp::from_second(s.min(i64::MAX as u64) as i64).ok())
        .map(|reset| crate::http::on_local_clock(reset, headers));
    PaceSignal {
        remaining: header_u64(headers, "x-rate-limit-remaining"),
        reset,
        ..refusal_signal(status, headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_fall_in_the_family_okta_meters_them_in() {
        assert_eq!(family("/api/v1/users"), "users");
        assert_eq!(family("/api/v1/users/00u1/lifecycle/suspend"), "users");
        assert_eq!(family("/api/v1/groups/00g1/users/00u1"), "groups");
        assert_eq!(family("/api/v1/apps"), "apps");
        assert_eq!(family("/api/v1/apps/0oa1/users/00u1"), "app");
        assert_eq!(family("/api/v1/logs"), "logs");
        assert_eq!(family("/api/v1/devices/guo1/lifecycle/suspend"), "other");
        assert_eq!(family("/oauth2/v1/token"), "other");
    }

    #[test]
    fn the_rate_limit_headers_say_what_remains_until_when() {
        let mut headers = HeaderMap::new();
        headers.insert("x-rate-limit-remaining", "7".parse().unwrap());
        headers.insert("x-rate-limit-reset", "1700000060".parse().unwrap());
        let signal = signal(StatusCode::OK, &headers);
        assert_eq!(signal.remaining, Some(7));
        assert_eq!(signal.reset.unwrap().as_second(), 1_700_000_060);
        assert!(!signal.throttled);
        assert!(self::signal(StatusCode::TOO_MANY_REQUESTS, &headers).throttled);
    }
}
