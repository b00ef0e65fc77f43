use crate::ids::{RunId, StepKey};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One try at one step: kept for every attempt, success or not, because auditors and operators
/// both ask "what exactly happened, and what did the provider say".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttemptRecord {
    pub run_id: RunId,
    pub step_key: StepKey,
    pub number: u32,
    pub worker: String,
    pub started_at: Timestamp,
    /// When the attempt ended. For one still `started`, when it began; for one `interrupted`,
    /// when its lease ran out (the last moment its worker could have been acting).
    pub finished_at: Timestamp,
    pub result: AttemptResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Every HTTP call made, without bodies or credentials.
    pub calls: Vec<CallRecord>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptResult {
    /// Claimed and under way: recorded with the claim, before any provider call, so an attempt
    /// whose worker dies is never missing from the record.
    Started,
    /// Done and read back.
    Verified,
    /// Already in the target state; read back; nothing changed.
    Repeat,
    /// The provider's long-running operation is not complete yet; the step polls it again.
    Pending,
    /// The provider asked to be left alone for a while; not a failure of the step.
    Throttled,
    /// A transient failure; tried again until the step's deadline.
    Retryable,
    Permanent,
    /// Its worker stopped (crashed, or stalled past its lease) before recording an outcome;
    /// another worker took the step over. What the provider did, if anything, is unknown, so
    /// the next attempt reads before it acts.
    Interrupted,
}

/// Metadata of one provider call: enough to find it in the provider's own logs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    pub method: String,
    /// Path without query string values that could identify tokens.
    pub path: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_remaining: Option<u64>,
}
