//! The go-live guard's ledger on DynamoDB: one item per tenant (`GUARD#<tenant>` / `LEDGER`)
//! holding its recent terminations and a version. Each count reads it strongly, applies
//! [`guard::admit`] and writes it back only if the version is still the one read, so racing
//! intakes are counted one after another. The ledger keeps at most the guard's limit plus one
//! entry, so the item stays small in a burst of any size.

use crate::error_text;
use crate::store::{DynamoStore, key, n, number, s, string};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use jiff::Timestamp;
use passage_core::TenantId;
use passage_core::guard::{self, Entry};
use passage_core::ports::StoreError;
use std::time::Duration;

/// Rounds of read, count and conditional write before giving up. A burst of intakes for one
/// tenant contends on one item; each round one of them wins, so this bounds the burst that
/// never fails at about this many at the same instant.
const ROUNDS: u32 = 64;

impl DynamoStore {
    pub(crate) async fn ledger_count(
        &self,
        tenant: &TenantId,
        key_: &str,
        at: Timestamp,
        window: Duration,
        cap: u32,
    ) -> Result<u32, StoreError> {
        let pk = format!("GUARD#{tenant}");
        for round in 0..ROUNDS {
            let read = self.read_ledger(&pk).await?;
            let (mut entries, version) = read.unwrap_or_default();
            let count = guard::admit(&mut entries, key_, at, window, cap);
            if self.write_ledger(&pk, &entries, version).await? {
                return Ok(count);
            }
            // Lost the race: let the winners through before reading again.
            tokio::time::sleep(Duration::from_millis(u64::from(5 + round % 7 * 3))).await;
        }
        Err(StoreError::Backend(format!(
            "the go-live guard's count for tenant {tenant} stayed contended for {ROUNDS} rounds"
        )))
    }

    async fn read_ledger(&self, pk: &str) -> Result<Option<(Vec<Entry>, u64)>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk.to_owned(), "LEDGER")))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::Backend(error_text(&e)))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let entries = serde_json::from_str(string(&item, "doc")?)
            .map_err(|e| StoreError::Corrupt(format!("{pk}: {e}")))?;
        Ok(Some((entries, number(&item, "version")?)))
    }

    /// Writes the ledger if nobody has since `version` (0: nobody has written it yet).
    async fn write_ledger(
        &self,
        pk: &str,
        entries: &[Entry],
        version: u64,
    ) -> Result<bool, StoreError> {
        let doc = serde_json::to_string(entries).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut item = key(pk.to_owned(), "LEDGER");
        item.insert("doc".into(), s(doc));
        item.insert("version".into(), n(version + 1));
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR version = :v")
            .expression_attribute_values(":v", n(version))
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
