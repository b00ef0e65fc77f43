//! Microsoft's budgets: Graph's identity, Intune and Outlook limits per app and tenant, the
//! Exchange admin endpoint's, and the throttle headers Graph answers with.

use super::auth::Resource;
use crate::pace::{read_budgets, refusal_signal};
use passage_core::pace::{PaceSignal, Rate};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};

/// Limits per app and tenant (<https://learn.microsoft.com/graph/throttling-limits>):
/// identity reads 3,500 resource units per 10 s for the smallest tenants, at up to 2 units a
/// read Passage makes; identity writes 3,000 per 2 min 30 s; Intune writes 200 per 20 s;
/// Outlook 10,000 per 10 min per mailbox, kept here per tenant. The Exchange admin endpoint
/// publishes no limit: its budget is a cautious guess.
const BUDGETS: &[(&str, &str)] = &[
    ("directory", "1750/10s"),
    ("directory_writes", "3000/150s"),
    ("intune", "200/20s"),
    ("outlook", "10000/10min"),
    ("exchange", "300/min"),
];

pub(crate) fn budgets() -> Vec<(&'static str, Rate)> {
    read_budgets(BUDGETS)
}

/// The family of a call to `path` on `resource`.
pub(crate) fn family(resource: Resource, method: &Method, path: &str) -> &'static str {
    if resource == Resource::Exchange {
        return "exchange";
    }
    let after_version = path
        .split_once("/v1.0/")
        .map_or(path, |(_, rest)| rest)
        .trim_start_matches('/');
    let segments: Vec<&str> = after_version.split('/').collect();
    match segments.as_slice() {
        ["deviceManagement", ..] => "intune",
        [
            "users",
            _,
            "mailboxSettings" | "mailFolders" | "messages",
            ..,
        ] => "outlook",
        _ if *method == Method::GET => "directory",
        _ => "directory_writes",
    }
}

/// A 429 and its `Retry-After`; and past 80 % of a limit Graph says how far in
/// `x-ms-throttle-limit-percentage` (0.8 to 1.8), which stops the burst before the refusal.
pub(crate) fn signal(status: StatusCode, headers: &HeaderMap) -> PaceSignal {
    let near_limit = headers
        .get("x-ms-throttle-limit-percentage")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .is_some_and(|used| used >= 0.8);
    PaceSignal {
        remaining: near_limit.then_some(0),
        ..refusal_signal(status, headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_fall_in_the_family_microsoft_limits_them_in() {
        let get = Method::GET;
        assert_eq!(family(Resource::Graph, &get, "/v1.0/users/u1"), "directory");
        let post = Method::POST;
        assert_eq!(
            family(
                Resource::Graph,
                &post,
                "/v1.0/users/u1/revokeSignInSessions"
            ),
            "directory_writes"
        );
        assert_eq!(
            family(
                Resource::Graph,
                &post,
                "/v1.0/deviceManagement/managedDevices/d/retire"
            ),
            "intune"
        );
        assert_eq!(
            family(
                Resource::Graph,
                &Method::PATCH,
                "/v1.0/users/u1/mailboxSettings"
            ),
            "outlook"
        );
        assert_eq!(
            family(Resource::Exchange, &post, "/adminapi/beta/t/InvokeCommand"),
            "exchange"
        );
    }

    #[test]
    fn nearing_the_limit_stops_the_burst() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ms-throttle-limit-percentage", "0.9".parse().unwrap());
        assert_eq!(signal(StatusCode::OK, &headers).remaining, Some(0));
        headers.insert("x-ms-throttle-limit-percentage", "0.5".parse().unwrap());
        assert!(signal(StatusCode::OK, &headers).is_silent());
        headers.insert("retry-after", "3".parse().unwrap());
        let refused = signal(StatusCode::TOO_MANY_REQUESTS, &headers);
        assert!(refused.throttled);
        assert_eq!(refused.retry_after, Some(std::time::Duration::from_secs(3)));
    }
}
