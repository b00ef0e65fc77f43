use crate::ids::RunId;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One line of a run's timeline: what happened, when, and who did it. Append-only; the whole
/// timeline goes into the evidence bundle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunEvent {
    pub run_id: RunId,
    pub at: Timestamp,
    /// Dotted name, e.g. `run.created`, `step.verified`, `run.rescheduled`.
    pub kind: String,
    /// `system`, `hr:<vendor>`, `operator:<name>`, `worker:<id>`.
    pub actor: String,
    pub detail: serde_json::Value,
}

impl RunEvent {
    pub fn new(
        run_id: &RunId,
        at: Timestamp,
        kind: &str,
        actor: &str,
        detail: serde_json::Value,
    ) -> Self {
        Self {
            run_id: run_id.clone(),
            at,
            kind: kind.into(),
            actor: actor.into(),
            detail,
        }
    }
}
