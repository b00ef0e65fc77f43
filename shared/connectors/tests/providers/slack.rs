//! The Slack connector against the sandbox Slack over real HTTP: deactivation through SCIM and
//! session reset on Enterprise Grid, read back in the organisation's own state (member
//! deactivated, sessions gone, seat no longer billed), and Slack's traps: `ok:false` bodies
//! with a missing scope, the primary owner, a plan without SCIM or the Admin API, guests, and
//! `Retry-After` on 429.

use crate::common::saas::{Prior, all, failure, slack_connector};
use passage_core::Action::{DeactivateSeat, RevokeSessions, Snapshot};
use passage_core::SlackPlan as Plan;
use passage_core::ports::{Connector, FailureClass};
use passage_sandbox::slack::{
    DEMO_LEAVER, MemberKind, SeedMember, SlackConfig, SlackEmulator, SlackPlan, demo_seed, effect,
};
use std::time::Duration;

async fn org(plan: SlackPlan) -> SlackEmulator {
    let slack = SlackEmulator::start(SlackConfig::new(plan)).await.unwrap();
    demo_seed(&slack);
    slack
}

fn http() -> reqwest::Client {
    passage_connectors::http::client()
}

#[tokio::test]
async fn on_enterprise_grid_the_member_is_deactivated_signed_out_and_no_longer_billed() {
    let slack = org(SlackPlan::EnterpriseGrid).await;
    let connector = slack_connector(&slack, Plan::EnterpriseGrid, http());
    assert!(connector.supports(RevokeSessions));
    let before = slack.member(DEMO_LEAVER).unwrap();
    assert!(before.sessions > 0 && before.billed);
    let billed = slack.billed_seats();
    let mut prior = Prior::new();
    let done = all(
        &connector,
        None,
        &[Snapshot, DeactivateSeat, RevokeSessions],
        DEMO_LEAVER,
        &mut prior,
    )
    .await;
    assert_eq!(done[0].output["user_id"], before.id.as_str());
    assert_eq!(done[0].output["kind"], "member");
    assert_eq!(done[0].output["sessions"], before.sessions);
    let after = slack.member(DEMO_LEAVER).unwrap();
    assert!(after.deleted && !after.billed);
    assert_eq!(after.sessions, 0);
    assert_eq!(slack.billed_seats(), billed - 1);
    let seat = &done[1].output["seat"];
    assert_eq!(seat["outcome"], "deactivated");
    assert!(
        seat["seat_freed"].as_str().unwrap().starts_with("yes"),
        "{seat}"
    );
    assert!(
        seat["restorable"].as_str().unwrap().starts_with("yes"),
        "{seat}"
    );
    assert_eq!(done[1].readback["web_api"]["deleted"], true);
    assert_eq!(done[2].readback["active_sessions"], serde_json::json!([]));
    assert_eq!(slack.effects_applied(effect::SUSPEND, DEMO_LEAVER), 1);
    // Deactivation already signed her out; the reset found nothing left, and says so.
    assert!(done[2].repeat);
    assert_eq!(
        slack.effects_repeated(effect::REVOKE_SESSIONS, DEMO_LEAVER),
        1
    );

    // Every call carries Slack's request id; a second run changes nothing.
    let again = all(
        &connector,
        None,
        &[DeactivateSeat, RevokeSessions],
        DEMO_LEAVER,
        &mut prior,
    )
    .await;
    assert!(again.iter().all(|d| d.repeat));
    assert_eq!(slack.effects_applied(effect::SUSPEND, DEMO_LEAVER), 1);
    slack.shutdown().await;
}

#[tokio::test]
async fn request_ids_are_recorded_and_a_reset_ends_live_sessions() {
    let slack = org(SlackPlan::EnterpriseGrid).await;
    let connector = slack_connector(&slack, Plan::EnterpriseGrid, http());
    let mut prior = Prior::new();
    all(&connector, None, &[Snapshot], DEMO_LEAVER, &mut prior).await;
    // The reset on its own (before any deactivation) ends the sessions that are open.
    let report =
        crate::common::saas::step(&connector, None, RevokeSessions, DEMO_LEAVER, &mut prior).await;
    let done = report.outcome.done().unwrap();
    assert!(!done.repeat);
    assert_eq!(slack.member(DEMO_LEAVER).unwrap().sessions, 0);
    assert_eq!(
        slack.effects_applied(effect::REVOKE_SESSIONS, DEMO_LEAVER),
        1
    );
    assert!(
        report
            .calls
            .iter()
            .all(|c| c.request_id.as_ref().is_some_and(|r| r.len() == 32))
    );
    slack.shutdown().await;
}

#[tokio::test]
async fn a_missing_scope_is_named_from_slack_s_ok_false_answer() {
    let slack = org(SlackPlan::BusinessPlus).await;
    slack.set_scopes(&["admin", "users:read"]);
    let connector = slack_connector(&slack, Plan::BusinessPlus, http());
    let report =
        crate::common::saas::step(&connector, None, Snapshot, DEMO_LEAVER, &mut Prior::new()).await;
    let f = report.outcome.failed().unwrap();
    assert_eq!(f.class, FailureClass::Permanent);
    assert_eq!(f.code, "missing_scope");
    assert!(f.message.contains("`users:read.email`"), "{}", f.message);
    // HTTP 200 on the wire; the error code is still in the evidence.
    assert_eq!(report.calls[0].status, 200);
    assert_eq!(report.calls[0].error_code.as_deref(), Some("missing_scope"));
    slack.shutdown().await;
}

#[tokio::test]
async fn the_primary_owner_cannot_be_deactivated_and_the_fix_is_said() {
    let slack = org(SlackPlan::BusinessPlus).await;
    let connector = slack_connector(&slack, Plan::BusinessPlus, http());
    let owner = "founder@example.com";
    let mut prior = Prior::new();
    all(&connector, None, &[Snapshot], owner, &mut prior).await;
    let f = failure(&connector, None, DeactivateSeat, owner, &mut prior).await;
    assert_eq!(f.code, "cannot_disable_primary_owner");
    assert!(
        f.message.contains("transfer primary ownership"),
        "{}",
        f.message
    );
    assert!(!slack.member(owner).unwrap().deleted);
    slack.shutdown().await;
}

#[tokio::test]
async fn without_scim_or_the_admin_api_the_plan_gap_is_explained() {
    let slack = org(SlackPlan::Pro).await;
    // A tenant that claims Business+ on a Pro workspace: SCIM refuses.
    let connector = slack_connector(&slack, Plan::BusinessPlus, http());
    let mut prior = Prior::new();
    let f = failure(&connector, None, Snapshot, DEMO_LEAVER, &mut prior).await;
    assert_eq!(f.class, FailureClass::Permanent);
    assert!(
        f.message.contains("Business+ or Enterprise Grid"),
        "{}",
        f.message
    );
    slack.shutdown().await;

    let slack = org(SlackPlan::BusinessPlus).await;
    let connector = slack_connector(&slack, Plan::BusinessPlus, http());
    assert!(
        !connector.supports(RevokeSessions),
        "no Admin API below Grid"
    );
    let claimed = slack_connector(&slack, Plan::EnterpriseGrid, http());
    let f = failure(&claimed, None, Snapshot, DEMO_LEAVER, &mut Prior::new()).await;
    assert_eq!(f.code, "not_an_enterprise");
    assert!(f.message.contains("Enterprise Grid"), "{}", f.message);
    slack.shutdown().await;
}

#[tokio::test]
async fn a_single_channel_guest_frees_no_seat_and_a_multi_channel_guest_does() {
    let slack = org(SlackPlan::BusinessPlus).await;
    let connector = slack_connector(&slack, Plan::BusinessPlus, http());
    let billed = slack.billed_seats();
    let mut prior = Prior::new();
    let done = all(
        &connector,
        None,
        &[Snapshot, DeactivateSeat],
        "auditor@firm.example",
        &mut prior,
    )
    .await;
    assert_eq!(done[0].output["kind"], "single_channel_guest");
    assert!(
        done[1].output["seat"]["seat_freed"]
            .as_str()
            .unwrap()
            .starts_with("no")
    );
    assert_eq!(slack.billed_seats(), billed);
    assert!(slack.member("auditor@firm.example").unwrap().deleted);

    let mut prior = Prior::new();
    let done = all(
        &connector,
        None,
        &[Snapshot, DeactivateSeat],
        "contractor@agency.example",
        &mut prior,
    )
    .await;
    assert_eq!(done[0].output["kind"], "multi_channel_guest");
    assert_eq!(done[0].output["scim"]["active"], true);
    assert_eq!(slack.billed_seats(), billed - 1);
    slack.shutdown().await;
}

#[tokio::test]
async fn throttling_carries_retry_after_and_an_unknown_address_is_no_account() {
    let slack = org(SlackPlan::BusinessPlus).await;
    let connector = slack_connector(&slack, Plan::BusinessPlus, http());
    slack.knobs().burst_429(1);
    let f = failure(&connector, None, Snapshot, DEMO_LEAVER, &mut Prior::new()).await;
    assert_eq!(
        f.class,
        FailureClass::Throttled {
            retry_after: Some(Duration::from_secs(1))
        }
    );
    let mut prior = Prior::new();
    let nobody = "nobody@example.com";
    let done = all(
        &connector,
        None,
        &[Snapshot, DeactivateSeat],
        nobody,
        &mut prior,
    )
    .await;
    assert_eq!(done[0].output["user_id"], serde_json::Value::Null);
    assert_eq!(done[1].output["seat"]["outcome"], "no_account");
    slack.seed_member(SeedMember {
        kind: MemberKind::Admin,
        ..SeedMember::new("ops@example.com", "Ops Admin")
    });
    let done = all(
        &connector,
        None,
        &[Snapshot],
        "ops@example.com",
        &mut Prior::new(),
    )
    .await;
    assert_eq!(done[0].output["is_admin"], true);
    slack.shutdown().await;
}
