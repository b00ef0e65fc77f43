use crate::ids::{RunId, TenantId};
use async_trait::async_trait;
use jiff::Timestamp;

#[derive(Debug, thiserror::Error)]
#[error("timer: {0}")]
pub struct TimerError(pub String);

/// Fires a run's cutoff. Adapters deliver at least once (a late duplicate is harmless: the run
/// machine ignores a second cutoff). The engine also sweeps for due runs, so a lost timer
/// delays a run by at most one sweep period, never forever.
#[async_trait]
pub trait Timer: Send + Sync {
    /// Sets or moves the run's timer. Idempotent per run.
    async fn schedule(
        &self,
        tenant: &TenantId,
        run: &RunId,
        at: Timestamp,
    ) -> Result<(), TimerError>;
    /// Removes the run's timer if it exists.
    async fn cancel(&self, run: &RunId) -> Result<(), TimerError>;
}
