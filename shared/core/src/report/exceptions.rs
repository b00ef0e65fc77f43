//! What departed from the plain path in a run, with who and why: waivers, operator retries,
//! failures, blocks, reschedules, HR changes that came after the cutoff, and human items
//! written off. Auditors test these one by one.

use crate::domain::{ItemOutcome, RunEvent, Step};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExceptionRow {
    /// `waiver`, `operator_retry`, `step_failed`, `blocked`, `dead_lettered`, `rescheduled`,
    /// `hr_change_after_cutoff`, `written_off` or `access_exception` (an access item an
    /// operator accepted as staying; `step` then names the item).
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    pub actor: String,
    pub reason: String,
    pub at: Timestamp,
}

/// The exception kind an event records, if it records one.
fn kind_of(event_kind: &str) -> Option<&'static str> {
    Some(match event_kind {
        "step.retried" => "operator_retry",
        "step.failed" => "step_failed",
        "run.blocked" => "blocked",
        "step.dead_lettered" => "dead_lettered",
        "run.rescheduled" => "rescheduled",
        "hr.rescinded_after_cutoff" | "hr.date_changed_after_cutoff" => "hr_change_after_cutoff",
        "access.excepted" => "access_exception",
        _ => return None,
    })
}

fn text(detail: &Value, key: &str) -> Option<String> {
    detail.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Why, as the event says it: its reason, or a failure's code and message.
fn reason_of(e: &RunEvent) -> String {
    let d = &e.detail;
    if let Some(r) = text(d, "reason") {
        return r;
    }
    match (text(d, "code"), text(d, "message")) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (c, m) => c.or(m).unwrap_or_else(|| e.kind.clone()),
    }
}

/// Every exception in a run, oldest first.
pub(crate) fn exceptions(steps: &[Step], events: &[RunEvent]) -> Vec<ExceptionRow> {
    let mut rows: Vec<ExceptionRow> = events
        .iter()
        .filter_map(|e| {
            let kind = kind_of(&e.kind)?;
            Some(ExceptionRow {
                kind: kind.into(),
                step: text(&e.detail, "step").or_else(|| text(&e.detail, "item")),
                actor: e.actor.clone(),
                reason: reason_of(e),
                at: e.at,
            })
        })
        .collect();
    for s in steps {
        if let Some(w) = &s.waiver {
            rows.push(ExceptionRow {
                kind: "waiver".into(),
                step: Some(s.key.to_string()),
                actor: w.actor.clone(),
                reason: w.reason.clone(),
                at: w.at,
            });
        }
        let items = s.human.iter().flat_map(|h| h.items.iter());
        for (item, c) in items.filter_map(|i| i.confirmation.as_ref().map(|c| (i, c))) {
            if c.outcome == ItemOutcome::WrittenOff {
                rows.push(ExceptionRow {
                    kind: "written_off".into(),
                    step: Some(s.key.to_string()),
                    actor: c.actor.clone(),
                    reason: c
                        .note
                        .clone()
                        .unwrap_or_else(|| format!("{} written off", item.label)),
                    at: c.at,
                });
            }
        }
    }
    rows.sort_by_key(|r| r.at);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::RunId;
    use serde_json::json;

    #[test]
    fn an_accepted_access_item_is_an_exception_naming_the_item() {
        let at = Timestamp::from_second(1_700_000_000).unwrap();
        let event = RunEvent::new(
            &RunId::new("r"),
            at,
            "access.excepted",
            "operator:maria",
            json!({"item": "microsoft.group.g2", "reason": "AD team removes it"}),
        );
        let rows = exceptions(&[], &[event]);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].kind, "access_exception");
        assert_eq!(rows[0].step.as_deref(), Some("microsoft.group.g2"));
        assert_eq!(rows[0].actor, "operator:maria");
        assert_eq!(rows[0].reason, "AD team removes it");
    }
}
