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
    /// Attempts started so far (each claim is one, an interrupted one included).
    pub attempts: u32,
    /// How the latest attempts went, for deciding when to try again and when to give up.
    #[serde(default, skip_serializing_if = "Streaks::is_clear")]
    pub streaks: Streaks,
    /// The long-running operation the provider is completing, while the step awaits it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<PendingOperation>,
    /// When the tenant was told the step is past its SLA (once per step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla_alerted_at: Option<Timestamp>,
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
    /// Why the step is `not_applicable`: the read that found no account for the leaver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absence: Option<crate::domain::AbsenceProof>,
    /// For human steps: what is to be confirmed and what has been.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human: Option<crate::domain::HumanTask>,
    /// What the step acts on that no step of its own run produced: a restore step's items
    /// and the snapshot it restores to, from the leaver run it undoes. Its connector reads
    /// it under the step's own key in `ActionRequest::prior`.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub input: serde_json::Value,
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
    /// Failed with a retryable error, or throttled; queued again after `not_before`.
    RetryWait,
    /// The provider accepted a long-running operation and is completing it; polled again
    /// after `not_before`, until the operation's own deadline.
    AwaitingCompletion,
    /// Done and read back from the provider.
    Verified,
    /// Failed for good; holds the gate until retried (or waived, if not critical).
    Failed,
    /// A human step waiting for people to confirm its items.
    Awaiting,
    /// Skipped by an operator, with a reason. Never for critical steps.
    Waived,
    /// Closed by an operator because a fresh read proved the leaver has no account at the
    /// provider; the proof is on the step. Critical steps may end this way.
    NotApplicable,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Ready => "ready",
            StepState::InFlight => "in_flight",
            StepState::RetryWait => "retry_wait",
            StepState::AwaitingCompletion => "awaiting_completion",
            StepState::Verified => "verified",
            StepState::Failed => "failed",
            StepState::Awaiting => "awaiting",
            StepState::Waived => "waived",
            StepState::NotApplicable => "not_applicable",
        }
    }

    /// Being worked by the engine: queued, acting, or waiting to try or poll again.
    pub fn is_in_progress(self) -> bool {
        matches!(
            self,
            StepState::Ready
                | StepState::InFlight
                | StepState::RetryWait
                | StepState::AwaitingCompletion
        )
    }

    /// Dependents may start once a step is verified, waived or proven not applicable.
    pub fn satisfies_dependents(self) -> bool {
        matches!(
            self,
            StepState::Verified | StepState::Waived | StepState::NotApplicable
        )
    }
}

/// Runs of like answers, each ended by an answer of another kind. The retry rules read them:
/// the deadline counts from the first failure of the current run of failures, so time spent
/// throttled or waiting on a provider's operation never uses it up.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Streaks {
    /// The first transient failure of the current run of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<Timestamp>,
    /// Transient failures in a row: the exponent of the next backoff.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failures: u32,
    /// Throttled answers in a row, for the backoff when a provider names no wait.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub throttles: u32,
    /// Attempts in a row whose worker stopped before recording them (a crash loop, if long).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub interrupted: u32,
}

impl Streaks {
    pub fn is_clear(&self) -> bool {
        self == &Self::default()
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A long-running operation a provider accepted and is still completing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingOperation {
    /// The provider's state of it, as the connector names it (`transfer_in_progress`).
    pub code: String,
    /// What is outstanding, in words.
    pub what: String,
    /// When the step first saw it pending.
    pub since: Timestamp,
    /// When the step fails if the operation has still not completed.
    pub deadline: Timestamp,
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
            streaks: Streaks::default(),
            operation: None,
            sla_alerted_at: None,
            lease: None,
            not_before: None,
            started_at: None,
            verified_at: None,
            result: None,
            last_error: None,
            waiver: None,
            absence: None,
            human: None,
            input: serde_json::Value::Null,
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
