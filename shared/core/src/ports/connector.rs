use crate::domain::{Action, CallRecord, PendingOperation, Provider, Step, Subject, TenantPolicy};
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
    /// The operation an earlier attempt of this step reported still running, if any. A poll
    /// that finds it complete is then no repeat: this step saw the change through.
    pub operation: Option<PendingOperation>,
}

impl ActionRequest {
    /// A restore step's items: what it gives back, as the leaver run it undoes recorded them
    /// (empty for any other step).
    pub fn restore_items(&self) -> Vec<crate::domain::RestoreItem> {
        self.prior
            .get(&self.step_key)
            .and_then(|input| serde_json::from_value(input["items"].clone()).ok())
            .unwrap_or_default()
    }
}

/// The result of one attempt, with every call made along the way.
#[derive(Clone, Debug)]
pub struct ActionReport {
    pub outcome: ActionOutcome,
    pub calls: Vec<CallRecord>,
}

/// How far one attempt got.
#[derive(Clone, Debug, PartialEq)]
pub enum ActionOutcome {
    /// Done and read back.
    Done(ActionDone),
    /// Issued, and the provider is still completing it (a Drive transfer, a device action that
    /// waits for the device to check in): not a failure, the engine asks again later.
    Pending(ActionPending),
    /// Not done: why, and whether trying again can help.
    Failed(ActionFailure),
}

/// Each of these hands back the outcome as it is when it is of another kind, so a caller that
/// expects one kind can say what it got instead.
impl ActionOutcome {
    /// The read-back of a done action.
    pub fn done(self) -> Result<ActionDone, Box<Self>> {
        match self {
            ActionOutcome::Done(done) => Ok(done),
            other => Err(Box::new(other)),
        }
    }

    /// The operation still running.
    pub fn pending(self) -> Result<ActionPending, Box<Self>> {
        match self {
            ActionOutcome::Pending(pending) => Ok(pending),
            other => Err(Box::new(other)),
        }
    }

    /// The failure.
    pub fn failed(self) -> Result<ActionFailure, Box<Self>> {
        match self {
            ActionOutcome::Failed(failure) => Ok(failure),
            other => Err(Box::new(other)),
        }
    }
}

impl From<ActionDone> for ActionOutcome {
    fn from(done: ActionDone) -> Self {
        ActionOutcome::Done(done)
    }
}

impl From<ActionPending> for ActionOutcome {
    fn from(pending: ActionPending) -> Self {
        ActionOutcome::Pending(pending)
    }
}

impl From<ActionFailure> for ActionOutcome {
    fn from(failure: ActionFailure) -> Self {
        ActionOutcome::Failed(failure)
    }
}

/// Connectors write their actions as `Result`s so a failed call ends the action with `?`.
impl<T: Into<ActionOutcome>> From<Result<T, ActionFailure>> for ActionOutcome {
    fn from(result: Result<T, ActionFailure>) -> Self {
        match result {
            Ok(outcome) => outcome.into(),
            Err(failure) => ActionOutcome::Failed(failure),
        }
    }
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

/// A long-running operation the provider accepted and has not finished. Each provider knows
/// how long its own operations take, so it says when to look again and how long to wait in
/// all before the step fails.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionPending {
    /// Names the operation's state (e.g. `transfer_in_progress`), for the attempt record.
    pub code: String,
    /// What is outstanding, for operators and the evidence.
    pub what: String,
    /// When to look again: the operation's own cadence.
    pub poll_after: Duration,
    /// How long such an operation may take, counted from when a step first saw it pending.
    pub deadline: Duration,
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
    /// The provider asked Passage to slow down (429, a 503 with Retry-After, Google's rate
    /// limit reasons). Not the step's failure: it waits `retry_after` (never less), and the wait
    /// uses none of its deadline.
    Throttled { retry_after: Option<Duration> },
    /// Transient (5xx, timeouts, a read-back the provider has not caught up with): worth trying
    /// again until the step's deadline; `retry_after` is the provider's own hint, if it gave one.
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

    /// The tenant's sign-in log at `provider`, when its connection can read one. None: the
    /// sign-in watch records the provider as not observable.
    fn sign_in_log(
        &self,
        _tenant: &TenantPolicy,
        _provider: Provider,
    ) -> Option<Arc<dyn crate::ports::SignInLog>> {
        None
    }
}
