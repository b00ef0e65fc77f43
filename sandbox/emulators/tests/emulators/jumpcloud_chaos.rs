//! The JumpCloud emulator as unkind as JumpCloud: storms of bare 429s (with
//! an honest `Retry-After` only when asked for), responses lost after the
//! change, device commands that complete late, a clock that is off, and
//! effects counted with their repeats. Time moves through the emulator's
//! clock.

use crate::jumpcloud_support as support;

use std::time::Duration;

use jiff::SignedDuration;
use passage_sandbox::jumpcloud::{
    FaultConfig, JumpCloudConfig, LostResponse, Storm, UserState, demo_seed, effect,
};
use reqwest::StatusCode;
use serde_json::json;
use support::{Harness, json};

#[tokio::test]
async fn a_storm_answers_bare_429s_and_an_honest_retry_after_when_asked() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.jc);
    let path = format!("/api/systemusers/{}", demo.leaver_id);
    h.jc.knobs()
        .storm_429(Storm::window(Duration::from_secs(20)));

    let bare = h.get(&path).await;
    assert_eq!(bare.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        bare.headers().get("retry-after").is_none(),
        "JumpCloud documents no throttling header"
    );
    assert_eq!(json(bare).await["message"], "Too Many Requests");

    h.jc.set_storm_retry_after(true);
    h.jc.timeline().advance(Duration::from_secs(5));
    let told = h.get(&path).await;
    assert_eq!(told.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(told.headers()["retry-after"], "15");

    h.jc.timeline().advance(Duration::from_secs(15));
    assert_eq!(h.get(&path).await.status(), StatusCode::OK);
    assert_eq!(h.jc.counters().rate_limited(), 2);
    h.shutdown().await;
}

#[tokio::test]
async fn a_dropped_suspend_still_suspended_and_repeats_are_counted() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.jc);
    let path = format!("/api/systemusers/{}", demo.leaver_id);
    h.jc.knobs().set_lost_response(LostResponse::Dropped);
    h.jc.knobs().fail_after_apply(1);
    let lost = h
        .req(reqwest::Method::PUT, &path)
        .json(&json!({ "state": "SUSPENDED" }))
        .send()
        .await;
    assert!(lost.is_err(), "connection closed with no response");
    assert_eq!(
        h.jc.user(&demo.leaver_id).unwrap().state,
        UserState::Suspended
    );

    let again = h.put_json(&path, &json!({ "state": "SUSPENDED" })).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(h.jc.effects_applied(effect::SUSPEND, &demo.leaver_id), 1);
    assert_eq!(
        h.jc.effects_repeated(effect::SUSPEND, &demo.leaver_email),
        1
    );

    let group = &demo.leaver_group_ids[0];
    let remove = json!({ "op": "remove", "type": "user", "id": demo.leaver_id });
    let members = format!("/api/v2/usergroups/{group}/members");
    assert_eq!(
        h.post_json(&members, &remove).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.post_json(&members, &remove).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.jc.effects_applied(effect::REMOVE_MEMBERSHIP, &demo.leaver_id),
        1
    );
    assert_eq!(
        h.jc.effects_repeated(effect::REMOVE_MEMBERSHIP, &demo.leaver_id),
        1
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_device_command_completes_only_after_its_time() {
    let h = Harness::with_config(JumpCloudConfig {
        faults: FaultConfig {
            long_ops: Some(Duration::from_secs(180)),
            ..FaultConfig::default()
        },
        ..JumpCloudConfig::default()
    })
    .await;
    let demo = demo_seed(&h.jc);
    let system = &demo.windows_system_id;
    let created = h
        .post_json(
            &format!("/api/systems/{system}/command/builtin/lock"),
            &json!({}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert!(!h.jc.commands()[0].completed, "queued, not run");
    assert_eq!(
        json(h.get("/api/commandresults").await).await["totalCount"],
        0
    );

    h.jc.timeline().advance(Duration::from_secs(179));
    assert!(!h.jc.system(system).unwrap().locked);
    h.jc.timeline().advance(Duration::from_secs(2));
    assert_eq!(
        json(h.get("/api/commandresults").await).await["totalCount"],
        1
    );
    assert!(h.jc.system(system).unwrap().locked);
    assert_eq!(h.jc.effects_applied(effect::SECURE_DEVICE, system), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn the_clock_offset_shows_in_date_and_command_times() {
    let h = Harness::with_config(JumpCloudConfig {
        faults: FaultConfig {
            clock_offset: SignedDuration::from_secs(900),
            ..FaultConfig::default()
        },
        ..JumpCloudConfig::default()
    })
    .await;
    let demo = demo_seed(&h.jc);
    let host = jiff::Timestamp::now().as_second();
    let created = h
        .post_json(
            &format!(
                "/api/systems/{}/command/builtin/lock",
                demo.windows_system_id
            ),
            &json!({}),
        )
        .await;
    let date = created.headers()["date"].to_str().unwrap().to_owned();
    let date = jiff::fmt::rfc2822::parse(&date)
        .unwrap()
        .timestamp()
        .as_second();
    assert!((895..=905).contains(&(date - host)), "Date 15 min ahead");
    let requested: jiff::Timestamp = h.jc.commands()[0].requested_at.parse().unwrap();
    assert!((895..=905).contains(&(requested.as_second() - host)));
    h.shutdown().await;
}
