#![cfg(feature = "google")]
//! Misbehaviour on demand, with Google's own signals: 403
//! userRateLimitExceeded / rateLimitExceeded / quotaExceeded, 429, 5xx
//! (JSON and HTML), lost responses and latency, plus request counters.

use crate::google_support as support;

use std::time::{Duration, Instant};

use passage_sandbox::google::{
    GoogleConfig, PRODUCT_GOOGLE_APPS, QuotaReason, SKU_BUSINESS_STANDARD, event_name,
};
use reqwest::StatusCode;
use serde_json::json;
use support::{Harness, expect_error, user_path};

#[tokio::test]
async fn the_per_user_budget_answers_403_user_rate_limit_exceeded() {
    let h = Harness::with_config(GoogleConfig {
        rate_limit_per_minute: 3,
        ..GoogleConfig::default()
    })
    .await;
    let token = h.admin_token().await;
    let path = user_path(&h.demo.leaver_email);
    for _ in 0..3 {
        assert_eq!(h.get(&path, &token).await.status(), StatusCode::OK);
    }
    let body = expect_error(h.get(&path, &token).await, 403, "userRateLimitExceeded").await;
    assert_eq!(body["error"]["errors"][0]["domain"], "usageLimits");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("Queries per minute per user"), "{message}");
    assert!(message.contains(&h.google.project_number()), "{message}");

    // The budget is per API: the same user's License Manager quota is untouched.
    let licence = format!(
        "/apps/licensing/v1/product/{PRODUCT_GOOGLE_APPS}/sku/{SKU_BUSINESS_STANDARD}/user/{}",
        h.demo.leaver_email
    );
    assert_eq!(h.get(&licence, &token).await.status(), StatusCode::OK);
    // And per impersonated user: another subject still has its own.
    let manager = h
        .token(Some(&h.demo.manager_email), support::GMAIL_SCOPES)
        .await;
    assert_eq!(
        h.get(&support::gmail_path("me", "vacation"), &manager)
            .await
            .status(),
        StatusCode::OK
    );
    // Nothing was changed by a throttled write.
    expect_error(
        h.put(&path, &token, json!({ "suspended": true })).await,
        403,
        "userRateLimitExceeded",
    )
    .await;
    assert!(!h.google.user(&h.demo.leaver_email).unwrap().suspended);

    h.google.reset_rate_limit();
    assert_eq!(h.get(&path, &token).await.status(), StatusCode::OK);
    h.google.knobs().set_rate_limit_per_minute(100);
    assert_eq!(h.get(&path, &token).await.status(), StatusCode::OK);
    h.shutdown().await;
}

#[tokio::test]
async fn forced_403_and_429_bursts_clear_and_then_succeed() {
    let h = Harness::start().await;
    let token = h.admin_token().await;
    let path = user_path(&h.demo.leaver_email);

    h.google
        .quota_knobs()
        .burst_403(QuotaReason::RateLimitExceeded, 2);
    h.google
        .quota_knobs()
        .burst_403(QuotaReason::QuotaExceeded, 1);
    h.google
        .quota_knobs()
        .burst_403(QuotaReason::UserRateLimitExceeded, 1);
    let mut reasons = Vec::new();
    let response = loop {
        let response = h.put(&path, &token, json!({ "suspended": true })).await;
        if response.status() != StatusCode::FORBIDDEN {
            break response;
        }
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["status"], "PERMISSION_DENIED");
        reasons.push(
            body["error"]["errors"][0]["reason"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        assert!(reasons.len() < 10);
    };
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        reasons,
        [
            "userRateLimitExceeded",
            "rateLimitExceeded",
            "rateLimitExceeded",
            "quotaExceeded"
        ]
    );
    assert_eq!(
        h.google
            .count_events(event_name::SUSPEND_USER, &h.demo.leaver_email),
        1
    );

    h.google.knobs().burst_429(2);
    let mut throttled = 0;
    let response = loop {
        let response = h.get(&path, &token).await;
        if response.status() != StatusCode::TOO_MANY_REQUESTS {
            break response;
        }
        throttled += 1;
        let body = expect_error(response, 429, "rateLimitExceeded").await;
        assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED");
    };
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(throttled, 2);
    assert_eq!(h.google.counters().rate_limited(), 2);
    assert_eq!(h.google.counters().with_status(403), 4);

    // A pending burst can be cancelled.
    h.google
        .quota_knobs()
        .burst_403(QuotaReason::RateLimitExceeded, 5);
    h.google.quota_knobs().reset();
    assert_eq!(h.get(&path, &token).await.status(), StatusCode::OK);
    h.shutdown().await;
}

#[tokio::test]
async fn injected_5xx_never_change_state() {
    let h = Harness::start().await;
    let token = h.admin_token().await;
    let path = user_path(&h.demo.leaver_email);
    h.google.knobs().set_error_rate_5xx(1.0);
    let mut statuses = std::collections::BTreeSet::new();
    for _ in 0..40 {
        let response = h.put(&path, &token, json!({ "suspended": true })).await;
        let status = response.status().as_u16();
        statuses.insert(status);
        match status {
            500 => {
                expect_error(response, 500, "backendError").await;
            }
            503 => {
                let body = expect_error(response, 503, "backendError").await;
                assert_eq!(body["error"]["status"], "UNAVAILABLE");
            }
            502 => {
                let html = response.text().await.unwrap();
                assert!(html.contains("502"), "{html}");
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(statuses.len() >= 2, "{statuses:?}");
    assert!(!h.google.user(&h.demo.leaver_email).unwrap().suspended);
    assert_eq!(h.google.counters().server_errors(), 40);
    // The token endpoint is not subject to the fault knobs.
    assert!(!h.admin_token().await.is_empty());
    h.google.knobs().reset();
    assert_eq!(
        h.put(&path, &token, json!({ "suspended": true }))
            .await
            .status(),
        StatusCode::OK
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_lost_response_applied_the_change_and_the_retry_sees_the_repeat_answer() {
    let h = Harness::start().await;
    let token = h.admin_token().await;
    let group_member = format!(
        "/admin/directory/v1/groups/engineering@example.com/members/{}",
        h.demo.leaver_email
    );
    h.google.knobs().fail_after_apply(1);
    let lost = h.delete(&group_member, &token).await;
    assert_eq!(lost.status(), StatusCode::BAD_GATEWAY);
    assert!(
        !h.google
            .user(&h.demo.leaver_email)
            .unwrap()
            .in_group("engineering@example.com")
    );
    // The retry gets Google's repeat answer; the change happened once.
    expect_error(h.delete(&group_member, &token).await, 404, "notFound").await;
    assert_eq!(
        h.google
            .count_events(event_name::REMOVE_GROUP_MEMBER, "engineering@example.com"),
        1
    );
    h.shutdown().await;
}

#[tokio::test]
async fn latency_and_counters_are_per_route() {
    let h = Harness::start().await;
    let token = h.admin_token().await;
    h.google.knobs().set_latency(Duration::from_millis(120));
    let started = Instant::now();
    let path = user_path(&h.demo.leaver_email);
    assert_eq!(h.get(&path, &token).await.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(120));
    h.google.knobs().set_latency(Duration::ZERO);
    h.get(&user_path("ghost@example.com"), &token).await;
    h.post(&format!("{path}/signOut"), &token, None).await;
    h.get("/nowhere", &token).await;

    let counters = h.google.counters();
    assert_eq!(
        counters.count("GET", "/admin/directory/v1/users/{userKey}"),
        2
    );
    assert_eq!(
        counters.count("POST", "/admin/directory/v1/users/{userKey}/signOut"),
        1
    );
    assert_eq!(counters.count("POST", "/token"), 1);
    assert_eq!(counters.count("GET", "<unmatched>"), 1);
    assert_eq!(counters.with_status(404), 2);
    assert_eq!(counters.total(), 5);
    h.shutdown().await;
}
