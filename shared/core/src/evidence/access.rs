//! The bundle's account of the leaver's access: every item graded (`access.json`), the
//! exceptions operators accepted (`exceptions.json`), and a summary for the manifest.

use crate::access::{AccessItem, Grade, grade};
use crate::domain::{Run, Step};
use serde_json::{Value, json};

/// The graded items and the exceptions, as the two files hold them.
pub(super) struct AccessFiles {
    pub items: Value,
    pub exceptions: Value,
    pub summary: Value,
}

pub(super) fn access_files(run: &Run, steps: &[Step]) -> AccessFiles {
    let items = grade(steps);
    let absent = not_applicable(steps);
    let mut exceptions: Vec<Value> = run
        .exceptions
        .iter()
        .map(|e| {
            let item = items.iter().find(|i| i.key == e.item);
            json!({
                "item": e.item,
                "name": item.map(|i| i.name.as_str()),
                "kind": item.map(|i| i.kind),
                "provider": item.map(|i| i.provider),
                "grade": item.map(|i| i.grade),
                "why_it_stays": item.and_then(|i| i.reason.as_deref()),
                "accepted_by": e.operator,
                "reason": e.reason,
                "at": e.at,
                "expires_at": e.expires_at,
            })
        })
        .collect();
    exceptions.extend(absent.iter().map(|a| {
        json!({
            "item": a["item"], "provider": a["provider"], "kind": "account",
            "grade": NOT_APPLICABLE, "why_it_stays": "no account to remove: proven absent",
            "accepted_by": a["accepted_by"], "reason": a["reason"], "at": a["at"],
            "proof": a["proof"],
        })
    }));
    let mut listed: Vec<Value> = items.iter().map(|i| json!(i)).collect();
    listed.extend(absent.iter().cloned());
    AccessFiles {
        summary: summary(&items, run, &absent),
        items: json!(listed),
        exceptions: json!(exceptions),
    }
}

/// The grade of a provider account a fresh read proved the leaver never had (or no longer has).
const NOT_APPLICABLE: &str = "not_applicable";

/// One entry per account proven absent: the provider (and app), the steps it closed, who
/// asked and why, and the read that proved it (when, the provider's answer, its request ids).
pub(super) fn not_applicable(steps: &[Step]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for step in steps {
        let Some(proof) = &step.absence else {
            continue;
        };
        let item = format!("{}.account", step.scope().replace('/', "."));
        if let Some(entry) = out.iter_mut().find(|e| e["item"] == item.as_str()) {
            if let Some(closed) = entry["steps"].as_array_mut() {
                closed.push(json!(step.key));
            }
            continue;
        }
        out.push(json!({
            "item": item,
            "provider": step.provider,
            "app": step.app,
            "kind": "account",
            "grade": NOT_APPLICABLE,
            "label": "not applicable — proven absent",
            "critical": step.critical,
            "steps": [step.key],
            "accepted_by": proof.operator,
            "reason": proof.reason,
            "at": proof.at,
            "proof": {
                "read": proof.read,
                "read_at": proof.read_at,
                "code": proof.code,
                "answer": proof.answer,
                "request_ids": proof.request_ids(),
                "calls": proof.calls,
            },
        }));
    }
    out
}

/// How many items ended each way, and which ones did not end removed, absent or attested.
fn summary(items: &[AccessItem], run: &Run, absent: &[Value]) -> Value {
    let count = |g: Grade| items.iter().filter(|i| i.grade == g).count();
    let keys = |g: Grade| -> Vec<&str> {
        items
            .iter()
            .filter(|i| i.grade == g)
            .map(|i| i.key.as_str())
            .collect()
    };
    json!({
        "file": "access.json",
        "exceptions_file": "exceptions.json",
        "counts": {
            "removed": count(Grade::Removed),
            "absent": count(Grade::Absent),
            "remains": count(Grade::Remains),
            "pending": count(Grade::Pending),
            "attested": count(Grade::Attested),
            "not_applicable": absent.len(),
        },
        "not_applicable": absent.iter().map(|a| &a["item"]).collect::<Vec<_>>(),
        "remains": keys(Grade::Remains),
        "pending": keys(Grade::Pending),
        "excepted": run.exceptions.iter().map(|e| json!({
            "item": e.item, "accepted_by": e.operator, "reason": e.reason,
        })).collect::<Vec<_>>(),
    })
}
