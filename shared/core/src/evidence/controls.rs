//! The controls a bundle lists, from the compliance table (`crate::compliance`): per step, and
//! as an index by control. Only a step that was read back lists controls; a failed, waived or
//! unfinished step lists none, whatever its action.

use crate::compliance::{self, Measure, Relation};
use crate::domain::{Action, DeviceAction, Step, StepState};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The measure a step took. A device step's output says whether it locked or retired/wiped;
/// when it does not say, the step is taken as a lock, which claims the least.
fn measure(step: &Step) -> Measure {
    let output = step.result.as_ref().map(|r| &r.output);
    let said = output
        .and_then(|o| o.get("action").or_else(|| o.get("policy")))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    let devices = if ["retire", "wipe", "erase"].iter().any(|w| said.contains(w)) {
        DeviceAction::Retire
    } else {
        DeviceAction::Lock
    };
    Measure::of(step.action, devices)
}

/// The step's controls with the relation it can claim. An app owner's attestation was not read
/// back by Passage, so it supports, never evidences, what a read-back removal would.
fn relations(step: &Step) -> Vec<(Relation, compliance::Control)> {
    let attested = step.action == Action::ConfirmAppRemoval;
    compliance::mapping(measure(step))
        .iter()
        .map(|(relation, c)| match relation {
            Relation::Evidences if attested => (Relation::Supports, *c),
            r => (*r, *c),
        })
        .collect()
}

/// `[{"id", "relation"}]` for a step read back; empty for any other.
pub fn step_controls(step: &Step) -> Value {
    if step.state != StepState::Verified {
        return json!([]);
    }
    let list: Vec<Value> = relations(step)
        .iter()
        .map(|(relation, c)| json!({"id": c.id(), "relation": relation.as_str()}))
        .collect();
    Value::Array(list)
}

/// One entry per control any verified step is relevant to: its framework, official name (or
/// null), Passage's summary, and the steps that evidence, support or verify it.
pub(crate) fn controls_index(steps: &[Step]) -> Vec<Value> {
    let mut by_id: BTreeMap<String, (compliance::Control, BTreeMap<Relation, Vec<String>>)> =
        BTreeMap::new();
    for s in steps.iter().filter(|s| s.state == StepState::Verified) {
        for (relation, c) in relations(s) {
            by_id
                .entry(c.id())
                .or_insert((c, BTreeMap::new()))
                .1
                .entry(relation)
                .or_default()
                .push(s.key.to_string());
        }
    }
    by_id
        .into_iter()
        .map(|(id, (c, relations))| {
            let steps: BTreeMap<&str, Vec<String>> = relations
                .into_iter()
                .map(|(r, v)| (r.as_str(), v))
                .collect();
            json!({
                "id": id,
                "framework": c.framework.title(),
                "name": c.name,
                "summary": format!("Summary (Passage, not official): {}", c.summary),
                "steps": steps,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Action, Provider, StepResult};
    use crate::ids::RunId;

    fn step(action: Action, state: StepState, output: Value) -> Step {
        let mut s = Step::new(
            &RunId::new("run_t"),
            Provider::Microsoft,
            action,
            true,
            vec![],
        );
        s.state = state;
        s.result = Some(StepResult {
            repeat: false,
            summary: String::new(),
            readback: Value::Null,
            output,
        });
        s
    }

    fn ids(v: &Value, relation: &str) -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .filter(|c| c["relation"] == relation)
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn only_a_step_read_back_lists_controls() {
        let verified = step_controls(&step(Action::Suspend, StepState::Verified, Value::Null));
        assert!(ids(&verified, "evidences").contains(&"SOC2-TSC2017:CC6.2".to_owned()));
        for state in [StepState::Failed, StepState::Waived, StepState::InFlight] {
            assert_eq!(
                step_controls(&step(Action::Suspend, state, Value::Null)),
                json!([])
            );
        }
    }

    #[test]
    fn a_lock_is_not_a_return_or_a_wipe() {
        let lock = step(
            Action::SecureDevices,
            StepState::Verified,
            json!({"action": "lock"}),
        );
        let wipe = step(
            Action::SecureDevices,
            StepState::Verified,
            json!({"action": "retire"}),
        );
        let unsaid = step(Action::SecureDevices, StepState::Verified, Value::Null);
        for s in [&lock, &unsaid] {
            let c = step_controls(s);
            assert!(ids(&c, "evidences").is_empty(), "a lock evidences nothing");
            assert!(!ids(&c, "supports").contains(&"ISO27001:2022:A.5.11".to_owned()));
        }
        assert!(ids(&step_controls(&wipe), "evidences").contains(&"SOC2-TSC2017:CC6.5".to_owned()));
    }

    #[test]
    fn the_index_names_each_control_once_with_its_steps() {
        let steps = [
            step(Action::Suspend, StepState::Verified, Value::Null),
            step(Action::RevokeSessions, StepState::Verified, Value::Null),
            step(Action::RemoveGroups, StepState::Waived, Value::Null),
        ];
        let index = controls_index(&steps);
        let cc62 = index
            .iter()
            .find(|c| c["id"] == "SOC2-TSC2017:CC6.2")
            .unwrap();
        assert_eq!(
            cc62["name"],
            Value::Null,
            "SOC 2 criteria have no official title"
        );
        assert_eq!(cc62["steps"]["evidences"].as_array().unwrap().len(), 2);
        assert!(
            cc62["summary"]
                .as_str()
                .unwrap()
                .starts_with("Summary (Passage, not official)")
        );
        let a518 = index
            .iter()
            .find(|c| c["id"] == "ISO27001:2022:A.5.18")
            .unwrap();
        assert_eq!(a518["name"], "Access rights");
        assert!(
            !index
                .iter()
                .any(|c| c["steps"].to_string().contains("remove_groups")),
            "a waived step evidences nothing"
        );
    }
}
