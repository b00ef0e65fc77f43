//! Intake: a signed termination webhook becomes a durably stored, scheduled run.
//!
//! Order of checks: size, tenant, signature, payload (its format, then whether its date lies in
//! the tenant's window), then storage. Nothing is stored unless
//! every check passes, and the answer is 2xx only once the run is durable. The delivery id is
//! the idempotency key: a resent webhook gets the same run back.

use super::{Engine, EngineError};
use crate::cutoff::{self, CutoffError, CutoffRequest};
use crate::domain::{Manager, Run, RunEvent, RunSource, RunState, Subject, TenantPolicy};
use crate::ids::{RunId, TenantId, is_valid_tenant_id};
use crate::plan::{self, PlanError};
use crate::ports::{HrError, InsertOutcome, RunFilter, TenantError};
use crate::secret::Secret;
use jiff::Timestamp;
use passage_hris::{
    Classified, ErrorKind, EventError, HeaderLookup, LeaverEvent, MAX_BODY_BYTES, Problem,
    StandardWebhooksVerifier, VerifiedDelivery, VerifyError, WebhookVerifier,
};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A leaver as the engine takes it, whichever way it arrived.
#[derive(Clone, Debug)]
pub struct LeaverRequest {
    pub employee_id: String,
    pub email: String,
    pub display_name: Option<String>,
    pub time_zone: Option<String>,
    pub cutoff: CutoffRequest,
    pub manager: Option<Manager>,
}

/// The answer to an accepted delivery.
#[derive(Clone, Debug, Serialize)]
pub struct Accepted {
    pub run_id: RunId,
    /// False when this delivery (or an open run for the same employee) already had a run.
    pub created: bool,
    pub state: RunState,
    pub cutoff_at: Timestamp,
    /// The go-live guard holds the run until an operator approves it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub held: bool,
}

/// Why a delivery was refused or could not be taken. Nothing is stored when intake answers
/// with one of these.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("unknown tenant {0:?}")]
    UnknownTenant(String),
    #[error("tenant {0} has no webhook secret configured, so no delivery can be authenticated")]
    NotConfigured(String),
    #[error("webhook secret for tenant {0} is unusable: {1}")]
    BadSecret(String, String),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Event(#[from] EventError),
    #[error("the event is for tenant {body:?} but was delivered to tenant {path:?}")]
    TenantMismatch { path: String, body: String },
    #[error(transparent)]
    Cutoff(#[from] CutoffError),
    #[error("unknown HR vendor: {0}")]
    UnknownVendor(String),
    #[error("tenant {tenant} does not accept {vendor} webhooks (none configured)")]
    VendorNotConfigured { tenant: String, vendor: String },
    #[error("the event cannot be used: {0}")]
    Hint(String),
    #[error("tenant {0} has no HR system API configured, so this hint cannot be followed up")]
    NoHrSource(String),
    #[error("the HR system did not answer; the sender should retry: {0}")]
    HrUnavailable(String),
    #[error("the HR system refused Passage's request (check its API credentials): {0}")]
    HrRefused(String),
    #[error("{0} did not accept the verification token this handshake carried; nothing was kept")]
    HandshakeRefused(String),
    /// The tenant's configuration, not a passing outage: said so rather than inviting a retry.
    #[error("tenant policy cannot produce a run: {0}")]
    Policy(PlanError),
    #[error("the run could not be stored; the sender should retry: {0}")]
    Unavailable(EngineError),
    /// This tenant's configuration cannot be read or used: a 503 naming the configuration, so
    /// the sender retries and succeeds once an administrator fixes it. Other tenants are fine.
    #[error("{0}; the sender should retry once it is fixed")]
    TenantConfig(#[from] TenantError),
}

impl From<EngineError> for IntakeError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Plan(e) => IntakeError::Policy(e),
            other => IntakeError::Unavailable(other),
        }
    }
}

impl From<HrError> for IntakeError {
    /// The HR system down is worth a retry by the sender; a refusal needs an administrator.
    fn from(e: HrError) -> Self {
        match e {
            HrError::Unavailable(why) => IntakeError::HrUnavailable(why),
            other => IntakeError::HrRefused(other.to_string()),
        }
    }
}

impl Classified for IntakeError {
    fn kind(&self) -> ErrorKind {
        match self {
            IntakeError::UnknownTenant(_) | IntakeError::UnknownVendor(_) => ErrorKind::NotFound,
            IntakeError::NotConfigured(_)
            | IntakeError::BadSecret(..)
            | IntakeError::VendorNotConfigured { .. }
            | IntakeError::HandshakeRefused(_) => ErrorKind::Unauthenticated,
            IntakeError::Verify(e) => e.kind(),
            IntakeError::Event(e) => e.kind(),
            IntakeError::TenantMismatch { .. } => ErrorKind::Forbidden,
            IntakeError::Cutoff(_)
            | IntakeError::Hint(_)
            | IntakeError::NoHrSource(_)
            | IntakeError::Policy(_) => ErrorKind::Unprocessable,
            IntakeError::HrRefused(_) => ErrorKind::UpstreamRefused,
            IntakeError::HrUnavailable(_)
            | IntakeError::Unavailable(_)
            | IntakeError::TenantConfig(_) => ErrorKind::Unavailable,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            IntakeError::UnknownTenant(_) => "unknown_tenant",
            IntakeError::NotConfigured(_) => "webhooks_not_configured",
            IntakeError::BadSecret(..) => "webhooks_misconfigured",
            IntakeError::Verify(e) => e.code(),
            IntakeError::Event(e) => e.code(),
            IntakeError::TenantMismatch { .. } => "tenant_mismatch",
            IntakeError::Cutoff(_) => "invalid_cutoff",
            IntakeError::UnknownVendor(_) => "unknown_vendor",
            IntakeError::VendorNotConfigured { .. } => "vendor_not_configured",
            IntakeError::Hint(_) => "unusable_event",
            IntakeError::NoHrSource(_) => "hr_api_not_configured",
            IntakeError::HrUnavailable(_) => "hr_unavailable",
            IntakeError::HrRefused(_) => "hr_refused",
            IntakeError::HandshakeRefused(_) => "handshake_refused",
            IntakeError::Policy(_) => "tenant_misconfigured",
            IntakeError::Unavailable(_) => "unavailable",
            IntakeError::TenantConfig(TenantError::Misconfigured { .. }) => "tenant_config_invalid",
            IntakeError::TenantConfig(TenantError::Unavailable { .. }) => {
                "tenant_config_unavailable"
            }
        }
    }

    fn details(&self) -> Option<&[Problem]> {
        match self {
            IntakeError::Event(e) => e.details(),
            IntakeError::Verify(e) => e.details(),
            _ => None,
        }
    }
}

impl From<&LeaverEvent> for LeaverRequest {
    /// `immediate` wins over any date; an event with neither date is immediate too (the
    /// parser only lets that through when `immediate` is set).
    fn from(event: &LeaverEvent) -> Self {
        LeaverRequest {
            employee_id: event.employee_id().to_owned(),
            email: event.email().to_owned(),
            display_name: event.display_name().map(str::to_owned),
            time_zone: Some(event.time_zone_name().to_owned()),
            cutoff: if event.immediate() {
                CutoffRequest::Immediate
            } else if let Some(at) = event.cutoff_at() {
                CutoffRequest::Exact(at)
            } else if let Some(day) = event.last_working_day() {
                CutoffRequest::LastWorkingDay(day)
            } else {
                CutoffRequest::Immediate
            },
            manager: event.manager().map(|m| Manager {
                email: m.email().to_owned(),
                employee_id: m.employee_id().map(str::to_owned),
            }),
        }
    }
}

impl Engine {
    /// The first checks of every intake, before any signature: the body's size, then the
    /// tenant named in the path.
    pub(crate) async fn intake_tenant(
        &self,
        tenant: &str,
        body: &[u8],
    ) -> Result<TenantPolicy, IntakeError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(IntakeError::Event(EventError::TooLarge {
                size: body.len(),
                limit: MAX_BODY_BYTES,
            }));
        }
        if !is_valid_tenant_id(tenant) {
            return Err(IntakeError::UnknownTenant(tenant.to_owned()));
        }
        self.ports
            .tenants
            .tenant(&TenantId::new(tenant))
            .await?
            .ok_or_else(|| IntakeError::UnknownTenant(tenant.to_owned()))
    }

    /// Authenticates and accepts a Standard Webhooks leaver event delivered for `tenant`.
    pub async fn receive_webhook(
        &self,
        tenant: &str,
        headers: &(dyn HeaderLookup + Sync),
        body: &[u8],
    ) -> Result<Accepted, IntakeError> {
        let policy = self.intake_tenant(tenant, body).await?;
        let now = self.now();
        let delivery = verify_leaver_delivery(&policy, headers, body, now)?;
        let event = LeaverEvent::parse(body)?;
        if event.tenant() != tenant {
            return Err(IntakeError::TenantMismatch {
                path: tenant.to_owned(),
                body: event.tenant().to_owned(),
            });
        }
        policy.date_window.check(&event, now)?;
        let request = LeaverRequest::from(&event);
        let source = RunSource::Webhook {
            vendor: delivery.scheme.to_owned(),
            delivery_id: delivery.delivery_id.clone(),
            verified_by: delivery.method.clone(),
            received_at: now,
            body_sha256: hex::encode(Sha256::digest(body)),
            event: passage_hris::redacted_event(&event),
        };
        let key = format!("{}:{}", delivery.scheme, delivery.delivery_id);
        let zone = request
            .time_zone
            .as_deref()
            .unwrap_or(&policy.default_time_zone);
        let cutoff = cutoff::resolve(&request.cutoff, zone, policy.end_of_day, now)?;
        Ok(self.accept(&policy, source, &key, request, cutoff).await?)
    }

    /// Stores a new run (or finds the existing one) and arms its cutoff.
    pub async fn accept(
        &self,
        policy: &TenantPolicy,
        source: RunSource,
        idempotency_key: &str,
        request: LeaverRequest,
        cutoff: cutoff::Cutoff,
    ) -> Result<Accepted, EngineError> {
        let actor = actor_of(&source);
        // One leaver, one open run: a second event for someone whose run is still pending or
        // open returns that run rather than starting a competing one.
        if let Some(existing) = self.open_run(policy, &request.employee_id).await? {
            let change = json!({"source": source, "idempotency_key": idempotency_key});
            return self
                .answer_existing(existing, cutoff, idempotency_key, &actor, change)
                .await;
        }
        let now = self.now();
        let mut run = scheduled_run(policy, source, idempotency_key, request, cutoff, now);
        let delegate = run
            .subject
            .manager
            .as_ref()
            .map(|m| m.email.as_str())
            .or(policy.fallback_delegate.as_deref());
        let steps = plan::build(&run.id, policy, delegate)?;
        run.early_at = early_at(policy, &steps, run.cutoff.at);
        let event = RunEvent::new(
            &run.id,
            now,
            "run.created",
            &actor,
            json!({"cutoff": run.cutoff, "steps": steps.iter().map(|s| &s.key).collect::<Vec<_>>()}),
        );
        let mut events = vec![event];
        run.hold = self.guard_hold(policy, idempotency_key, now).await?;
        if let Some(hold) = &run.hold {
            events.push(RunEvent::new(
                &run.id,
                now,
                "run.held",
                "system",
                json!(hold),
            ));
        }
        match self.ports.store.insert_run(&run, &steps, &events).await? {
            // The same delivery (or another for the same employee) raced this one and won: its
            // run is the answer.
            InsertOutcome::Existing(id) | InsertOutcome::OpenRun(id) => {
                let existing = self
                    .ports
                    .store
                    .run(&id)
                    .await?
                    .ok_or_else(|| EngineError::NotFound(format!("run {id}")))?;
                Ok(Accepted::of(&existing, false))
            }
            InsertOutcome::Created => {
                events.iter().for_each(super::log_event);
                run.state = self.arm(&run, now).await;
                Ok(Accepted::of(&run, true))
            }
        }
    }

    /// The employee's run that is not yet closed or cancelled, if any.
    async fn open_run(
        &self,
        policy: &TenantPolicy,
        employee_id: &str,
    ) -> Result<Option<Run>, EngineError> {
        let runs = self
            .ports
            .store
            .list_runs(&RunFilter {
                tenant: Some(policy.id.clone()),
                employee_id: Some(employee_id.to_owned()),
                ..RunFilter::default()
            })
            .await?;
        Ok(runs.into_iter().find(|r| !r.state.is_terminal()))
    }

    /// The answer for a leaver who already has an open run. A later event (not a resend of the
    /// first) with a different cutoff moves a run that has not started: the newest word from HR
    /// decides the date.
    async fn answer_existing(
        &self,
        existing: Run,
        cutoff: cutoff::Cutoff,
        idempotency_key: &str,
        actor: &str,
        change: Value,
    ) -> Result<Accepted, EngineError> {
        if existing.state == RunState::Scheduled
            && existing.cutoff.at != cutoff.at
            && existing.idempotency_key != idempotency_key
        {
            let moved = self
                .move_cutoff(
                    &existing.id,
                    cutoff,
                    actor,
                    "a later event for this leaver gave a different cutoff",
                    change,
                )
                .await;
            return match moved {
                Ok(moved) => Ok(Accepted::of(&moved, false)),
                // The run started between the read and the move (two deliveries racing): the
                // later word came too late to move it, and the run is still the answer.
                Err(EngineError::NotAllowed(_)) => {
                    let current = self.ports.store.run(&existing.id).await?;
                    Ok(Accepted::of(current.as_ref().unwrap_or(&existing), false))
                }
                Err(e) => Err(e),
            };
        }
        Ok(Accepted::of(&existing, false))
    }

    /// Sets a newly stored run's timer, starts its early steps if their window is already open,
    /// and fires its cutoff if that has passed; returns the state the run is then in. The run
    /// is durable by now, so a failure here is repaired by the sweep and must not become an
    /// error the sender would retry.
    pub(super) async fn arm(&self, run: &Run, now: Timestamp) -> RunState {
        if run.hold.is_some() {
            // No timer and nothing released: approving the run arms it.
            return RunState::Scheduled;
        }
        if let Err(e) = self
            .ports
            .timer
            .schedule(&run.tenant, &run.id, next_fire(run, now))
            .await
        {
            tracing::warn!(run = %run.id, error = %e, "timer not set; the sweep will start the run");
        }
        if run.cutoff.at > now && run.early_at.is_some_and(|t| t <= now) {
            // Already inside the early window: start the hand-over preparation.
            if let Err(e) = self.release_ready(&run.id).await {
                tracing::warn!(run = %run.id, error = %e, "early steps deferred to the timer");
            }
        }
        if run.cutoff.at > now {
            return RunState::Scheduled;
        }
        match self.fire_cutoff(&run.id).await {
            Ok(_) => RunState::Running,
            Err(e) => {
                tracing::warn!(run = %run.id, error = %e, "start deferred to the sweep");
                RunState::Scheduled
            }
        }
    }
}

impl Accepted {
    fn of(run: &Run, created: bool) -> Self {
        Accepted {
            run_id: run.id.clone(),
            created,
            state: run.state,
            cutoff_at: run.cutoff.at,
            held: run.hold.is_some(),
        }
    }
}

/// Checks a Passage event's signature against the tenant's webhook secrets (several during a
/// rotation).
fn verify_leaver_delivery(
    policy: &TenantPolicy,
    headers: &(dyn HeaderLookup + Sync),
    body: &[u8],
    now: Timestamp,
) -> Result<VerifiedDelivery, IntakeError> {
    let tenant = policy.id.as_str();
    if policy.webhook_secrets.is_empty() {
        return Err(IntakeError::NotConfigured(tenant.to_owned()));
    }
    let secrets: Vec<&str> = policy.webhook_secrets.iter().map(Secret::expose).collect();
    let verifier = StandardWebhooksVerifier::new(&secrets)
        .map_err(|e| IntakeError::BadSecret(tenant.to_owned(), e.to_string()))?;
    Ok(verifier.verify(headers, body, now.as_second())?)
}

/// Who a run's events name as acting, from where its leaver came.
pub(crate) fn actor_of(source: &RunSource) -> String {
    match source {
        RunSource::Webhook { vendor, .. } => format!("hr:{vendor}"),
        RunSource::Manual { actor, .. } => format!("operator:{actor}"),
        RunSource::Reconcile { vendor, .. } => format!("hr:{vendor}:reconcile"),
        RunSource::Restore(origin) => format!("operator:{}", origin.actor),
    }
}

/// A new run for `request`, scheduled for `cutoff`; its early window is set once its plan is
/// known.
pub(crate) fn scheduled_run(
    policy: &TenantPolicy,
    source: RunSource,
    idempotency_key: &str,
    request: LeaverRequest,
    cutoff: cutoff::Cutoff,
    now: Timestamp,
) -> Run {
    Run {
        id: RunId::generate(),
        tenant: policy.id.clone(),
        version: 0,
        state: RunState::Scheduled,
        subject: Subject {
            employee_id: request.employee_id,
            email: request.email,
            display_name: request.display_name,
            time_zone: cutoff.zone.clone(),
            manager: request.manager,
        },
        source,
        idempotency_key: idempotency_key.to_owned(),
        cutoff,
        created_at: now,
        started_at: None,
        closed_at: None,
        blocked_reason: None,
        hold: None,
        alerts: Vec::new(),
        cancellation: None,
        exceptions: Vec::new(),
        bundle: None,
        finalizing: None,
        sign_in_watch: None,
        early_at: None,
    }
}

/// When a run's early steps may start: `lead` before the cutoff, if the plan has any.
pub(crate) fn early_at(
    policy: &TenantPolicy,
    steps: &[crate::domain::Step],
    cutoff: Timestamp,
) -> Option<Timestamp> {
    let lead = policy.early.as_ref()?.lead;
    steps.iter().any(|s| s.early).then(|| {
        let lead = jiff::SignedDuration::try_from(lead).unwrap_or(jiff::SignedDuration::ZERO);
        cutoff.saturating_sub(lead).unwrap_or(cutoff)
    })
}

/// The next moment the run's timer must fire: its early window if that is still ahead, else
/// its cutoff.
pub(crate) fn next_fire(run: &Run, now: Timestamp) -> Timestamp {
    match run.early_at {
        Some(early) if early > now && early < run.cutoff.at => early,
        _ => run.cutoff.at,
    }
}
