//! The one place an access item's grade is decided.

use super::item::{AccessItem, Grade, ItemKind, ReadKind, Source};
use crate::domain::{Action, Provider, Step, StepState};
use serde_json::Value;

/// Grades every item the run's snapshots recorded, in snapshot order.
///
/// Connectors describe access in one vocabulary, so this needs no provider's JSON: a snapshot's
/// output lists `access: [{kind, id, name}]`, and a removing step's output may say per item
/// `access: [{kind, id, state, reason?, complete?}]` with `state` one of `removed`, `absent`,
/// `remains`, `pending`. Where a step says nothing about an item, its own state decides: a
/// verified step read the item back gone, an unfinished one leaves it pending, a waived one
/// leaves it in place. A person's confirmation of a device (the laptop handed back) attests it.
pub fn grade(steps: &[Step]) -> Vec<AccessItem> {
    let mut items = Vec::new();
    for snapshot in steps.iter().filter(|s| s.action == Action::Snapshot) {
        let Some(result) = &snapshot.result else {
            continue;
        };
        let recorded = Source {
            step: snapshot.key.clone(),
            read: ReadKind::Snapshot,
            at: snapshot.verified_at,
            by: None,
        };
        for entry in listed(&result.output) {
            if let Some(item) = grade_one(snapshot.provider, entry, &recorded, steps) {
                items.push(item);
            }
        }
    }
    items
}

fn listed(output: &Value) -> &[Value] {
    output["access"].as_array().map_or(&[], Vec::as_slice)
}

fn kind_of(entry: &Value) -> Option<ItemKind> {
    serde_json::from_value(entry["kind"].clone()).ok()
}

fn grade_one(
    provider: Provider,
    entry: &Value,
    recorded: &Source,
    steps: &[Step],
) -> Option<AccessItem> {
    let kind = kind_of(entry)?;
    let id = entry["id"].as_str()?.to_owned();
    let remover = kind.removed_by().iter().find_map(|a| {
        steps
            .iter()
            .find(|s| s.provider == provider && s.action == *a)
    });
    let (grade, reason, source) = match remover {
        Some(step) => verdict(step, kind, &id),
        None => (
            Grade::Remains,
            Some("no step of the run's plan removes this kind of access".to_owned()),
            recorded.clone(),
        ),
    };
    // A person's word settles what no step could; a command still waiting stays pending.
    let (grade, reason, source) = match attested(provider, kind, &id, steps) {
        Some(verdict) if grade == Grade::Remains => verdict,
        _ => (grade, reason, source),
    };
    Some(AccessItem {
        key: AccessItem::item_key(provider, kind, &id),
        provider,
        kind,
        name: entry["name"].as_str().unwrap_or(&id).to_owned(),
        id,
        critical: remover.is_none_or(|s| s.critical),
        grade,
        reason,
        recorded: recorded.clone(),
        source,
    })
}

type Verdict = (Grade, Option<String>, Source);

/// What the removing step says of the item: its own per-item word, else its state.
fn verdict(step: &Step, kind: ItemKind, id: &str) -> Verdict {
    let source = |read| Source {
        step: step.key.clone(),
        read,
        at: step.verified_at,
        by: None,
    };
    if let Some(proof) = &step.absence {
        let why = format!(
            "not applicable — proven absent: {} read {} ({}) at {}",
            proof.read, proof.code, proof.answer, proof.read_at
        );
        return (Grade::Absent, Some(why), source(ReadKind::Readback));
    }
    if let Some(waiver) = &step.waiver {
        let why = format!("{} waived by {}: {}", step.key, waiver.actor, waiver.reason);
        return (Grade::Remains, Some(why), source(ReadKind::NotObservable));
    }
    match step.state {
        StepState::Verified => {}
        StepState::AwaitingCompletion => {
            let why = step.operation.as_ref().map(|o| o.what.clone());
            return (Grade::Pending, why, source(ReadKind::Readback));
        }
        other => {
            let why = format!("{} is {}", step.key, other.as_str());
            return (Grade::Pending, Some(why), source(ReadKind::NotObservable));
        }
    }
    let output = step.result.as_ref().map(|r| &r.output);
    let said = output
        .map(listed)
        .unwrap_or_default()
        .iter()
        .find(|e| kind_of(e) == Some(kind) && e["id"].as_str() == Some(id));
    let Some(said) = said else {
        return (Grade::Removed, None, source(ReadKind::Readback));
    };
    let reason = said["reason"].as_str().map(str::to_owned);
    let grade = match said["state"].as_str() {
        Some("remains") => Grade::Remains,
        Some("pending") => Grade::Pending,
        // Absence from a list not read to its end proves nothing.
        Some("absent") if said["complete"] == Value::Bool(true) => Grade::Absent,
        Some("absent") => {
            let why = "not seen, but the list read was not complete: absence is unproven";
            return (Grade::Remains, Some(why.into()), source(ReadKind::Readback));
        }
        _ => Grade::Removed,
    };
    (grade, reason, source(ReadKind::Readback))
}

/// A person's confirmation that the device is back.
fn attested(provider: Provider, kind: ItemKind, id: &str, steps: &[Step]) -> Option<Verdict> {
    if kind != ItemKind::Device {
        return None;
    }
    steps.iter().find_map(|step| {
        let task = step.human.as_ref()?;
        task.items.iter().find_map(|item| {
            let device = item.device.as_ref()?;
            let confirmation = item.confirmation.as_ref()?;
            (device.source == provider.as_str() && device.device_id == id).then(|| {
                let source = Source {
                    step: step.key.clone(),
                    read: ReadKind::Human,
                    at: Some(confirmation.at),
                    by: Some(confirmation.actor.clone()),
                };
                (Grade::Attested, confirmation.note.clone(), source)
            })
        })
    })
}
