//! The JumpCloud connector against the sandbox JumpCloud over real HTTP: the plan's steps for
//! the demo leaver with an API key, with a service account, and with an MSP credential that
//! needs `x-org-id`; repeats, throttling, pagination and an unknown leaver.

use passage_connectors::jumpcloud::{JumpCloudConnector, JumpCloudCredential};
use passage_core::ports::{ActionDone, ActionRequest, Connector, FailureClass};
use passage_core::secret::Secret;
use passage_core::{
    Action, DeviceAction, JumpCloudPolicy, Provider, RunId, StepKey, Subject, TenantId,
    TenantPolicy,
};
use passage_sandbox::jumpcloud::{
    CommandChannel, CommandKind, DEMO_LEAVER, JumpCloudConfig, JumpCloudEmulator, SeedGroup,
    SeedUser, UserState, demo_seed, event_type,
};
use std::collections::BTreeMap;
use std::time::Duration;

use crate::common;
type Prior = BTreeMap<StepKey, serde_json::Value>;

fn request(action: Action, email: &str, prior: &Prior) -> ActionRequest {
    ActionRequest {
        tenant: TenantId::new("acme"),
        run_id: RunId::new("run_test"),
        step_key: passage_core::step_key(Provider::Jumpcloud, action),
        action,
        subject: Subject {
            employee_id: "E1".into(),
            email: email.into(),
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

fn policy(devices: DeviceAction) -> JumpCloudPolicy {
    JumpCloudPolicy { devices }
}

fn connector(
    jc: &JumpCloudEmulator,
    credential: JumpCloudCredential,
    org_id: Option<String>,
    devices: DeviceAction,
) -> JumpCloudConnector {
    JumpCloudConnector::new(
        common::jumpcloud_settings(jc, credential, org_id, devices),
        passage_connectors::http::client(),
    )
}

fn api_key(jc: &JumpCloudEmulator) -> JumpCloudCredential {
    JumpCloudCredential::ApiKey(Secret::new(jc.api_key()))
}

/// The JumpCloud steps of the real plan, in plan order.
fn plan_actions(devices: DeviceAction) -> Vec<Action> {
    let mut tenant = TenantPolicy::new("acme");
    tenant.okta = None;
    tenant.jumpcloud = Some(policy(devices));
    let steps = passage_core::plan::build(&RunId::new("run_test"), &tenant, None).unwrap();
    steps
        .iter()
        .filter(|s| s.provider == Provider::Jumpcloud)
        .map(|s| s.action)
        .collect()
}

async fn run_plan(
    c: &JumpCloudConnector,
    email: &str,
    actions: &[Action],
) -> Vec<(Action, ActionDone)> {
    let mut prior = Prior::new();
    let mut done = Vec::new();
    for &action in actions {
        let report = c.execute(&request(action, email, &prior)).await;
        let outcome = report
            .outcome
            .done()
            .unwrap_or_else(|f| panic!("{action} failed: {f:?}"));
        assert!(!report.calls.is_empty(), "{action} made no recorded call");
        prior.insert(
            passage_core::step_key(Provider::Jumpcloud, action),
            outcome.output.clone(),
        );
        done.push((action, outcome));
    }
    done
}

/// Runs the plan for the demo leaver and checks the emulator's state, the audit trail, and
/// that a second run changes nothing.
async fn offboard_demo(jc: &JumpCloudEmulator, c: &JumpCloudConnector) {
    let demo = demo_seed(jc);
    offboard_seeded(jc, c, &demo).await;
}

async fn offboard_seeded(
    jc: &JumpCloudEmulator,
    c: &JumpCloudConnector,
    demo: &passage_sandbox::jumpcloud::DemoOrg,
) {
    let actions = plan_actions(DeviceAction::Lock);
    assert_eq!(
        actions,
        [
            Action::Snapshot,
            Action::Suspend,
            Action::RemoveGroups,
            Action::SecureDevices
        ]
    );
    let done = run_plan(c, DEMO_LEAVER, &actions).await;

    // The snapshot recorded the pre-state.
    let snapshot = &done[0].1.output;
    assert_eq!(snapshot["user_id"], demo.leaver_id.as_str());
    assert_eq!(snapshot["state"], "ACTIVATED");
    assert_eq!(snapshot["suspended"], false);
    let names: Vec<&str> = snapshot["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 3);
    for n in ["Engineering", "VPN Users", "GitHub Admins"] {
        assert!(names.contains(&n), "{names:?}");
    }
    assert_eq!(snapshot["systems"].as_array().unwrap().len(), 2);
    assert!(done.iter().skip(1).all(|(_, d)| !d.repeat));

    // The emulator agrees.
    let user = jc.user(&demo.leaver_id).unwrap();
    assert_eq!(user.state, UserState::Suspended);
    assert!(user.suspended);
    assert!(jc.user_groups(&demo.leaver_id).is_empty());
    let windows = jc.system(&demo.windows_system_id).unwrap();
    assert!(windows.locked && !windows.erased);
    let mac = jc.system(&demo.mac_system_id).unwrap();
    assert!(mac.locked && !mac.erased);
    let commands = jc.commands();
    assert_eq!(commands.len(), 2);
    let mac_cmd = commands
        .iter()
        .find(|c| c.system_id == demo.mac_system_id)
        .unwrap();
    assert_eq!(mac_cmd.channel, CommandChannel::AppleMdm);
    assert_eq!(mac_cmd.kind, CommandKind::Lock);
    let win_cmd = commands
        .iter()
        .find(|c| c.system_id == demo.windows_system_id)
        .unwrap();
    assert_eq!(win_cmd.channel, CommandChannel::Builtin);
    assert_eq!(win_cmd.kind, CommandKind::Lock);

    // The PIN that unlocks the Mac is in the output, and it is the one JumpCloud got.
    let devices = &done[3].1;
    let mac_out = devices.output["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["system_id"] == demo.mac_system_id.as_str())
        .unwrap();
    assert_eq!(mac_out["pin"].as_str(), mac_cmd.pin.as_deref());
    assert_eq!(mac_out["status"], "acknowledged");
    assert!(devices.summary.contains("PIN"), "{}", devices.summary);
    let readback = devices.readback["devices"].as_array().unwrap();
    assert!(readback.iter().any(|d| d["status"] == "completed"));

    // Each change happened exactly once.
    let once = |kind: &str, target: &str| {
        assert_eq!(jc.count_events(kind, target), 1, "{kind} on {target}");
    };
    once(event_type::USER_SUSPENDED, &demo.leaver_id);
    for g in &demo.leaver_group_ids {
        once(event_type::ASSOCIATION_CHANGE, g);
    }
    once(event_type::COMMAND_RUN, &demo.windows_system_id);
    once(event_type::MDM_COMMAND_RESULT, &demo.mac_device_id);

    // A second run changes nothing and says so.
    let again = run_plan(c, DEMO_LEAVER, &actions).await;
    for (action, d) in again.iter().skip(1) {
        assert!(d.repeat, "{action} was not a repeat: {}", d.summary);
    }
    assert_eq!(jc.commands().len(), 2);
    once(event_type::USER_SUSPENDED, &demo.leaver_id);
    once(event_type::COMMAND_RUN, &demo.windows_system_id);
    once(event_type::MDM_COMMAND_RESULT, &demo.mac_device_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_api_key_the_plan_lands_once() {
    let jc = JumpCloudEmulator::start(JumpCloudConfig::default())
        .await
        .unwrap();
    let c = connector(&jc, api_key(&jc), None, DeviceAction::Lock);
    assert_eq!(c.provider(), Provider::Jumpcloud);
    offboard_demo(&jc, &c).await;
    jc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_service_account_the_plan_lands_once() {
    let jc = JumpCloudEmulator::start(JumpCloudConfig::default())
        .await
        .unwrap();
    let (client_id, secret) = jc.service_account();
    let c = connector(
        &jc,
        JumpCloudCredential::ServiceAccount {
            client_id,
            client_secret: Secret::new(secret),
        },
        None,
        DeviceAction::Lock,
    );
    offboard_demo(&jc, &c).await;
    // One token served the whole run; an expired one is replaced transparently.
    assert_eq!(jc.counters().count("POST", "/oauth2/token"), 1);
    jc.expire_tokens();
    let report = c
        .execute(&request(Action::Suspend, DEMO_LEAVER, &Prior::new()))
        .await;
    assert!(report.outcome.done().unwrap().repeat);
    assert_eq!(jc.counters().count("POST", "/oauth2/token"), 2);
    jc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_msp_credential_needs_the_org_id() {
    let jc = JumpCloudEmulator::start(JumpCloudConfig::default())
        .await
        .unwrap();
    let demo = demo_seed(&jc);
    jc.add_org("Client Two");

    let without = connector(&jc, api_key(&jc), None, DeviceAction::Lock);
    let failure = without
        .execute(&request(Action::Snapshot, DEMO_LEAVER, &Prior::new()))
        .await
        .outcome
        .failed()
        .unwrap();
    assert_eq!(failure.class, FailureClass::Permanent);
    assert_eq!(failure.code, "http_401");
    assert!(failure.message.contains("x-org-id"), "{}", failure.message);

    let with = connector(&jc, api_key(&jc), Some(jc.org_id()), DeviceAction::Lock);
    offboard_seeded(&jc, &with, &demo).await;
    jc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wipe_erases_and_retire_locks_with_a_note() {
    let jc = JumpCloudEmulator::start(JumpCloudConfig::default())
        .await
        .unwrap();
    let demo = demo_seed(&jc);
    let wipe = connector(&jc, api_key(&jc), None, DeviceAction::Wipe);
    let done = run_plan(&wipe, DEMO_LEAVER, &plan_actions(DeviceAction::Wipe)).await;
    assert!(jc.system(&demo.windows_system_id).unwrap().erased);
    assert!(jc.system(&demo.mac_system_id).unwrap().erased);
    assert!(jc.commands().iter().all(|c| c.kind == CommandKind::Erase));
    let out = &done.last().unwrap().1.output;
    assert_eq!(out["policy"], "erase");
    // A lock after an erase has nothing left to do.
    let retire = connector(&jc, api_key(&jc), None, DeviceAction::Retire);
    let again = retire
        .execute(&request(Action::SecureDevices, DEMO_LEAVER, &Prior::new()))
        .await
        .outcome
        .done()
        .unwrap();
    assert!(again.repeat, "{}", again.summary);
    assert!(again.summary.contains("no retire"), "{}", again.summary);
    assert_eq!(jc.commands().len(), 2);
    jc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_burst_is_throttled_and_changes_nothing() {
    let jc = JumpCloudEmulator::start(JumpCloudConfig::default())
        .await
        .unwrap();
    let demo = demo_seed(&jc);
    let c = connector(&jc, api_key(&jc), None, DeviceAction::Lock);
    jc.knobs().burst_429(1);
    let report = c
        .execute(&request(Action::Suspend, DEMO_LEAVER, &Prior::new()))
        .await;
    let failure = report.outcome.failed().unwrap();
    assert_eq!(failure.class, FailureClass::Throttled { retry_after: None });
    assert_eq!(failure.code, "http_429");
    assert_eq!(report.calls.last().unwrap().status, 429);
    assert!(!jc.user(&demo.leaver_id).unwrap().suspended);
    // The next attempt goes through.
    let done = c
        .execute(&request(Action::Suspend, DEMO_LEAVER, &Prior::new()))
        .await
        .outcome
        .done()
        .unwrap();
    assert!(!done.repeat);
    assert_eq!(done.readback["state"], "SUSPENDED");
    jc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_a_page_of_groups_and_users() {
    let jc = JumpCloudEmulator::start(JumpCloudConfig::default())
        .await
        .unwrap();
    let groups: Vec<String> = (0..130).map(|i| format!("team-{i:03}")).collect();
    for g in &groups {
        jc.seed_group(SeedGroup::new(g));
    }
    let leaver = jc.seed_user(SeedUser {
        groups: groups.clone(),
        ..SeedUser::new("many.groups@example.com", "Many", "Groups")
    });
    for i in 0..120 {
        jc.seed_user(SeedUser::new(
            &format!("user{i:03}@example.com"),
            "U",
            "Ser",
        ));
    }
    let c = connector(&jc, api_key(&jc), None, DeviceAction::None);
    let actions = plan_actions(DeviceAction::None);
    assert_eq!(
        actions,
        [Action::Snapshot, Action::Suspend, Action::RemoveGroups]
    );
    let done = run_plan(&c, "many.groups@example.com", &actions).await;
    assert_eq!(done[0].1.output["groups"].as_array().unwrap().len(), 130);
    assert_eq!(done[2].1.output["removed"].as_array().unwrap().len(), 130);
    assert!(jc.user_groups(&leaver).is_empty());
    assert_eq!(
        jc.count_events(event_type::ASSOCIATION_CHANGE, &leaver),
        130
    );
    // The last of 121 users is found too.
    let last = c
        .execute(&request(
            Action::Snapshot,
            "user119@example.com",
            &Prior::new(),
        ))
        .await
        .outcome
        .done()
        .unwrap();
    assert_eq!(last.output["email"], "user119@example.com");
    jc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_leaver_and_an_unsupported_action_are_permanent() {
    let jc = JumpCloudEmulator::start(JumpCloudConfig::default())
        .await
        .unwrap();
    demo_seed(&jc);
    let c = connector(&jc, api_key(&jc), None, DeviceAction::Lock);
    let failure = c
        .execute(&request(
            Action::Suspend,
            "nobody@example.com",
            &Prior::new(),
        ))
        .await
        .outcome
        .failed()
        .unwrap();
    assert_eq!(failure.class, FailureClass::Permanent);
    assert_eq!(failure.code, "user_not_found");

    assert!(!c.supports(Action::Deactivate));
    let failure = c
        .execute(&request(Action::Deactivate, DEMO_LEAVER, &Prior::new()))
        .await
        .outcome
        .failed()
        .unwrap();
    assert_eq!(failure.class, FailureClass::Permanent);
    assert_eq!(failure.code, "action_not_supported");

    let bad_key = connector(
        &jc,
        JumpCloudCredential::ApiKey(Secret::new("jca_not_a_real_key")),
        None,
        DeviceAction::Lock,
    );
    let failure = bad_key
        .execute(&request(Action::Snapshot, DEMO_LEAVER, &Prior::new()))
        .await
        .outcome
        .failed()
        .unwrap();
    assert_eq!(failure.class, FailureClass::Permanent);
    jc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_devices_are_awaited_and_unmanaged_macs_stop_the_step() {
    use passage_sandbox::jumpcloud::SeedSystem;
    let jc = JumpCloudEmulator::start(JumpCloudConfig::default())
        .await
        .unwrap();
    let demo = demo_seed(&jc);
    let c = connector(&jc, api_key(&jc), None, DeviceAction::Lock);

    // An offline Linux box: the lock is queued, and the step awaits it (read back as queued,
    // not sent twice) until the box connects and runs it.
    let linux = jc.seed_system(SeedSystem {
        online: false,
        ..SeedSystem::linux("build-box").bound_to(&demo.leaver_id)
    });
    let mut req = request(Action::SecureDevices, DEMO_LEAVER, &Prior::new());
    for _ in 0..2 {
        let pending = c.execute(&req).await.outcome.pending().unwrap();
        assert_eq!(pending.code, "device_command_queued");
        assert!(pending.what.contains("build-box"), "{}", pending.what);
        assert_eq!(pending.deadline, Duration::from_secs(72 * 3600));
        req.operation = Some(common::operation(&pending));
        assert!(!jc.system(&linux).unwrap().locked);
        assert_eq!(jc.commands().len(), 3, "not sent twice");
    }
    assert!(jc.set_system_online(&linux, true));
    assert!(jc.system(&linux).unwrap().locked);
    let done = c.execute(&req).await.outcome.done().unwrap();
    assert!(
        !done.repeat,
        "this step saw the lock through: {}",
        done.summary
    );
    let entry = done.output["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["system_id"] == linux.as_str())
        .unwrap()
        .clone();
    assert_eq!(entry["status"], "completed");
    assert_eq!(jc.commands().len(), 3);
    let again = c
        .execute(&request(Action::SecureDevices, DEMO_LEAVER, &Prior::new()))
        .await
        .outcome
        .done()
        .unwrap();
    assert!(again.repeat, "{}", again.summary);
    assert_eq!(jc.commands().len(), 3);

    // A Mac outside Apple MDM cannot be locked through the API: fail before touching anything.
    jc.seed_system(SeedSystem {
        apple_mdm: false,
        ..SeedSystem::macos("old-mac").bound_to(&demo.leaver_id)
    });
    let failure = c
        .execute(&request(Action::SecureDevices, DEMO_LEAVER, &Prior::new()))
        .await
        .outcome
        .failed()
        .unwrap();
    assert_eq!(failure.class, FailureClass::Permanent);
    assert_eq!(failure.code, "device_not_securable");
    assert!(failure.message.contains("old-mac"), "{}", failure.message);
    assert_eq!(jc.commands().len(), 3);
    jc.shutdown().await;
}

/// HR knows the leaver by the address JumpCloud keeps as `alternateEmail`: found by it once no
/// user has it as `email`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaver_known_by_the_alternate_email_is_found() {
    let jc = JumpCloudEmulator::start(JumpCloudConfig::default())
        .await
        .unwrap();
    demo_seed(&jc);
    jc.seed_user(SeedUser {
        alternate_email: Some("ana.hr@example.com".into()),
        ..SeedUser::new("ana.alt@example.com", "Ana", "Alt")
    });
    let c = connector(&jc, api_key(&jc), None, DeviceAction::Lock);
    let report = c
        .execute(&request(
            Action::Suspend,
            "Ana.HR@example.com",
            &Prior::new(),
        ))
        .await;
    report
        .outcome
        .done()
        .unwrap_or_else(|f| panic!("suspend by alternateEmail: {f:?}"));
    assert_eq!(
        jc.user("ana.alt@example.com").unwrap().state,
        UserState::Suspended
    );
    jc.shutdown().await;
}
