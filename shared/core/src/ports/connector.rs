use crate::domain::{Action, CallRecord, Provider, Step, Subject, TenantPolicy};
use crate::ids::{RunId, StepKey, TenantId};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Everything a connector needs to perform one step.
#[derive(Clone, Debug)]
pub struct ActionRequest {
    pub tenant: TenantId,
    pub run_id: RunId,
    pub step_key: StepKey,
    pub action: Action,
    pub subject: Subject,
    /// Who receives the leaver's mail and files: the manager, else the tenant's fallback.
    pub delegate: Option<String>,
    pub attempt: u32,
    /// Outputs of this run's verified steps (e.g. the snapshot), by step key.
    pub prior: BTreeMap<StepKey, serde_json::Value>,
}

/// The result of one attempt, with every call made along the way.
#[derive(Clone, Debug)]
pub struct ActionReport {
    pub outcome: Result<ActionDone, ActionFailure>,
    pub calls: Vec<CallRecord>,
}

/// The action took effect (or already had) and was read back.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionDone {
    /// True when the target state already held and nothing was changed.
    pub repeat: bool,
    pub summary: String,
    /// What the provider reported after the action: the proof.
    pub readback: serde_json::Value,
    /// Data for later steps and the evidence (e.g. the pre-state snapshot).
    pub output: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ActionFailure {
    pub class: FailureClass,
    /// The provider's error code (e.g. `E0000007`) or a Passage code (`timeout`, `readback_mismatch`).
    pub code: String,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FailureClass {
    /// Worth trying again; `retry_after` is the provider's own hint, if it gave one.
    Retryable { retry_after: Option<Duration> },
    /// Trying again will not help (not found, permission missing, unsupported).
    Permanent,
}

/// A provider client. Each action is idempotent: it reads first, acts only when needed, and
/// reads back after, so a repeated delivery never applies an effect twice.
#[async_trait]
pub trait Connector: Send + Sync {
    fn provider(&self) -> Provider;
    /// The actions this connector implements.
    fn supports(&self, action: Action) -> bool;
    async fn execute(&self, request: &ActionRequest) -> ActionReport;
}

/// Finds the connector for a tenant and provider (each tenant has its own org and credentials).
pub trait ConnectorRegistry: Send + Sync {
    fn connector(&self, tenant: &TenantPolicy, provider: Provider) -> Option<Arc<dyn Connector>>;

    /// The connector for one step: its provider's, or, for a provider serving several of the
    /// tenant's apps (SCIM), the connector of the step's app.
    fn connector_for(&self, tenant: &TenantPolicy, step: &Step) -> Option<Arc<dyn Connector>> {
        self.connector(tenant, step.provider)
    }
}
