//! Working one queue delivery: claim the step, call the provider, record the outcome.

use super::effects::Write;
use super::{Engine, EngineError, after, until};
use crate::domain::{
    AttemptRecord, AttemptResult, Lease, Run, RunEvent, RunState, Step, StepError, StepErrorClass,
    StepResult, StepState,
};
use crate::ids::{RunId, StepKey};
use crate::machine::step::StepInput;
use crate::ports::{
    ActionDone, ActionFailure, ActionReport, ActionRequest, Delivery, FailureClass, QueueMessage,
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
    /// Deliver again after this delay (retry backoff, or another worker holds the lease).
    Release(Duration),
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
                Err(EngineError::Busy(wait)) => Ok(Disposition::Release(wait)),
                Err(e) => Err(e),
                Ok(_) => Ok(Disposition::Ack),
            },
        }
    }

    async fn work_step(&self, run_id: &RunId, key: &StepKey) -> Result<Disposition, EngineError> {
        let (run, steps, claimed) = match self.claim(run_id, key).await? {
            Claim::Claimed { run, steps, step } => (run, steps, step),
            Claim::Skip(d) => return Ok(d),
        };
        if claimed.provider == crate::domain::Provider::Human {
            self.open_human_step(&run, &steps, claimed).await?;
            return Ok(Disposition::Ack);
        }
        let started = self.now();
        let report = self.execute(&run, &steps, &claimed).await;
        self.record(&run, claimed, started, report).await
    }

    /// Takes the step's lease, or says why not.
    async fn claim(&self, run_id: &RunId, key: &StepKey) -> Result<Claim, EngineError> {
        for _ in 0..self.settings.conflict_retries {
            let Some(run) = self.ports.store.run(run_id).await? else {
                return Ok(Claim::Skip(Disposition::Ack));
            };
            let steps = self.ports.store.steps(run_id).await?;
            let Some(mut step) = steps.iter().find(|s| &s.key == key).cloned() else {
                return Ok(Claim::Skip(Disposition::Ack));
            };
            let early_window = run.state == RunState::Scheduled
                && step.early
                && run.early_at.is_some_and(|t| t <= self.now());
            if !run.state.is_open() && !early_window {
                // Scheduled: the cutoff (or early window) will queue the step again. Closed or
                // cancelled: nothing left to do.
                return Ok(Claim::Skip(Disposition::Ack));
            }
            let now = self.now();
            match step.state {
                StepState::Pending
                | StepState::Verified
                | StepState::Failed
                | StepState::Waived
                | StepState::Awaiting => return Ok(Claim::Skip(Disposition::Ack)),
                StepState::InFlight => {
                    if let Some(lease) = &step.lease
                        && lease.until > now
                    {
                        // A live worker holds it; look again just after its lease would end.
                        let wait = until(now, lease.until) + Duration::from_secs(1);
                        return Ok(Claim::Skip(Disposition::Release(wait)));
                    }
                }
                StepState::Ready | StepState::RetryWait => {
                    if let Some(nb) = step.not_before
                        && nb > now
                    {
                        return Ok(Claim::Skip(Disposition::Release(until(now, nb))));
                    }
                }
            }
            let takeover = step.state == StepState::InFlight;
            let mut write = Write::delivery(&run, key, now);
            write.step(&mut step, StepInput::Claim)?;
            step.attempts += 1;
            step.lease = Some(Lease {
                owner: self.settings.worker_id.clone(),
                until: after(now, self.settings.lease),
            });
            step.not_before = None;
            step.started_at.get_or_insert(now);
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
            return Ok(Claim::Claimed { run, steps, step });
        }
        Err(EngineError::Contended(self.settings.conflict_retries))
    }

    async fn execute(&self, run: &Run, steps: &[Step], step: &Step) -> ActionReport {
        let permanent = |code: &str, message: String| ActionReport {
            outcome: Err(ActionFailure {
                class: FailureClass::Permanent,
                code: code.into(),
                message,
            }),
            calls: vec![],
        };
        let policy = match self.ports.tenants.tenant(&run.tenant).await {
            Ok(policy) => policy,
            // Only this tenant's configuration is at fault; its steps wait and retry.
            Err(e) => {
                return ActionReport {
                    outcome: Err(ActionFailure {
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
        let Some(connector) = self.ports.connectors.connector(&policy, step.provider) else {
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
        let prior: BTreeMap<StepKey, serde_json::Value> = steps
            .iter()
            .filter(|s| s.state == StepState::Verified)
            .filter_map(|s| s.result.as_ref().map(|r| (s.key.clone(), r.output.clone())))
            .collect();
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
        };
        connector.execute(&request).await
    }

    /// Stores the attempt's outcome. If the lease was lost meanwhile (this worker stalled past
    /// it and another took over), the outcome is dropped: the other worker's attempt counts.
    async fn record(
        &self,
        run: &Run,
        claimed: Step,
        started: Timestamp,
        report: ActionReport,
    ) -> Result<Disposition, EngineError> {
        let max_attempts = self
            .ports
            .tenants
            .tenant(&run.tenant)
            .await
            // The outcome is in hand: a directory hiccup now must not lose it.
            .ok()
            .flatten()
            .map(|t| t.max_attempts)
            .unwrap_or(6)
            .max(1);
        for _ in 0..self.settings.conflict_retries {
            let finished = self.now();
            let Some(run) = self.ports.store.run(&run.id).await? else {
                return Ok(Disposition::Ack);
            };
            let steps = self.ports.store.steps(&run.id).await?;
            let Some(mut step) = steps.into_iter().find(|s| s.key == claimed.key) else {
                return Ok(Disposition::Ack);
            };
            if !self.still_ours(&step, &claimed) {
                tracing::warn!(run = %run.id, step = %step.key, "lease lost; outcome dropped");
                return Ok(Disposition::Ack);
            }
            let mut write = Write::delivery(&run, &step.key, finished);
            let mut attempt = self.attempt_record(&step, started, finished, &report);
            step.lease = None;
            let outcome = Outcome {
                worker: format!("worker:{}", self.settings.worker_id),
                at: finished,
            };
            match &report.outcome {
                Ok(done) => outcome.verified(&mut write, &mut step, &mut attempt, done)?,
                Err(failure) => {
                    let used = step.attempts.saturating_sub(step.budget_start);
                    match failure.class {
                        FailureClass::Retryable { retry_after } if used < max_attempts => {
                            let delay = self.settings.backoff.delay(
                                used,
                                rand::random::<f64>(),
                                retry_after,
                            );
                            outcome.retry(&mut write, &mut step, &mut attempt, failure, delay)?;
                        }
                        _ => outcome.failed(&mut write, &mut step, &mut attempt, failure, used)?,
                    }
                }
            }
            write.commit.steps.push(step);
            write.commit.attempts.push(attempt);
            // Storing the write releases a verified step's dependents, or blocks the run.
            let Some(handover) = self.write(write).await? else {
                continue;
            };
            return Ok(handover
                .redeliver_after
                .map_or(Disposition::Ack, Disposition::Release));
        }
        Err(EngineError::Contended(self.settings.conflict_retries))
    }

    /// Whether this worker still holds the lease of the attempt it made on `claimed`.
    fn still_ours(&self, step: &Step, claimed: &Step) -> bool {
        step.state == StepState::InFlight
            && step.attempts == claimed.attempts
            && step
                .lease
                .as_ref()
                .is_some_and(|l| l.owner == self.settings.worker_id)
    }

    /// The attempt as made; its result and message are filled in by the outcome.
    fn attempt_record(
        &self,
        step: &Step,
        started: Timestamp,
        finished: Timestamp,
        report: &ActionReport,
    ) -> AttemptRecord {
        AttemptRecord {
            run_id: step.run_id.clone(),
            step_key: step.key.clone(),
            number: step.attempts,
            worker: self.settings.worker_id.clone(),
            started_at: started,
            finished_at: finished,
            result: AttemptResult::Verified,
            error_code: None,
            message: None,
            calls: report.calls.clone(),
        }
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
                StepState::Ready | StepState::RetryWait | StepState::InFlight
            ) {
                return Ok(());
            }
            let now = self.now();
            let mut write = Write::new(&run, now);
            write.step(&mut step, StepInput::DeadLettered)?;
            step.lease = None;
            step.last_error = Some(StepError {
                class: StepErrorClass::Permanent,
                code: "dead_lettered".into(),
                message: reason.into(),
                at: now,
            });
            write.commit.events.push(RunEvent::new(
                run_id,
                now,
                "step.dead_lettered",
                "system",
                json!({"step": key, "reason": reason}),
            ));
            write.commit.steps.push(step);
            // Storing the write blocks the run, with the reason.
            if self.write(write).await?.is_none() {
                continue;
            }
            return Ok(());
        }
        Err(EngineError::Contended(self.settings.conflict_retries))
    }
}

enum Claim {
    Claimed {
        run: Run,
        steps: Vec<Step>,
        step: Step,
    },
    Skip(Disposition),
}

/// Records one attempt's outcome on the step, its attempt record and the run's timeline.
struct Outcome {
    /// The actor of the events.
    worker: String,
    at: Timestamp,
}

impl Outcome {
    fn verified(
        &self,
        write: &mut Write,
        step: &mut Step,
        attempt: &mut AttemptRecord,
        done: &ActionDone,
    ) -> Result<(), EngineError> {
        write.step(step, StepInput::Succeeded)?;
        step.verified_at = Some(self.at);
        step.last_error = None;
        step.result = Some(StepResult {
            repeat: done.repeat,
            summary: done.summary.clone(),
            readback: done.readback.clone(),
            output: done.output.clone(),
        });
        attempt.result = if done.repeat {
            AttemptResult::Repeat
        } else {
            AttemptResult::Verified
        };
        attempt.message = Some(done.summary.clone());
        write.commit.events.push(RunEvent::new(
            &step.run_id,
            self.at,
            "step.verified",
            &self.worker,
            json!({"step": step.key, "attempt": step.attempts, "repeat": done.repeat, "summary": done.summary}),
        ));
        Ok(())
    }

    /// A retryable failure with attempts left: try again after `delay`.
    fn retry(
        &self,
        write: &mut Write,
        step: &mut Step,
        attempt: &mut AttemptRecord,
        failure: &ActionFailure,
        delay: Duration,
    ) -> Result<(), EngineError> {
        attempt.error_code = Some(failure.code.clone());
        attempt.message = Some(failure.message.clone());
        attempt.result = AttemptResult::Retryable;
        write.step(step, StepInput::RetryableError)?;
        step.not_before = Some(after(self.at, delay));
        step.last_error = Some(StepError {
            class: StepErrorClass::Retryable,
            code: failure.code.clone(),
            message: failure.message.clone(),
            at: self.at,
        });
        write.commit.events.push(RunEvent::new(
            &step.run_id,
            self.at,
            "step.retry_scheduled",
            &self.worker,
            json!({"step": step.key, "attempt": step.attempts, "code": failure.code, "delay_ms": delay.as_millis() as u64}),
        ));
        Ok(())
    }

    /// A permanent failure, or a retryable one out of attempts (`used` of them).
    fn failed(
        &self,
        write: &mut Write,
        step: &mut Step,
        attempt: &mut AttemptRecord,
        failure: &ActionFailure,
        used: u32,
    ) -> Result<(), EngineError> {
        attempt.error_code = Some(failure.code.clone());
        attempt.message = Some(failure.message.clone());
        let exhausted = matches!(failure.class, FailureClass::Retryable { .. });
        attempt.result = if exhausted {
            AttemptResult::Retryable
        } else {
            AttemptResult::Permanent
        };
        write.step(step, StepInput::PermanentError)?;
        let message = if exhausted {
            format!("gave up after {used} attempts: {}", failure.message)
        } else {
            failure.message.clone()
        };
        step.last_error = Some(StepError {
            class: StepErrorClass::Permanent,
            code: failure.code.clone(),
            message: message.clone(),
            at: self.at,
        });
        write.commit.events.push(RunEvent::new(
            &step.run_id,
            self.at,
            "step.failed",
            &self.worker,
            json!({"step": step.key, "attempt": step.attempts, "code": failure.code, "message": message}),
        ));
        Ok(())
    }
}
