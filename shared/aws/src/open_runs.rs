//! One tenant's open runs, a page at a time, from `gsi_open` (keyed `<state>#<tenant>`).
//!
//! The sweep works through a tenant's scheduled, running and blocked runs in pages of a fixed
//! size, each page one index query, and hands the rest on with the page's cursor. However many
//! runs are open, and however large the table grows, one invocation reads one page.

use crate::store::{Item, n, number, open_key, run_id_of, s, string};
use crate::{DynamoStore, GSI_OPEN, error_text};
use aws_sdk_dynamodb::types::AttributeValue;
use jiff::Timestamp;
use passage_core::ports::StoreError;
use passage_core::{RunId, RunState, TenantId};
use std::collections::HashMap;

/// A run as the open-runs index holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenRun {
    pub id: RunId,
    pub cutoff_ms: i64,
}

/// One page of a tenant's runs in one open state, and where the next page starts.
#[derive(Clone, Debug, Default)]
pub struct OpenPage {
    pub runs: Vec<OpenRun>,
    /// An opaque cursor for [`DynamoStore::open_page`]; `None` after the last page.
    pub next: Option<String>,
}

/// Encodes an index position as text that fits in a queue message.
fn encode_cursor(key: &Item) -> String {
    let map: serde_json::Map<String, serde_json::Value> = key
        .iter()
        .filter_map(|(k, v)| match v {
            AttributeValue::S(v) => Some((k.clone(), serde_json::json!(["S", v]))),
            AttributeValue::N(v) => Some((k.clone(), serde_json::json!(["N", v]))),
            _ => None,
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

fn decode_cursor(text: &str) -> Result<Item, StoreError> {
    let bad = || StoreError::Corrupt(format!("not an open-runs cursor: {text:.80}"));
    let map: HashMap<String, (String, String)> = serde_json::from_str(text).map_err(|_| bad())?;
    map.into_iter()
        .map(|(k, (kind, v))| match kind.as_str() {
            "S" => Ok((k, AttributeValue::S(v))),
            "N" => Ok((k, AttributeValue::N(v))),
            _ => Err(bad()),
        })
        .collect()
}

impl DynamoStore {
    /// Up to `limit` of `tenant`'s runs in `state`, in cutoff order, cut at `cutoff_before`
    /// (exclusive) when given, from `cursor` on. One query.
    pub async fn open_page(
        &self,
        tenant: &TenantId,
        state: RunState,
        cutoff_before: Option<Timestamp>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<OpenPage, StoreError> {
        let start = cursor.map(decode_cursor).transpose()?;
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI_OPEN)
            .expression_attribute_values(":k", s(open_key(state, tenant)))
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start);
        q = match cutoff_before {
            Some(at) => q
                .key_condition_expression("open_key = :k AND cutoff_ms < :before")
                .expression_attribute_values(":before", n(at.as_millisecond())),
            None => q.key_condition_expression("open_key = :k"),
        };
        let out = q
            .send()
            .await
            .map_err(|e| StoreError::Backend(error_text(&e)))?;
        let mut runs = Vec::new();
        for item in out.items() {
            runs.push(OpenRun {
                id: run_id_of(item)?,
                cutoff_ms: number(item, "cutoff_ms")?,
            });
        }
        Ok(OpenPage {
            runs,
            next: out.last_evaluated_key().map(encode_cursor),
        })
    }

    /// The tenant a run belongs to, from the run item's `tenant` attribute alone.
    pub async fn run_tenant(&self, id: &RunId) -> Result<Option<TenantId>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(crate::store::key(crate::store::run_pk(id), "META")))
            .projection_expression("tenant")
            .send()
            .await
            .map_err(|e| StoreError::Backend(error_text(&e)))?;
        out.item
            .map(|item| string(&item, "tenant").map(TenantId::new))
            .transpose()
    }
}
