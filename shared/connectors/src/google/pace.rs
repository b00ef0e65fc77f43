//! Google's budgets, per API, and its refusals for the rate: a 429, or a 403 whose reason is
//! one of the rate reasons.

use super::errors::{GoogleError, RATE_REASONS};
use crate::pace::{read_budgets, refusal_signal, throttled};
use passage_core::pace::{PaceSignal, Rate};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// The Directory API allows 2,400 queries a minute per user per project
/// (<https://developers.google.com/admin-sdk/directory/v1/limits>). The License Manager, Gmail
/// (per-user quota units) and Data Transfer APIs publish no per-minute figure Passage can use:
/// their budgets are cautious guesses, and a refusal pauses every caller of the customer.
const BUDGETS: &[(&str, &str)] = &[
    ("directory", "2400/min"),
    ("licensing", "600/min"),
    ("gmail", "600/min"),
    ("other", "600/min"),
];

pub(crate) fn budgets() -> Vec<(&'static str, Rate)> {
    read_budgets(BUDGETS)
}

/// The family of a call to `path` (each API keeps Google's own paths on every host).
pub(crate) fn family(path: &str) -> &'static str {
    if path.starts_with("/admin/directory/") {
        "directory"
    } else if path.starts_with("/apps/licensing/") {
        "licensing"
    } else if path.starts_with("/gmail/") {
        "gmail"
    } else {
        "other"
    }
}

pub(crate) fn signal(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> PaceSignal {
    let rate_reason = status == StatusCode::FORBIDDEN
        && RATE_REASONS.contains(&GoogleError::parse(body).reason());
    if rate_reason {
        throttled(headers)
    } else {
        refusal_signal(status, headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_fall_in_their_apis_family() {
        assert_eq!(family("/admin/directory/v1/users/u1"), "directory");
        assert_eq!(
            family("/apps/licensing/v1/product/p/sku/s/user/u"),
            "licensing"
        );
        assert_eq!(family("/gmail/v1/users/me/settings/vacation"), "gmail");
        assert_eq!(family("/admin/datatransfer/v1/transfers"), "other");
    }

    #[test]
    fn a_403_for_the_rate_is_a_refusal_and_one_for_permission_is_not() {
        let rate = br#"{"error":{"code":403,"errors":[{"reason":"userRateLimitExceeded"}]}}"#;
        let denied = br#"{"error":{"code":403,"errors":[{"reason":"forbidden"}]}}"#;
        let none = HeaderMap::new();
        assert!(signal(StatusCode::FORBIDDEN, &none, rate).throttled);
        assert!(signal(StatusCode::FORBIDDEN, &none, denied).is_silent());
        assert!(signal(StatusCode::TOO_MANY_REQUESTS, &none, b"").throttled);
    }
}
