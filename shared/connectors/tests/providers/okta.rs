//! The Okta connector against the sandbox Okta over real HTTP: every action done, read back and
//! visible in the emulator's state, with an API token and with an OAuth service app using DPoP.

use crate::common;
use passage_connectors::okta::{OktaConnector, OktaCredentials, OktaSettings, ServiceApp};
use passage_core::ports::{ActionDone, ActionRequest, Connector, FailureClass};
use passage_core::secret::Secret;
use passage_core::{Action, Provider, RunId, StepKey, Subject, TenantId};
use passage_sandbox::okta::{ClientKey, DEMO_LEAVER, OktaConfig, OktaEmulator, SigningAlg};
use std::collections::BTreeMap;

fn request(action: Action, prior: &BTreeMap<StepKey, serde_json::Value>) -> ActionRequest {
    ActionRequest {
        tenant: TenantId::new("acme"),
        run_id: RunId::new("run_test"),
        step_key: passage_core::step_key(Provider::Okta, action),
        action,
        subject: Subject {
            employee_id: "E1".into(),
            email: DEMO_LEAVER.into(),
            display_name: None,
            time_zone: "UTC".into(),
            manager: None,
        },
        delegate: None,
        attempt: 1,
        prior: prior.clone(),
        operation: None,
    }
}

async fn run_all(connector: &OktaConnector, last: Action) -> Vec<(Action, ActionDone)> {
    let mut prior = BTreeMap::new();
    let mut done = Vec::new();
    for action in [
        Action::Snapshot,
        Action::ResetFactors,
        Action::RevokeSessions,
        Action::RevokeGrants,
        Action::RemoveGroups,
        Action::UnassignApps,
        last,
    ] {
        let report = connector.execute(&request(action, &prior)).await;
        let outcome = report
            .outcome
            .done()
            .unwrap_or_else(|f| panic!("{action} failed: {f:?}"));
        assert!(!report.calls.is_empty(), "{action} made no recorded call");
        prior.insert(
            passage_core::step_key(Provider::Okta, action),
            outcome.output.clone(),
        );
        done.push((action, outcome));
    }
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_api_token_every_action_lands_and_repeats_are_harmless() {
    let okta = OktaEmulator::start(OktaConfig::default()).await.unwrap();
    passage_sandbox::demo_seed(&okta);
    let connector = OktaConnector::new(
        OktaSettings {
            org_url: url::Url::parse(&okta.base_url()).unwrap(),
            credentials: OktaCredentials::ApiToken(Secret::new(okta.api_token())),
        },
        passage_connectors::http::client(),
    );
    let before = okta.user(DEMO_LEAVER).unwrap();
    assert!(!before.factors.is_empty());
    let done = run_all(&connector, Action::Deactivate).await;

    let user = okta.user(DEMO_LEAVER).unwrap();
    assert_eq!(format!("{:?}", user.status), "Deprovisioned");
    assert_eq!(okta.count_events("user.mfa.factor.reset_all", &user.id), 1);
    // Direct assignments were removed (and logged) before deactivation; the group-sourced one
    // went with its group's membership, so no assignment is left at all.
    let (_, apps) = done
        .iter()
        .find(|(a, _)| *a == Action::UnassignApps)
        .unwrap();
    assert!(!apps.output["removed"].as_array().unwrap().is_empty());
    assert!(okta.count_events("application.user_membership.remove", &user.id) >= 2);
    assert_eq!(okta.app_assignments(DEMO_LEAVER).unwrap().len(), 0);
    // The snapshot recorded the factors the leaver had.
    let (_, snapshot) = &done[0];
    assert_eq!(snapshot.output["status"], "ACTIVE");

    // Running everything again changes nothing and says so.
    let again = connector
        .execute(&request(Action::Deactivate, &BTreeMap::new()))
        .await
        .outcome
        .done()
        .unwrap();
    assert!(again.repeat);
    assert_eq!(okta.count_events("user.lifecycle.deactivate", &user.id), 1);
    okta.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oauth_service_app_with_dpop_does_the_same_work() {
    let okta = OktaEmulator::start(OktaConfig::default()).await.unwrap();
    passage_sandbox::demo_seed(&okta);
    let (private, public) = common::rsa_key().clone();
    let scopes: Vec<String> = [
        "okta.users.read",
        "okta.users.manage",
        "okta.groups.read",
        "okta.groups.manage",
        "okta.apps.read",
        "okta.apps.manage",
    ]
    .map(String::from)
    .to_vec();
    okta.register_service_app(
        "0oapassage",
        ClientKey::pem("key-1", SigningAlg::RS256, &public),
        scopes.clone(),
        true,
    );
    let connector = OktaConnector::new(
        OktaSettings {
            org_url: url::Url::parse(&okta.base_url()).unwrap(),
            credentials: OktaCredentials::ServiceApp(ServiceApp {
                client_id: "0oapassage".into(),
                private_key: Secret::new(private.clone()),
                key_id: Some("key-1".into()),
                scopes,
                dpop: true,
            }),
        },
        passage_connectors::http::client(),
    );
    run_all(&connector, Action::Suspend).await;
    let user = okta.user(DEMO_LEAVER).unwrap();
    assert_eq!(format!("{:?}", user.status), "Suspended");
    assert_eq!(okta.count_events("user.lifecycle.suspend", &user.id), 1);

    // An app without the manage scopes is refused with a clear, permanent error.
    okta.register_service_app(
        "0oareadonly",
        ClientKey::pem("key-2", SigningAlg::RS256, &public),
        vec!["okta.users.read".into()],
        false,
    );
    let read_only = OktaConnector::new(
        OktaSettings {
            org_url: url::Url::parse(&okta.base_url()).unwrap(),
            credentials: OktaCredentials::ServiceApp(ServiceApp {
                client_id: "0oareadonly".into(),
                private_key: Secret::new(private),
                key_id: Some("key-2".into()),
                scopes: vec!["okta.users.read".into(), "okta.users.manage".into()],
                dpop: false,
            }),
        },
        passage_connectors::http::client(),
    );
    let failure = read_only
        .execute(&request(Action::Snapshot, &BTreeMap::new()))
        .await
        .outcome
        .failed()
        .unwrap();
    assert_eq!(failure.class, FailureClass::Permanent);
    assert!(
        failure.message.contains("0oareadonly"),
        "{}",
        failure.message
    );
    okta.shutdown().await;
}

/// Okta's `X-Rate-Limit-Reset` is an instant on Okta's clock. Measured against the local clock,
/// a host whose clock is off by an hour either waits an hour on a one-second throttle or not at
/// all; measured against the same answer's `Date`, the wait is what Okta meant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttle_waits_until_the_reset_on_oktas_own_clock() {
    for offset_s in [3600, -3600] {
        let okta = OktaEmulator::start(OktaConfig::default()).await.unwrap();
        passage_sandbox::demo_seed(&okta);
        okta.knobs()
            .set_clock_offset(jiff::SignedDuration::from_secs(offset_s));
        let connector = OktaConnector::new(
            OktaSettings {
                org_url: url::Url::parse(&okta.base_url()).unwrap(),
                credentials: OktaCredentials::ApiToken(Secret::new(okta.api_token())),
            },
            passage_connectors::http::client(),
        );
        okta.knobs().burst_429(1);
        let report = connector
            .execute(&request(Action::Suspend, &BTreeMap::new()))
            .await;
        let passage_core::ports::ActionOutcome::Failed(failure) = report.outcome else {
            panic!(
                "clock {offset_s:+}s: the 429 is not a failure: {:?}",
                report.outcome
            );
        };
        let FailureClass::Throttled { retry_after } = failure.class else {
            panic!("clock {offset_s:+}s: a 429 is throttling: {failure:?}");
        };
        // The emulator names a reset one second ahead of its own clock, rounded up to a second.
        let wait = retry_after.expect("the reset names a wait");
        assert!(
            wait <= std::time::Duration::from_secs(2) && !wait.is_zero(),
            "clock {offset_s:+}s: waited {wait:?} for a reset a second away on Okta's clock"
        );
        okta.shutdown().await;
    }
}

/// `listUserGroups` and `listAppLinks` declare no paging parameters (the emulator refuses an
/// undeclared `limit`); the grants list declares one and pages with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpaged_lists_are_read_without_a_page_size() {
    let okta = OktaEmulator::start(OktaConfig::default()).await.unwrap();
    passage_sandbox::demo_seed(&okta);
    let connector = OktaConnector::new(
        OktaSettings {
            org_url: url::Url::parse(&okta.base_url()).unwrap(),
            credentials: OktaCredentials::ApiToken(Secret::new(okta.api_token())),
        },
        passage_connectors::http::client(),
    );
    let report = connector
        .execute(&request(Action::Snapshot, &BTreeMap::new()))
        .await;
    let snapshot = report
        .outcome
        .done()
        .unwrap_or_else(|f| panic!("snapshot failed: {f:?}"));
    assert!(!snapshot.output["groups"].as_array().unwrap().is_empty());
    let paths: Vec<_> = report.calls.iter().map(|c| c.path.as_str()).collect();
    assert!(paths.iter().any(|p| p.ends_with("/groups")), "{paths:?}");
    assert!(paths.iter().any(|p| p.ends_with("/appLinks")), "{paths:?}");
    assert!(report.calls.iter().all(|c| c.status == 200));
    okta.shutdown().await;
}

// ----- the shared-resource sweep (issue 17) --------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_roles_are_recorded_then_removed_and_a_repeat_changes_nothing() {
    let okta = OktaEmulator::start(OktaConfig::default()).await.unwrap();
    passage_sandbox::demo_seed(&okta);
    // The org's super administrator is someone else, and stays so.
    let john = okta.user("john.smith@example.com").unwrap().id;
    let held = okta.admin_roles(&john);
    assert_eq!(held, vec!["SUPER_ADMIN"]);
    let connector = OktaConnector::new(
        OktaSettings {
            org_url: url::Url::parse(&okta.base_url()).unwrap(),
            credentials: OktaCredentials::ApiToken(Secret::new(okta.api_token())),
        },
        passage_connectors::http::client(),
    )
    .sweeping(&passage_core::SweepPolicy::default());
    let snapshot = connector
        .execute(&request(Action::Snapshot, &BTreeMap::new()))
        .await
        .outcome
        .done()
        .unwrap();
    let roles = snapshot.output["admin_roles"].as_array().unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0]["type"], "APP_ADMIN");
    let access = snapshot.output["access"].as_array().unwrap();
    assert!(
        access
            .iter()
            .any(|a| a["kind"] == "admin_role" && a["id"] == roles[0]["id"])
    );

    let removed = connector
        .execute(&request(Action::RemoveAdminRoles, &BTreeMap::new()))
        .await
        .outcome
        .done()
        .unwrap();
    assert!(!removed.repeat);
    assert!(okta.admin_roles(DEMO_LEAVER).is_empty());
    let again = connector
        .execute(&request(Action::RemoveAdminRoles, &BTreeMap::new()))
        .await
        .outcome
        .done()
        .unwrap();
    assert!(again.repeat);
    assert_eq!(okta.admin_roles(&john), vec!["SUPER_ADMIN"]);
    okta.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_orgs_last_super_admin_role_is_reported_with_who_must_act() {
    let okta = OktaEmulator::start(OktaConfig::default()).await.unwrap();
    okta.seed_user(passage_sandbox::okta::SeedUser::new(
        DEMO_LEAVER,
        "Jane",
        "Doe",
    ));
    okta.seed_admin_role(DEMO_LEAVER, "SUPER_ADMIN");
    okta.seed_admin_role(DEMO_LEAVER, "ORG_ADMIN");
    let connector = OktaConnector::new(
        OktaSettings {
            org_url: url::Url::parse(&okta.base_url()).unwrap(),
            credentials: OktaCredentials::ApiToken(Secret::new(okta.api_token())),
        },
        passage_connectors::http::client(),
    )
    .sweeping(&passage_core::SweepPolicy::default());
    let done = connector
        .execute(&request(Action::RemoveAdminRoles, &BTreeMap::new()))
        .await
        .outcome
        .done()
        .unwrap();
    assert_eq!(okta.admin_roles(DEMO_LEAVER), vec!["SUPER_ADMIN"]);
    let said = done.output["access"].as_array().unwrap();
    assert_eq!(said.len(), 1);
    assert_eq!(said[0]["state"], "remains");
    assert!(
        said[0]["reason"]
            .as_str()
            .unwrap()
            .contains("super administrator")
    );
    okta.shutdown().await;
}
