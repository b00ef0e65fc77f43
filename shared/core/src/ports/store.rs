use crate::domain::{AttemptRecord, Run, RunEvent, RunState, Step};
use crate::ids::{RunId, TenantId};
use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Someone else changed the item since it was read. Reload and decide again.
    #[error("version conflict on {0}")]
    Conflict(String),
    #[error("store: {0}")]
    Backend(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// The head of a tenant's evidence hash chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    /// Sequence number of the last bundle (0 = none yet).
    pub sequence: u64,
    /// SHA-256 (hex) of the last manifest; 64 zeros before the first.
    pub manifest_sha256: String,
}

impl ChainHead {
    pub fn genesis() -> Self {
        Self {
            sequence: 0,
            manifest_sha256: "0".repeat(64),
        }
    }
}

/// A set of changes applied all-or-nothing. Each run and step carries the version it was read
/// at; the store refuses the whole commit with [`StoreError::Conflict`] if any has moved on, and
/// stores each with its version increased by one.
#[derive(Clone, Debug, Default)]
pub struct Commit {
    pub runs: Vec<Run>,
    pub steps: Vec<Step>,
    pub attempts: Vec<AttemptRecord>,
    pub events: Vec<RunEvent>,
    /// Move a tenant's chain head from `.1` to `.2` (the bundle's own sequence and hash).
    pub chain: Option<(TenantId, ChainHead, ChainHead)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum InsertOutcome {
    Created,
    /// A run with the same tenant and idempotency key already exists.
    Existing(RunId),
    /// The employee already has an open run (scheduled, running or blocked) in this tenant.
    /// One leaver has one open run: the store decides this atomically with the insert, so two
    /// deliveries racing for the same employee cannot both create one.
    OpenRun(RunId),
}

#[derive(Clone, Debug, Default)]
pub struct RunFilter {
    pub tenant: Option<TenantId>,
    pub state: Option<RunState>,
    pub employee_id: Option<String>,
    pub limit: Option<usize>,
}

/// Durable state of runs, steps, attempts, events and evidence chains.
#[async_trait]
pub trait RunStore: Send + Sync {
    /// Stores a new run with its steps and first events, unless one with the same tenant and
    /// idempotency key exists, or the employee already has an open run in the tenant. Durable
    /// when it returns: intake answers 2xx only after this.
    async fn insert_run(
        &self,
        run: &Run,
        steps: &[Step],
        events: &[RunEvent],
    ) -> Result<InsertOutcome, StoreError>;
    async fn run(&self, id: &RunId) -> Result<Option<Run>, StoreError>;
    async fn steps(&self, id: &RunId) -> Result<Vec<Step>, StoreError>;
    async fn attempts(&self, id: &RunId) -> Result<Vec<AttemptRecord>, StoreError>;
    async fn events(&self, id: &RunId) -> Result<Vec<RunEvent>, StoreError>;
    async fn commit(&self, commit: Commit) -> Result<(), StoreError>;
    /// Runs matching the filter, newest first.
    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>, StoreError>;
    /// Scheduled runs whose cutoff is at or before `now`.
    async fn due_runs(&self, now: Timestamp) -> Result<Vec<RunId>, StoreError>;
    /// Runs that are running or blocked: the ones a sweep must look after.
    async fn open_runs(&self) -> Result<Vec<RunId>, StoreError>;
    async fn chain_head(&self, tenant: &TenantId) -> Result<ChainHead, StoreError>;
    /// A webhook secret a tenant's HR vendor handed over at run time and Passage confirmed with
    /// the vendor (Gusto's verification token), if there is one.
    async fn learned_secret(
        &self,
        tenant: &TenantId,
        vendor: &str,
    ) -> Result<Option<crate::secret::Secret>, StoreError>;
    /// Keeps `secret` as the tenant's learned secret for `vendor`, replacing an earlier one.
    async fn learn_secret(
        &self,
        tenant: &TenantId,
        vendor: &str,
        secret: &crate::secret::Secret,
    ) -> Result<(), StoreError>;
    /// Whether the store can be read now, for health checks. The default reads a run that
    /// does not exist.
    async fn check(&self) -> Result<(), StoreError> {
        self.run(&RunId::new("health-check")).await.map(|_| ())
    }
    /// Records a termination for the go-live guard and answers its count: the tenant's
    /// terminations within `window` up to `at`, this one included, as
    /// [`crate::guard::admit`] counts them. Atomic: racing calls never see the same count for
    /// two new keys. The same `key` again answers without adding, while it is still kept.
    async fn count_termination(
        &self,
        tenant: &TenantId,
        key: &str,
        at: Timestamp,
        window: std::time::Duration,
        cap: u32,
    ) -> Result<u32, StoreError>;
}
