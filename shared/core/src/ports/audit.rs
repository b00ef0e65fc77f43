//! A tenant-level audit log: who issued which auditor link, and every fetch made with one.
//! Run events belong to runs; these belong to the tenant's evidence as a whole.

use super::StoreError;
use crate::ids::TenantId;
use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub tenant: TenantId,
    pub at: Timestamp,
    /// Dotted name: `link.issued`, `link.fetched`, `link.refused`.
    pub kind: String,
    /// `operator:<name>`, `cli:<user>`, or for a fetch `link:<link id>`.
    pub actor: String,
    /// What was issued or fetched: scope, expiry, path, the fetcher's address.
    pub detail: serde_json::Value,
}

/// Append-only, per tenant. Both stores keep it beside the runs.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends one event; durable when it returns.
    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError>;
    /// The tenant's events at or after `since` (all when `None`), oldest first; events with
    /// the same time in the order they were appended.
    async fn audit_events(
        &self,
        tenant: &TenantId,
        since: Option<Timestamp>,
    ) -> Result<Vec<AuditEvent>, StoreError>;
}
