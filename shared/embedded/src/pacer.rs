//! The embedded host's pacer: every worker of one `passage serve` process draws from the same
//! budgets, kept in memory.
//!
//! A rate-limiting crate such as `governor` would keep the bucket, but not the rest: budgets
//! must shrink to what a provider's headers say remains and pause until its reset, and they must
//! pace exactly as the DynamoDB pacer shared by Lambda invocations does. Both therefore run the
//! one arithmetic in `passage_core::pace::BucketState`; what is left here is a map and a lock.

use async_trait::async_trait;
use passage_core::pace::{Bucket, BucketState, PaceKey, PaceSignal, Turn};
use passage_core::ports::{Clock, PaceError, Pacer};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Budgets in memory, one per provider org and endpoint family; clone it to share it.
#[derive(Clone)]
pub struct InProcessPacer {
    clock: Arc<dyn Clock>,
    buckets: Arc<Mutex<HashMap<PaceKey, BucketState>>>,
}

impl InProcessPacer {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            buckets: Arc::default(),
        }
    }

    /// Runs `f` on the bucket's state under the lock (held for arithmetic only, never across
    /// an await).
    fn with<T>(&self, key: &PaceKey, f: impl FnOnce(&mut BucketState) -> T) -> T {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        f(buckets.entry(key.clone()).or_default())
    }
}

#[async_trait]
impl Pacer for InProcessPacer {
    async fn acquire(
        &self,
        bucket: &Bucket,
        cost: u32,
        patience: Duration,
    ) -> Result<Turn, PaceError> {
        let now = self.clock.now();
        Ok(self.with(&bucket.key, |state| {
            state.reserve(bucket.rate, now, cost, patience)
        }))
    }

    async fn observe(&self, bucket: &Bucket, signal: &PaceSignal) -> Result<(), PaceError> {
        let now = self.clock.now();
        self.with(&bucket.key, |state| state.observe(bucket.rate, now, signal));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use passage_core::Provider;
    use passage_core::pace::Rate;

    struct Frozen(Timestamp);

    impl Clock for Frozen {
        fn now(&self) -> Timestamp {
            self.0
        }
    }

    fn bucket(org: &str, family: &str) -> Bucket {
        Bucket {
            key: PaceKey {
                provider: Provider::Okta,
                org: org.into(),
                family: family.into(),
            },
            rate: Rate::per_minute(20),
        }
    }

    async fn burst(pacer: &InProcessPacer, bucket: &Bucket) -> usize {
        let mut n = 0;
        while pacer.acquire(bucket, 1, Duration::ZERO).await.unwrap() == Turn::Go(Duration::ZERO) {
            n += 1;
        }
        n
    }

    #[tokio::test]
    async fn each_org_and_family_has_its_own_budget_and_clones_share_them() {
        let pacer = InProcessPacer::new(Arc::new(Frozen(Timestamp::UNIX_EPOCH)));
        let worker = pacer.clone();
        assert_eq!(burst(&pacer, &bucket("a.okta.com", "users")).await, 1);
        assert_eq!(burst(&worker, &bucket("a.okta.com", "users")).await, 0);
        assert_eq!(burst(&worker, &bucket("a.okta.com", "groups")).await, 1);
        assert_eq!(burst(&worker, &bucket("b.okta.com", "users")).await, 1);
    }
}
