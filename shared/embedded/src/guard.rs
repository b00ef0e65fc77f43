//! The go-live guard's ledger on SQLite: one row per tenant holding its recent terminations,
//! read and rewritten inside one IMMEDIATE transaction, so racing intakes (the server and a CLI
//! beside it included) are counted one after another.

use crate::db::Database;
use jiff::Timestamp;
use passage_core::TenantId;
use passage_core::guard::{self, Entry};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use std::time::Duration;

pub(crate) async fn count_termination(
    db: &Database,
    tenant: &TenantId,
    key: &str,
    at: Timestamp,
    window: Duration,
    cap: u32,
) -> Result<u32, rusqlite::Error> {
    let (tenant, key) = (tenant.to_string(), key.to_owned());
    db.with(move |conn| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let doc: Option<String> = tx
            .query_row(
                "SELECT doc FROM guard_ledger WHERE tenant = ?1",
                [&tenant],
                |r| r.get(0),
            )
            .optional()?;
        let mut entries: Vec<Entry> = doc
            .map(|d| serde_json::from_str(&d))
            .transpose()
            .map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?
            .unwrap_or_default();
        let count = guard::admit(&mut entries, &key, at, window, cap);
        let doc = serde_json::to_string(&entries)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        tx.execute(
            "INSERT INTO guard_ledger (tenant, doc) VALUES (?1, ?2)
             ON CONFLICT (tenant) DO UPDATE SET doc = excluded.doc",
            params![tenant, doc],
        )?;
        tx.commit()?;
        Ok(count)
    })
    .await
}
