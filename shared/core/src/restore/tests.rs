use super::*;
use crate::cutoff::{Cutoff, Derivation};
use crate::domain::{BundleRef, RunSource, StepResult, Subject, step_key};
use crate::ids::TenantId;
use serde_json::json;

fn at(s: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + s).unwrap()
}

fn closed_run() -> Run {
    Run {
        id: RunId::new("run_1"),
        tenant: TenantId::new("acme"),
        version: 3,
        state: RunState::Closed,
        subject: Subject {
            employee_id: "E1".into(),
            email: "jane@acme.example".into(),
            display_name: None,
            time_zone: "UTC".into(),
            manager: None,
        },
        source: RunSource::Manual {
            actor: "maria".into(),
            received_at: at(0),
            note: None,
        },
        idempotency_key: "k".into(),
        cutoff: Cutoff {
            at: at(0),
            zone: "UTC".into(),
            derivation: Derivation::Immediate,
        },
        early_at: None,
        created_at: at(0),
        started_at: Some(at(0)),
        closed_at: Some(at(100)),
        blocked_reason: None,
        hold: None,
        alerts: Vec::new(),
        cancellation: None,
        exceptions: Vec::new(),
        bundle: Some(BundleRef {
            sequence: 7,
            manifest_sha256: "a".repeat(64),
            location: "x".into(),
        }),
        finalizing: None,
        sign_in_watch: None,
    }
}

fn done(provider: Provider, action: Action, repeat: bool, output: Value) -> Step {
    let mut s = Step::new(&RunId::new("run_1"), provider, action, true, vec![]);
    s.state = StepState::Verified;
    s.verified_at = Some(at(10));
    s.result = Some(StepResult {
        repeat,
        summary: format!("{action} done"),
        readback: Value::Null,
        output,
    });
    s
}

/// A Microsoft leaver run: the snapshot recorded three groups, a licence, a factor and a
/// device; one group was gone when the step looked, one stays (AD), one was removed.
fn microsoft_run() -> Vec<Step> {
    vec![
        done(
            Provider::Microsoft,
            Action::Snapshot,
            false,
            json!({"user_id": "u1", "access": [
                {"kind": "group", "id": "g-eng", "name": "Engineering"},
                {"kind": "group", "id": "g-ad", "name": "AD Engineering"},
                {"kind": "group", "id": "g-gone", "name": "Left earlier"},
                {"kind": "licence", "id": "sku-e3", "name": "Office 365 E3"},
                {"kind": "factor", "id": "f1", "name": "authenticator"},
                {"kind": "device", "id": "d1", "name": "JANE-LAPTOP"},
            ]}),
        ),
        done(Provider::Microsoft, Action::Suspend, false, Value::Null),
        done(
            Provider::Microsoft,
            Action::RemoveGroups,
            false,
            json!({"access": [
                {"kind": "group", "id": "g-ad", "state": "remains", "reason": "on-premises AD"},
                {"kind": "group", "id": "g-gone", "state": "absent", "complete": true},
            ]}),
        ),
        done(
            Provider::Microsoft,
            Action::RemoveLicenses,
            false,
            Value::Null,
        ),
        done(
            Provider::Microsoft,
            Action::ResetFactors,
            false,
            Value::Null,
        ),
        done(
            Provider::Microsoft,
            Action::SecureDevices,
            false,
            Value::Null,
        ),
        done(
            Provider::Microsoft,
            Action::ConvertMailbox,
            false,
            Value::Null,
        ),
        // Already on before the run: a repeat took nothing away.
        done(Provider::Microsoft, Action::SetAutoReply, true, Value::Null),
        done(Provider::Microsoft, Action::ForwardMail, false, Value::Null),
    ]
}

fn planned(steps: &[Step], only: &[&str], now: Timestamp) -> RestorePlan {
    let run = closed_run();
    let original = Original {
        run: &run,
        steps,
        onedrive_retention: ONEDRIVE_RETENTION,
    };
    let only: Vec<String> = only.iter().map(|s| (*s).to_owned()).collect();
    plan(&original, &only, now)
}

fn keys(plan: &RestorePlan) -> Vec<&str> {
    plan.items.iter().map(|i| i.key.as_str()).collect()
}

fn why<'a>(plan: &'a RestorePlan, key: &str) -> &'a str {
    plan.not_restorable
        .iter()
        .find(|n| n.key == key)
        .map(|n| n.why.as_str())
        .unwrap_or_else(|| panic!("{key} is not listed as not restorable: {plan:#?}"))
}

#[test]
fn only_what_the_run_itself_removed_is_given_back() {
    let plan = planned(&microsoft_run(), &[], at(200));
    let keys = keys(&plan);
    for expected in [
        "microsoft.account",
        "microsoft.group.g-eng",
        "microsoft.licence.sku-e3",
        "microsoft.mailbox.type",
        "microsoft.mailbox.forwarding",
    ] {
        assert!(keys.contains(&expected), "{expected} missing from {keys:?}");
    }
    // Never removed by the run: still there (AD), gone before the step looked, or a repeat.
    for never in [
        "microsoft.group.g-ad",
        "microsoft.group.g-gone",
        "microsoft.mailbox.auto_reply",
    ] {
        assert!(!keys.contains(&never), "{never} must not be restored");
        assert!(plan.not_restorable.iter().all(|n| n.key != never));
    }
    let group = plan
        .items
        .iter()
        .find(|i| i.key == "microsoft.group.g-eng")
        .unwrap();
    assert_eq!(group.action, Action::RestoreGroups);
    assert_eq!(group.recorded["name"], "Engineering");
}

#[test]
fn what_cannot_come_back_is_listed_with_why() {
    let plan = planned(&microsoft_run(), &[], at(200));
    assert!(why(&plan, "microsoft.device.d1").contains("wiped device stays wiped"));
    assert!(why(&plan, "microsoft.factor.f1").contains("enrols again"));
    let mut okta = vec![
        done(
            Provider::Okta,
            Action::Snapshot,
            false,
            json!({"user_id": "o1", "access": [{"kind": "app", "id": "a1", "name": "Salesforce"}]}),
        ),
        done(Provider::Okta, Action::Deactivate, false, Value::Null),
    ];
    okta.push(done(Provider::Scim, Action::RemoveSeat, false, Value::Null).in_app("zoom"));
    let plan = planned(&okta, &[], at(200));
    assert!(why(&plan, "okta.account").contains("deprovisioned every app"));
    assert!(why(&plan, "okta.app.a1").contains("deactivation"));
    assert!(why(&plan, "scim.zoom.seat").contains("SCIM DELETE"));
    assert!(plan.items.is_empty(), "{plan:#?}");
}

#[test]
fn a_deactivated_seat_comes_back_and_onedrive_past_retention_does_not() {
    let mut steps = microsoft_run();
    steps.push(done(Provider::Scim, Action::DeactivateSeat, false, Value::Null).in_app("zoom"));
    steps.push(done(
        Provider::Slack,
        Action::DeactivateSeat,
        false,
        Value::Null,
    ));
    let soon = planned(&steps, &[], at(86_400));
    assert!(keys(&soon).contains(&"scim.zoom.seat"));
    assert!(keys(&soon).contains(&"slack.seat"));
    assert!(
        soon.not_restorable
            .iter()
            .all(|n| n.key != "microsoft.onedrive")
    );
    let late = planned(&steps, &[], at(31 * 86_400));
    assert!(why(&late, "microsoft.onedrive").contains("retention"));
}

#[test]
fn a_seat_the_app_cannot_switch_back_on_is_listed_not_restored() {
    let output = json!({"seat": {"outcome": "deactivated", "restorable": "no: the app's DELETE cannot be undone"}});
    let steps = vec![done(Provider::Scim, Action::DeactivateSeat, false, output).in_app("zoom")];
    let plan = planned(&steps, &[], at(200));
    assert!(plan.items.is_empty(), "{plan:#?}");
    assert!(why(&plan, "scim.zoom.seat").contains("SCIM DELETE"));
}

#[test]
fn items_restrict_by_key_or_prefix_and_unknown_names_are_reported() {
    let steps = microsoft_run();
    let plan = planned(
        &steps,
        &["microsoft.mailbox", "microsoft.group.g-eng"],
        at(200),
    );
    assert_eq!(
        keys(&plan),
        vec![
            "microsoft.mailbox.type",
            "microsoft.mailbox.forwarding",
            "microsoft.group.g-eng"
        ]
    );
    assert!(plan.not_restorable.is_empty(), "{plan:#?}");
    // `microsoft.mail` is no prefix of `microsoft.mailbox.type`: it names nothing.
    let plan = planned(&steps, &["microsoft.mail", "okta.group.x"], at(200));
    assert!(plan.items.is_empty());
    assert!(why(&plan, "microsoft.mail").contains("never recorded"));
    assert!(why(&plan, "okta.group.x").contains("never recorded"));
}

#[test]
fn a_provider_without_a_snapshot_is_reported_unrecorded() {
    let steps = vec![done(Provider::Google, Action::Suspend, false, Value::Null)];
    let plan = planned(&steps, &[], at(200));
    assert_eq!(keys(&plan), vec!["google.account"]);
    assert!(why(&plan, "google.snapshot").contains("no snapshot"));
}

#[test]
fn only_closed_or_started_then_cancelled_runs_with_a_bundle_are_restorable() {
    let run = closed_run();
    assert!(restorable(&run).is_ok());
    let mut open = run.clone();
    open.state = RunState::Running;
    assert!(matches!(restorable(&open), Err(Refusal::NotClosed { .. })));
    let mut early = run.clone();
    early.state = RunState::Cancelled;
    early.started_at = None;
    assert!(matches!(
        restorable(&early),
        Err(Refusal::NothingChanged(_))
    ));
    let mut late = run.clone();
    late.state = RunState::Cancelled;
    assert!(restorable(&late).is_ok());
    let mut unsealed = run.clone();
    unsealed.bundle = None;
    assert!(matches!(restorable(&unsealed), Err(Refusal::NoBundle(_))));
}

#[test]
fn the_restore_steps_reactivate_first_and_licence_before_the_mailbox() {
    let steps = microsoft_run();
    let plan = planned(&steps, &[], at(200));
    let restore = super::steps(&RunId::new("run_2"), &plan, &steps);
    let key = |a: Action| step_key(Provider::Microsoft, a);
    let find = |a: Action| restore.iter().find(|s| s.key == key(a)).unwrap();
    assert!(restore.iter().all(|s| s.critical && s.action.restores()));
    assert!(find(Action::Reactivate).depends_on.is_empty());
    assert!(
        find(Action::RestoreGroups)
            .depends_on
            .contains(&key(Action::Reactivate))
    );
    let mailbox = find(Action::RestoreMailbox);
    assert!(mailbox.depends_on.contains(&key(Action::RestoreLicences)));
    assert_eq!(mailbox.input["items"].as_array().unwrap().len(), 2);
    assert_eq!(mailbox.input["snapshot"]["user_id"], "u1");
}

#[test]
fn what_the_sweep_took_from_others_resources_is_listed_for_its_owners_not_regranted() {
    use crate::access::ItemKind;
    use reversal::{Reversal, Taken, reversal};
    for (provider, kind, action) in [
        (
            Provider::Okta,
            ItemKind::AdminRole,
            Action::RemoveAdminRoles,
        ),
        (
            Provider::Microsoft,
            ItemKind::SharedAccess,
            Action::SweepSharedAccess,
        ),
        (
            Provider::Microsoft,
            ItemKind::Ownership,
            Action::SweepSharedAccess,
        ),
        (
            Provider::Microsoft,
            ItemKind::Drive,
            Action::HandOverOneDrive,
        ),
        (
            Provider::Microsoft,
            ItemKind::Forwarding,
            Action::SweepMailAccess,
        ),
        (
            Provider::Microsoft,
            ItemKind::Delegation,
            Action::SweepMailAccess,
        ),
        (
            Provider::Google,
            ItemKind::Ownership,
            Action::SweepSharedAccess,
        ),
    ] {
        match reversal(provider, Taken::Access(kind, action)) {
            Some(Reversal::Cannot(why)) => assert!(!why.is_empty()),
            other => panic!("{kind:?}: {other:?}"),
        }
    }
}

#[test]
fn an_app_the_run_unassigned_is_assigned_again_after_the_groups() {
    let snapshot = json!({
        "user_id": "o1",
        "access": [
            {"kind": "group", "id": "g1", "name": "Engineering"},
            {"kind": "app", "id": "a1", "name": "Slack"},
        ],
        "app_assignments": [
            {"id": "a1", "label": "Slack", "scope": "USER", "userName": "jane"},
            {"id": "a2", "label": "GitHub", "scope": "GROUP", "group": {"id": "g1", "name": "Engineering"}},
        ],
    });
    let steps = vec![
        done(Provider::Okta, Action::Snapshot, false, snapshot),
        done(Provider::Okta, Action::Suspend, false, Value::Null),
        done(Provider::Okta, Action::RemoveGroups, false, Value::Null),
        done(Provider::Okta, Action::UnassignApps, false, Value::Null),
    ];
    let plan = planned(&steps, &[], at(200));
    let app = plan.items.iter().find(|i| i.key == "okta.app.a1").unwrap();
    assert_eq!(app.action, Action::RestoreApps);
    assert_eq!(app.recorded["name"], "Slack");
    // Only what the snapshot graded: the app held through the group is the group's.
    assert!(plan.items.iter().all(|i| i.id != "a2"), "{plan:#?}");
    let restore = super::steps(&RunId::new("run_2"), &plan, &steps);
    let key = |a: Action| step_key(Provider::Okta, a);
    let apps = restore
        .iter()
        .find(|s| s.key == key(Action::RestoreApps))
        .unwrap();
    assert!(apps.depends_on.contains(&key(Action::RestoreGroups)));
    assert!(apps.depends_on.contains(&key(Action::Reactivate)));
    assert_eq!(
        apps.input["snapshot"]["app_assignments"][0]["userName"],
        "jane"
    );
}
