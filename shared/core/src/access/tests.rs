use super::*;
use crate::domain::{Action, PendingOperation, Provider, Step, StepResult, StepState, Waiver};
use crate::gate::{Gate, evaluate_run};
use crate::ids::RunId;
use jiff::Timestamp;
use serde_json::{Value, json};

fn at(s: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + s).unwrap()
}

fn step(action: Action, critical: bool, state: StepState, output: Value) -> Step {
    let mut s = Step::new(
        &RunId::new("r"),
        Provider::Microsoft,
        action,
        critical,
        vec![],
    );
    s.state = state;
    s.verified_at = (state == StepState::Verified).then(|| at(10));
    s.result = (state == StepState::Verified).then(|| StepResult {
        repeat: false,
        summary: String::new(),
        readback: Value::Null,
        output,
    });
    s
}

fn snapshot() -> Step {
    step(
        Action::Snapshot,
        true,
        StepState::Verified,
        json!({"access": [
            {"kind": "group", "id": "g1", "name": "Engineering"},
            {"kind": "group", "id": "g2", "name": "AD Engineering"},
            {"kind": "group", "id": "g3", "name": "Old team"},
            {"kind": "group", "id": "g4", "name": "Somewhere"},
            {"kind": "device", "id": "d1", "name": "JANE-LAPTOP"},
            {"kind": "forwarding", "id": "fwd", "name": "forwarding to x@example.net"},
        ]}),
    )
}

fn groups_step() -> Step {
    step(
        Action::RemoveGroups,
        true,
        StepState::Verified,
        json!({"access": [
            {"kind": "group", "id": "g2", "state": "remains", "reason": "synced from on-premises AD"},
            {"kind": "group", "id": "g3", "state": "absent", "complete": true},
            {"kind": "group", "id": "g4", "state": "absent", "complete": false},
        ]}),
    )
}

fn awaiting_devices() -> Step {
    let mut s = step(
        Action::SecureDevices,
        true,
        StepState::AwaitingCompletion,
        Value::Null,
    );
    s.operation = Some(PendingOperation {
        code: "device_action_pending".into(),
        what: "retire waits for JANE-LAPTOP to check in".into(),
        since: at(5),
        deadline: at(5000),
    });
    s
}

fn grades(steps: &[Step]) -> Vec<(String, Grade)> {
    grade(steps).into_iter().map(|i| (i.id, i.grade)).collect()
}

#[test]
fn each_item_is_graded_from_what_its_step_said_or_did() {
    let steps = [snapshot(), groups_step(), awaiting_devices()];
    assert_eq!(
        grades(&steps),
        vec![
            ("g1".into(), Grade::Removed),
            ("g2".into(), Grade::Remains),
            ("g3".into(), Grade::Absent),
            // Not seen in a truncated list: nothing is proven.
            ("g4".into(), Grade::Remains),
            ("d1".into(), Grade::Pending),
            // No step of the plan removes forwarding: it remains, said so.
            ("fwd".into(), Grade::Remains),
        ]
    );
    let items = grade(&steps);
    assert_eq!(
        items[1].reason.as_deref(),
        Some("synced from on-premises AD")
    );
    assert_eq!(items[1].key, "microsoft.group.g2");
    assert_eq!(items[0].source.step.as_str(), "microsoft.remove_groups");
    assert_eq!(items[0].source.read, ReadKind::Readback);
    assert_eq!(items[0].source.at, Some(at(10)));
    assert_eq!(items[0].recorded.read, ReadKind::Snapshot);
    assert_eq!(
        items[4].reason.as_deref(),
        Some("retire waits for JANE-LAPTOP to check in")
    );
}

#[test]
fn a_waived_step_leaves_its_items_in_place_and_an_unfinished_one_pending() {
    let mut groups = step(Action::RemoveGroups, false, StepState::Waived, Value::Null);
    groups.waiver = Some(Waiver {
        actor: "it-lead".into(),
        reason: "group is being deleted".into(),
        at: at(3),
    });
    let steps = [snapshot(), groups];
    assert!(grade(&steps)[..4].iter().all(|i| i.grade == Grade::Remains));
    assert!(
        grade(&steps)[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("it-lead")
    );
    let steps = [
        snapshot(),
        step(Action::RemoveGroups, true, StepState::InFlight, Value::Null),
    ];
    assert_eq!(grade(&steps)[0].grade, Grade::Pending);
}

fn exception(item: &str, expires_at: Option<Timestamp>) -> AccessException {
    AccessException {
        item: item.into(),
        operator: "maria.ops".into(),
        reason: "AD team removes it on Monday".into(),
        at: at(20),
        expires_at,
    }
}

fn plan_without_forwarding() -> Vec<Step> {
    let mut snap = snapshot();
    let out = &mut snap.result.as_mut().unwrap().output;
    out["access"]
        .as_array_mut()
        .unwrap()
        .retain(|e| e["kind"] != "forwarding");
    out["access"]
        .as_array_mut()
        .unwrap()
        .retain(|e| e["id"] != "g4");
    vec![snap, groups_step(), awaiting_devices()]
}

#[test]
fn the_gate_holds_critical_items_until_each_is_accepted() {
    let steps = plan_without_forwarding();
    // The devices step still waits: the run waits with it.
    assert!(matches!(
        evaluate_run(&steps, &[], at(30)),
        Gate::Waiting { .. }
    ));
    let device = exception("microsoft.device.d1", None);
    assert_eq!(
        evaluate_run(&steps, std::slice::from_ref(&device), at(30)),
        Gate::Held {
            items: vec!["microsoft.group.g2".into()]
        }
    );
    let group = exception("microsoft.group.g2", Some(at(100)));
    assert_eq!(
        evaluate_run(&steps, &[device.clone(), group.clone()], at(30)),
        Gate::Open
    );
    // An expired exception holds no more.
    assert!(matches!(
        evaluate_run(&steps, &[device, group], at(100)),
        Gate::Held { .. }
    ));
}

#[test]
fn a_device_handed_back_is_attested_where_no_command_waits() {
    use crate::domain::{Confirmation, DeviceRecord, HumanItem, HumanTask, ItemOutcome};
    let mut ret = step(
        Action::ReturnDevices,
        true,
        StepState::Verified,
        Value::Null,
    );
    ret.provider = Provider::Human;
    ret.human = Some(HumanTask {
        items: vec![HumanItem {
            id: "device-1".into(),
            label: "JANE-LAPTOP".into(),
            device: Some(DeviceRecord {
                source: "microsoft".into(),
                device_id: "d1".into(),
                name: None,
                serial_number: None,
                asset_tag: None,
                model: None,
                platform: None,
                mdm_state: String::new(),
            }),
            confirmation: Some(Confirmation {
                outcome: ItemOutcome::Received,
                actor: "desk@example.com".into(),
                at: at(40),
                condition: None,
                note: None,
            }),
        }],
        opened_at: at(1),
        due_at: at(2),
        escalate_at: at(3),
        notices: vec![],
    });
    // The lock command still waits for the device: that stays pending, said so.
    let steps = [snapshot(), groups_step(), awaiting_devices(), ret.clone()];
    let device = grade(&steps).into_iter().find(|i| i.id == "d1").unwrap();
    assert_eq!(device.grade, Grade::Pending);
    // With no command in the plan, the person's word is what settles it.
    let steps = [snapshot(), groups_step(), ret];
    let device = grade(&steps).into_iter().find(|i| i.id == "d1").unwrap();
    assert_eq!(device.grade, Grade::Attested);
    assert_eq!(device.source.by.as_deref(), Some("desk@example.com"));
}
