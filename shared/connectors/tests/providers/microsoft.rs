//! The Microsoft connector against the sandbox Microsoft tenant over real HTTP: the plan's
//! actions in plan order with a certificate credential, each read back and visible in the
//! emulator's state and audit log; repeats change nothing; errors are classified.

use passage_connectors::microsoft::{MicrosoftConnector, MicrosoftCredential, MicrosoftSettings};
use passage_core::ports::{ActionDone, ActionFailure, ActionRequest, Connector, FailureClass};
use passage_core::secret::Secret;
use passage_core::{
    Action, DeviceAction, Manager, MicrosoftPolicy, Provider, RunId, StepKey, Subject, TenantId,
};
use passage_sandbox::microsoft::{
    ActionState, AppCredential, DEMO_LEAVER, DEMO_MANAGER, DemoTenant, GroupKind, MailboxPurpose,
    MethodKind, MicrosoftConfig, MicrosoftEmulator, SeedGroup, activity, demo_seed,
    key_thumbprints,
};
use std::collections::BTreeMap;
use std::time::Duration;

const CLIENT_ID: &str = "5a1e2b3c-4d5e-6f70-8192-a3b4c5d6e7f8";
const SECRET: &str = "passage~test.secret";
const AUTO_REPLY: &str = "Jane has left the company; please contact sam.lee@example.com.";
const RULE: &str = "Passage offboarding forward";

use crate::common;
use common::rsa_key;

fn policy() -> MicrosoftPolicy {
    MicrosoftPolicy {
        reset_factors: true,
        auto_reply: Some(AUTO_REPLY.into()),
        forward_to_delegate: true,
        convert_mailbox: true,
        remove_licenses: true,
        devices: DeviceAction::Retire,
        mailbox_critical: false,
    }
}

struct Tenant {
    ms: MicrosoftEmulator,
    demo: DemoTenant,
}

async fn tenant() -> Tenant {
    let ms = MicrosoftEmulator::start(MicrosoftConfig::default())
        .await
        .unwrap();
    let demo = demo_seed(&ms);
    Tenant { ms, demo }
}

fn settings(ms: &MicrosoftEmulator, credential: MicrosoftCredential) -> MicrosoftSettings {
    common::microsoft_settings(ms, CLIENT_ID, credential, policy())
}

/// Registers the app with a certificate (public key) credential and builds the connector.
fn certificate_connector(ms: &MicrosoftEmulator) -> MicrosoftConnector {
    let (private, public) = rsa_key();
    let (x5t, _) = key_thumbprints(public).unwrap();
    ms.register_app(
        CLIENT_ID,
        AppCredential::PublicKey {
            pem: public.clone(),
            x5t: x5t.clone(),
        },
    );
    MicrosoftConnector::new(
        settings(
            ms,
            MicrosoftCredential::Certificate {
                private_key: Secret::new(private.clone()),
                x5t,
            },
        ),
        passage_connectors::http::client(),
    )
}

fn secret_connector(ms: &MicrosoftEmulator) -> MicrosoftConnector {
    ms.register_app(CLIENT_ID, AppCredential::Secret(SECRET.into()));
    MicrosoftConnector::new(
        settings(ms, MicrosoftCredential::Secret(Secret::new(SECRET))),
        passage_connectors::http::client(),
    )
}

fn request(
    action: Action,
    email: &str,
    manager: Option<&str>,
    prior: &BTreeMap<StepKey, serde_json::Value>,
) -> ActionRequest {
    ActionRequest {
        tenant: TenantId::new("acme"),
        run_id: RunId::new("run_ms"),
        step_key: passage_core::step_key(Provider::Microsoft, action),
        action,
        subject: Subject {
            employee_id: "E1".into(),
            email: email.into(),
            display_name: None,
            time_zone: "UTC".into(),
            manager: manager.map(|m| Manager {
                email: m.into(),
                employee_id: None,
            }),
        },
        delegate: manager.map(str::to_owned),
        attempt: 1,
        prior: prior.clone(),
        operation: None,
    }
}

async fn run(
    c: &MicrosoftConnector,
    action: Action,
    prior: &mut BTreeMap<StepKey, serde_json::Value>,
) -> ActionDone {
    let report = c
        .execute(&request(action, DEMO_LEAVER, Some(DEMO_MANAGER), prior))
        .await;
    assert!(!report.calls.is_empty(), "{action} made no recorded call");
    assert!(
        report.calls.iter().all(|c| c.status != 0),
        "{action}: every call was answered"
    );
    let done = report
        .outcome
        .done()
        .unwrap_or_else(|f| panic!("{action} failed: {f:?}"));
    if action == Action::Snapshot {
        prior.insert(
            passage_core::step_key(Provider::Microsoft, action),
            done.output.clone(),
        );
    }
    done
}

async fn fail(c: &MicrosoftConnector, action: Action, email: &str) -> ActionFailure {
    let report = c
        .execute(&request(
            action,
            email,
            Some(DEMO_MANAGER),
            &BTreeMap::new(),
        ))
        .await;
    report
        .outcome
        .failed()
        .unwrap_or_else(|o| panic!("{action} did not fail: {o:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_order_with_a_certificate_lands_every_action_once() {
    let Tenant { ms, demo } = tenant().await;
    // A dynamic group that licenses its members: its licence is inherited and stays.
    let licensing = ms.seed_group(SeedGroup {
        membership_rule: Some("(user.department -eq \"Engineering\")".into()),
        licenses: vec!["AAD_PREMIUM".into()],
        ..SeedGroup::new("Entra P1 (dynamic)", GroupKind::DynamicSecurity)
    });
    assert!(ms.seed_membership(&licensing, DEMO_LEAVER));
    let p1 = ms.sku_id("AAD_PREMIUM").unwrap();
    let c = certificate_connector(&ms);
    assert_eq!(c.provider(), Provider::Microsoft);
    assert!(common::MICROSOFT_PLAN.iter().all(|a| c.supports(*a)));
    assert!(!c.supports(Action::Deactivate));
    let leaver = demo.leaver_id.clone();
    let before_sessions = ms.user(DEMO_LEAVER).unwrap().sign_in_sessions_valid_from;
    let mut prior = BTreeMap::new();
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // Snapshot: the pre-state, with the user id later steps use.
    let snap = run(&c, Action::Snapshot, &mut prior).await;
    let out = &snap.output;
    assert_eq!(out["user_id"], leaver.as_str());
    assert_eq!(out["accountEnabled"], true);
    assert_eq!(out["groups"].as_array().unwrap().len(), 4);
    assert_eq!(out["auth_methods"].as_array().unwrap().len(), 3);
    assert_eq!(out["mailbox"]["userPurpose"], "user");
    assert_eq!(out["devices"][0]["id"], demo.device_id.as_str());
    assert_eq!(out["licenseAssignmentStates"].as_array().unwrap().len(), 3);
    assert!(out["assignedLicenses"].is_array());

    let suspend = run(&c, Action::Suspend, &mut prior).await;
    assert!(!suspend.repeat);
    assert_eq!(suspend.readback["accountEnabled"], false);
    assert!(!ms.user(DEMO_LEAVER).unwrap().account_enabled);

    let revoke = run(&c, Action::RevokeSessions, &mut prior).await;
    let after_sessions = ms.user(DEMO_LEAVER).unwrap().sign_in_sessions_valid_from;
    assert!(after_sessions > before_sessions);
    assert_eq!(
        revoke.readback["signInSessionsValidFromDateTime"],
        after_sessions.as_str()
    );

    let factors = run(&c, Action::ResetFactors, &mut prior).await;
    assert!(!factors.repeat);
    assert_eq!(factors.output["removed"].as_array().unwrap().len(), 2);
    let methods = ms.auth_methods(DEMO_LEAVER);
    assert_eq!(methods.len(), 1);
    assert_eq!(methods[0].kind, MethodKind::Password);

    let groups = run(&c, Action::RemoveGroups, &mut prior).await;
    assert!(!groups.repeat);
    // Engineering through Graph, the distribution list through Exchange Online.
    let removed: Vec<&str> = groups.output["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        removed,
        vec![
            demo.security_group_id.as_str(),
            demo.distribution_list_id.as_str()
        ]
    );
    let reported: Vec<&str> = groups.output["not_attempted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["group"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(reported.len(), 2);
    assert!(reported.contains(&demo.dynamic_group_id.as_str()));
    assert!(reported.contains(&licensing.as_str()));
    let left: Vec<String> = ms
        .user_groups(DEMO_LEAVER)
        .into_iter()
        .map(|g| g.id)
        .collect();
    assert_eq!(left.len(), 2);
    assert!(!left.contains(&demo.security_group_id));
    assert!(!left.contains(&demo.distribution_list_id));

    let reply = run(&c, Action::SetAutoReply, &mut prior).await;
    assert!(!reply.repeat);
    let mailbox = ms.mailbox(DEMO_LEAVER).unwrap();
    assert_eq!(mailbox.auto_reply_status, "alwaysEnabled");
    assert_eq!(mailbox.auto_reply_internal, AUTO_REPLY);
    assert_eq!(mailbox.auto_reply_external, AUTO_REPLY);

    let forward = run(&c, Action::ForwardMail, &mut prior).await;
    assert!(!forward.repeat);
    let again = run(&c, Action::ForwardMail, &mut prior).await;
    assert!(again.repeat, "{}", again.summary);
    let rules = ms.mailbox(DEMO_LEAVER).unwrap().rules;
    let ours: Vec<_> = rules.iter().filter(|r| r.display_name == RULE).collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].redirect_to, vec![DEMO_MANAGER.to_owned()]);
    assert!(ours[0].is_enabled);

    // Intune carries the retire out when the device checks in: until then the step awaits it,
    // and the poll after the check-in finds it done.
    let mut req = request(
        Action::SecureDevices,
        DEMO_LEAVER,
        Some(DEMO_MANAGER),
        &prior,
    );
    let pending = c.execute(&req).await.outcome.pending().unwrap();
    assert_eq!(pending.code, "device_action_pending");
    assert!(
        pending.what.starts_with("retire is issued"),
        "{}",
        pending.what
    );
    assert_eq!(
        pending.poll_after,
        Duration::from_secs(5),
        "the first poll comes soon"
    );
    req.operation = Some(common::operation(&pending));
    let devices = c.execute(&req).await.outcome.done().unwrap();
    assert!(!devices.repeat);
    assert_eq!(devices.readback["devices"][0]["action"], "retire");
    assert_eq!(devices.readback["devices"][0]["state"], "done");

    let convert = run(&c, Action::ConvertMailbox, &mut prior).await;
    assert!(!convert.repeat);
    assert_eq!(convert.readback["userPurpose"], "shared");
    assert_eq!(
        ms.mailbox(DEMO_LEAVER).unwrap().purpose,
        MailboxPurpose::Shared
    );

    // Licences go last: the mailbox is already shared, so the trap is never hit.
    let licences = run(&c, Action::RemoveLicenses, &mut prior).await;
    assert!(!licences.repeat, "{:#}", licences.output);
    assert_eq!(
        licences.output["removed"],
        serde_json::json!([demo.direct_sku_id])
    );
    // Entra P2 came with Engineering, which RemoveGroups already left; P1 stays with its
    // dynamic group and is reported.
    assert_eq!(licences.output["not_attempted"][0]["skuId"], p1.as_str());
    assert_eq!(
        licences.output["not_attempted"][0]["assignedByGroup"],
        licensing.as_str()
    );
    let left = ms.licenses(DEMO_LEAVER);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].sku_id, p1);
    assert!(left[0].assigned_by_group.is_some());
    assert!(left.iter().all(|l| l.sku_id != demo.inherited_sku_id));
    let mailbox = ms.mailbox(DEMO_LEAVER).unwrap();
    assert!(mailbox.accessible, "the shared mailbox survived");
    assert_eq!(mailbox.purpose, MailboxPurpose::Shared);

    // A second delivery of every step changes nothing (revocation is always re-issued).
    for action in common::MICROSOFT_PLAN {
        let done = run(&c, action, &mut prior).await;
        match action {
            Action::Snapshot | Action::RevokeSessions => {}
            _ => assert!(done.repeat, "{action} repeat: {}", done.summary),
        }
    }
    // The repeat's read of the device shows the retire confirmed.
    let device = &ms.devices(DEMO_LEAVER)[0];
    assert!(device.actions.iter().any(|a| a.action
        == passage_sandbox::microsoft::DeviceAction::Retire
        && a.state == ActionState::Done));

    // Exactly one audit event per real change.
    assert_eq!(ms.count_events(activity::DISABLE_ACCOUNT, &leaver), 1);
    assert_eq!(ms.count_events(activity::REVOKE_SESSIONS, &leaver), 2);
    assert_eq!(ms.count_events(activity::DELETE_AUTH_METHOD, &leaver), 2);
    assert_eq!(ms.count_events(activity::REMOVE_MEMBER, &leaver), 2);
    assert_eq!(ms.count_events(activity::SET_AUTO_REPLY, &leaver), 1);
    assert_eq!(ms.count_events(activity::NEW_INBOX_RULE, &leaver), 1);
    assert_eq!(ms.count_events(activity::SET_INBOX_RULE, &leaver), 0);
    assert_eq!(ms.count_events(activity::RETIRE_DEVICE, &demo.device_id), 1);
    assert_eq!(ms.count_events(activity::SET_MAILBOX, &leaver), 1);
    assert_eq!(ms.count_events(activity::CHANGE_LICENSE, &leaver), 1);
    ms.shutdown().await;
}

/// UPNs of a group's direct members, as the emulator holds them.
fn members(ms: &MicrosoftEmulator, group: &str) -> Vec<String> {
    ms.group(group).unwrap().members
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distribution_lists_are_left_through_exchange_and_read_back() {
    let Tenant { ms, demo } = tenant().await;
    let oncall = ms.seed_group(SeedGroup {
        mail: Some("eng-oncall@example.com".into()),
        ..SeedGroup::new("Engineering On-call", GroupKind::MailEnabledSecurity)
    });
    let synced = ms.seed_group(SeedGroup {
        on_prem_synced: true,
        mail: Some("hq-staff@example.com".into()),
        ..SeedGroup::new("HQ Staff", GroupKind::Distribution)
    });
    assert!(ms.seed_membership(&oncall, DEMO_LEAVER));
    assert!(ms.seed_membership(&synced, DEMO_LEAVER));
    let c = secret_connector(&ms);
    let mut prior = BTreeMap::new();
    let snap = run(&c, Action::Snapshot, &mut prior).await;
    assert_eq!(snap.output["groups"].as_array().unwrap().len(), 5);
    assert!(members(&ms, &demo.distribution_list_id).contains(&DEMO_LEAVER.to_owned()));

    let first = c
        .execute(&request(
            Action::RemoveGroups,
            DEMO_LEAVER,
            Some(DEMO_MANAGER),
            &prior,
        ))
        .await;
    let exchange_calls: Vec<_> = first
        .calls
        .iter()
        .filter(|call| call.path.ends_with("/InvokeCommand"))
        .collect();
    // One removal and one read-back per Exchange-mastered group; none for the synced list.
    assert_eq!(exchange_calls.len(), 4, "{exchange_calls:?}");
    assert!(exchange_calls.iter().all(|call| call.method == "POST"));
    let done = first.outcome.done().unwrap();
    assert!(!done.repeat);
    let removed: Vec<&str> = done.output["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert_eq!(removed.len(), 3);
    assert!(removed.contains(&demo.distribution_list_id.as_str()));
    assert!(removed.contains(&oncall.as_str()));
    let checked = done.readback["exchange_members_checked"]
        .as_array()
        .unwrap();
    assert_eq!(checked.len(), 2);
    let list = checked
        .iter()
        .find(|g| g["group"] == "eng-announce@example.com")
        .unwrap();
    assert_eq!(list["user_listed"], false);
    // Manager and a colleague remain on the list, as Exchange read it back.
    assert_eq!(list["members"], 2);
    let left = members(&ms, &demo.distribution_list_id);
    assert_eq!(left.len(), 2);
    assert!(!left.contains(&DEMO_LEAVER.to_owned()));
    assert!(left.contains(&DEMO_MANAGER.to_owned()));
    assert!(!members(&ms, &oncall).contains(&DEMO_LEAVER.to_owned()));

    // The synced list stays, reported with where to change it.
    assert!(members(&ms, &synced).contains(&DEMO_LEAVER.to_owned()));
    let reported = done.output["not_attempted"].as_array().unwrap();
    let hq = reported
        .iter()
        .find(|g| g["group"]["id"] == synced.as_str())
        .unwrap();
    assert!(hq["reason"].as_str().unwrap().contains("on-premises AD"));
    assert!(
        done.summary
            .contains("HQ Staff (synced from on-premises AD"),
        "{}",
        done.summary
    );
    assert_eq!(done.readback["not_attempted"].as_array().unwrap().len(), 2);

    // A second delivery with the same snapshot: Exchange says the user is no longer a member
    // of either list, which counts as done.
    let again = run(&c, Action::RemoveGroups, &mut prior).await;
    assert!(again.repeat, "{}", again.summary);
    assert!(again.output["removed"].as_array().unwrap().is_empty());
    let already: Vec<&str> = again.output["already_removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert_eq!(already.len(), 2);
    assert!(already.contains(&demo.distribution_list_id.as_str()));
    assert!(already.contains(&oncall.as_str()));
    assert!(members(&ms, &synced).contains(&DEMO_LEAVER.to_owned()));
    // Three real removals (Engineering, the list, on-call), one audit event each.
    assert_eq!(ms.count_events(activity::REMOVE_MEMBER, &demo.leaver_id), 3);
    ms.shutdown().await;
}

/// Exchange pages long member lists; the read-back follows every page (the same command sent
/// to `@odata.nextLink`), since absence from the first page alone proves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paged_member_list_is_read_to_its_end() {
    let ms = MicrosoftEmulator::start(MicrosoftConfig {
        exchange_page_size: 1,
        ..MicrosoftConfig::default()
    })
    .await
    .unwrap();
    let demo = demo_seed(&ms);
    let c = secret_connector(&ms);
    let mut prior = BTreeMap::new();
    run(&c, Action::Snapshot, &mut prior).await;
    let result = c
        .execute(&request(
            Action::RemoveGroups,
            DEMO_LEAVER,
            Some(DEMO_MANAGER),
            &prior,
        ))
        .await;
    let exchange_calls = result
        .calls
        .iter()
        .filter(|call| call.path.ends_with("/InvokeCommand"))
        .count();
    // One removal, then two one-member pages of the list (manager, colleague).
    assert_eq!(exchange_calls, 3, "{:?}", result.calls);
    let done = result.outcome.done().unwrap();
    let list = &done.readback["exchange_members_checked"][0];
    assert_eq!(list["group"], "eng-announce@example.com");
    assert_eq!(list["members"], 2, "members counted across both pages");
    let left = members(&ms, &demo.distribution_list_id);
    assert_eq!(left.len(), 2);
    assert!(!left.contains(&DEMO_LEAVER.to_owned()));
    ms.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_works_and_licences_before_conversion_are_refused() {
    let Tenant { ms, demo } = tenant().await;
    let c = secret_connector(&ms);
    let mut prior = BTreeMap::new();
    run(&c, Action::Snapshot, &mut prior).await;
    // Out of plan order: removing the Exchange licence from a user mailbox would lose it.
    let report = c
        .execute(&request(
            Action::RemoveLicenses,
            DEMO_LEAVER,
            Some(DEMO_MANAGER),
            &prior,
        ))
        .await;
    let failure = report.outcome.failed().unwrap();
    assert_eq!(failure.code, "mailbox_not_converted");
    assert_eq!(failure.class, FailureClass::Permanent);
    assert_eq!(ms.licenses(DEMO_LEAVER).len(), 2);
    assert!(ms.mailbox(DEMO_LEAVER).unwrap().accessible);
    assert_eq!(ms.count_events(activity::CHANGE_LICENSE, DEMO_LEAVER), 0);
    // In plan order it goes through.
    run(&c, Action::ConvertMailbox, &mut prior).await;
    let done = run(&c, Action::RemoveLicenses, &mut prior).await;
    assert_eq!(
        done.output["removed"],
        serde_json::json!([demo.direct_sku_id])
    );
    assert!(ms.mailbox(DEMO_LEAVER).unwrap().accessible);
    ms.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_burst_is_throttled_with_the_providers_wait() {
    let Tenant { ms, .. } = tenant().await;
    let c = secret_connector(&ms);
    ms.knobs().burst_429(1);
    let failure = fail(&c, Action::Suspend, DEMO_LEAVER).await;
    assert_eq!(failure.code, "TooManyRequests");
    assert_eq!(
        failure.class,
        FailureClass::Throttled {
            retry_after: Some(Duration::from_secs(1))
        }
    );
    assert!(ms.user(DEMO_LEAVER).unwrap().account_enabled);
    // The next delivery succeeds.
    let mut prior = BTreeMap::new();
    assert!(!run(&c, Action::Suspend, &mut prior).await.repeat);
    ms.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_permanent_and_say_what_to_do() {
    let Tenant { ms, .. } = tenant().await;
    let c = secret_connector(&ms);

    let synced = fail(&c, Action::Suspend, "alex.kim@example.com").await;
    assert_eq!(synced.code, "on_prem_synced");
    assert_eq!(synced.class, FailureClass::Permanent);
    assert!(
        synced
            .message
            .contains("disable the account in on-premises AD")
    );
    assert!(ms.user("alex.kim@example.com").unwrap().account_enabled);

    let ghost = fail(&c, Action::Suspend, "ghost@example.com").await;
    assert_eq!(ghost.code, "user_not_found");
    assert_eq!(ghost.class, FailureClass::Permanent);

    let unsupported = fail(&c, Action::Deactivate, DEMO_LEAVER).await;
    assert_eq!(unsupported.code, "action_not_supported");

    let report = c
        .execute(&request(
            Action::ForwardMail,
            DEMO_LEAVER,
            None,
            &BTreeMap::new(),
        ))
        .await;
    assert_eq!(report.outcome.failed().unwrap().code, "no_delegate");
    // Only the demo's own rule (forwarding home) is there: no forward was made.
    let rules = ms.mailbox(DEMO_LEAVER).unwrap().rules;
    assert!(rules.iter().all(|r| r.display_name != RULE), "{rules:?}");
    ms.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_permission_is_permanent_and_named() {
    let Tenant { ms, .. } = tenant().await;
    let c = secret_connector(&ms);
    // Tokens issued from now on can read users but not disable them.
    ms.set_graph_roles(CLIENT_ID, &["User.Read.All"]);
    let denied = fail(&c, Action::Suspend, DEMO_LEAVER).await;
    assert_eq!(denied.code, "Authorization_RequestDenied");
    assert_eq!(denied.class, FailureClass::Permanent);
    assert!(
        denied.message.contains("User.EnableDisableAccount.All"),
        "{}",
        denied.message
    );
    assert!(ms.user(DEMO_LEAVER).unwrap().account_enabled);

    // Exchange without Exchange.ManageAsApp: a bare 401, named.
    let c = secret_connector(&ms);
    ms.set_exchange_roles(CLIENT_ID, &[]);
    let denied = fail(&c, Action::ConvertMailbox, DEMO_LEAVER).await;
    assert_eq!(denied.class, FailureClass::Permanent);
    assert!(
        denied.message.contains("Exchange.ManageAsApp"),
        "{}",
        denied.message
    );
    assert_eq!(
        ms.mailbox(DEMO_LEAVER).unwrap().purpose,
        MailboxPurpose::User
    );
    ms.shutdown().await;
}

/// The token endpoint's request count, so a test can see each fresh token the connector asked for.
fn token_requests(ms: &MicrosoftEmulator) -> u64 {
    ms.counters().count("POST", "/{tenant}/oauth2/v2.0/token")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_expired_mid_run_is_refreshed_and_the_call_retried_once() {
    let Tenant { ms, .. } = tenant().await;
    let c = secret_connector(&ms);
    let mut prior = BTreeMap::new();
    run(&c, Action::Snapshot, &mut prior).await;
    assert_eq!(token_requests(&ms), 1);

    // The cached token expires between two steps: the next call is refused once, a fresh
    // token is fetched and the same call succeeds.
    ms.expire_issued_tokens();
    let report = c
        .execute(&request(Action::Suspend, DEMO_LEAVER, None, &prior))
        .await;
    let done = report.outcome.done().expect("suspend after a fresh token");
    assert_eq!(done.readback["accountEnabled"], false);
    assert_eq!(token_requests(&ms), 2);
    let refused: Vec<_> = report.calls.iter().filter(|c| c.status == 401).collect();
    assert_eq!(refused.len(), 1, "{:?}", report.calls);
    assert!(!ms.user(DEMO_LEAVER).unwrap().account_enabled);

    // A tenant that refuses every token: one fresh token is tried, never a second.
    ms.refuse_every_token(true);
    let report = c
        .execute(&request(Action::RevokeSessions, DEMO_LEAVER, None, &prior))
        .await;
    let failure = report.outcome.failed().expect("every token refused");
    assert_eq!(failure.code, "InvalidAuthenticationToken");
    assert_eq!(failure.class, FailureClass::Permanent);
    let refused = report.calls.iter().filter(|c| c.status == 401).count();
    assert_eq!(refused, 2, "{:?}", report.calls);
    assert_eq!(token_requests(&ms), 3);
    ms.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_leaver_needs_a_directory_role_not_a_permission() {
    use passage_sandbox::microsoft::{SeedUser, directory_roles};
    let Tenant { ms, .. } = tenant().await;
    let admin = "ada.admin@example.com";
    ms.seed_user(SeedUser {
        directory_roles: vec![directory_roles::GLOBAL_ADMINISTRATOR.into()],
        ..SeedUser::new(admin, "Ada Admin")
    });
    // The app holds every Graph permission, but only the Exchange Administrator role.
    let c = secret_connector(&ms);
    let denied = fail(&c, Action::Suspend, admin).await;
    assert_eq!(denied.code, "directory_role_missing");
    assert_eq!(denied.class, FailureClass::Permanent);
    assert!(
        denied
            .message
            .contains("Privileged Authentication Administrator"),
        "{}",
        denied.message
    );
    assert!(
        !denied.message.contains("grant the application permission"),
        "{}",
        denied.message
    );
    let revoke = fail(&c, Action::RevokeSessions, admin).await;
    assert_eq!(revoke.code, "directory_role_missing");
    assert!(ms.user(admin).unwrap().account_enabled);

    // A missing permission is still named as one.
    let c = secret_connector(&ms);
    ms.set_graph_roles(CLIENT_ID, &["User.Read.All"]);
    let denied = fail(&c, Action::Suspend, admin).await;
    assert_eq!(denied.code, "Authorization_RequestDenied");
    assert!(denied.message.contains("User.EnableDisableAccount.All"));

    // With the role the same step lands.
    let c = secret_connector(&ms);
    ms.set_directory_roles(
        CLIENT_ID,
        &[
            directory_roles::PRIVILEGED_AUTHENTICATION_ADMINISTRATOR,
            directory_roles::EXCHANGE_ADMINISTRATOR,
        ],
    );
    let report = c
        .execute(&request(Action::Suspend, admin, None, &BTreeMap::new()))
        .await;
    report.outcome.done().expect("suspend with the role");
    assert!(!ms.user(admin).unwrap().account_enabled);
    ms.shutdown().await;
}

/// Graph's clock and the host's disagree; the revocation proof measures the difference from
/// Graph's `Date` and records it, passing a real revocation and never a stale one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_revocation_proof_measures_the_clock_skew() {
    let Tenant { ms, .. } = tenant().await;
    let c = secret_connector(&ms);
    for minutes in [-10i64, 10] {
        ms.knobs()
            .set_clock_offset(jiff::SignedDuration::from_mins(minutes));
        let report = c
            .execute(&request(
                Action::RevokeSessions,
                DEMO_LEAVER,
                None,
                &BTreeMap::new(),
            ))
            .await;
        let done = report
            .outcome
            .done()
            .unwrap_or_else(|f| panic!("revocation with Graph {minutes} min off: {f:?}"));
        let skew_ms = done.readback["clock"]["clock_skew_ms"].as_i64().unwrap();
        let expected = minutes * 60_000;
        assert!(
            (skew_ms - expected).abs() < 2_000,
            "measured {skew_ms} ms for {minutes} min"
        );
        assert!(done.readback["clock"]["slack_ms"].as_i64().unwrap() < 5_000);
        assert_eq!(
            done.readback["signInSessionsValidFromDateTime"],
            ms.user(DEMO_LEAVER)
                .unwrap()
                .sign_in_sessions_valid_from
                .as_str()
        );
    }
    ms.shutdown().await;
}

/// HR knows the leaver by an alias (a secondary SMTP address), neither the UPN nor `mail`:
/// the lookup finds them through `proxyAddresses`, an advanced query.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaver_known_by_an_alias_is_found_through_proxy_addresses() {
    use passage_sandbox::microsoft::SeedUser;
    let Tenant { ms, .. } = tenant().await;
    ms.seed_user(SeedUser {
        aliases: vec!["lpark@example.com".into()],
        ..SeedUser::new("lee.park@example.com", "Lee Park")
    });
    let c = secret_connector(&ms);
    let report = c
        .execute(&request(
            Action::Snapshot,
            "LPark@example.com",
            None,
            &BTreeMap::new(),
        ))
        .await;
    let snap = report
        .outcome
        .done()
        .unwrap_or_else(|f| panic!("snapshot by alias: {f:?}"));
    assert_eq!(
        snap.output["user_id"].as_str(),
        Some(ms.user("lee.park@example.com").unwrap().id.as_str())
    );
    let ghost = fail(&c, Action::Suspend, "nobody@example.com").await;
    assert_eq!(ghost.code, "user_not_found");
    assert!(
        ghost.message.contains("proxyAddresses"),
        "{}",
        ghost.message
    );

    // Graph serves that filter only as an advanced query.
    let token = ms
        .access_token(CLIENT_ID, passage_sandbox::microsoft::Resource::Graph)
        .unwrap();
    let url = format!(
        "{}/v1.0/users?$filter=proxyAddresses/any(x:x%20eq%20'smtp:lpark@example.com')",
        ms.base_url()
    );
    let http = reqwest::Client::new();
    let plain = http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(plain.status(), 400);
    let body: serde_json::Value = plain.json().await.unwrap();
    assert_eq!(body["error"]["code"], "Request_UnsupportedQuery");
    let advanced = http
        .get(format!("{url}&$count=true"))
        .header("ConsistencyLevel", "eventual")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(advanced.status(), 200);
    let body: serde_json::Value = advanced.json().await.unwrap();
    assert_eq!(body["@odata.count"], 1);
    ms.shutdown().await;
}

/// Without a group permission Graph still answers memberOf, with every field but the id null:
/// routing on those nulls would send distribution lists to Graph and dynamic groups to a
/// removal. The connector refuses to record or act on them and names the permission.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memberships_with_limited_information_are_refused_not_routed() {
    let Tenant { ms, .. } = tenant().await;
    let c = secret_connector(&ms);
    ms.set_graph_roles(
        CLIENT_ID,
        &[
            "User.ReadWrite.All",
            "UserAuthenticationMethod.ReadWrite.All",
            "LicenseAssignment.ReadWrite.All",
            "MailboxSettings.ReadWrite",
            "DeviceManagementManagedDevices.Read.All",
        ],
    );
    let before = members(&ms, "Engineering");
    for action in [Action::Snapshot, Action::RemoveGroups] {
        let failure = fail(&c, action, DEMO_LEAVER).await;
        assert_eq!(failure.code, "group_details_withheld", "{action}");
        assert_eq!(failure.class, FailureClass::Permanent);
        assert!(
            failure.message.contains("GroupMember.Read.All"),
            "{}",
            failure.message
        );
    }
    assert_eq!(members(&ms, "Engineering"), before);
    ms.shutdown().await;
}

/// Each national cloud issues tokens for its own Graph and Exchange only: a tenant configured
/// for a cloud asks for that cloud's resources, whatever host it calls, and a tenant set to the
/// wrong cloud is refused at the token endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_national_cloud_gets_tokens_for_its_own_resources() {
    use passage_connectors::microsoft::Cloud;
    use passage_sandbox::microsoft::Cloud as EmulatedCloud;
    let clouds = [
        (Cloud::Global, EmulatedCloud::Global),
        (Cloud::UsGovHigh, EmulatedCloud::UsGovHigh),
        (Cloud::UsGovDod, EmulatedCloud::UsGovDod),
        (Cloud::China, EmulatedCloud::China),
    ];
    for (cloud, emulated) in clouds {
        let ms = MicrosoftEmulator::start(MicrosoftConfig {
            cloud: emulated,
            ..MicrosoftConfig::default()
        })
        .await
        .unwrap();
        demo_seed(&ms);
        ms.register_app(CLIENT_ID, AppCredential::Secret(SECRET.into()));
        let connector = |cloud| {
            let mut s = settings(&ms, MicrosoftCredential::Secret(Secret::new(SECRET)));
            s.cloud = cloud;
            MicrosoftConnector::new(s, passage_connectors::http::client())
        };
        // Graph and Exchange both answer with this cloud's tokens.
        let c = connector(cloud);
        let mut prior = BTreeMap::new();
        run(&c, Action::Snapshot, &mut prior).await;
        run(&c, Action::ConvertMailbox, &mut prior).await;
        assert_eq!(
            ms.mailbox(DEMO_LEAVER).unwrap().purpose,
            MailboxPurpose::Shared,
            "{cloud:?}"
        );
        // Another cloud's resource is unknown here.
        let other = if cloud == Cloud::Global {
            Cloud::China
        } else {
            Cloud::Global
        };
        let refused = fail(&connector(other), Action::Suspend, DEMO_LEAVER).await;
        assert_eq!(refused.class, FailureClass::Permanent, "{cloud:?}");
        assert!(
            refused.message.contains("AADSTS500011") || refused.code == "invalid_resource",
            "{cloud:?}: {refused:?}"
        );
        ms.shutdown().await;
    }
}

/// A Mac's platform credential (platform single sign-on) is a sign-in method like the others:
/// resetting factors removes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_macs_platform_credential_is_removed_with_the_other_methods() {
    use passage_sandbox::microsoft::{SeedMethod, SeedUser};
    let Tenant { ms, .. } = tenant().await;
    let mac_user = "mia.mac@example.com";
    ms.seed_user(SeedUser {
        methods: vec![
            SeedMethod::new(MethodKind::MicrosoftAuthenticator, "iPhone").default_method(),
            SeedMethod::new(MethodKind::PlatformCredential, "MIA-MBP"),
        ],
        ..SeedUser::new(mac_user, "Mia Mac")
    });
    let c = secret_connector(&ms);
    let report = c
        .execute(&request(
            Action::ResetFactors,
            mac_user,
            None,
            &BTreeMap::new(),
        ))
        .await;
    report
        .outcome
        .done()
        .unwrap_or_else(|f| panic!("reset factors: {f:?}"));
    let left: Vec<_> = ms.auth_methods(mac_user).iter().map(|m| m.kind).collect();
    assert_eq!(left, vec![MethodKind::Password], "{left:?}");
    ms.shutdown().await;
}

/// A restore step's input: its items (what the leaver run recorded) and the original snapshot.
fn restore_input(
    action: Action,
    items: serde_json::Value,
    prior: &mut BTreeMap<StepKey, serde_json::Value>,
) {
    let snapshot = prior[&passage_core::step_key(Provider::Microsoft, Action::Snapshot)].clone();
    prior.insert(
        passage_core::step_key(Provider::Microsoft, action),
        serde_json::json!({"items": items, "snapshot": snapshot}),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_released_licence_comes_back_only_where_a_seat_is_free() {
    let Tenant { ms, demo } = tenant().await;
    let c = secret_connector(&ms);
    let mut prior = BTreeMap::new();
    run(&c, Action::Snapshot, &mut prior).await;
    run(&c, Action::ConvertMailbox, &mut prior).await;
    run(&c, Action::RemoveLicenses, &mut prior).await;
    let held = |ms: &MicrosoftEmulator| {
        ms.licenses(DEMO_LEAVER)
            .iter()
            .any(|l| l.sku_id == demo.direct_sku_id && l.assigned_by_group.is_none())
    };
    assert!(!held(&ms));
    let item = serde_json::json!([{
        "key": format!("microsoft.licence.{}", demo.direct_sku_id),
        "provider": "microsoft",
        "action": "restore_licences",
        "id": demo.direct_sku_id,
        "name": "SPE_E3",
    }]);
    restore_input(Action::RestoreLicences, item, &mut prior);
    // Every seat taken: the step says so, and nothing is assigned.
    assert!(ms.set_sku_units(&demo.direct_sku_id, 0));
    let report = c
        .execute(&request(Action::RestoreLicences, DEMO_LEAVER, None, &prior))
        .await;
    let failure = report.outcome.failed().unwrap();
    assert_eq!(failure.code, "no_free_seat");
    assert_eq!(failure.class, FailureClass::Permanent);
    assert!(failure.message.contains("SPE_E3"), "{}", failure.message);
    assert!(!held(&ms));
    // A seat freed: the licence is assigned and read back.
    assert!(ms.set_sku_units(&demo.direct_sku_id, 250));
    let done = run(&c, Action::RestoreLicences, &mut prior).await;
    assert!(!done.repeat);
    assert!(held(&ms));
    ms.shutdown().await;
}

// ----- the shared-resource sweep (issue 17) --------------------------------------------------

fn sweeping(ms: &MicrosoftEmulator) -> MicrosoftConnector {
    secret_connector(ms).sweeping(&passage_core::SweepPolicy::default())
}

#[tokio::test]
async fn the_snapshot_records_what_the_sweep_will_remove_in_a_shape_a_restore_can_reverse() {
    let t = tenant().await;
    let c = sweeping(&t.ms);
    let mut prior = BTreeMap::new();
    let snap = run(&c, Action::Snapshot, &mut prior).await;
    let rights: Vec<&str> = snap.output["shared_access"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            assert_eq!(g["mailbox"], "support@example.com");
            g["right"].as_str().unwrap()
        })
        .collect();
    assert_eq!(rights, ["FullAccess", "SendAs", "SendOnBehalf"]);
    let owned = snap.output["owned"].as_array().unwrap();
    assert_eq!(owned[0]["type"], "group");
    assert_eq!(owned[0]["id"], t.demo.owned_group_id.as_str());
    assert_eq!(owned[1]["type"], "application");
    assert_eq!(
        snap.output["onedrive"]["permissions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let kinds: Vec<&str> = snap.output["access"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    for kind in ["shared_access", "ownership", "drive"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    // Without the sweep, the snapshot reads none of it.
    let plain = run(
        &secret_connector(&t.ms),
        Action::Snapshot,
        &mut BTreeMap::new(),
    )
    .await;
    assert!(plain.output.get("shared_access").is_none());
    t.ms.shutdown().await;
}

#[tokio::test]
async fn a_group_whose_last_owner_leaves_without_a_manager_is_reported_with_who_must_act() {
    let t = tenant().await;
    let c = sweeping(&t.ms);
    let report = c
        .execute(&request(
            Action::SweepSharedAccess,
            DEMO_LEAVER,
            None,
            &BTreeMap::new(),
        ))
        .await;
    let done = report.outcome.done().unwrap();
    // The mailbox rights go regardless; the group stays with its only owner.
    assert!(
        t.ms.mailbox_grants("support@example.com", DEMO_LEAVER)
            .is_empty()
    );
    assert_eq!(t.ms.group_owners(&t.demo.owned_group_id), vec![DEMO_LEAVER]);
    let said = done.output["access"].as_array().unwrap();
    let group = said
        .iter()
        .find(|s| s["id"] == format!("group:{}", t.demo.owned_group_id))
        .unwrap();
    assert_eq!(group["state"], "remains");
    assert!(
        group["reason"]
            .as_str()
            .unwrap()
            .contains("administrator must name a new owner")
    );
    t.ms.shutdown().await;
}

#[tokio::test]
async fn the_sweep_repeats_as_a_no_op_and_the_onedrive_hand_over_is_idempotent() {
    let t = tenant().await;
    let c = sweeping(&t.ms);
    let mut prior = BTreeMap::new();
    let first = run(&c, Action::SweepSharedAccess, &mut prior).await;
    assert!(!first.repeat);
    assert_eq!(
        t.ms.group_owners(&t.demo.owned_group_id),
        vec![DEMO_MANAGER]
    );
    let again = run(&c, Action::SweepSharedAccess, &mut prior).await;
    assert!(again.repeat, "{}", again.summary);
    let handed = run(&c, Action::HandOverOneDrive, &mut prior).await;
    assert_eq!(handed.output["removed_links"].as_array().unwrap().len(), 2);
    assert_eq!(handed.output["retention_days"], 30);
    let twice = run(&c, Action::HandOverOneDrive, &mut prior).await;
    assert!(twice.repeat);
    t.ms.shutdown().await;
}

// ----- the mail sweep ------------------------------------------------------------------------

const HOME: &str = passage_sandbox::microsoft::DEMO_EXTERNAL_FORWARD;

#[tokio::test]
async fn the_mail_sweep_clears_forwarding_to_and_from_the_leaver_and_keeps_passages_forward() {
    let t = tenant().await;
    let c = sweeping(&t.ms);
    // A direct report's rule forwarding to the leaver and someone else, and one that only moves.
    t.ms.seed_user(passage_sandbox::microsoft::SeedUser {
        manager: Some(DEMO_LEAVER.to_owned()),
        licenses: vec!["SPE_E3".to_owned()],
        ..passage_sandbox::microsoft::SeedUser::new("kai.report@example.com", "Kai Report")
    });
    // A direct report without a mailbox: Graph answers MailboxNotEnabledForRESTAPI.
    t.ms.seed_user(passage_sandbox::microsoft::SeedUser {
        manager: Some(DEMO_LEAVER.to_owned()),
        ..passage_sandbox::microsoft::SeedUser::new("lee.nomail@example.com", "Lee Nomail")
    });
    t.ms.seed_inbox_rule("kai.report@example.com", "Copy", &[DEMO_LEAVER, HOME], &[])
        .unwrap();
    let mut prior = BTreeMap::new();
    let snap = run(&c, Action::Snapshot, &mut prior).await;
    let ids: Vec<&str> = snap.output["access"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "forwarding" || i["kind"] == "delegation")
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert!(ids[0].starts_with(&format!("rule:{DEMO_LEAVER}/")));
    assert!(
        ids.iter()
            .any(|i| i.starts_with("rule:kai.report@example.com/"))
    );
    assert!(
        ids.iter()
            .any(|i| i.starts_with(&format!("calendar:{DEMO_MANAGER}/")))
    );
    let whys: Vec<&str> = snap.output["mail_access"]["scanned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["why"].as_str().unwrap())
        .collect();
    assert_eq!(
        whys[..4],
        ["leaver", "manager", "direct report", "direct report"]
    );
    let unserved: Vec<&str> = snap.output["mail_access"]["scanned"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["reachable"] == false)
        .map(|m| m["mailbox"].as_str().unwrap())
        .collect();
    assert_eq!(unserved, ["lee.nomail@example.com"]);
    run(&c, Action::ForwardMail, &mut prior).await;

    let done = run(&c, Action::SweepMailAccess, &mut prior).await;
    assert!(!done.repeat, "{}", done.summary);
    let own = t.ms.inbox_rules(DEMO_LEAVER);
    assert_eq!(own.len(), 1, "{own:?}");
    assert_eq!(
        (own[0].display_name.as_str(), &own[0].redirect_to[..]),
        (RULE, &[DEMO_MANAGER.to_owned()][..])
    );
    assert!(t.ms.inbox_rules(DEMO_MANAGER).is_empty());
    let kai = t.ms.inbox_rules("kai.report@example.com");
    assert_eq!(kai[0].forward_to, [HOME]);
    assert!(t.ms.calendar_permissions(DEMO_MANAGER).is_empty());
    assert_eq!(t.ms.calendar_permissions(DEMO_LEAVER).len(), 1);
    assert_eq!(
        done.output["own_calendar_kept"][0]["address"],
        "priya.patel@example.com"
    );

    let again = run(&c, Action::SweepMailAccess, &mut prior).await;
    assert!(again.repeat, "{}", again.summary);
    t.ms.shutdown().await;
}

#[tokio::test]
async fn a_rule_named_like_passages_forward_but_sending_elsewhere_is_the_leavers_and_goes() {
    let t = tenant().await;
    let c = sweeping(&t.ms);
    t.ms.seed_inbox_rule(DEMO_LEAVER, RULE, &[], &[HOME])
        .unwrap();
    let mut prior = BTreeMap::new();
    run(&c, Action::Snapshot, &mut prior).await;
    run(&c, Action::SweepMailAccess, &mut prior).await;
    assert!(t.ms.inbox_rules(DEMO_LEAVER).is_empty());
    t.ms.shutdown().await;
}

#[tokio::test]
async fn a_mail_list_failing_mid_paging_is_recorded_unreadable_and_nothing_is_removed() {
    let t = tenant().await;
    let c = sweeping(&t.ms);
    t.ms.fail_mail_pages(true);
    let mut prior = BTreeMap::new();
    let snap = run(&c, Action::Snapshot, &mut prior).await;
    assert!(
        snap.output["mail_unreadable"].is_string(),
        "{}",
        snap.output
    );
    assert!(snap.output.get("mail_access").is_none());
    let report = c
        .execute(&request(
            Action::SweepMailAccess,
            DEMO_LEAVER,
            Some(DEMO_MANAGER),
            &prior,
        ))
        .await;
    let failure = report.outcome.failed().unwrap();
    assert!(
        matches!(failure.class, FailureClass::Retryable { .. }),
        "{failure:?}"
    );
    assert_eq!(t.ms.inbox_rules(DEMO_LEAVER).len(), 1);
    assert_eq!(t.ms.inbox_rules(DEMO_MANAGER).len(), 1);
    assert_eq!(t.ms.calendar_permissions(DEMO_MANAGER).len(), 1);
    t.ms.shutdown().await;
}

#[tokio::test]
async fn without_calendars_read_write_the_mail_sweep_fails_naming_the_permission() {
    let t = tenant().await;
    let c = sweeping(&t.ms);
    let mut roles: Vec<&str> = passage_sandbox::microsoft::OFFBOARDING_GRAPH_ROLES.to_vec();
    roles.retain(|r| *r != "Calendars.ReadWrite");
    assert!(t.ms.set_graph_roles(CLIENT_ID, &roles));
    let report = c
        .execute(&request(
            Action::SweepMailAccess,
            DEMO_LEAVER,
            Some(DEMO_MANAGER),
            &BTreeMap::new(),
        ))
        .await;
    let failure = report.outcome.failed().unwrap();
    assert_eq!(failure.class, FailureClass::Permanent, "{failure:?}");
    assert!(
        failure.message.contains("Calendars.ReadWrite"),
        "{}",
        failure.message
    );
    // Nothing was deleted before the refusal: the rules are read first, then the calendars.
    assert_eq!(t.ms.calendar_permissions(DEMO_MANAGER).len(), 1);
    t.ms.shutdown().await;
}
