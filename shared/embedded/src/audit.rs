//! The tenants' audit log on SQLite: one row per event, in the same database as the runs.

use crate::db::ms;
use crate::store::SqliteStore;
use async_trait::async_trait;
use jiff::Timestamp;
use passage_core::TenantId;
use passage_core::ports::{AuditEvent, AuditLog, StoreError};

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

#[async_trait]
impl AuditLog for SqliteStore {
    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let doc = serde_json::to_string(event).map_err(|e| StoreError::Backend(e.to_string()))?;
        let (tenant, at) = (event.tenant.to_string(), ms(event.at));
        self.db()
            .with(move |conn| {
                conn.execute(
                    "INSERT INTO audit_log (tenant, at_ms, doc) VALUES (?1, ?2, ?3)",
                    rusqlite::params![tenant, at, doc],
                )
                .map(|_| ())
            })
            .await
            .map_err(backend)
    }

    async fn audit_events(
        &self,
        tenant: &TenantId,
        since: Option<Timestamp>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let tenant = tenant.to_string();
        let since = since.map(ms).unwrap_or(i64::MIN);
        let docs: Vec<String> = self
            .db()
            .with(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT doc FROM audit_log WHERE tenant = ?1 AND at_ms >= ?2
                     ORDER BY at_ms, seq",
                )?;
                let rows = stmt.query_map(rusqlite::params![tenant, since], |r| r.get(0))?;
                rows.collect()
            })
            .await
            .map_err(backend)?;
        docs.iter()
            .map(|d| serde_json::from_str(d).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }
}
