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
    let exceptions: Vec<Value> = run
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
    AccessFiles {
        summary: summary(&items, run),
        items: json!(items),
        exceptions: json!(exceptions),
    }
}

/// How many items ended each way, and which ones did not end removed, absent or attested.
fn summary(items: &[AccessItem], run: &Run) -> Value {
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
        },
        "remains": keys(Grade::Remains),
        "pending": keys(Grade::Pending),
        "excepted": run.exceptions.iter().map(|e| json!({
            "item": e.item, "accepted_by": e.operator, "reason": e.reason,
        })).collect::<Vec<_>>(),
    })
}
