//! The tenants' audit log on DynamoDB: one item per event under `AUDIT#<tenant>`, sorted by
//! time and then write order (`<at ms:013>#<uuid v7>`), read with strongly consistent queries.

use crate::error_text;
use crate::store::DynamoStore;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use jiff::Timestamp;
use passage_core::TenantId;
use passage_core::ports::{AuditEvent, AuditLog, StoreError};

fn pk(tenant: &TenantId) -> String {
    format!("AUDIT#{tenant}")
}

fn sort_time(at: Timestamp) -> String {
    format!("{:013}", at.as_millisecond().max(0))
}

#[async_trait]
impl AuditLog for DynamoStore {
    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let doc = serde_json::to_string(event).map_err(|e| StoreError::Backend(e.to_string()))?;
        let sk = format!("{}#{}", sort_time(event.at), uuid::Uuid::now_v7().simple());
        self.client()
            .put_item()
            .table_name(self.table())
            .item("pk", AttributeValue::S(pk(&event.tenant)))
            .item("sk", AttributeValue::S(sk))
            .item("doc", AttributeValue::S(doc))
            .send()
            .await
            .map_err(|e| StoreError::Backend(error_text(&e)))?;
        Ok(())
    }

    async fn audit_events(
        &self,
        tenant: &TenantId,
        since: Option<Timestamp>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        // Every sort key starts with a digit; DynamoDB refuses an empty key value.
        let from = since.map_or_else(|| "0".to_owned(), sort_time);
        let mut events = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client()
                .query()
                .table_name(self.table())
                .key_condition_expression("pk = :pk AND sk >= :from")
                .expression_attribute_values(":pk", AttributeValue::S(pk(tenant)))
                .expression_attribute_values(":from", AttributeValue::S(from.clone()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::Backend(error_text(&e)))?;
            for item in out.items.unwrap_or_default() {
                let Some(AttributeValue::S(doc)) = item.get("doc") else {
                    return Err(StoreError::Corrupt(format!("{} has no doc", pk(tenant))));
                };
                events.push(
                    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                );
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(events);
            }
        }
    }
}
