//! Per-tenant slots: at most `capacity` holders of one scope at a time, across every Lambda
//! instance. The step function takes a slot of `step#<tenant>` before working a step, so one
//! tenant's layoff can occupy only a bounded share of the workers; the finalizer takes the one
//! slot of `finalize#<tenant>` before closing a run, so a tenant's evidence chain is extended
//! by one finalizer at a time and no signature is made for a chain position that is then lost.
//!
//! Slot `i` of a scope is the item `SLOT#<scope>` / `<i>`, holding its owner and the end of its
//! lease. A holder that dies is replaced once its lease ends (the lease outlasts the function's
//! timeout), and DynamoDB's TTL removes slot items a day after their last lease.

use crate::store::{Item, n, number, s, string};
use crate::{DynamoStore, error_text};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use jiff::Timestamp;
use passage_core::ports::StoreError;
use std::time::Duration;

/// A slot taken: give it back with [`TenantSlots::release`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    scope: String,
    index: u32,
    owner: String,
}

/// The slots of every scope, in the run table.
#[derive(Clone)]
pub struct TenantSlots {
    store: DynamoStore,
}

/// How long a slot item outlives its last lease before TTL removes it.
const SLOT_TTL_SECONDS: i64 = 86_400;

fn slot_pk(scope: &str) -> String {
    format!("SLOT#{scope}")
}

impl TenantSlots {
    pub fn new(store: DynamoStore) -> Self {
        Self { store }
    }

    /// Takes a free slot of `scope` for `lease`, or `None` when all `capacity` are held. At most
    /// one query and a few conditional writes, whatever the number of holders.
    pub async fn acquire(
        &self,
        scope: &str,
        capacity: u32,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<Slot>, StoreError> {
        let now = Timestamp::now().as_millisecond();
        let held = self.held(scope, now).await?;
        // Free indexes, starting at a random one so concurrent takers spread out.
        let offset = rand_offset(capacity);
        let free = (0..capacity)
            .map(|i| (i + offset) % capacity.max(1))
            .filter(|i| !held.contains(i));
        for index in free.take(3) {
            if self.take(scope, index, owner, now, lease).await? {
                return Ok(Some(Slot {
                    scope: scope.to_owned(),
                    index,
                    owner: owner.to_owned(),
                }));
            }
        }
        Ok(None)
    }

    /// Gives the slot back (only if still ours; a failure leaves it to its lease's end).
    pub async fn release(&self, slot: &Slot) {
        let out = self
            .store
            .client
            .delete_item()
            .table_name(&self.store.table)
            .set_key(Some(crate::store::key(
                slot_pk(&slot.scope),
                &slot.index.to_string(),
            )))
            .condition_expression("#o = :me")
            .expression_attribute_names("#o", "owner")
            .expression_attribute_values(":me", s(&slot.owner))
            .send()
            .await;
        if let Err(e) = out {
            tracing::debug!(scope = %slot.scope, error = %error_text(&e), "slot left to its lease");
        }
    }

    /// Indexes whose lease has not ended.
    async fn held(&self, scope: &str, now_ms: i64) -> Result<Vec<u32>, StoreError> {
        let out = self
            .store
            .client
            .query()
            .table_name(&self.store.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(slot_pk(scope)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::Backend(error_text(&e)))?;
        let live = |item: &Item| number::<i64>(item, "until_ms").is_ok_and(|u| u > now_ms);
        Ok(out
            .items()
            .iter()
            .filter(|item| live(item))
            .filter_map(|item| string(item, "sk").ok()?.parse().ok())
            .collect())
    }

    /// Takes slot `index` if it is free or its lease has ended.
    async fn take(
        &self,
        scope: &str,
        index: u32,
        owner: &str,
        now_ms: i64,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let until = now_ms + i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2);
        let mut item = crate::store::key(slot_pk(scope), &index.to_string());
        item.insert("owner".into(), s(owner));
        item.insert("until_ms".into(), n(until));
        item.insert("expires_at".into(), n(until / 1000 + SLOT_TTL_SECONDS));
        let out = self
            .store
            .client
            .put_item()
            .table_name(&self.store.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR until_ms < :now")
            .expression_attribute_values(":now", n(now_ms))
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(StoreError::Backend(error_text(&e))),
            },
        }
    }
}

fn rand_offset(capacity: u32) -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    nanos % capacity.max(1)
}
