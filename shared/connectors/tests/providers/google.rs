//! The Google Workspace connector against the sandbox Google over real HTTP: the plan's order
//! for the demo leaver, every effect visible in the emulator and applied exactly once, Gmail
//! steps refused after suspension, throttling, auto-licensing and missing delegation.

use passage_connectors::google::{DELEGATED_SCOPES, GoogleConnector, TransferPolling, scopes};
use passage_core::ports::{ActionDone, ActionFailure, ActionRequest, Connector, FailureClass};
use passage_core::{
    Action, DeviceAction, GooglePolicy, Manager, Provider, RunId, StepKey, Subject, TenantId,
};
use passage_sandbox::google::{
    DEMO_LEAVER, DEMO_MANAGER, GoogleConfig, GoogleEmulator, QuotaReason, TransferStatus,
    demo_seed, event_name,
};
use std::collections::BTreeMap;
use std::time::Duration;

use crate::common;
use common::operation;
const VACATION: &str = "Jane has left Example. Please write to sam.lee@example.com.";

pub(crate) fn policy() -> GooglePolicy {
    GooglePolicy {
        delegate_mailbox: true,
        forward_to_delegate: true,
        vacation_reply: Some(VACATION.into()),
        transfer_data: true,
        release_licenses: true,
        devices: DeviceAction::Retire,
        mailbox_critical: false,
    }
}

/// A started, demo-seeded emulator with the service account delegated `scopes`.
pub(crate) async fn emulator(scopes: &[&str]) -> GoogleEmulator {
    let google = GoogleEmulator::start(GoogleConfig::default())
        .await
        .unwrap();
    demo_seed(&google);
    common::register_google_service_account(&google, scopes);
    google
}

pub(crate) fn connector(google: &GoogleEmulator, policy: GooglePolicy) -> GoogleConnector {
    GoogleConnector::new(
        common::google_settings(google, policy),
        passage_connectors::http::client(),
    )
    .with_transfer_polling(TransferPolling {
        polls: 10,
        interval: Duration::from_millis(20),
    })
}

fn request_for(
    email: &str,
    action: Action,
    prior: &BTreeMap<StepKey, serde_json::Value>,
) -> ActionRequest {
    ActionRequest {
        tenant: TenantId::new("acme"),
        run_id: RunId::new("run_test"),
        step_key: passage_core::step_key(Provider::Google, action),
        action,
        subject: Subject {
            employee_id: "E1".into(),
            email: email.into(),
            display_name: None,
            time_zone: "UTC".into(),
            manager: Some(Manager {
                email: DEMO_MANAGER.into(),
                employee_id: None,
            }),
        },
        delegate: Some(DEMO_MANAGER.into()),
        attempt: 1,
        prior: prior.clone(),
        operation: None,
    }
}

pub(crate) fn request(
    action: Action,
    prior: &BTreeMap<StepKey, serde_json::Value>,
) -> ActionRequest {
    request_for(DEMO_LEAVER, action, prior)
}

pub(crate) async fn done(
    c: &GoogleConnector,
    action: Action,
    prior: &mut BTreeMap<StepKey, serde_json::Value>,
) -> ActionDone {
    let report = c.execute(&request(action, prior)).await;
    assert!(!report.calls.is_empty(), "{action} made no recorded call");
    let outcome = report
        .outcome
        .done()
        .unwrap_or_else(|f| panic!("{action} failed: {f:?}"));
    prior.insert(
        passage_core::step_key(Provider::Google, action),
        outcome.output.clone(),
    );
    outcome
}

async fn failed(c: &GoogleConnector, req: &ActionRequest) -> ActionFailure {
    c.execute(req)
        .await
        .outcome
        .failed()
        .unwrap_or_else(|o| panic!("{} did not fail: {o:?}", req.action))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_lands_every_effect_once_and_repeats_change_nothing() {
    let google = emulator(DELEGATED_SCOPES).await;
    let c = connector(&google, policy());
    let before = google.user(DEMO_LEAVER).unwrap();
    assert!(!before.tokens.is_empty() && !before.asps.is_empty() && !before.groups.is_empty());

    let mut prior = BTreeMap::new();
    let mut results = Vec::new();
    for action in common::GOOGLE_PLAN {
        results.push((action, done(&c, action, &mut prior).await));
        if action == Action::TransferData {
            // A second delivery must reuse the transfer, never start another.
            let again = done(&c, action, &mut prior).await;
            assert!(again.repeat, "second transfer_data was not a repeat");
        }
    }
    for (action, d) in &results {
        if *action != Action::Snapshot && *action != Action::RevokeSessions {
            assert!(!d.repeat, "{action} was a repeat on first delivery");
        }
    }

    let snap = &results[0].1.output;
    assert_eq!(snap["user_id"], before.id.as_str());
    assert_eq!(snap["groups"].as_array().unwrap().len(), 3);
    assert_eq!(snap["tokens"].as_array().unwrap().len(), 2);
    assert_eq!(snap["asps"].as_array().unwrap().len(), 1);
    assert_eq!(snap["licenses"].as_array().unwrap().len(), 1);
    assert_eq!(snap["mobile_devices"].as_array().unwrap().len(), 1);
    assert!(snap["mail"]["delegates"].as_array().unwrap().is_empty());
    assert_eq!(snap["mail"]["vacation"]["enableAutoReply"], false);

    let after = google.user(DEMO_LEAVER).unwrap();
    assert!(after.has_delegate(DEMO_MANAGER));
    assert_eq!(after.delegates[0].verification_status, "accepted");
    assert!(
        after
            .forwarding_addresses
            .iter()
            .any(|f| f.email == DEMO_MANAGER && f.verification_status == "accepted")
    );
    assert!(after.auto_forwarding.enabled);
    assert_eq!(
        after.auto_forwarding.email_address.as_deref(),
        Some(DEMO_MANAGER)
    );
    assert!(after.vacation.enable_auto_reply);
    assert_eq!(
        after.vacation.response_body_plain_text.as_deref(),
        Some(VACATION)
    );
    let transfers = google.transfers();
    assert_eq!(transfers.len(), 1, "exactly one data transfer");
    assert_eq!(transfers[0].old_owner, DEMO_LEAVER);
    assert_eq!(transfers[0].new_owner, DEMO_MANAGER);
    assert_eq!(transfers[0].status, TransferStatus::Completed);
    assert_eq!(after.drive_private_files + after.drive_shared_files, 0);
    assert!(after.suspended);
    assert!(after.tokens.is_empty());
    assert!(after.asps.is_empty());
    assert_eq!(after.backup_codes, 0);
    assert!(after.groups.is_empty());
    for g in &before.groups {
        assert!(
            !google
                .group_members(g)
                .unwrap()
                .iter()
                .any(|m| m == DEMO_LEAVER)
        );
    }
    assert!(
        after
            .devices
            .iter()
            .all(|d| d.status == "ACCOUNT_WIPED" || d.status == "ACCOUNT_WIPING"),
        "{:?}",
        after.devices
    );
    assert!(after.licenses.is_empty());

    // Every admin-side step again: nothing changes, each says so.
    for action in &common::GOOGLE_PLAN[5..] {
        let d = done(&c, *action, &mut prior).await;
        if *action != Action::RevokeSessions {
            assert!(d.repeat, "{action} changed something on a repeat: {d:?}");
        }
    }
    // Snapshot of a suspended user records mail settings as unavailable, not empty.
    let late = done(&c, Action::Snapshot, &mut prior).await;
    assert!(late.output["mail"]["unavailable"].is_string());

    let once = |name: &str, n: usize| {
        assert_eq!(google.count_events(name, DEMO_LEAVER), n, "{name}");
    };
    once(event_name::ADD_DELEGATE, 1);
    once(event_name::ADD_FORWARDING_ADDRESS, 1);
    once(event_name::CHANGE_AUTO_FORWARDING, 1);
    once(event_name::CHANGE_VACATION, 1);
    once(event_name::CREATE_DATA_TRANSFER_REQUEST, 1);
    once(event_name::SUSPEND_USER, 1);
    once(event_name::REVOKE_3LO_TOKEN, 2);
    once(event_name::REVOKE_ASP, 1);
    once(event_name::DELETE_2SV_SCRATCH_CODES, 1);
    once(event_name::REMOVE_GROUP_MEMBER, 3);
    once(event_name::MOBILE_DEVICE_ACTION, 1);
    once(event_name::USER_LICENSE_REVOKE, 1);
    google.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gmail_steps_after_suspension_fail_as_google_fails_them() {
    let google = emulator(DELEGATED_SCOPES).await;
    let c = connector(&google, policy());
    let mut prior = BTreeMap::new();
    // A token for the leaver is cached while they are active...
    done(&c, Action::SetAutoReply, &mut prior).await;
    // ...then the plan's order is broken: suspension first.
    done(&c, Action::Suspend, &mut prior).await;

    // The cached token now answers 401; a new one is refused for a suspended subject.
    let f = failed(&c, &request(Action::ForwardMail, &prior)).await;
    assert_eq!(f.class, FailureClass::Permanent, "{f:?}");
    assert_eq!(f.code, "invalid_grant");
    assert!(f.message.contains("suspended"), "{}", f.message);
    for action in [Action::DelegateMailbox, Action::SetAutoReply] {
        let f = failed(&c, &request(action, &prior)).await;
        assert_eq!(f.class, FailureClass::Permanent, "{action}: {f:?}");
        assert_eq!(f.code, "invalid_grant", "{action}");
    }
    let after = google.user(DEMO_LEAVER).unwrap();
    assert!(after.delegates.is_empty());
    assert!(!after.auto_forwarding.enabled);
    assert_eq!(
        google.count_events(event_name::ADD_DELEGATE, DEMO_LEAVER),
        0
    );
    // Admin-side steps still work after suspension.
    done(&c, Action::RemoveLicenses, &mut prior).await;
    google.shutdown().await;
}

/// Google's throttling answers (403 with a rate-limit reason, 429) ask for a pause and are
/// classed as throttling, never as a failure; server faults are transient.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_throttled_server_faults_retryable_and_the_next_attempt_lands() {
    let google = emulator(DELEGATED_SCOPES).await;
    let c = connector(&google, policy());
    let mut prior = BTreeMap::new();

    for reason in [
        QuotaReason::UserRateLimitExceeded,
        QuotaReason::RateLimitExceeded,
        QuotaReason::QuotaExceeded,
    ] {
        google.quota_knobs().burst_403(reason, 1);
        let f = failed(&c, &request(Action::Suspend, &prior)).await;
        assert!(
            matches!(f.class, FailureClass::Throttled { .. }),
            "{reason:?}: {f:?}"
        );
        assert_eq!(f.code, reason.as_str());
    }
    google.knobs().burst_429(1);
    let f = failed(&c, &request(Action::Suspend, &prior)).await;
    assert!(matches!(f.class, FailureClass::Throttled { .. }), "{f:?}");

    google.knobs().set_error_rate_5xx(1.0);
    let f = failed(&c, &request(Action::Suspend, &prior)).await;
    assert!(matches!(f.class, FailureClass::Retryable { .. }), "{f:?}");
    google.knobs().set_error_rate_5xx(0.0);

    assert!(!google.user(DEMO_LEAVER).unwrap().suspended);
    let d = done(&c, Action::Suspend, &mut prior).await;
    assert!(!d.repeat);
    assert_eq!(
        google.count_events(event_name::SUSPEND_USER, DEMO_LEAVER),
        1
    );
    google.shutdown().await;
}

/// A transfer still running when the attempt's reads run out is pending: the engine polls it
/// on the transfer's cadence, each poll reads the same transfer (never a second one), and the
/// poll that finds it completed is no repeat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_transfer_is_pending_and_never_started_twice() {
    let google = emulator(DELEGATED_SCOPES).await;
    let c = connector(&google, policy()).with_transfer_polling(TransferPolling {
        polls: 1,
        interval: Duration::ZERO,
    });
    let mut prior = BTreeMap::new();
    let first = c.execute(&request(Action::TransferData, &prior)).await;
    let pending = first.outcome.pending().unwrap();
    assert_eq!(pending.code, "transfer_in_progress");
    assert!(pending.what.contains("inProgress"), "{}", pending.what);
    assert_eq!(
        pending.poll_after,
        Duration::from_secs(10),
        "the first poll comes soon"
    );
    assert_eq!(pending.deadline, Duration::from_secs(72 * 3600));
    let mut poll = request(Action::TransferData, &prior);
    poll.operation = Some(operation(&pending));
    let report = c.execute(&poll).await;
    let d = report.outcome.done().unwrap();
    assert_eq!(d.readback["overallTransferStatusCode"], "completed");
    assert!(
        !d.repeat,
        "this step saw the transfer through: {}",
        d.summary
    );
    prior.insert(
        passage_core::step_key(Provider::Google, Action::TransferData),
        d.output,
    );
    let transfers = google.transfers();
    assert_eq!(transfers.len(), 1);
    assert_eq!(
        google.count_events(event_name::CREATE_DATA_TRANSFER_REQUEST, DEMO_LEAVER),
        1
    );
    google.shutdown().await;
}

/// Forwarding to an address outside the domain waits for its recipient to confirm Google's
/// verification mail: the step is pending (the address added once), and the poll after the
/// confirmation turns forwarding on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_to_an_unverified_address_is_pending_until_it_is_confirmed() {
    const OUTSIDE: &str = "sam.lee@partner.example";
    let google = emulator(DELEGATED_SCOPES).await;
    let c = connector(&google, policy());
    let prior = BTreeMap::new();
    let mut req = request(Action::ForwardMail, &prior);
    req.delegate = Some(OUTSIDE.into());
    for _ in 0..2 {
        let pending = c.execute(&req).await.outcome.pending().unwrap();
        assert_eq!(pending.code, "forwarding_pending");
        assert!(pending.what.contains(OUTSIDE), "{}", pending.what);
        assert_eq!(pending.deadline, Duration::from_secs(72 * 3600));
        req.operation = Some(operation(&pending));
    }
    assert_eq!(
        google.count_events(event_name::ADD_FORWARDING_ADDRESS, DEMO_LEAVER),
        1,
        "the address is added once"
    );
    assert!(!google.user(DEMO_LEAVER).unwrap().auto_forwarding.enabled);
    assert!(google.confirm_forwarding_address(DEMO_LEAVER, OUTSIDE));
    let d = c.execute(&req).await.outcome.done().unwrap();
    assert!(!d.repeat, "{}", d.summary);
    let user = google.user(DEMO_LEAVER).unwrap();
    assert!(user.auto_forwarding.enabled);
    assert_eq!(user.auto_forwarding.email_address.as_deref(), Some(OUTSIDE));
    google.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_licensing_is_permanent_and_says_so() {
    let google = emulator(DELEGATED_SCOPES).await;
    let c = connector(&google, policy());
    let f = failed(
        &c,
        &request_for(
            "priya.patel@example.com",
            Action::RemoveLicenses,
            &BTreeMap::new(),
        ),
    )
    .await;
    assert_eq!(f.class, FailureClass::Permanent);
    assert_eq!(f.code, "auto_licensing");
    assert!(f.message.contains("/Sales"), "{}", f.message);
    assert!(f.message.contains("automatically"), "{}", f.message);
    assert!(
        !google
            .user("priya.patel@example.com")
            .unwrap()
            .licenses
            .is_empty()
    );
    google.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_delegation_is_permanent_and_names_the_scope() {
    let without_licensing: Vec<&str> = DELEGATED_SCOPES
        .iter()
        .copied()
        .filter(|s| *s != scopes::LICENSING)
        .collect();
    let google = emulator(&without_licensing).await;
    let c = connector(&google, policy());
    let f = failed(&c, &request(Action::RemoveLicenses, &BTreeMap::new())).await;
    assert_eq!(f.class, FailureClass::Permanent);
    assert_eq!(f.code, "unauthorized_client");
    assert!(f.message.contains(scopes::LICENSING), "{}", f.message);
    assert!(f.message.contains("delegation"), "{}", f.message);

    // No delegation at all: even the user lookup is refused, permanently.
    google.set_delegated_scopes(common::GOOGLE_SA_CLIENT_ID, &[]);
    let c = connector(&google, policy());
    let f = failed(&c, &request(Action::Suspend, &BTreeMap::new())).await;
    assert_eq!(f.class, FailureClass::Permanent);
    assert_eq!(f.code, "unauthorized_client");
    assert!(!google.user(DEMO_LEAVER).unwrap().suspended);
    google.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_requests_are_permanent() {
    let google = emulator(DELEGATED_SCOPES).await;
    let c = connector(
        &google,
        GooglePolicy {
            devices: DeviceAction::Lock,
            ..policy()
        },
    );
    let f = failed(&c, &request(Action::SecureDevices, &BTreeMap::new())).await;
    assert_eq!(f.code, "unsupported_device_action");
    assert_eq!(f.class, FailureClass::Permanent);
    assert_eq!(
        google.count_events(event_name::MOBILE_DEVICE_ACTION, DEMO_LEAVER),
        0
    );

    assert!(!c.supports(Action::Deactivate));
    let f = failed(&c, &request(Action::Deactivate, &BTreeMap::new())).await;
    assert_eq!(f.code, "action_not_supported");
    assert_eq!(f.class, FailureClass::Permanent);

    let mut no_manager = request(Action::DelegateMailbox, &BTreeMap::new());
    no_manager.subject.manager = None;
    no_manager.delegate = None;
    let f = failed(&c, &no_manager).await;
    assert_eq!(f.code, "no_delegate");
    assert_eq!(f.class, FailureClass::Permanent);

    let f = failed(
        &c,
        &request_for("nobody@example.com", Action::Suspend, &BTreeMap::new()),
    )
    .await;
    assert_eq!(f.code, "user_not_found");
    google.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_wipe_policy_wipes_the_device() {
    let google = emulator(DELEGATED_SCOPES).await;
    let c = connector(
        &google,
        GooglePolicy {
            devices: DeviceAction::Wipe,
            ..policy()
        },
    );
    let mut prior = BTreeMap::new();
    let d = done(&c, Action::SecureDevices, &mut prior).await;
    assert!(!d.repeat);
    assert_eq!(d.output["action"], "admin_remote_wipe");
    let status = &google.user(DEMO_LEAVER).unwrap().devices[0].status;
    assert!(status == "WIPED" || status == "WIPING", "{status}");
    assert!(done(&c, Action::SecureDevices, &mut prior).await.repeat);
    assert_eq!(
        google.count_events(event_name::MOBILE_DEVICE_ACTION, DEMO_LEAVER),
        1
    );
    google.shutdown().await;
}

/// A tenant whose users hold licences outside the built-in Workspace SKUs (Gemini here) lists
/// them in `license_skus`; the connector releases exactly those, found by alias.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_skus_are_released_for_a_leaver_known_by_an_alias() {
    use passage_sandbox::google::SeedUser;
    let google = emulator(DELEGATED_SCOPES).await;
    let gemini = ("101047".to_owned(), "1010470001".to_owned());
    let mut user = SeedUser::new("gil.gray@example.com", "Gil", "Gray");
    user.aliases = vec!["gil@example.com".into()];
    user.licenses.push(gemini.clone());
    google.seed_user(user);

    // The built-in set misses the Gemini licence.
    let plain = connector(&google, policy());
    let report = plain
        .execute(&request_for(
            "gil@example.com",
            Action::RemoveLicenses,
            &BTreeMap::new(),
        ))
        .await;
    report.outcome.done().expect("built-in SKUs released");
    let left: Vec<_> = google
        .user("gil.gray@example.com")
        .unwrap()
        .licenses
        .into_iter()
        .map(|l| (l.product_id, l.sku_id))
        .collect();
    assert_eq!(left, vec![gemini.clone()]);

    // Configured, it is released too.
    let mut settings = common::google_settings(&google, policy());
    settings.license_skus = vec![("Google-Apps".into(), "1010020028".into()), gemini.clone()];
    let configured = GoogleConnector::new(settings, passage_connectors::http::client());
    let report = configured
        .execute(&request_for(
            "gil@example.com",
            Action::RemoveLicenses,
            &BTreeMap::new(),
        ))
        .await;
    report.outcome.done().expect("configured SKUs released");
    assert!(
        google
            .user("gil.gray@example.com")
            .unwrap()
            .licenses
            .is_empty()
    );
    google.shutdown().await;
}

/// Transfers from before this run (to someone else, or even to the same delegate) are kept by
/// Google and listed; none of them is this run's transfer, which is started anew and then,
/// once started, reused by every later attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_from_before_the_run_is_not_this_runs_transfer() {
    use passage_sandbox::google::SeedUser;
    let google = emulator(DELEGATED_SCOPES).await;
    google.seed_user(SeedUser::new("archive@example.com", "Drive", "Archive"));
    let day = Duration::from_secs(24 * 3600);
    google
        .seed_past_transfer(DEMO_LEAVER, "archive@example.com", day)
        .unwrap();
    google
        .seed_past_transfer(DEMO_LEAVER, DEMO_MANAGER, 2 * day)
        .unwrap();
    let c = connector(&google, policy());
    let mut prior = BTreeMap::new();
    done(&c, Action::Snapshot, &mut prior).await;
    let first = done(&c, Action::TransferData, &mut prior).await;
    assert_eq!(first.output["created"], true, "{}", first.summary);
    assert!(!first.repeat);
    let manager = google.user(DEMO_MANAGER).unwrap().id;
    assert_eq!(first.output["new_owner_user_id"], manager.as_str());
    assert_eq!(google.transfers().len(), 3);

    // A later attempt of the same run finds the transfer it started.
    let again = done(&c, Action::TransferData, &mut prior).await;
    assert_eq!(again.output["transfer_id"], first.output["transfer_id"]);
    assert!(again.repeat);
    assert_eq!(google.transfers().len(), 3);
    google.shutdown().await;
}
