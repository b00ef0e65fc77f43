//! The Okta emulator as unkind as Okta: storms whose `X-Rate-Limit-Reset` is
//! when they end, responses lost after the change, membership listings that
//! lag, deactivation that transitions, a clock that is off, latency drawn
//! from a distribution, and effects counted with their repeats.
//!
//! Time moves through the emulator's own clock (`Timeline::advance`), never
//! by sleeping.

use crate::support;
use std::time::{Duration, Instant};

use jiff::SignedDuration;
use passage_sandbox::okta::{
    FaultConfig, Latency, LostResponse, OktaConfig, Storm, UserStatus, demo_seed, effect,
};
use reqwest::StatusCode;
use serde_json::Value;
use support::{Harness, epoch_secs_now, expect_error, header, header_u64};

#[tokio::test]
async fn a_storm_answers_okta_429s_whose_reset_is_when_it_ends() {
    let h = Harness::start().await;
    demo_seed(&h.okta);
    h.okta
        .knobs()
        .storm_429(Storm::window(Duration::from_secs(30)));
    let started = h.okta.timeline().now().as_second();

    let limited = h.get("/api/v1/users?limit=1").await;
    assert_eq!(header_u64(&limited, "x-rate-limit-limit"), 600);
    assert_eq!(header_u64(&limited, "x-rate-limit-remaining"), 0);
    let reset = header_u64(&limited, "x-rate-limit-reset");
    let reset = i64::try_from(reset).unwrap();
    assert!(
        (started + 30..=started + 31).contains(&reset),
        "reset {reset} is the storm's end ({started} + 30 s)"
    );
    expect_error(limited, 429, "E0000047").await;

    h.okta.timeline().advance(Duration::from_secs(29));
    let still = h.get("/api/v1/users?limit=1").await;
    assert_eq!(still.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        header_u64(&still, "x-rate-limit-reset"),
        u64::try_from(reset).unwrap(),
        "the same end, however often asked"
    );

    h.okta.timeline().advance(Duration::from_secs(2));
    let calm = h.get("/api/v1/users?limit=1").await;
    assert_eq!(
        calm.status(),
        StatusCode::OK,
        "through once the reset passed"
    );
    assert_eq!(h.okta.counters().rate_limited(), 2);
    h.shutdown().await;
}

#[tokio::test]
async fn a_share_storm_throttles_some_slots_and_every_reset_is_truthful() {
    let h = Harness::with_config(OktaConfig {
        faults: FaultConfig {
            storm_429: Some(Storm::share(0.5)),
            seed: Some(7),
            ..FaultConfig::default()
        },
        ..OktaConfig::default()
    })
    .await;
    demo_seed(&h.okta);
    let (mut throttled, mut passed) = (0, 0);
    for _ in 0..40 {
        let response = h.get("/api/v1/users?limit=1").await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            throttled += 1;
            let reset = header_u64(&response, "x-rate-limit-reset");
            let now = u64::try_from(h.okta.timeline().now().as_second()).unwrap();
            assert!(reset > now, "reset {reset} after now {now}");
            // Exactly at the advertised reset the storm has let go.
            let wait = h.okta.timeline().now().as_millisecond();
            let to_reset = i64::try_from(reset).unwrap() * 1000 - wait;
            h.okta
                .timeline()
                .advance(Duration::from_millis(u64::try_from(to_reset).unwrap()));
            let retry = h.get("/api/v1/users?limit=1").await;
            assert_eq!(retry.status(), StatusCode::OK, "calm at the reset");
        } else {
            passed += 1;
            h.okta.timeline().advance(Duration::from_secs(1));
        }
    }
    assert!(
        throttled > 5 && passed > 5,
        "{throttled} throttled, {passed} passed"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_dropped_response_still_applied_the_suspend() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    h.okta.knobs().set_lost_response(LostResponse::Dropped);
    h.okta.knobs().fail_after_apply(1);
    let path = format!("/api/v1/users/{}/lifecycle/suspend", demo.leaver_id);

    let lost = h
        .http
        .post(h.url(&path))
        .header("Authorization", h.okta.authorization())
        .send()
        .await;
    let error = lost.expect_err("the connection closes with no response");
    assert!(!error.is_status(), "no status at all: {error}");
    assert_eq!(
        h.okta.user(&demo.leaver_id).unwrap().status,
        UserStatus::Suspended,
        "the change took effect"
    );
    assert_eq!(h.okta.effects_applied(effect::SUSPEND, &demo.leaver_id), 1);

    // The client retries blindly: Okta refuses the repeat, and it is counted as one.
    let again = h.post(&path).await;
    expect_error(again, 400, "E0000001").await;
    assert_eq!(h.okta.effects_applied(effect::SUSPEND, &demo.leaver_id), 1);
    assert_eq!(h.okta.effects_repeated(effect::SUSPEND, &demo.leaver_id), 1);
    assert_eq!(
        h.okta
            .counters()
            .count("POST", "/api/v1/users/{id}/lifecycle/suspend"),
        2,
        "both calls counted, the lost one included"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_lost_response_rate_loses_about_that_share_and_each_change_holds() {
    let h = Harness::with_config(OktaConfig {
        faults: FaultConfig {
            lost_response_rate: 1.0,
            lost_response: LostResponse::ServerError(504),
            ..FaultConfig::default()
        },
        ..OktaConfig::default()
    })
    .await;
    let demo = demo_seed(&h.okta);
    let path = format!("/api/v1/users/{}/sessions?oauthTokens=true", demo.leaver_id);
    let lost = h.delete(&path).await;
    assert_eq!(lost.status(), StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(h.okta.sessions(&demo.leaver_id), Some(0), "applied anyway");
    let reads = h.get(&format!("/api/v1/users/{}", demo.leaver_id)).await;
    assert_eq!(reads.status(), StatusCode::OK, "reads are never lost");
    h.okta.knobs().set_lost_response_rate(0.0);
    assert_eq!(h.delete(&path).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        h.okta
            .effects_applied(effect::REVOKE_SESSIONS, &demo.leaver_id),
        1
    );
    assert_eq!(
        h.okta
            .effects_repeated(effect::REVOKE_SESSIONS, &demo.leaver_id),
        1
    );
    h.shutdown().await;
}

#[tokio::test]
async fn membership_listings_show_the_old_state_until_the_lag_passes() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    h.okta.knobs().set_read_lag(Duration::from_secs(20));
    let vpn = h.okta.group("VPN Users").unwrap().id;
    let names = |body: Value| -> Vec<String> {
        body.as_array()
            .unwrap()
            .iter()
            .map(|g| g["profile"]["name"].as_str().unwrap().to_owned())
            .collect()
    };

    let removed = h
        .delete(&format!("/api/v1/groups/{vpn}/users/{}", demo.leaver_id))
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert!(
        !h.okta
            .user_groups(&demo.leaver_id)
            .iter()
            .any(|g| g.name == "VPN Users"),
        "the change is made at once"
    );
    let groups_path = format!("/api/v1/users/{}/groups", demo.leaver_id);
    let stale = h.get(&groups_path).await.json::<Value>().await.unwrap();
    assert!(names(stale).contains(&"VPN Users".to_owned()), "read lags");
    let members = h
        .get(&format!("/api/v1/groups/{vpn}/users"))
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert!(
        members
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == demo.leaver_id.as_str()),
        "the group's member list lags too"
    );

    h.okta.timeline().advance(Duration::from_secs(21));
    let fresh = h.get(&groups_path).await.json::<Value>().await.unwrap();
    assert!(!names(fresh).contains(&"VPN Users".to_owned()), "caught up");

    // The repeat of the removal is a counted repeat.
    let again = h
        .delete(&format!("/api/v1/groups/{vpn}/users/{}", demo.leaver_id))
        .await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        h.okta
            .effects_applied(effect::REMOVE_MEMBERSHIP, &demo.leaver_id),
        1
    );
    assert_eq!(
        h.okta
            .effects_repeated(effect::REMOVE_MEMBERSHIP, &demo.leaver_id),
        1
    );
    h.shutdown().await;
}

#[tokio::test]
async fn deactivation_transitions_until_its_time() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    h.okta.knobs().set_long_ops(Some(Duration::from_secs(90)));
    let user_path = format!("/api/v1/users/{}", demo.leaver_id);
    let deactivate = h.post(&format!("{user_path}/lifecycle/deactivate")).await;
    assert_eq!(deactivate.status(), StatusCode::OK);

    let during: Value = h.get(&user_path).await.json().await.unwrap();
    assert_eq!(during["status"], "ACTIVE");
    assert_eq!(during["transitioningToStatus"], "DEPROVISIONED");
    assert_eq!(h.okta.sessions(&demo.leaver_id), Some(2), "not yet");

    h.okta.timeline().advance(Duration::from_secs(89));
    let still: Value = h.get(&user_path).await.json().await.unwrap();
    assert_eq!(still["transitioningToStatus"], "DEPROVISIONED");

    h.okta.timeline().advance(Duration::from_secs(2));
    let done: Value = h.get(&user_path).await.json().await.unwrap();
    assert_eq!(done["status"], "DEPROVISIONED");
    assert_eq!(done["transitioningToStatus"], Value::Null);
    assert_eq!(h.okta.sessions(&demo.leaver_id), Some(0));
    assert_eq!(
        h.okta
            .count_events("user.lifecycle.deactivate", &demo.leaver_id),
        1
    );
    assert_eq!(
        h.okta.effects_applied(effect::DEACTIVATE, &demo.leaver_id),
        1
    );
    h.shutdown().await;
}

#[tokio::test]
async fn the_clock_offset_shows_in_date_resets_and_timestamps() {
    let h = Harness::with_config(OktaConfig {
        rate_limit_per_minute: 1,
        faults: FaultConfig {
            clock_offset: SignedDuration::from_secs(-600),
            ..FaultConfig::default()
        },
        ..OktaConfig::default()
    })
    .await;
    let demo = demo_seed(&h.okta);
    let host = epoch_secs_now();
    let response = h
        .post(&format!(
            "/api/v1/users/{}/lifecycle/suspend",
            demo.leaver_id
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let date = header(&response, "date").unwrap();
    let date = jiff::fmt::rfc2822::parse(&date).unwrap().timestamp();
    #[allow(clippy::cast_precision_loss)]
    let behind = host - date.as_second() as f64;
    assert!(
        (595.0..=605.0).contains(&behind),
        "Date is 10 min behind: {behind}"
    );
    #[allow(clippy::cast_precision_loss)]
    let reset = header_u64(&response, "x-rate-limit-reset") as f64;
    assert!(
        reset < host - 500.0,
        "the reset is on the emulator's clock: {reset} vs host {host}"
    );
    let limited = h.get(&format!("/api/v1/users/{}", demo.leaver_id)).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let changed = h
        .okta
        .user(&demo.leaver_id)
        .unwrap()
        .status_changed
        .unwrap();
    let changed: jiff::Timestamp = changed.parse().unwrap();
    #[allow(clippy::cast_precision_loss)]
    let lag = host - changed.as_second() as f64;
    assert!(
        (595.0..=605.0).contains(&lag),
        "statusChanged 10 min behind: {lag}"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn latency_is_drawn_from_its_distribution_and_repeats_with_its_seed() {
    let h = Harness::start().await;
    demo_seed(&h.okta);
    let model = Latency::Uniform {
        base: Duration::from_millis(40),
        spread: Duration::from_millis(20),
    };
    h.okta.knobs().set_latency_model(model);
    let started = Instant::now();
    let response = h.get("/api/v1/users?limit=1").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        started.elapsed() >= Duration::from_millis(40),
        "at least the base delay"
    );

    let draws = |seed| {
        h.okta.knobs().set_seed(seed);
        (0..8)
            .map(|_| h.okta.knobs().sample_latency())
            .collect::<Vec<_>>()
    };
    let first = draws(11);
    assert_eq!(first, draws(11), "the same seed draws the same delays");
    assert!(
        first
            .iter()
            .all(|d| { *d >= Duration::from_millis(40) && *d < Duration::from_millis(60) })
    );
    assert!(
        first.windows(2).any(|w| w[0] != w[1]),
        "a spread, not a constant"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn repeats_of_every_leaver_effect_are_counted_apart() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    let user = &demo.leaver_id;
    for _ in 0..2 {
        h.delete(&format!("/api/v1/users/{user}/grants")).await;
        h.delete(&format!("/api/v1/users/{user}/sessions")).await;
        h.post(&format!("/api/v1/users/{user}/lifecycle/reset_factors"))
            .await;
    }
    for name in [
        effect::REVOKE_GRANTS,
        effect::REVOKE_SESSIONS,
        effect::RESET_FACTORS,
    ] {
        assert_eq!(h.okta.effects_applied(name, user), 1, "{name} once");
        assert_eq!(h.okta.effects_repeated(name, user), 1, "{name} repeated");
    }
    assert_eq!(
        h.okta
            .effects_applied(effect::REVOKE_GRANTS, &demo.leaver_login),
        1,
        "by login too"
    );
    assert!(h.okta.effects().len() >= 3);
    h.shutdown().await;
}

#[tokio::test]
async fn each_endpoint_spends_its_own_documented_window() {
    let h = Harness::start().await;
    demo_seed(&h.okta);
    let user = h.get("/api/v1/users/jane.doe@example.com").await;
    assert_eq!(user.status(), StatusCode::OK);
    assert_eq!(header_u64(&user, "x-rate-limit-limit"), 1000);
    assert_eq!(header_u64(&user, "x-rate-limit-remaining"), 999);
    // The System Log has the smallest budget: spend it, and the users list is still whole.
    for left in (0..50).rev() {
        let logs = h.get("/api/v1/logs").await;
        assert_eq!(logs.status(), StatusCode::OK);
        assert_eq!(header_u64(&logs, "x-rate-limit-remaining"), left);
    }
    let refused = h.get("/api/v1/logs").await;
    assert_eq!(header_u64(&refused, "x-rate-limit-limit"), 50);
    expect_error(refused, 429, "E0000047").await;
    let users = h.get("/api/v1/users?limit=1").await;
    assert_eq!(users.status(), StatusCode::OK);
    assert_eq!(header_u64(&users, "x-rate-limit-limit"), 600);
    assert_eq!(header_u64(&users, "x-rate-limit-remaining"), 599);
    assert_eq!(h.okta.counters().rate_limited(), 1);
    h.shutdown().await;
}
