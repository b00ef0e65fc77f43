//! Provider budgets in the DynamoDB table, shared by every Lambda invocation: concurrent step
//! functions calling one provider org draw from one budget, as the workers of `passage serve`
//! do from theirs in memory.
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | budget | `PACE#<provider>#<org>#<family>` | `PACE` | `tat_us`, `hold_until_us`, `allowance`, `deferred_us`, `version`, `expires_at` |
//!
//! Each turn reads the item (strongly consistent), runs the same arithmetic as the embedded
//! pacer ([`BucketState`]) and writes the result back with an `UpdateItem` conditioned on the
//! version it read. Why this shape:
//! - DynamoDB update expressions can add and subtract but not take a maximum or multiply, and
//!   a token bucket's refill needs both; so the arithmetic runs here, and the condition makes
//!   the read-compute-write one atomic step: an invocation that lost the race reads again.
//! - The condition is on a version number rather than on the refill time and token count
//!   themselves: invocations' clocks differ by milliseconds, and the same time and count can
//!   recur, which would let a stale write through.
//! - One item per budget, no transaction: a turn touches one budget, and a conditional write
//!   to one item is DynamoDB's cheapest atomic operation.
//!
//! Answers that change nothing (most of Okta's counts) are not written. The items expire a day
//! after their last turn (the table's TTL on `expires_at`), so budgets of orgs no longer
//! called leave nothing behind.

use crate::{AwsNames, error_text};
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use jiff::Timestamp;
use passage_core::pace::{Bucket, BucketState, PaceKey, PaceSignal, Turn};
use passage_core::ports::{Clock, PaceError, Pacer, SystemClock};
use rand::Rng;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

type Item = HashMap<String, AttributeValue>;

/// How often a turn reads again after losing a race to another invocation before giving up
/// (each lost race means another invocation's turn went through).
const TRIES: u32 = 25;
/// A budget item outlives its last turn by this long.
const KEEP_FOR: Duration = Duration::from_secs(86_400);

#[derive(Clone)]
pub struct DynamoPacer {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
}

/// A budget as read, and the version a write must find to replace it (0: no item yet).
struct Read {
    state: BucketState,
    version: u64,
}

/// Why a conditional write did not land.
enum WriteError {
    /// Another invocation wrote first.
    Lost,
    Backend(String),
}

impl DynamoPacer {
    pub fn new(config: &SdkConfig, names: &AwsNames) -> Self {
        Self::from_client(Client::new(config), &names.table, Arc::new(SystemClock))
    }

    /// On `table`, reading the time from `clock` (tests move it by hand).
    pub fn from_client(client: Client, table: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            table: table.into(),
            clock,
        }
    }

    /// Reads the budget, lets `step` change it at the current time, and writes it back if it
    /// changed, unless another invocation wrote it meanwhile: then all again.
    async fn swap<T>(
        &self,
        key: &PaceKey,
        step: impl Fn(&mut BucketState, Timestamp) -> T,
    ) -> Result<T, PaceError> {
        for _ in 0..TRIES {
            let read = self.read(key).await?;
            let mut next = read.state;
            let out = step(&mut next, self.clock.now());
            if next == read.state {
                return Ok(out);
            }
            match self.write(key, &next, read.version).await {
                Ok(()) => return Ok(out),
                Err(WriteError::Lost) => lost_race_pause().await,
                Err(WriteError::Backend(e)) => return Err(PaceError::Backend(e)),
            }
        }
        Err(PaceError::Backend(format!(
            "budget {key} still contended after {TRIES} tries"
        )))
    }

    async fn read(&self, key: &PaceKey) -> Result<Read, PaceError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item_key(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| PaceError::Backend(error_text(&e)))?;
        let Some(item) = out.item else {
            return Ok(Read {
                state: BucketState::default(),
                version: 0,
            });
        };
        Ok(Read {
            state: BucketState {
                tat_us: number(&item, "tat_us")?,
                hold_until_us: number(&item, "hold_until_us")?,
                allowance: number(&item, "allowance")?,
                // Items written before deferred callers were spread have none.
                deferred_us: match item.contains_key("deferred_us") {
                    true => number(&item, "deferred_us")?,
                    false => 0,
                },
            },
            version: number(&item, "version")?,
        })
    }

    async fn write(
        &self,
        key: &PaceKey,
        state: &BucketState,
        version: u64,
    ) -> Result<(), WriteError> {
        let last = state.tat_us.max(state.hold_until_us).max(state.deferred_us) / 1_000_000;
        let expires_at = last.saturating_add(KEEP_FOR.as_secs() as i64);
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(key)))
            .update_expression(
                "SET tat_us = :tat, hold_until_us = :hold, allowance = :allowance, \
                 deferred_us = :deferred, version = :next, expires_at = :expires",
            )
            .expression_attribute_values(":deferred", n(state.deferred_us))
            .expression_attribute_values(":tat", n(state.tat_us))
            .expression_attribute_values(":hold", n(state.hold_until_us))
            .expression_attribute_values(":allowance", n(state.allowance))
            .expression_attribute_values(":next", n(version + 1))
            .expression_attribute_values(":expires", n(expires_at));
        update = if version == 0 {
            update.condition_expression("attribute_not_exists(pk)")
        } else {
            update
                .condition_expression("version = :version")
                .expression_attribute_values(":version", n(version))
        };
        match update.send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Err(WriteError::Lost)
            }
            Err(e) => Err(WriteError::Backend(error_text(&e))),
        }
    }
}

#[async_trait]
impl Pacer for DynamoPacer {
    async fn acquire(
        &self,
        bucket: &Bucket,
        cost: u32,
        patience: Duration,
    ) -> Result<Turn, PaceError> {
        self.swap(&bucket.key, |state, now| {
            state.reserve(bucket.rate, now, cost, patience)
        })
        .await
    }

    async fn observe(&self, bucket: &Bucket, signal: &PaceSignal) -> Result<(), PaceError> {
        self.swap(&bucket.key, |state, now| {
            state.observe(bucket.rate, now, signal);
        })
        .await
    }
}

/// A few milliseconds, at random, so invocations that lost a race together do not meet again.
async fn lost_race_pause() {
    let ms = rand::thread_rng().gen_range(5..40);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

fn item_key(key: &PaceKey) -> Item {
    let pk = format!("PACE#{}#{}#{}", key.provider, key.org, key.family);
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk)),
        ("sk".to_owned(), AttributeValue::S("PACE".to_owned())),
    ])
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn number<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, PaceError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| PaceError::Backend(format!("budget item without a number `{name}`")))
}
