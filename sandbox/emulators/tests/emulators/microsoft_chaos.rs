//! The Microsoft emulator as unkind as Graph, Intune and Exchange: storms
//! answered 429 or 503 with a `Retry-After` that names their end, responses
//! lost after the change, `memberOf` and `userPurpose` that lag, Intune
//! actions pending until check-in, a clock that is off, and effects counted
//! with their repeats. Time moves through the emulator's clock.

use crate::microsoft_common as common;

use std::time::Duration;

use common::{Ms, encode, header};
use jiff::SignedDuration;
use passage_sandbox::microsoft::{
    DEMO_LEAVER, FaultConfig, LostResponse, MicrosoftConfig, Storm, effect,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn retry_after(response: &reqwest::Response) -> u64 {
    header(response, "retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds")
}

#[tokio::test]
async fn a_storm_answers_429_then_503_with_retry_after_at_its_end() {
    let h = Ms::start().await;
    let user = format!("/v1.0/users/{}", encode(DEMO_LEAVER));
    h.ms.knobs()
        .storm_429(Storm::window(Duration::from_secs(40)));

    let throttled = h.get(&user).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&throttled), 40);
    let body: Value = throttled.json().await.unwrap();
    assert_eq!(body["error"]["code"], "TooManyRequests");

    h.ms.timeline().advance(Duration::from_secs(25));
    h.ms.set_storm_as_503(true);
    let unavailable = h.get(&user).await;
    assert_eq!(unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(retry_after(&unavailable), 15, "the same end, counted down");
    let body: Value = unavailable.json().await.unwrap();
    assert_eq!(body["error"]["code"], "serviceNotAvailable");

    h.ms.timeline().advance(Duration::from_secs(15));
    assert_eq!(h.get(&user).await.status(), StatusCode::OK);
    h.shutdown().await;
}

#[tokio::test]
async fn a_timed_out_response_still_disabled_the_account() {
    let h = Ms::start().await;
    h.ms.knobs()
        .set_lost_response(LostResponse::TimedOut(Duration::from_secs(3)));
    h.ms.knobs().fail_after_apply(1);
    let path = format!("/v1.0/users/{}", h.demo.leaver_id);
    let lost = h
        .http
        .patch(h.url(&path))
        .bearer_auth(&h.graph_token)
        .json(&json!({ "accountEnabled": false }))
        .timeout(Duration::from_secs(1))
        .send()
        .await;
    assert!(lost.is_err(), "no answer before the client gave up");
    assert!(!h.ms.user(DEMO_LEAVER).unwrap().account_enabled, "applied");

    let again = h.patch(&path, json!({ "accountEnabled": false })).await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
    assert_eq!(h.ms.effects_applied(effect::SUSPEND, DEMO_LEAVER), 1);
    assert_eq!(h.ms.effects_repeated(effect::SUSPEND, DEMO_LEAVER), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn member_of_lists_a_removed_membership_until_the_lag_passes() {
    let h = Ms::with_config(MicrosoftConfig {
        faults: FaultConfig {
            read_lag: Duration::from_secs(30),
            ..FaultConfig::default()
        },
        ..MicrosoftConfig::default()
    })
    .await;
    let leaver = &h.demo.leaver_id;
    let group = &h.demo.security_group_id;
    let member_ref = format!("/v1.0/groups/{group}/members/{leaver}/$ref");
    assert_eq!(h.delete(&member_ref).await.status(), StatusCode::NO_CONTENT);
    assert!(!h.ms.user_groups(leaver).iter().any(|g| &g.id == group));

    let listed = |body: Value| -> bool {
        body["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["id"] == group.as_str())
    };
    let member_of = format!("/v1.0/users/{leaver}/memberOf");
    assert!(listed(h.get_json(&member_of).await), "still listed");
    h.ms.timeline().advance(Duration::from_secs(31));
    assert!(!listed(h.get_json(&member_of).await), "gone once caught up");

    assert_eq!(h.delete(&member_ref).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(h.ms.effects_applied(effect::REMOVE_MEMBERSHIP, leaver), 1);
    assert_eq!(h.ms.effects_repeated(effect::REMOVE_MEMBERSHIP, leaver), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn user_purpose_reports_user_until_the_conversion_reaches_graph() {
    let h = Ms::start().await;
    h.ms.knobs().set_long_ops(Some(Duration::from_secs(120)));
    let converted = h
        .cmdlet(
            "Set-Mailbox",
            json!({ "Identity": DEMO_LEAVER, "Type": "Shared" }),
        )
        .await;
    assert_eq!(converted.status(), StatusCode::OK);
    let purpose = format!(
        "/v1.0/users/{}/mailboxSettings?$select=userPurpose",
        encode(DEMO_LEAVER)
    );
    assert_eq!(h.get_json(&purpose).await["userPurpose"], "user");
    h.ms.timeline().advance(Duration::from_secs(119));
    assert_eq!(h.get_json(&purpose).await["userPurpose"], "user");
    h.ms.timeline().advance(Duration::from_secs(2));
    assert_eq!(h.get_json(&purpose).await["userPurpose"], "shared");

    let again = h
        .cmdlet(
            "Set-Mailbox",
            json!({ "Identity": DEMO_LEAVER, "Type": "Shared" }),
        )
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(
        h.ms.effects_applied(effect::CONVERT_MAILBOX, DEMO_LEAVER),
        1
    );
    assert_eq!(
        h.ms.effects_repeated(effect::CONVERT_MAILBOX, DEMO_LEAVER),
        1
    );
    h.shutdown().await;
}

#[tokio::test]
async fn an_intune_action_stays_pending_until_the_device_checks_in() {
    let h = Ms::start().await;
    h.ms.knobs().set_long_ops(Some(Duration::from_secs(600)));
    let base = format!("/v1.0/deviceManagement/managedDevices/{}", h.demo.device_id);
    assert_eq!(
        h.post(&format!("{base}/retire"), None).await.status(),
        StatusCode::NO_CONTENT
    );
    let state = |body: Value| body["deviceActionResults"][0]["actionState"].clone();
    let results = format!("{base}?$select=deviceActionResults");
    for _ in 0..3 {
        assert_eq!(
            state(h.get_json(&results).await),
            "pending",
            "reads change nothing"
        );
    }
    h.ms.timeline().advance(Duration::from_secs(599));
    assert_eq!(state(h.get_json(&results).await), "pending");
    h.ms.timeline().advance(Duration::from_secs(2));
    assert_eq!(state(h.get_json(&results).await), "done");

    // A repeat while pending is a counted repeat; after completion it is a new action.
    h.post(&format!("{base}/wipe"), None).await;
    h.post(&format!("{base}/wipe"), None).await;
    assert_eq!(h.ms.effects_applied(effect::SECURE_DEVICE, DEMO_LEAVER), 2);
    assert_eq!(h.ms.effects_repeated(effect::SECURE_DEVICE, DEMO_LEAVER), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn the_clock_offset_shows_in_sign_in_sessions_valid_from_and_date() {
    let h = Ms::with_config(MicrosoftConfig {
        faults: FaultConfig {
            clock_offset: SignedDuration::from_secs(3600),
            ..FaultConfig::default()
        },
        ..MicrosoftConfig::default()
    })
    .await;
    let host = jiff::Timestamp::now().as_second();
    let leaver = &h.demo.leaver_id;
    let revoked = h
        .post(&format!("/v1.0/users/{leaver}/revokeSignInSessions"), None)
        .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    let date = header(&revoked, "date").unwrap();
    let date = jiff::fmt::rfc2822::parse(&date)
        .unwrap()
        .timestamp()
        .as_second();
    assert!((3595..=3605).contains(&(date - host)), "Date an hour ahead");

    let user = h
        .get_json(&format!(
            "/v1.0/users/{leaver}?$select=signInSessionsValidFromDateTime"
        ))
        .await;
    let valid_from: jiff::Timestamp = user["signInSessionsValidFromDateTime"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let ahead = valid_from.as_second() - host;
    assert!((3595..=3605).contains(&ahead), "an hour ahead: {ahead}");

    h.post(&format!("/v1.0/users/{leaver}/revokeSignInSessions"), None)
        .await;
    assert_eq!(h.ms.effects_applied(effect::REVOKE_SESSIONS, leaver), 1);
    assert_eq!(h.ms.effects_repeated(effect::REVOKE_SESSIONS, leaver), 1);
    h.shutdown().await;
}
