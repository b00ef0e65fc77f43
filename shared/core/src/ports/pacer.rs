use crate::pace::{Bucket, PaceSignal, Turn};
use async_trait::async_trait;
use std::time::Duration;

/// Budgets of calls to provider orgs, shared by every worker that calls them: in memory for the
/// embedded host's workers, in DynamoDB for concurrent Lambda invocations. Both keep the
/// arithmetic of [`BucketState`](crate::pace::BucketState), so a budget paces alike on either.
///
/// Contract: a [`Turn::Go`] reserves the call's place (callers asking at once get successive
/// places, never the same one, and together never more than the bucket allows); a
/// [`Turn::Defer`] takes nothing; what one caller observes (a count until a reset, a refusal)
/// governs every caller's next turn.
#[async_trait]
pub trait Pacer: Send + Sync {
    /// Reserves the place of a call costing `cost` from `bucket`, if the caller need wait no
    /// longer than `patience` for it.
    async fn acquire(
        &self,
        bucket: &Bucket,
        cost: u32,
        patience: Duration,
    ) -> Result<Turn, PaceError>;

    /// Takes in what a provider answer said about `bucket`.
    async fn observe(&self, bucket: &Bucket, signal: &PaceSignal) -> Result<(), PaceError>;
}

#[derive(Debug, thiserror::Error)]
pub enum PaceError {
    /// The shared state could not be read or written.
    #[error("pace state unavailable: {0}")]
    Backend(String),
}

/// No pacing: every call goes at once. For tests and tools that call a provider alone.
#[derive(Clone, Copy, Debug, Default)]
pub struct Unpaced;

#[async_trait]
impl Pacer for Unpaced {
    async fn acquire(&self, _: &Bucket, _: u32, _: Duration) -> Result<Turn, PaceError> {
        Ok(Turn::Go(Duration::ZERO))
    }

    async fn observe(&self, _: &Bucket, _: &PaceSignal) -> Result<(), PaceError> {
        Ok(())
    }
}
