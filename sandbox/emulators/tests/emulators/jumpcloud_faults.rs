#![cfg(feature = "jumpcloud")]
//! Misbehaviour on demand: 429 bursts and a per-minute budget (JumpCloud
//! sends no rate-limit headers), injected 5xx, lost responses, latency,
//! unknown routes, and per-route counters.

use crate::jumpcloud_support as support;

use std::time::{Duration, Instant};

use passage_sandbox::jumpcloud::{JumpCloudConfig, demo_seed, event_type};
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::{Harness, expect_v1_error, expect_v2_error, json, send};

#[tokio::test]
async fn a_429_burst_then_success() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.jc);
    let path = format!("/api/systemusers/{}", demo.leaver_id);
    h.jc.knobs().burst_429(2);

    let mut attempts = 0;
    let response = loop {
        attempts += 1;
        let response = h.put_json(&path, &json!({"suspended": true})).await;
        if response.status() != StatusCode::TOO_MANY_REQUESTS {
            break response;
        }
        // JumpCloud documents no rate-limit headers.
        for name in ["retry-after", "x-ratelimit-limit", "x-rate-limit-remaining"] {
            assert!(response.headers().get(name).is_none(), "{name}");
        }
        assert_eq!(expect_v1_error(response, 429).await, "Too Many Requests");
        assert!(
            !h.jc.user(&demo.leaver_id).unwrap().suspended,
            "429 changes nothing"
        );
        assert!(attempts < 10);
    };
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(attempts, 3);
    assert_eq!(h.jc.counters().rate_limited(), 2);
    assert_eq!(h.jc.counters().count("PUT", "/api/systemusers/{id}"), 3);
    assert_eq!(
        h.jc.count_events(event_type::USER_SUSPENDED, &demo.leaver_id),
        1
    );

    // v2 routes answer 429 in the v2 shape.
    h.jc.knobs().burst_429(1);
    let limited = h.get("/api/v2/usergroups").await;
    assert_eq!(expect_v2_error(limited, 429).await, "Too Many Requests");
    h.shutdown().await;
}

#[tokio::test]
async fn per_minute_budget() {
    let h = Harness::with_config(JumpCloudConfig {
        rate_limit_per_minute: 3,
        ..JumpCloudConfig::default()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(h.get("/api/systemusers").await.status(), StatusCode::OK);
    }
    let limited = h.get("/api/systemusers").await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);

    // Bad credentials are refused before they count.
    let bad = send(h.with_key(Method::GET, "/api/systemusers", "jca_nope")).await;
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);

    // The token endpoint (another host in production) is not throttled.
    let token = h.token().await;
    assert!(!token.is_empty());

    h.jc.reset_rate_limit();
    assert_eq!(h.get("/api/systemusers").await.status(), StatusCode::OK);
    h.jc.knobs().set_rate_limit_per_minute(100);
    for _ in 0..5 {
        assert_eq!(h.get("/api/systemusers").await.status(), StatusCode::OK);
    }
    h.shutdown().await;
}

#[tokio::test]
async fn injected_5xx_change_nothing() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.jc);
    h.jc.knobs().set_error_rate_5xx(1.0);

    let failed = h
        .post_json(
            &format!("/api/v2/usergroups/{}/members", demo.leaver_group_ids[0]),
            &json!({"op": "remove", "type": "user", "id": demo.leaver_id}),
        )
        .await;
    let status = failed.status().as_u16();
    assert!([500, 502, 503].contains(&status), "{status}");
    expect_v2_error(failed, status).await;
    let v1 = h.get("/api/systemusers").await;
    assert!(v1.status().is_server_error());
    assert!(json(v1).await["message"].is_string());
    assert_eq!(h.jc.user_groups(&demo.leaver_id).len(), 3);
    assert!(h.jc.audit_log().is_empty());
    assert_eq!(h.jc.counters().server_errors(), 2);

    h.jc.knobs().set_error_rate_5xx(0.0);
    let ok = h
        .post_json(
            &format!("/api/v2/usergroups/{}/members", demo.leaver_group_ids[0]),
            &json!({"op": "remove", "type": "user", "id": demo.leaver_id}),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    h.shutdown().await;
}

#[tokio::test]
async fn a_lost_response_is_safe_to_retry() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.jc);
    let path = format!("/api/systemusers/{}", demo.leaver_id);
    h.jc.knobs().fail_after_apply(1);

    let lost = h.put_json(&path, &json!({"suspended": true})).await;
    assert_eq!(lost.status(), StatusCode::BAD_GATEWAY);
    // Applied despite the 502: the client must read back.
    assert!(h.jc.user(&demo.leaver_id).unwrap().suspended);
    let read_back = json(h.get(&path).await).await;
    assert_eq!(read_back["state"], "SUSPENDED");

    let retry = h.put_json(&path, &json!({"suspended": true})).await;
    assert_eq!(retry.status(), StatusCode::OK);
    assert_eq!(
        h.jc.count_events(event_type::USER_SUSPENDED, &demo.leaver_id),
        1
    );

    // A lost group removal: the retry gets the provider's repeat answer.
    h.jc.knobs().fail_after_apply(1);
    let members = format!("/api/v2/usergroups/{}/members", demo.leaver_group_ids[1]);
    let op = json!({"op": "remove", "type": "user", "id": demo.leaver_id});
    assert_eq!(
        h.post_json(&members, &op).await.status(),
        StatusCode::BAD_GATEWAY
    );
    assert_eq!(
        h.post_json(&members, &op).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.jc.count_events(event_type::ASSOCIATION_CHANGE, &demo.leaver_group_ids[1]),
        1
    );
    h.shutdown().await;
}

#[tokio::test]
async fn latency_is_added_to_every_request() {
    let h = Harness::start().await;
    h.jc.knobs().set_latency(Duration::from_millis(120));
    let started = Instant::now();
    assert_eq!(h.get("/api/systemusers").await.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(120));
    h.jc.knobs().reset();
    h.shutdown().await;
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let h = Harness::start().await;
    let unknown = h.get("/api/v2/nothing-here").await;
    assert_eq!(expect_v2_error(unknown, 404).await, "Not Found");
    let unknown_v1 = h.get("/api/nothing-here").await;
    assert_eq!(expect_v1_error(unknown_v1, 404).await, "Not Found");
    let method = send(h.req(Method::DELETE, "/api/v2/usergroups")).await;
    assert_eq!(method.status(), StatusCode::METHOD_NOT_ALLOWED);
    // Unknown routes still need credentials.
    let anonymous = send(h.http.get(h.url("/api/nothing-here"))).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(h.jc.counters().count("GET", "<unmatched>"), 3);
    h.shutdown().await;
}
