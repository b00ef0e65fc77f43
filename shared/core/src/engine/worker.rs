//! Working one queue delivery: claim the step, call the provider, record the outcome.
//!
//! Accounting that survives crashes: the claim stores the attempt as `started` in the same
//! commit that takes the lease, before any provider call, so every attempt is on record even
//! if its worker dies. A worker that takes over an expired lease marks that attempt
//! `interrupted`; only a long run of those (a step that keeps stopping its worker) gives the
//! step up as poison. Deliveries that find the step busy or not yet due hand their message back
//! as a fresh one, so neither waiting nor restarts bring a step nearer its dead-letter limit.

use super::effects::Write;
use super::{Engine, EngineError, after, until};
use crate::domain::{
    AttemptRecord, AttemptResult, Lease, Provider, Run, RunEvent, RunState, Step, StepError,
    StepErrorClass, StepState,
};
use crate::ids::{RunId, StepKey};
use crate::machine::step::StepInput;
use crate::ports::{
    ActionFailure, ActionOutcome, ActionReport, ActionRequest, Delivery, FailureClass, QueueMessage,
};
use jiff::Timestamp;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

/// What the host should do with the delivery it handed to [`Engine::handle`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Done: delete the message.
    Ack,
    /// The work must wait (a backoff, a throttle, an operation still running, another worker's
    /// lease): give the message back as a fresh one, delivered after this delay
    /// ([`crate::ports::StepQueue::requeue`]). Waiting is not a failed delivery, so it never
    /// counts toward the dead-letter limit.
    Requeue(Duration),
    /// Give up on the message and keep it, with the reason, in dead letters.
    DeadLetter(String),
}

impl Engine {
    /// Handles one delivery from the step queue. Never applies an effect twice: the step is
    /// claimed with a version-checked write first, and connectors check before they act.
    pub async fn handle(&self, delivery: &Delivery) -> Result<Disposition, EngineError> {
        let Some(message) = &delivery.message else {
            return Ok(Disposition::DeadLetter(format!(
                "undecodable message: {:.200}",
                delivery.body
            )));
        };
        if delivery.receive_count > self.settings.max_receives {
            let reason = format!(
                "message delivered {} times without completing; dead-lettered",
                delivery.receive_count
            );
            if let QueueMessage::Step { run_id, step_key } = message {
                self.dead_lettered(run_id, step_key, &reason).await?;
            }
            return Ok(Disposition::DeadLetter(reason));
        }
        match message {
            QueueMessage::Step { run_id, step_key } => self.work_step(run_id, step_key).await,
            QueueMessage::Finalize { run_id } => match self.finalize(run_id).await {
                Err(EngineError::Busy(wait)) => Ok(Disposition::Requeue(wait)),
                Err(e) => Err(e),
                Ok(_) => Ok(Disposition::Ack),
            },
        }
    }

    async fn work_step(&self, run_id: &RunId, key: &StepKey) -> Result<Disposition, EngineError> {
        let (run, steps, claimed, started) = match self.claim(run_id, key).await? {
            Claim::Claimed {
                run,
                steps,
                step,
                at,
            } => (run, steps, step, at),
            Claim::Skip(d) => return Ok(d),
        };
        if claimed.provider == Provider::Human {
            self.open_human_step(&run, &steps, claimed).await?;
            return Ok(Disposition::Ack);
        }
        let report = self.execute(&run, &steps, &claimed).await;
        self.record(&run, claimed, started, report).await
    }

    /// Takes the step's lease, or says why not. Taking over an expired lease records the dead
    /// worker's attempt as interrupted in the same commit.
    async fn claim(&self, run_id: &RunId, key: &StepKey) -> Result<Claim, EngineError> {
        for _ in 0..self.settings.conflict_retries {
            let Some(run) = self.ports.store.run(run_id).await? else {
                return Ok(Claim::Skip(Disposition::Ack));
            };
            let steps = self.ports.store.steps(run_id).await?;
            let Some(mut step) = steps.iter().find(|s| &s.key == key).cloned() else {
                return Ok(Claim::Skip(Disposition::Ack));
            };
            let now = self.now();
            if let Some(skip) = self.not_claimable(&run, &step, now) {
                return Ok(Claim::Skip(skip));
            }
            let mut write = Write::delivery(&run, key, now);
            let takeover = step.state == StepState::InFlight;
            if takeover && let Some(reason) = self.interrupted(&mut write, &mut step, now).await? {
                write.commit.steps.push(step);
                if self.write(write).await?.is_none() {
                    continue;
                }
                return Ok(Claim::Skip(Disposition::DeadLetter(reason)));
            }
            write.step(&mut step, StepInput::Claim)?;
            step.attempts += 1;
            step.lease = Some(Lease {
                owner: self.settings.worker_id.clone(),
                until: after(now, self.settings.lease),
            });
            step.not_before = None;
            step.started_at.get_or_insert(now);
            if step.provider != Provider::Human {
                write.commit.attempts.push(self.started(&step, now));
            }
            write.commit.events.push(RunEvent::new(
                run_id,
                now,
                "step.claimed",
                &format!("worker:{}", self.settings.worker_id),
                json!({"step": key, "attempt": step.attempts, "took_over_expired_lease": takeover}),
            ));
            write.commit.steps.push(step.clone());
            let Some(handover) = self.write(write).await? else {
                continue;
            };
            if !handover.execute {
                return Ok(Claim::Skip(Disposition::Ack));
            }
            step.version += 1;
            return Ok(Claim::Claimed {
                run,
                steps,
                step,
                at: now,
            });
        }
        Err(EngineError::Contended(self.settings.conflict_retries))
    }

    /// Why this delivery cannot claim the step now, and what to do with it instead; `None`
    /// when it can.
    fn not_claimable(&self, run: &Run, step: &Step, now: Timestamp) -> Option<Disposition> {
        let early_window = run.state == RunState::Scheduled
            && run.hold.is_none()
            && step.early
            && run.early_at.is_some_and(|t| t <= now);
        if !run.state.is_open() && !early_window {
            // Scheduled: the cutoff (or early window) will queue the step again. Closed or
            // cancelled: nothing left to do.
            return Some(Disposition::Ack);
        }
        match step.state {
            StepState::Pending
            | StepState::Verified
            | StepState::Failed
            | StepState::Waived
            | StepState::NotApplicable
            | StepState::Awaiting => Some(Disposition::Ack),
            // A live worker holds it; look again just after its lease would end.
            StepState::InFlight => {
                step.lease
                    .as_ref()
                    .filter(|lease| lease.until > now)
                    .map(|lease| {
                        Disposition::Requeue(until(now, lease.until) + Duration::from_secs(1))
                    })
            }
            StepState::Ready | StepState::RetryWait | StepState::AwaitingCompletion => step
                .not_before
                .filter(|nb| *nb > now)
                .map(|nb| Disposition::Requeue(until(now, nb))),
        }
    }

    /// Records the attempt of the worker whose lease expired as interrupted. After
    /// `max_interrupted` of them in a row the step is given up as poison, and the reason is
    /// returned; the write then fails the step (and blocks the run) instead of claiming it.
    async fn interrupted(
        &self,
        write: &mut Write,
        step: &mut Step,
        now: Timestamp,
    ) -> Result<Option<String>, EngineError> {
        if step.provider == Provider::Human {
            return Ok(None);
        }
        let lease = step.lease.clone();
        let ended = lease.as_ref().map_or(now, |l| l.until);
        let recorded = self
            .ports
            .store
            .attempts(&step.run_id)
            .await?
            .into_iter()
            .find(|a| a.step_key == step.key && a.number == step.attempts);
        let mut attempt = recorded.unwrap_or_else(|| AttemptRecord {
            worker: lease.map(|l| l.owner).unwrap_or_default(),
            ..self.started(step, ended)
        });
        attempt.result = AttemptResult::Interrupted;
        attempt.finished_at = ended;
        attempt.message = Some("the worker stopped before recording an outcome".into());
        write.commit.attempts.push(attempt);
        step.streaks.interrupted = step.streaks.interrupted.saturating_add(1);
        if step.streaks.interrupted < self.settings.max_interrupted.max(1) {
            return Ok(None);
        }
        let reason = format!(
            "{} attempts in a row were interrupted (their worker stopped before recording an outcome); given up as poison: dead-lettered",
            step.streaks.interrupted
        );
        self.give_up_as_poison(write, step, "interrupted", &reason, now)?;
        Ok(Some(reason))
    }

    /// An attempt as claimed, before its provider call.
    fn started(&self, step: &Step, at: Timestamp) -> AttemptRecord {
        AttemptRecord {
            run_id: step.run_id.clone(),
            step_key: step.key.clone(),
            number: step.attempts,
            worker: self.settings.worker_id.clone(),
            started_at: at,
            finished_at: at,
            result: AttemptResult::Started,
            error_code: None,
            message: None,
            calls: Vec::new(),
        }
    }

    async fn execute(&self, run: &Run, steps: &[Step], step: &Step) -> ActionReport {
        let permanent = |code: &str, message: String| ActionReport {
            outcome: ActionFailure {
                class: FailureClass::Permanent,
                code: code.into(),
                message,
            }
            .into(),
            calls: vec![],
        };
        let policy = match self.ports.tenants.tenant(&run.tenant).await {
            Ok(policy) => policy,
            // Only this tenant's configuration is at fault; its steps wait and retry.
            Err(e) => {
                return ActionReport {
                    outcome: ActionOutcome::Failed(ActionFailure {
                        class: FailureClass::Retryable { retry_after: None },
                        code: "tenant_config".into(),
                        message: e.to_string(),
                    }),
                    calls: vec![],
                };
            }
        };
        let Some(policy) = policy else {
            return permanent(
                "tenant_not_configured",
                format!("tenant {} is no longer configured", run.tenant),
            );
        };
        let Some(connector) = self.ports.connectors.connector_for(&policy, step) else {
            return permanent(
                "connector_not_configured",
                format!(
                    "no {} connection is configured for tenant {}",
                    step.provider, run.tenant
                ),
            );
        };
        if !connector.supports(step.action) {
            return permanent(
                "action_not_supported",
                format!("the {} connector cannot {}", step.provider, step.action),
            );
        }
        let mut prior: BTreeMap<StepKey, serde_json::Value> = steps
            .iter()
            .filter(|s| s.state == StepState::Verified)
            .filter_map(|s| s.result.as_ref().map(|r| (s.key.clone(), r.output.clone())))
            .collect();
        with_input(&mut prior, step);
        let request = ActionRequest {
            tenant: run.tenant.clone(),
            run_id: run.id.clone(),
            step_key: step.key.clone(),
            action: step.action,
            subject: run.subject.clone(),
            delegate: run
                .subject
                .manager
                .as_ref()
                .map(|m| m.email.clone())
                .or_else(|| policy.fallback_delegate.clone()),
            attempt: step.attempts,
            prior,
            operation: step.operation.clone(),
        };
        let mut report = connector.execute(&request).await;
        seal_recovery_secrets(&mut report, policy.recovery_key.as_deref());
        report
    }

    /// The queue gave up on a step's message: fail the step and block the run, with the reason.
    async fn dead_lettered(
        &self,
        run_id: &RunId,
        key: &StepKey,
        reason: &str,
    ) -> Result<(), EngineError> {
        for _ in 0..self.settings.conflict_retries {
            let Some(run) = self.ports.store.run(run_id).await? else {
                return Ok(());
            };
            if !run.state.is_open() {
                return Ok(());
            }
            let steps = self.ports.store.steps(run_id).await?;
            let Some(mut step) = steps.into_iter().find(|s| &s.key == key) else {
                return Ok(());
            };
            if !matches!(
                step.state,
                StepState::Ready
                    | StepState::RetryWait
                    | StepState::AwaitingCompletion
                    | StepState::InFlight
            ) {
                return Ok(());
            }
            let now = self.now();
            let mut write = Write::new(&run, now);
            self.give_up_as_poison(&mut write, &mut step, "dead_lettered", reason, now)?;
            write.commit.steps.push(step);
            // Storing the write blocks the run, with the reason.
            if self.write(write).await?.is_none() {
                continue;
            }
            return Ok(());
        }
        Err(EngineError::Contended(self.settings.conflict_retries))
    }

    /// Fails a step that cannot be worked (its message, or its attempts, keep failing to
    /// complete), so the run is blocked with the reason rather than left to spin.
    fn give_up_as_poison(
        &self,
        write: &mut Write,
        step: &mut Step,
        code: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        write.step(step, StepInput::DeadLettered)?;
        step.lease = None;
        step.last_error = Some(StepError {
            class: StepErrorClass::Permanent,
            code: code.into(),
            message: reason.into(),
            at: now,
        });
        write.commit.events.push(RunEvent::new(
            &step.run_id,
            now,
            "step.dead_lettered",
            "system",
            json!({"step": step.key, "reason": reason}),
        ));
        Ok(())
    }
}

enum Claim {
    Claimed {
        run: Run,
        steps: Vec<Step>,
        step: Step,
        /// When the claim was made: the attempt's start.
        at: Timestamp,
    },
    Skip(Disposition),
}

/// Seals every recovery secret (a Mac's lock PIN) in a done action's output before anything
/// stores it: the step result, its attempt record and the bundle then hold only the envelope.
/// A recovery key that cannot be used fails the step rather than let the secret through.
/// A step that carries its input (a restore step: its items, and the snapshot of the leaver
/// run it undoes) hands it to its connector under its own key, and the snapshot under the
/// provider's snapshot key, where every connector already looks for the account's id.
fn with_input(prior: &mut BTreeMap<StepKey, serde_json::Value>, step: &crate::domain::Step) {
    if step.input.is_null() {
        return;
    }
    prior.insert(step.key.clone(), step.input.clone());
    if !step.input["snapshot"].is_null() {
        prior
            .entry(crate::restore::snapshot_key(step))
            .or_insert_with(|| step.input["snapshot"].clone());
    }
}

fn seal_recovery_secrets(report: &mut ActionReport, recovery_key: Option<&str>) {
    let ActionOutcome::Done(done) = &mut report.outcome else {
        return;
    };
    if let Err(e) = crate::seal::seal_output(&mut done.output, recovery_key) {
        report.outcome = ActionOutcome::Failed(ActionFailure {
            class: FailureClass::Permanent,
            code: "recovery_key_unusable".into(),
            message: format!("the tenant's recovery key cannot seal the device's PIN: {e}"),
        });
    }
}
