//! The generic SCIM connector against two differently-behaving SCIM servers over real HTTP: a
//! strict RFC 7644 server (PATCH, filters, ETags) and a lenient one (no e-mail filters, a
//! case-exact `userName`, tiny pages, no PATCH, DELETE answered 204 then 404). Every test reads
//! the server's own state back.

use crate::common::saas::{Prior, all, failure, scim_connector, scim_policy};
use passage_core::Action::{DeactivateSeat, RemoveSeat, Snapshot};
use passage_core::ports::FailureClass;
use passage_core::{ScimDeactivation, SeatPlan};
use passage_sandbox::scim::{
    DEMO_LEAVER, Flavor, LostResponse, ScimConfig, ScimEmulator, SeatBilling, demo_seed, effect,
};
use std::time::Duration;

const APP: Option<&str> = Some("wiki");

async fn server(flavor: Flavor, tune: impl FnOnce(&mut ScimConfig)) -> (ScimEmulator, String) {
    let mut config = ScimConfig::new(flavor);
    config.billing = SeatBilling::EveryAccount;
    tune(&mut config);
    let scim = ScimEmulator::start(config).await.unwrap();
    let leaver = demo_seed(&scim);
    (scim, leaver)
}

fn http() -> reqwest::Client {
    passage_connectors::http::client()
}

#[tokio::test]
async fn a_strict_server_is_patched_with_if_match_then_the_account_removed_for_good() {
    let (scim, leaver) = server(Flavor::Strict, |_| {}).await;
    let connector = scim_connector(&scim, scim_policy("wiki"), http());
    let seats = scim.seats_held();
    let mut prior = Prior::new();
    let done = all(
        &connector,
        APP,
        &[Snapshot, DeactivateSeat],
        DEMO_LEAVER,
        &mut prior,
    )
    .await;
    assert_eq!(done[0].output["user_id"], leaver.as_str());
    assert_eq!(
        done[0].output["found_by"], "filter userName",
        "case-insensitive filter"
    );
    assert_eq!(done[0].output["server"]["etag"], true);
    assert_eq!(done[1].output["how"], "PATCH active=false (path)");
    // Deactivated, not removed: this app keeps billing an inactive account.
    let user = scim.user(&leaver).unwrap();
    assert!(!user.active);
    assert_eq!(user.emails, [DEMO_LEAVER]);
    assert_eq!(scim.seats_held(), seats);
    assert_eq!(done[1].output["seat"]["seat_freed"], "no");
    assert_eq!(
        done[1].output["seat"]["restorable"],
        "yes: set active=true again"
    );
    assert_eq!(scim.effects_applied(effect::SUSPEND, &leaver), 1);

    let removed = all(&connector, APP, &[RemoveSeat], DEMO_LEAVER, &mut prior).await;
    assert!(scim.was_deleted(&leaver) && scim.user(&leaver).is_none());
    assert_eq!(scim.seats_held(), seats - 1);
    let seat = &removed[0].output["seat"];
    assert_eq!(seat["outcome"], "removed");
    assert!(
        seat["restorable"].as_str().unwrap().starts_with("no:"),
        "{seat}"
    );
    assert_eq!(removed[0].readback["status"], 404);

    // Repeats change nothing: the deactivation finds no account, the removal a 404.
    let again = all(
        &connector,
        APP,
        &[RemoveSeat, DeactivateSeat],
        DEMO_LEAVER,
        &mut prior,
    )
    .await;
    assert!(again.iter().all(|d| d.repeat));
    assert_eq!(scim.effects_applied(effect::REMOVE_ACCOUNT, &leaver), 1);
    assert_eq!(scim.effects_applied(effect::SUSPEND, &leaver), 1);
    scim.shutdown().await;
}

#[tokio::test]
async fn an_if_match_that_lost_the_race_is_retried_once_with_the_new_version() {
    let (scim, leaver) = server(Flavor::Strict, |_| {}).await;
    let connector = scim_connector(&scim, scim_policy("wiki"), http());
    let mut prior = Prior::new();
    all(&connector, APP, &[Snapshot], DEMO_LEAVER, &mut prior).await;
    // Another administrator's edit lands between the step's read and its PATCH.
    scim.race_next_write(&leaver);
    let done = all(&connector, APP, &[DeactivateSeat], DEMO_LEAVER, &mut prior).await;
    assert!(!scim.user(&leaver).unwrap().active);
    assert!(!done[0].repeat);
    assert_eq!(scim.counters().with_status(412), 1);
    assert_eq!(scim.counters().count("PATCH", "/scim/v2/Users/{id}"), 2);
    assert_eq!(scim.effects_applied(effect::SUSPEND, &leaver), 1);
    // Without If-Match the stale write would have gone through unseen: the server refuses a
    // stale version outright.
    let stale = format!("W/\"{}\"", scim.user(&leaver).unwrap().version - 1);
    let refused = reqwest::Client::new()
        .delete(format!("{}/Users/{leaver}", scim.base_url()))
        .bearer_auth(scim.token())
        .header("if-match", stale)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 412);
    assert!(scim.user(&leaver).is_some());
    scim.shutdown().await;
}

#[tokio::test]
async fn a_lenient_server_is_read_page_by_page_put_whole_and_its_404_after_delete_is_done() {
    let (scim, leaver) = server(Flavor::Lenient, |c| c.advertise_patch = Some(true)).await;
    let connector = scim_connector(&scim, scim_policy("wiki"), http());
    let mut prior = Prior::new();
    let done = all(
        &connector,
        APP,
        &[Snapshot, DeactivateSeat],
        DEMO_LEAVER,
        &mut prior,
    )
    .await;
    // `userName` is "Jane.Doe@…" and compared case-exactly, `emails` filters are refused: only
    // the listing (pages of two) finds her.
    assert_eq!(done[0].output["found_by"], "listing of 5 users");
    assert!(scim.counters().count("GET", "/scim/v2/Users") >= 5);
    assert_eq!(
        scim.counters().with_status(400),
        1,
        "the refused e-mail filter"
    );
    // The server claims PATCH and answers 501: the whole resource is PUT instead, and nothing
    // the PUT could have cleared by omission was lost.
    assert_eq!(scim.counters().with_status(501), 1);
    assert_eq!(
        done[1].output["how"],
        "PUT with active=false (no PATCH on this server)"
    );
    let user = scim.user(&leaver).unwrap();
    assert!(!user.active);
    assert_eq!(user.emails, [DEMO_LEAVER]);
    assert_eq!(user.user_name, "Jane.Doe@example.com");

    // The DELETE's answer is lost after it took effect: the attempt fails retryably, and the
    // next finds a 404 and reports the account already gone, removed once.
    scim.knobs().fail_after_apply(1);
    scim.knobs()
        .set_lost_response(LostResponse::ServerError(502));
    let lost = failure(&connector, APP, RemoveSeat, DEMO_LEAVER, &mut prior).await;
    assert!(
        matches!(lost.class, FailureClass::Retryable { .. }),
        "{lost:?}"
    );
    assert!(scim.was_deleted(&leaver));
    let again = all(&connector, APP, &[RemoveSeat], DEMO_LEAVER, &mut prior).await;
    assert!(again[0].repeat);
    assert!(
        again[0].summary.contains("already gone"),
        "{}",
        again[0].summary
    );
    assert_eq!(scim.effects_applied(effect::REMOVE_ACCOUNT, &leaver), 1);
    scim.shutdown().await;
}

#[tokio::test]
async fn a_server_that_tells_the_truth_about_patch_gets_put_straight_away() {
    let (scim, leaver) = server(Flavor::Lenient, |_| {}).await;
    let connector = scim_connector(&scim, scim_policy("wiki"), http());
    let mut prior = Prior::new();
    all(
        &connector,
        APP,
        &[Snapshot, DeactivateSeat],
        DEMO_LEAVER,
        &mut prior,
    )
    .await;
    assert_eq!(scim.counters().count("PATCH", "/scim/v2/Users/{id}"), 0);
    assert_eq!(scim.counters().count("PUT", "/scim/v2/Users/{id}"), 1);
    assert_eq!(
        scim.counters()
            .count("GET", "/scim/v2/ServiceProviderConfigs"),
        1,
        "discovery under the plural name, once per connector"
    );
    assert!(!scim.user(&leaver).unwrap().active);
    scim.shutdown().await;
}

#[tokio::test]
async fn an_app_whose_delete_deactivates_and_a_leaver_without_an_account() {
    let (scim, _) = server(Flavor::Strict, |_| {}).await;
    let mut policy = scim_policy("wiki");
    policy.deactivate_by = ScimDeactivation::Delete;
    policy.delete_reversible = true;
    policy.seat = SeatPlan::deactivate_only();
    let connector = scim_connector(&scim, policy, http());
    let mut prior = Prior::new();
    let nobody = "nobody@example.com";
    let done = all(
        &connector,
        APP,
        &[Snapshot, DeactivateSeat],
        nobody,
        &mut prior,
    )
    .await;
    assert_eq!(done[0].output["user_id"], serde_json::Value::Null);
    assert!(
        done[0].summary.contains("listing of 5 users"),
        "{}",
        done[0].summary
    );
    assert_eq!(done[1].output["seat"]["outcome"], "no_account");
    assert!(done[1].repeat);

    let colleague = "sam.lee@example.com";
    let id = scim.user(colleague).unwrap().id;
    let mut prior = Prior::new();
    let done = all(
        &connector,
        APP,
        &[Snapshot, DeactivateSeat],
        colleague,
        &mut prior,
    )
    .await;
    assert_eq!(done[1].output["how"], "DELETE (the app's deactivation)");
    assert!(
        done[1].output["seat"]["restorable"]
            .as_str()
            .unwrap()
            .starts_with("yes")
    );
    assert!(scim.was_deleted(&id));
    scim.shutdown().await;
}

#[tokio::test]
async fn throttling_and_a_bad_token_are_classified_with_the_server_s_wait_and_a_fix() {
    let (scim, _) = server(Flavor::Strict, |_| {}).await;
    let connector = scim_connector(&scim, scim_policy("wiki"), http());
    scim.knobs().burst_429(1);
    let throttled = failure(&connector, APP, Snapshot, DEMO_LEAVER, &mut Prior::new()).await;
    assert_eq!(
        throttled.class,
        FailureClass::Throttled {
            retry_after: Some(Duration::from_secs(1))
        }
    );
    assert_eq!(throttled.code, "http_429");

    let mut policy = scim_policy("wiki");
    policy.name = "Wiki".into();
    let wrong = passage_connectors::scim::ScimConnector::new(
        passage_connectors::scim::ScimSettings {
            base_url: url::Url::parse(&scim.base_url()).unwrap(),
            token: passage_core::secret::Secret::new("not-the-token"),
            policy,
        },
        http(),
    );
    let refused = failure(&wrong, APP, Snapshot, DEMO_LEAVER, &mut Prior::new()).await;
    assert_eq!(refused.class, FailureClass::Permanent);
    assert_eq!(refused.code, "http_401");
    assert!(
        refused.message.contains("Wiki refused the SCIM token"),
        "{}",
        refused.message
    );
    scim.shutdown().await;
}
