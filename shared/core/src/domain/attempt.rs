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
    /// Done and read back.
    Verified,
    /// Already in the target state; read back; nothing changed.
    Repeat,
    Retryable,
    Permanent,
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
