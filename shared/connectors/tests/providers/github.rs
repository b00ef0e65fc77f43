//! The GitHub connector against the sandbox GitHub over real HTTP: SAML credential
//! authorizations revoked (GitHub's background job), the Copilot seat cancelled, membership,
//! outside-collaborator access and invitations removed — each read back in the organisation's
//! state — and managed users suspended then deleted; with GitHub's traps: private e-mails,
//! secondary and primary rate limits, a token without the scope, a team-given Copilot seat.

use crate::common::saas::{Prior, all, failure, github_connector, github_policy, step};
use passage_core::Action::{DeactivateSeat, RemoveLicenses, RemoveSeat, RevokeGrants, Snapshot};
use passage_core::ports::{ActionOutcome, FailureClass};
use passage_sandbox::github::{
    CopilotSource, DEMO_LEAVER, DEMO_LOGIN, GithubConfig, GithubEmulator, SeedMember, demo_seed,
    effect,
};
use std::time::Duration;

const PLAN: [passage_core::Action; 4] = [Snapshot, RevokeGrants, RemoveLicenses, DeactivateSeat];
const MAPPING: [(&str, &str); 1] = [(DEMO_LEAVER, DEMO_LOGIN)];

async fn org() -> GithubEmulator {
    let github = GithubEmulator::start(GithubConfig::default())
        .await
        .unwrap();
    demo_seed(&github);
    github
}

fn http() -> reqwest::Client {
    passage_connectors::http::client()
}

#[tokio::test]
async fn the_leaver_leaves_the_organization_with_credentials_revoked_and_copilot_cancelled() {
    let github = org().await;
    let connector = github_connector(&github, github_policy(false), &MAPPING, http());
    let seats = github.seats_in_use();
    assert_eq!(github.credentials(DEMO_LOGIN), 2);
    assert_eq!(github.invitations_for(DEMO_LEAVER), 1);
    let mut prior = Prior::new();
    let done = all(&connector, None, &PLAN, DEMO_LEAVER, &mut prior).await;
    let snap = &done[0].output;
    assert_eq!(snap["login"], DEMO_LOGIN);
    assert_eq!(snap["found_by"], "tenant mapping");
    assert_eq!(snap["membership"]["state"], "active");
    assert_eq!(snap["credentials"].as_array().unwrap().len(), 2);
    assert_eq!(snap["invitations"].as_array().unwrap().len(), 1);
    // In the organisation now: credentials revoked, Copilot pending cancellation at the cycle's
    // end, membership and the old invitation gone, two paid seats fewer.
    assert_eq!(github.credentials(DEMO_LOGIN), 0);
    let seat = github.copilot_seat(DEMO_LOGIN).unwrap();
    let date = seat.pending_cancellation.unwrap();
    assert_eq!(done[2].output["seat"]["seat_freed"], "at_cycle_end");
    assert!(
        done[2].output["seat"]["licences"][0]
            .as_str()
            .unwrap()
            .contains(&date)
    );
    assert_eq!(github.membership(DEMO_LOGIN), None);
    assert_eq!(github.invitations_for(DEMO_LEAVER), 0);
    assert_eq!(github.seats_in_use(), seats - 2);
    assert_eq!(
        done[3].output["seat"]["outcome"],
        "removed_from_organization"
    );
    assert_eq!(done[3].readback["membership_status"], 404);
    for (e, n) in [
        (effect::REVOKE_GRANTS, 1),
        (effect::REMOVE_LICENSE, 1),
        (effect::REMOVE_MEMBERSHIP, 1),
    ] {
        assert_eq!(github.effects_applied(e, DEMO_LOGIN), n, "{e}");
    }
    assert_eq!(
        github.effects_applied(effect::CANCEL_INVITATION, DEMO_LEAVER),
        1
    );

    // A second run finds nothing left to do.
    let again = all(&connector, None, &PLAN[1..], DEMO_LEAVER, &mut prior).await;
    assert!(again.iter().all(|d| d.repeat), "{again:?}");
    assert_eq!(
        github.effects_applied(effect::REMOVE_MEMBERSHIP, DEMO_LOGIN),
        1
    );
    github.shutdown().await;
}

#[tokio::test]
async fn every_call_carries_github_s_request_id_and_rate_limit_remaining() {
    let github = org().await;
    let connector = github_connector(&github, github_policy(false), &MAPPING, http());
    let report = step(&connector, None, Snapshot, DEMO_LEAVER, &mut Prior::new()).await;
    assert!(matches!(report.outcome, ActionOutcome::Done(_)));
    for call in &report.calls {
        let id = call.request_id.as_deref().unwrap();
        assert_eq!(id.split(':').count(), 5, "{id}");
        assert!(call.rate_limit_remaining.is_some());
    }
    github.shutdown().await;
}

#[tokio::test]
async fn credential_revocation_is_a_background_job_read_back_until_done() {
    let github = org().await;
    github.knobs().set_long_ops(Some(Duration::from_secs(60)));
    let connector = github_connector(&github, github_policy(false), &MAPPING, http());
    let mut prior = Prior::new();
    all(&connector, None, &[Snapshot], DEMO_LEAVER, &mut prior).await;
    // The job has not run: the attempt is not verified, and may be retried.
    let f = failure(&connector, None, RevokeGrants, DEMO_LEAVER, &mut prior).await;
    assert_eq!(f.code, "readback_mismatch");
    assert!(matches!(f.class, FailureClass::Retryable { .. }));
    assert_eq!(github.credentials(DEMO_LOGIN), 2);
    github.timeline().advance(Duration::from_secs(61));
    let done = all(&connector, None, &[RevokeGrants], DEMO_LEAVER, &mut prior).await;
    assert!(
        done[0].repeat,
        "the job revoked them; nothing was asked twice"
    );
    assert_eq!(github.credentials(DEMO_LOGIN), 0);
    assert_eq!(github.effects_applied(effect::REVOKE_GRANTS, DEMO_LOGIN), 1);
    github.shutdown().await;
}

#[tokio::test]
async fn secondary_and_primary_rate_limits_are_throttling_with_github_s_wait() {
    let github = org().await;
    let connector = github_connector(&github, github_policy(false), &MAPPING, http());
    github.knobs().burst_429(1);
    let f = failure(&connector, None, Snapshot, DEMO_LEAVER, &mut Prior::new()).await;
    assert_eq!(f.code, "secondary_rate_limit");
    assert_eq!(
        f.class,
        FailureClass::Throttled {
            retry_after: Some(Duration::from_secs(1))
        }
    );
    github.knobs().set_rate_limit_per_minute(1);
    github.reset_rate_limit();
    let f = failure(&connector, None, Snapshot, DEMO_LEAVER, &mut Prior::new()).await;
    assert_eq!(f.code, "rate_limited");
    let FailureClass::Throttled {
        retry_after: Some(wait),
    } = f.class
    else {
        panic!("{f:?}");
    };
    assert!(
        wait <= Duration::from_secs(61) && wait >= Duration::from_secs(1),
        "{wait:?}"
    );
    github.shutdown().await;
}

#[tokio::test]
async fn a_token_without_admin_org_is_refused_with_the_scope_to_add() {
    let github = org().await;
    github.set_scopes(&["read:org"]);
    let connector = github_connector(&github, github_policy(false), &MAPPING, http());
    let mut prior = Prior::new();
    all(&connector, None, &[Snapshot], DEMO_LEAVER, &mut prior).await;
    let f = failure(&connector, None, DeactivateSeat, DEMO_LEAVER, &mut prior).await;
    assert_eq!(f.class, FailureClass::Permanent);
    assert_eq!(f.code, "forbidden");
    assert!(f.message.contains("admin:org"), "{}", f.message);
    assert_eq!(github.membership(DEMO_LOGIN), Some("active"));
    github.shutdown().await;
}

#[tokio::test]
async fn a_private_address_needs_a_mapping_and_a_public_one_is_searched() {
    let github = org().await;
    let connector = github_connector(&github, github_policy(false), &[], http());
    // Only her invitation carries the work address: that much is found and cancelled.
    let mut prior = Prior::new();
    let done = all(
        &connector,
        None,
        &[Snapshot, DeactivateSeat],
        DEMO_LEAVER,
        &mut prior,
    )
    .await;
    assert_eq!(done[0].output["login"], serde_json::Value::Null);
    assert_eq!(github.invitations_for(DEMO_LEAVER), 0);
    // With nothing at all, the fix is named.
    let f = failure(
        &connector,
        None,
        Snapshot,
        "ghost@example.com",
        &mut Prior::new(),
    )
    .await;
    assert_eq!(f.code, "user_not_found");
    assert!(
        f.message.contains("[tenants.github] logins"),
        "{}",
        f.message
    );
    // A colleague with a public address is found by search; their Copilot seat comes through
    // a team, so it goes with the membership rather than being cancelled directly.
    let mut prior = Prior::new();
    let done = all(&connector, None, &PLAN, "sam.lee@example.com", &mut prior).await;
    assert_eq!(done[0].output["found_by"], "public e-mail");
    assert!(done[2].repeat);
    assert!(
        done[2].summary.contains("team Platform"),
        "{}",
        done[2].summary
    );
    assert_eq!(github.membership("sam-lee"), None);
    assert_eq!(github.copilot_seat("sam-lee"), None);
    github.shutdown().await;
}

#[tokio::test]
async fn an_outside_collaborator_loses_access_too() {
    let github = org().await;
    github.seed_member(SeedMember {
        copilot: Some(CopilotSource::Direct),
        ..SeedMember::new("kai-hart")
    });
    github.seed_outside_collaborator("kai-hart-ext");
    let connector = github_connector(
        &github,
        github_policy(false),
        &[("kai@example.com", "kai-hart-ext")],
        http(),
    );
    let mut prior = Prior::new();
    let done = all(&connector, None, &PLAN, "kai@example.com", &mut prior).await;
    assert_eq!(done[0].output["outside_collaborator"], true);
    assert!(!github.is_outside_collaborator("kai-hart-ext"));
    assert_eq!(
        github.effects_applied(effect::REMOVE_COLLABORATOR, "kai-hart-ext"),
        1
    );
    github.shutdown().await;
}

#[tokio::test]
async fn a_managed_user_is_suspended_then_deleted_for_good() {
    let github = org().await;
    let scim_id = github.seed_managed_user("kim.park@example.com", "kim-park_acme");
    let connector = github_connector(
        &github,
        github_policy(true),
        &[("kim.park@example.com", "kim-park_acme")],
        http(),
    );
    let mut prior = Prior::new();
    let done = all(
        &connector,
        None,
        &[Snapshot, DeactivateSeat],
        "kim.park@example.com",
        &mut prior,
    )
    .await;
    assert_eq!(done[0].output["managed_user"]["scim_id"], scim_id.as_str());
    assert_eq!(github.managed_active(&scim_id), Some(false));
    assert_eq!(done[1].output["seat"]["outcome"], "suspended");
    let removed = all(
        &connector,
        None,
        &[RemoveSeat],
        "kim.park@example.com",
        &mut prior,
    )
    .await;
    assert!(github.managed_deleted(&scim_id));
    assert_eq!(github.membership("kim-park_acme"), None);
    assert!(
        removed[0].output["seat"]["restorable"]
            .as_str()
            .unwrap()
            .starts_with("no")
    );
    let again = all(
        &connector,
        None,
        &[RemoveSeat],
        "kim.park@example.com",
        &mut prior,
    )
    .await;
    assert!(again[0].repeat);
    assert_eq!(
        github.effects_applied(effect::REMOVE_ACCOUNT, "kim-park_acme"),
        1
    );
    github.shutdown().await;
}
