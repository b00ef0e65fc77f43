//! The proof that a leaver has no account at a provider, kept on every step it closed.

use crate::domain::CallRecord;
use crate::ids::StepKey;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// An operator's "not applicable", accepted only because a read made at that moment found no
/// account for the leaver. Auditors get what was read, when, the provider's answer and its
/// request ids, not just someone's word.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbsenceProof {
    pub operator: String,
    pub reason: String,
    /// When the operator's request was accepted.
    pub at: Timestamp,
    /// When the read that proves the absence began.
    pub read_at: Timestamp,
    /// The lookup that was run again: the provider's snapshot step.
    pub read: StepKey,
    /// The connector's verdict (`user_not_found`) and the provider's words.
    pub code: String,
    pub answer: String,
    /// Every call the read made, with status and the provider's request id.
    pub calls: Vec<CallRecord>,
}

impl AbsenceProof {
    /// The connector code that, after a completed read, means "no such user".
    pub const NOT_FOUND: &'static str = "user_not_found";

    pub fn request_ids(&self) -> Vec<&str> {
        self.calls
            .iter()
            .filter_map(|c| c.request_id.as_deref())
            .collect()
    }
}
