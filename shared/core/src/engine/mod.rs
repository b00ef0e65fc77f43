//! The engine: the only code that changes runs. Hosts call it from HTTP handlers, queue
//! consumers and timers; it talks to the world only through [`crate::ports`].

mod alerts;
pub use alerts::sla_due;
mod cutoff;
mod effects;
mod error;
mod exception;
mod finalize;
mod guard;
mod hr;
mod hr_intake;
mod human;
mod intake;
mod keys;
mod not_applicable;
mod operator;
mod outcome;
mod preview;
mod release;
mod report;
mod restore;
mod sla;
mod sweep;
mod watch;
mod worker;

pub use cutoff::Fired;
pub use error::{Classified, EngineError, ErrorKind};
pub use guard::Approval;
pub use hr::{HrOrigin, HrOutcome, RECONCILE_DAYS, ReconcileReport};
pub use hr_intake::HrAccepted;
pub use human::ConfirmRequest;
pub use intake::{Accepted, IntakeError, LeaverRequest};
pub use keys::Rotated;
pub use operator::ManualLeaver;
pub use preview::{PlanPreview, PlanRequest, ProviderRead};
pub use restore::{RestoreAnswer, RestoreRequest};
pub use sweep::SweepReport;
pub use watch::{Watched, reopened_slot, run_of_slot};
pub use worker::Disposition;

use crate::ports::{
    AuditLog, Clock, ConnectorRegistry, EvidenceStore, HrSourceRegistry, KeyVault, Notifier,
    RunStore, StepQueue, TenantDirectory, Timer, TimestampAuthority,
};
use crate::retry::Backoff;
use std::sync::Arc;
use std::time::Duration;

/// Tunables. Defaults suit production; tests shorten the timings.
#[derive(Clone, Debug)]
pub struct EngineSettings {
    /// Names this worker in leases and attempt records.
    pub worker_id: String,
    /// How long a claimed step stays claimed. Longer than any single attempt can take, so a live
    /// worker never loses its lease; a crashed worker's step is picked up after it expires.
    pub lease: Duration,
    /// Attempts in a row whose worker stopped before recording them (a step that crashes its
    /// worker) before the step is given up as poison and its run blocked. Only attempts count:
    /// a delivery that finds the step busy or not yet due, or that comes back after a restart,
    /// makes none.
    pub max_interrupted: u32,
    /// Deliveries of one message before it is dead-lettered and its run blocked: the queue's
    /// own backstop, far above `max_interrupted`. Waiting never adds to it, because a step that
    /// waits gives its message back as a fresh one ([`Disposition::Requeue`]).
    pub max_receives: u32,
    pub backoff: Backoff,
    /// Attempts to re-read and re-apply a change after a version conflict.
    pub conflict_retries: u32,
    /// Signed links that let a manager confirm a hand-over from the reminder itself.
    pub confirm_links: Option<ConfirmLinks>,
}

/// Where confirmation links point and the key that signs them (the installation's link key).
#[derive(Clone, Debug)]
pub struct ConfirmLinks {
    /// The public base URL of this installation, e.g. `https://passage.example.com`.
    pub base_url: String,
    pub key: crate::secret::Secret,
    pub valid_for: Duration,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            worker_id: format!("worker-{}", uuid::Uuid::new_v4().simple()),
            lease: Duration::from_secs(60),
            max_interrupted: 10,
            max_receives: 100,
            backoff: Backoff::default(),
            conflict_retries: 16,
            confirm_links: None,
        }
    }
}

/// The adapters one engine runs on.
#[derive(Clone)]
pub struct Ports {
    pub store: Arc<dyn RunStore>,
    pub queue: Arc<dyn StepQueue>,
    /// Each tenant's signing keys and what is published about them.
    pub keys: Arc<dyn KeyVault>,
    /// Timestamps every bundle's signature when configured (`[server] tsa_url`).
    pub timestamps: Option<Arc<dyn TimestampAuthority>>,
    pub evidence: Arc<dyn EvidenceStore>,
    pub timer: Arc<dyn Timer>,
    pub clock: Arc<dyn Clock>,
    pub connectors: Arc<dyn ConnectorRegistry>,
    pub tenants: Arc<dyn TenantDirectory>,
    /// Each tenant's HR system API, for hints and reconciliation.
    pub hr: Arc<dyn HrSourceRegistry>,
    /// Delivers reminders and escalations of overdue human steps.
    pub notifier: Arc<dyn Notifier>,
    /// The tenants' audit log: auditor links issued and fetched.
    pub audit: Arc<dyn AuditLog>,
}

#[derive(Clone)]
pub struct Engine {
    ports: Ports,
    settings: EngineSettings,
    /// One lock per tenant evidence chain, held while this process extends it. A tenant's bundles
    /// are chained, so closing is serial per tenant; letting a second closer wait its turn
    /// (instead of building a bundle only to lose the chain's compare-and-set) keeps a layoff's
    /// hundreds of closures linear. Across processes the compare-and-set still decides.
    finalizing: Arc<
        std::sync::Mutex<
            std::collections::HashMap<crate::ids::TenantId, Arc<tokio::sync::Mutex<()>>>,
        >,
    >,
}

impl Engine {
    pub fn new(ports: Ports, settings: EngineSettings) -> Self {
        Self {
            ports,
            settings,
            finalizing: Arc::default(),
        }
    }

    pub fn ports(&self) -> &Ports {
        &self.ports
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    pub fn now(&self) -> jiff::Timestamp {
        self.ports.clock.now()
    }

    /// Commits, answering `false` when a version check failed: the caller re-reads and decides
    /// again. Every engine write goes through here, inside a bounded retry loop.
    async fn try_commit(&self, commit: crate::ports::Commit) -> Result<bool, EngineError> {
        let events = commit.events.clone();
        match self.ports.store.commit(commit).await {
            Ok(()) => {
                events.iter().for_each(log_event);
                Ok(true)
            }
            Err(crate::ports::StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

/// One log event per stored run or step transition (`run.started`, `step.verified`, …), with
/// the run, the step when there is one, and who acted: what an operator's log search or a
/// JSON log pipeline follows a run by.
pub(crate) fn log_event(event: &crate::domain::RunEvent) {
    let step = event
        .detail
        .get("step")
        .and_then(|s| s.as_str())
        .unwrap_or("");
    tracing::info!(
        target: "passage::events",
        run = %event.run_id,
        kind = %event.kind,
        step,
        actor = %event.actor,
        "{}",
        event.kind
    );
}

/// Converts a std duration into a jiff span-compatible signed duration.
pub(crate) fn after(at: jiff::Timestamp, d: Duration) -> jiff::Timestamp {
    let sd = jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX);
    at.saturating_add(sd).unwrap_or(at)
}

/// Time from `now` until `at` (zero if past).
pub(crate) fn until(now: jiff::Timestamp, at: jiff::Timestamp) -> Duration {
    Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO)
}
