use crate::cutoff::Cutoff;
use crate::domain::Subject;
use crate::ids::{RunId, TenantId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A leaver run: one person, one tenant, one plan, from intake to signed evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub id: RunId,
    pub tenant: TenantId,
    /// Optimistic-concurrency version; every store write checks and bumps it.
    pub version: u64,
    pub state: RunState,
    pub subject: Subject,
    pub source: RunSource,
    /// What makes a second delivery of the same request return this run instead of a new one.
    pub idempotency_key: String,
    pub cutoff: Cutoff,
    /// When the tenant's early steps (hand-over preparation before the last day ends) may
    /// start; `None` when the plan has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_at: Option<Timestamp>,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_reason: Option<String>,
    /// Set while the go-live guard holds the run (too many terminations at once for its
    /// tenant): nothing is released, early steps included, until an operator approves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<RunHold>,
    /// Alerts sent about the run (blocked, a step failed, past its SLA), one per cause.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<crate::domain::AlertRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation: Option<Cancellation>,
    /// Access items operators accepted as staying (an AD-synced group, a device command that
    /// completes at a check-in weeks away), each with who, why and until when.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<crate::access::AccessException>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<BundleRef>,
    /// Held while a finalizer writes the bundle, so two finalizers (duplicate deliveries,
    /// concurrent functions) never interleave their files in one bundle location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finalizing: Option<crate::domain::Lease>,
    /// After the run closed: what the providers' sign-in logs said, and every reopening.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in_watch: Option<crate::domain::SignInWatch>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Waiting for the cutoff.
    Scheduled,
    /// Steps are being worked.
    Running,
    /// A step failed for good (or needs a waiver); the closure gate holds the run open.
    Blocked,
    /// Every critical step verified; evidence signed and stored.
    Closed,
    /// Called off before the cutoff.
    Cancelled,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Scheduled => "scheduled",
            RunState::Running => "running",
            RunState::Blocked => "blocked",
            RunState::Closed => "closed",
            RunState::Cancelled => "cancelled",
        }
    }

    pub const ALL: [RunState; 5] = [
        RunState::Scheduled,
        RunState::Running,
        RunState::Blocked,
        RunState::Closed,
        RunState::Cancelled,
    ];

    pub fn is_open(self) -> bool {
        matches!(self, RunState::Running | RunState::Blocked)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, RunState::Closed | RunState::Cancelled)
    }
}

impl std::str::FromStr for RunState {
    type Err = String;

    /// The names `as_str` gives; the error lists them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RunState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown state {s:?}: use {}",
                    RunState::ALL.map(RunState::as_str).join(", ")
                )
            })
    }
}

/// Where the run came from, as proven at intake.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RunSource {
    Webhook {
        /// Vendor or format (`standard-webhooks`, …).
        vendor: String,
        /// The delivery id the sender gave (`webhook-id`).
        delivery_id: String,
        /// How authenticity was established, e.g. `standard-webhooks v1 hmac-sha256 + timestamp`.
        verified_by: String,
        received_at: Timestamp,
        /// SHA-256 of the raw body, so the delivery can be matched to the sender's logs.
        body_sha256: String,
        /// The event as parsed (no signatures or secrets).
        event: serde_json::Value,
    },
    Manual {
        actor: String,
        received_at: Timestamp,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Found by comparing the HR system with Passage: a termination no webhook announced.
    Reconcile {
        /// The HR system asked (`bamboohr`, `hibob`, …).
        vendor: String,
        found_at: Timestamp,
        /// The HR record as fetched.
        record: serde_json::Value,
    },
    /// An operator undoes a closed leaver run (rehire, rescinded termination).
    Restore(Box<crate::domain::RestoreOrigin>),
}

/// Why the go-live guard holds a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunHold {
    pub reason: String,
    pub at: Timestamp,
    /// The tenant's terminations in the window when this one arrived, this one included.
    pub count: u32,
}

impl Run {
    /// For a restore run: where it came from and what it gives back.
    pub fn restore(&self) -> Option<&crate::domain::RestoreOrigin> {
        match &self.source {
            RunSource::Restore(origin) => Some(origin),
            _ => None,
        }
    }

    /// Whether the go-live guard holds the run now (a cancelled run keeps its hold on record).
    pub fn is_held(&self) -> bool {
        self.hold.is_some() && self.state == RunState::Scheduled
    }

    /// The state an operator sees: a scheduled run the guard holds shows as `held`.
    pub fn shown_state(&self) -> &'static str {
        if self.is_held() {
            "held"
        } else {
            self.state.as_str()
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cancellation {
    pub actor: String,
    pub reason: String,
    pub at: Timestamp,
}

/// Where a closed run's signed bundle lives and how it sits in the tenant's chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BundleRef {
    pub sequence: u64,
    pub manifest_sha256: String,
    pub location: String,
}
