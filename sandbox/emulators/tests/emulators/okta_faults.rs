//! Misbehaviour on demand: rate limits with real headers, forced 429
//! bursts, injected 5xx, lost responses and latency, plus request counters.

use crate::support;
use std::time::{Duration, Instant};

use passage_sandbox::okta::{OktaConfig, UserStatus, demo_seed, event_type};
use reqwest::StatusCode;
use support::{Harness, epoch_secs_now, expect_error, header, header_u64};

#[tokio::test]
async fn rate_limit_headers_count_down_then_429() {
    let h = Harness::with_config(OktaConfig {
        rate_limit_per_minute: 3,
        ..OktaConfig::default()
    })
    .await;
    demo_seed(&h.okta);

    let mut remaining = Vec::new();
    let mut resets = Vec::new();
    for _ in 0..3 {
        let response = h.get("/api/v1/users?limit=1").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header_u64(&response, "x-rate-limit-limit"), 3);
        remaining.push(header_u64(&response, "x-rate-limit-remaining"));
        resets.push(header_u64(&response, "x-rate-limit-reset"));
    }
    assert_eq!(remaining, [2, 1, 0]);
    assert!(resets.windows(2).all(|w| w[0] == w[1]), "one window");
    let now = epoch_secs_now();
    #[allow(clippy::cast_precision_loss)]
    let reset = resets[0] as f64;
    assert!(
        reset > now && reset <= now + 61.0,
        "reset {reset} vs now {now}"
    );

    let limited = h.get("/api/v1/users?limit=1").await;
    assert_eq!(header_u64(&limited, "x-rate-limit-remaining"), 0);
    assert_eq!(header_u64(&limited, "x-rate-limit-reset"), resets[0]);
    assert!(header(&limited, "x-okta-request-id").is_some());
    let body = expect_error(limited, 429, "E0000047").await;
    assert_eq!(
        body["errorSummary"],
        "API call exceeded rate limit due to too many requests."
    );
    assert_eq!(h.okta.counters().rate_limited(), 1);

    // Runtime adjustment and a manual refill.
    h.okta.knobs().set_rate_limit_per_minute(10);
    let more = h.get("/api/v1/users?limit=1").await;
    assert_eq!(more.status(), StatusCode::OK);
    assert_eq!(header_u64(&more, "x-rate-limit-limit"), 10);
    h.okta.reset_rate_limit();
    let fresh = h.get("/api/v1/users?limit=1").await;
    assert_eq!(header_u64(&fresh, "x-rate-limit-remaining"), 9);
    h.shutdown().await;
}

#[tokio::test]
async fn a_429_burst_clears_once_the_advertised_reset_passes() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    h.okta.knobs().burst_429(2);
    let path = format!("/api/v1/users/{}/lifecycle/suspend", demo.leaver_id);

    let started = Instant::now();
    let mut attempts = 0;
    let response = loop {
        attempts += 1;
        let response = h.post(&path).await;
        if response.status() != StatusCode::TOO_MANY_REQUESTS {
            break response;
        }
        assert_eq!(header_u64(&response, "x-rate-limit-remaining"), 0);
        let reset = header_u64(&response, "x-rate-limit-reset");
        let now = epoch_secs_now();
        #[allow(clippy::cast_precision_loss)]
        let wait = reset as f64 - now;
        assert!(
            wait > 0.0 && wait <= 2.0,
            "reset is about a second away: {wait}"
        );
        expect_error(response, 429, "E0000047").await;
        tokio::time::sleep(Duration::from_secs_f64(wait)).await;
    };
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(attempts, 3);
    assert!(started.elapsed() >= Duration::from_secs(1));
    // The throttled attempts changed nothing; the third applied once.
    assert_eq!(
        h.okta
            .count_events(event_type::USER_SUSPEND, &demo.leaver_id),
        1
    );
    assert_eq!(h.okta.counters().rate_limited(), 2);
    assert_eq!(h.okta.knobs().pending_burst_429(), 0);
    h.shutdown().await;
}

#[tokio::test]
async fn injected_5xx_never_half_applies() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    let id = demo.leaver_id.as_str();
    h.okta.knobs().set_error_rate_5xx(1.0);

    for _ in 0..6 {
        let response = h
            .post(&format!("/api/v1/users/{id}/lifecycle/suspend"))
            .await;
        let status = response.status().as_u16();
        assert!([500, 502, 503].contains(&status), "got {status}");
        assert!(header(&response, "x-rate-limit-remaining").is_some());
        let body = expect_error(response, status, "E0000009").await;
        assert_eq!(body["errorSummary"], "Internal Server Error");
    }
    assert_eq!(h.okta.user(id).unwrap().status, UserStatus::Active);
    assert!(h.okta.system_log().is_empty());
    assert_eq!(h.okta.counters().server_errors(), 6);

    h.okta.knobs().set_error_rate_5xx(0.0);
    let ok = h
        .post(&format!("/api/v1/users/{id}/lifecycle/suspend"))
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(h.okta.user(id).unwrap().status, UserStatus::Suspended);
    h.shutdown().await;
}

#[tokio::test]
async fn a_lost_response_still_applies_the_change() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    let id = demo.leaver_id.as_str();
    h.okta.knobs().fail_after_apply(1);

    // Reads are never affected.
    assert_eq!(
        h.get(&format!("/api/v1/users/{id}")).await.status(),
        StatusCode::OK
    );
    let lost = h
        .post(&format!("/api/v1/users/{id}/lifecycle/suspend"))
        .await;
    expect_error(lost, 502, "E0000009").await;
    assert_eq!(h.okta.user(id).unwrap().status, UserStatus::Suspended);
    let retry = h
        .post(&format!("/api/v1/users/{id}/lifecycle/suspend"))
        .await;
    expect_error(retry, 400, "E0000001").await;
    assert_eq!(h.okta.count_events(event_type::USER_SUSPEND, id), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn latency_is_added_to_every_request() {
    let h = Harness::start().await;
    h.okta.knobs().set_latency(Duration::from_millis(150));
    let started = Instant::now();
    let response = h.get("/api/v1/users").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150));
    h.okta.knobs().reset();
    assert_eq!(h.okta.knobs().latency(), Duration::ZERO);
    h.shutdown().await;
}

#[tokio::test]
async fn counters_and_request_ids_cover_every_response() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    let mut request_ids = std::collections::HashSet::new();
    for _ in 0..3 {
        let response = h.get(&format!("/api/v1/users/{}", demo.leaver_id)).await;
        let id = header(&response, "x-okta-request-id").unwrap();
        assert_eq!(id.len(), 27);
        request_ids.insert(id);
    }
    assert_eq!(request_ids.len(), 3, "request ids are unique");
    let unauthenticated = h.http.get(h.url("/api/v1/users")).send().await.unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    h.get("/api/v1/nope").await;

    let counters = h.okta.counters();
    assert_eq!(counters.total(), 5);
    assert_eq!(counters.count("GET", "/api/v1/users/{id}"), 3);
    assert_eq!(counters.count("GET", "/api/v1/users"), 1);
    assert_eq!(counters.count("GET", "<unmatched>"), 1);
    assert_eq!(counters.with_status(401), 1);
    assert_eq!(counters.with_status(404), 1);
    counters.reset();
    assert_eq!(counters.total(), 0);
    h.shutdown().await;
}
