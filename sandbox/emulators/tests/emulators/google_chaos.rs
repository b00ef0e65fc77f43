//! The Google emulator as unkind as Google: storms answered 403
//! `userRateLimitExceeded` (or Gmail's 429 naming when to retry), responses
//! lost after the change, directory reads that lag, Drive transfers that
//! stay `inProgress`, forwarding addresses that verify late, a clock that is
//! off, and effects counted with their repeats. Time moves through the
//! emulator's clock.

use crate::google_support as support;

use std::time::Duration;

use jiff::SignedDuration;
use passage_sandbox::google::{
    APP_DRIVE, FaultConfig, GoogleConfig, LostResponse, QuotaReason, Storm, effect,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Harness, expect_error, gmail_path, user_path};

#[tokio::test]
async fn a_storm_answers_rate_reasons_and_gmail_names_its_end() {
    let h = Harness::start().await;
    let admin = h.admin_token().await;
    let gmail = h.gmail_token(&h.demo.leaver_email).await;
    h.google
        .knobs()
        .storm_429(Storm::window(Duration::from_secs(60)));
    let started = h.google.timeline().now();

    let directory = h.get(&user_path(&h.demo.leaver_email), &admin).await;
    let body = expect_error(directory, 403, "userRateLimitExceeded").await;
    assert_eq!(body["error"]["errors"][0]["domain"], "usageLimits");

    h.google
        .quota_knobs()
        .set_storm_reason(Some(QuotaReason::RateLimitExceeded));
    let directory = h.get(&user_path(&h.demo.leaver_email), &admin).await;
    expect_error(directory, 403, "rateLimitExceeded").await;
    h.google.quota_knobs().set_storm_reason(None);
    let directory = h.get(&user_path(&h.demo.leaver_email), &admin).await;
    expect_error(directory, 429, "rateLimitExceeded").await;

    let mail = h.get(&gmail_path("me", "vacation"), &gmail).await;
    let body = expect_error(mail, 429, "rateLimitExceeded").await;
    let message = body["error"]["message"].as_str().unwrap();
    let (_, after) = message.split_once("Retry after ").expect(message);
    let retry_at: jiff::Timestamp = after.parse().unwrap();
    let ends = started.as_millisecond() + 60_000;
    assert!(
        (ends - 5..=ends + 5).contains(&retry_at.as_millisecond()),
        "{message} names the storm's end"
    );

    h.google.timeline().advance(Duration::from_secs(61));
    assert_eq!(
        h.get(&user_path(&h.demo.leaver_email), &admin)
            .await
            .status(),
        StatusCode::OK
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_lost_suspend_still_suspended_and_the_read_lags_behind_it() {
    let h = Harness::with_config(GoogleConfig {
        faults: FaultConfig {
            read_lag: Duration::from_secs(15),
            ..FaultConfig::default()
        },
        ..GoogleConfig::default()
    })
    .await;
    let admin = h.admin_token().await;
    let path = user_path(&h.demo.leaver_email);
    h.google.knobs().set_lost_response(LostResponse::Dropped);
    h.google.knobs().fail_after_apply(1);
    let lost = h
        .http
        .put(h.url(&path))
        .bearer_auth(&admin)
        .json(&json!({ "suspended": true }))
        .send()
        .await;
    assert!(lost.is_err(), "connection closed with no response");
    assert!(h.google.user(&h.demo.leaver_email).unwrap().suspended);

    let stale = h.get_json(&path, &admin).await;
    assert_eq!(stale["suspended"], false, "the read lags behind the write");
    h.google.timeline().advance(Duration::from_secs(16));
    let fresh = h.get_json(&path, &admin).await;
    assert_eq!(fresh["suspended"], true);

    let again = h.put(&path, &admin, json!({ "suspended": true })).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(
        h.google
            .effects_applied(effect::SUSPEND, &h.demo.leaver_email),
        1
    );
    assert_eq!(
        h.google
            .effects_repeated(effect::SUSPEND, &h.demo.leaver_email),
        1
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_removed_membership_is_listed_until_the_lag_passes() {
    let h = Harness::start().await;
    h.google.knobs().set_read_lag(Duration::from_secs(10));
    let admin = h.admin_token().await;
    let group = h.demo.leaver_groups[0].clone();
    let member = format!(
        "/admin/directory/v1/groups/{group}/members/{}",
        h.demo.leaver_email
    );
    assert_eq!(
        h.delete(&member, &admin).await.status(),
        StatusCode::NO_CONTENT
    );
    let listed = format!("/admin/directory/v1/groups?userKey={}", h.demo.leaver_email);
    let has = |body: Value| {
        body["groups"]
            .as_array()
            .is_some_and(|gs| gs.iter().any(|g| g["email"] == group.as_str()))
    };
    assert!(has(h.get_json(&listed, &admin).await), "still listed");
    h.google.timeline().advance(Duration::from_secs(11));
    assert!(!has(h.get_json(&listed, &admin).await), "caught up");

    expect_error(h.delete(&member, &admin).await, 404, "notFound").await;
    assert_eq!(
        h.google
            .effects_applied(effect::REMOVE_MEMBERSHIP, &h.demo.leaver_id),
        1
    );
    assert_eq!(
        h.google
            .effects_repeated(effect::REMOVE_MEMBERSHIP, &h.demo.leaver_id),
        1
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_drive_transfer_stays_in_progress_until_its_time() {
    let h = Harness::start().await;
    h.google
        .knobs()
        .set_long_ops(Some(Duration::from_secs(3600)));
    let admin = h.admin_token().await;
    let created: Value = h
        .post(
            "/admin/datatransfer/v1/transfers",
            &admin,
            Some(json!({
                "oldOwnerUserId": h.demo.leaver_id,
                "newOwnerUserId": h.demo.manager_id,
                "applicationDataTransfers": [{ "applicationId": APP_DRIVE }],
            })),
        )
        .await
        .json()
        .await
        .unwrap();
    let path = format!(
        "/admin/datatransfer/v1/transfers/{}",
        created["id"].as_str().unwrap()
    );
    for _ in 0..4 {
        let read = h.get_json(&path, &admin).await;
        assert_eq!(read["overallTransferStatusCode"], "inProgress");
    }
    h.google.timeline().advance(Duration::from_secs(3599));
    let read = h.get_json(&path, &admin).await;
    assert_eq!(read["overallTransferStatusCode"], "inProgress");
    h.google.timeline().advance(Duration::from_secs(2));
    let read = h.get_json(&path, &admin).await;
    assert_eq!(read["overallTransferStatusCode"], "completed");
    assert_eq!(
        h.google
            .effects_applied(effect::TRANSFER_DATA, &h.demo.leaver_id),
        1
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_forwarding_address_verifies_after_its_time() {
    let h = Harness::start().await;
    h.google
        .knobs()
        .set_long_ops(Some(Duration::from_secs(300)));
    let token = h.gmail_token(&h.demo.leaver_email).await;
    let addresses = gmail_path("me", "forwardingAddresses");
    let address = "jane.personal@gmail.com";
    let created: Value = h
        .post(
            &addresses,
            &token,
            Some(json!({ "forwardingEmail": address })),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created["verificationStatus"], "pending");
    let one = gmail_path("me", &format!("forwardingAddresses/{address}"));
    h.google.timeline().advance(Duration::from_secs(299));
    assert_eq!(
        h.get_json(&one, &token).await["verificationStatus"],
        "pending"
    );
    h.google.timeline().advance(Duration::from_secs(2));
    assert_eq!(
        h.get_json(&one, &token).await["verificationStatus"],
        "accepted"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn the_clock_offset_shows_in_date_and_request_times() {
    let h = Harness::with_config(GoogleConfig {
        faults: FaultConfig {
            clock_offset: SignedDuration::from_secs(-120),
            ..FaultConfig::default()
        },
        ..GoogleConfig::default()
    })
    .await;
    let admin = h.admin_token().await;
    let host = jiff::Timestamp::now().as_second();
    let response = h
        .post(
            "/admin/datatransfer/v1/transfers",
            &admin,
            Some(json!({
                "oldOwnerUserId": h.demo.leaver_id,
                "newOwnerUserId": h.demo.manager_id,
                "applicationDataTransfers": [{ "applicationId": APP_DRIVE }],
            })),
        )
        .await;
    let date = response.headers()["date"].to_str().unwrap().to_owned();
    let date = jiff::fmt::rfc2822::parse(&date)
        .unwrap()
        .timestamp()
        .as_second();
    assert!(
        (115..=125).contains(&(host - date)),
        "Date two minutes behind"
    );
    let body: Value = response.json().await.unwrap();
    let requested: jiff::Timestamp = body["requestTime"].as_str().unwrap().parse().unwrap();
    assert!((115..=125).contains(&(host - requested.as_second())));
    h.shutdown().await;
}
