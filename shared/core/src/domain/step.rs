use crate::domain::{Action, Provider};
use crate::ids::{RunId, StepKey};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One action on one provider within a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub run_id: RunId,
    pub key: StepKey,
    pub provider: Provider,
    /// The tenant's name for the app a step acts on, where a provider serves several apps (a
    /// SCIM app, an app whose owner confirms by hand); part of the step's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    pub action: Action,
    /// Critical steps must be verified for the run to close and can never be waived.
    pub critical: bool,
    /// May run before the cutoff, from the run's `early_at` (hand-over preparation).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub early: bool,
    pub depends_on: Vec<StepKey>,
    /// Not attempted before the run's cutoff plus this many seconds: an irreversible removal
    /// waits out the tenant's grace period, as a later step of the same run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_after_cutoff_s: Option<u64>,
    pub version: u64,
    pub state: StepState,
    /// Attempts started so far.
    pub attempts: u32,
    /// `attempts` when an operator last retried the step: the attempt budget counts from here.
    #[serde(default)]
    pub budget_start: u32,
    /// Held while a worker acts, so two workers never both act on one step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
    /// Earliest time of the next attempt (retry backoff, Retry-After).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<StepResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<StepError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<Waiver>,
    /// For human steps: what is to be confirmed and what has been.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human: Option<crate::domain::HumanTask>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// Waiting for its dependencies.
    Pending,
    /// Queued for a worker.
    Ready,
    /// A worker holds the lease and is acting.
    InFlight,
    /// Failed with a retryable error; queued again after `not_before`.
    RetryWait,
    /// Done and read back from the provider.
    Verified,
    /// Failed for good; holds the gate until retried (or waived, if not critical).
    Failed,
    /// A human step waiting for people to confirm its items.
    Awaiting,
    /// Skipped by an operator, with a reason. Never for critical steps.
    Waived,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Ready => "ready",
            StepState::InFlight => "in_flight",
            StepState::RetryWait => "retry_wait",
            StepState::Verified => "verified",
            StepState::Failed => "failed",
            StepState::Awaiting => "awaiting",
            StepState::Waived => "waived",
        }
    }

    /// Dependents may start once a step is verified or waived.
    pub fn satisfies_dependents(self) -> bool {
        matches!(self, StepState::Verified | StepState::Waived)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub owner: String,
    pub until: Timestamp,
}

/// What a verified step achieved and how it was proven.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    /// The target state already held; nothing was changed.
    pub repeat: bool,
    pub summary: String,
    /// What the provider reported when read back after the action: the proof.
    pub readback: serde_json::Value,
    /// Data later steps or the evidence need (e.g. the pre-state snapshot).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub output: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepError {
    pub class: StepErrorClass,
    pub code: String,
    pub message: String,
    pub at: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepErrorClass {
    Retryable,
    Permanent,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiver {
    pub actor: String,
    pub reason: String,
    pub at: Timestamp,
}

impl Step {
    /// A fresh pending step of `run_id`.
    pub fn new(
        run_id: &RunId,
        provider: Provider,
        action: Action,
        critical: bool,
        depends_on: Vec<StepKey>,
    ) -> Self {
        Self {
            run_id: run_id.clone(),
            key: step_key(provider, action),
            provider,
            app: None,
            action,
            critical,
            early: false,
            depends_on,
            wait_after_cutoff_s: None,
            version: 0,
            state: StepState::Pending,
            attempts: 0,
            budget_start: 0,
            lease: None,
            not_before: None,
            started_at: None,
            verified_at: None,
            result: None,
            last_error: None,
            waiver: None,
            human: None,
        }
    }
}

impl Step {
    /// The step for the tenant's app `app` of `provider`: keyed `provider.app.action`.
    #[must_use]
    pub fn in_app(mut self, app: &str) -> Self {
        self.key = app_step_key(self.provider, Some(app), self.action);
        self.app = Some(app.to_owned());
        self
    }

    /// Where the step's files go in a bundle: `okta`, or `scim/<app>` for an app's steps.
    pub fn scope(&self) -> String {
        match &self.app {
            Some(app) => format!("{}/{app}", self.provider),
            None => self.provider.as_str().to_owned(),
        }
    }
}

/// `provider.action`, the key a step has in its plan.
pub fn step_key(provider: Provider, action: Action) -> StepKey {
    StepKey(format!("{}.{}", provider.as_str(), action.as_str()))
}

/// `provider.app.action` for a step of one of the tenant's apps, else `provider.action`.
pub fn app_step_key(provider: Provider, app: Option<&str>, action: Action) -> StepKey {
    match app {
        Some(app) => StepKey(format!("{}.{app}.{}", provider.as_str(), action.as_str())),
        None => step_key(provider, action),
    }
}
