//! Handing a leaver's owned resources (groups, shared drives) to their manager, in the words
//! the core grades: each resource is either handed over, with what was read back, or stays
//! with the leaver, `remains`, with why and who must act.

use serde_json::{Value, json};

/// What became of one owned resource.
pub(crate) enum Handed {
    /// Handed over; the record of what was read back.
    Done(Value),
    /// Still the leaver's; why, naming who must act.
    Stuck(String),
}

/// A resource the leaver still owns, graded `remains`.
pub(crate) fn remains(id: &str, reason: String) -> Value {
    json!({"kind": "ownership", "id": id, "state": "remains", "reason": reason})
}

/// The hand-over results of one step: what went to the manager, and what the leaver keeps.
#[derive(Default)]
pub(crate) struct Handovers {
    pub handed: Vec<Value>,
    pub said: Vec<Value>,
}

impl Handovers {
    /// Files what became of the resource `id`.
    pub fn file(&mut self, id: &str, outcome: Handed) {
        match outcome {
            Handed::Done(record) => self.handed.push(record),
            Handed::Stuck(why) => self.said.push(remains(id, why)),
        }
    }
}
