//! Recording what one attempt achieved: the step's next state, when it is looked at again,
//! its attempt record and the run's timeline. When to try again and when to give up is
//! decided by [`crate::retry`]; this module only writes the decision down.

use super::effects::Write;
use super::{Engine, EngineError, worker::Disposition};
use crate::domain::{
    AttemptRecord, AttemptResult, Run, RunEvent, Step, StepError, StepErrorClass, StepResult,
    StepState, Streaks,
};
use crate::machine::step::StepInput;
use crate::ports::{ActionDone, ActionFailure, ActionOutcome, ActionPending, ActionReport};
use crate::retry::{Next, Retry};
use jiff::Timestamp;
use serde_json::json;
use std::time::Duration;

impl Engine {
    /// Stores the attempt's outcome. If the lease was lost meanwhile (this worker stalled past
    /// it and another took over), the outcome is dropped: the other worker has recorded this
    /// attempt as interrupted, and its own attempt counts.
    pub(super) async fn record(
        &self,
        run: &Run,
        claimed: Step,
        started: Timestamp,
        report: ActionReport,
    ) -> Result<Disposition, EngineError> {
        let policy = self
            .ports
            .tenants
            .tenant(&run.tenant)
            .await
            // The outcome is in hand: a directory hiccup now must not lose it.
            .ok()
            .flatten()
            .map(|t| t.retry)
            .unwrap_or_default();
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
            step.streaks.interrupted = 0;
            let outcome = Outcome {
                worker: format!("worker:{}", self.settings.worker_id),
                at: finished,
                retry: Retry {
                    backoff: self.settings.backoff,
                    now: finished,
                    jitter: rand::random::<f64>(),
                },
                deadline: policy.deadline_for(step.critical),
            };
            outcome.apply(&mut write, &mut step, &mut attempt, &report.outcome)?;
            write.commit.steps.push(step);
            write.commit.attempts.push(attempt);
            // Storing the write releases a verified step's dependents, or blocks the run.
            let Some(handover) = self.write(write).await? else {
                continue;
            };
            return Ok(handover
                .redeliver_after
                .map_or(Disposition::Ack, Disposition::Requeue));
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

    /// The attempt as made; its result and message are filled in by the outcome. It replaces
    /// the `started` record the claim stored under the same number.
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
}

/// Records one attempt's outcome on the step, its attempt record and the run's timeline.
struct Outcome {
    /// The actor of the events.
    worker: String,
    at: Timestamp,
    retry: Retry,
    /// The step's deadline for a run of transient failures.
    deadline: Duration,
}

/// A step that waits before its next attempt, and why.
struct Wait<'a> {
    input: StepInput,
    code: &'a str,
    until: Timestamp,
    /// The timeline event.
    event: &'static str,
}

impl Outcome {
    fn apply(
        &self,
        write: &mut Write,
        step: &mut Step,
        attempt: &mut AttemptRecord,
        outcome: &ActionOutcome,
    ) -> Result<(), EngineError> {
        match outcome {
            ActionOutcome::Done(done) => self.verified(write, step, attempt, done),
            ActionOutcome::Pending(pending) => self.pending(write, step, attempt, pending),
            ActionOutcome::Failed(failure) => self.failed(write, step, attempt, failure),
        }
    }

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
        step.streaks = Streaks::default();
        step.operation = None;
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

    /// The provider's operation is still running: poll it again on its cadence, or give up
    /// past its deadline. Not a failure, so the step keeps no error for it.
    fn pending(
        &self,
        write: &mut Write,
        step: &mut Step,
        attempt: &mut AttemptRecord,
        pending: &ActionPending,
    ) -> Result<(), EngineError> {
        attempt.result = AttemptResult::Pending;
        attempt.error_code = Some(pending.code.clone());
        attempt.message = Some(pending.what.clone());
        let next = self
            .retry
            .pending(&mut step.streaks, &mut step.operation, pending);
        let until = match next {
            Next::At(until) => until,
            Next::GiveUp(why) => return self.gave_up(write, step, why),
        };
        step.last_error = None;
        let wait = Wait {
            input: StepInput::OperationPending,
            code: &pending.code,
            until,
            event: "step.awaiting_completion",
        };
        self.wait(write, step, wait)
    }

    /// A failure: throttled and transient ones wait (transient ones until the deadline),
    /// permanent ones fail the step.
    fn failed(
        &self,
        write: &mut Write,
        step: &mut Step,
        attempt: &mut AttemptRecord,
        failure: &ActionFailure,
    ) -> Result<(), EngineError> {
        use crate::ports::FailureClass;
        attempt.error_code = Some(failure.code.clone());
        attempt.message = Some(failure.message.clone());
        let (until, input, event) = match failure.class {
            FailureClass::Permanent => {
                attempt.result = AttemptResult::Permanent;
                write.step(step, StepInput::PermanentError)?;
                return self.fail(write, step, &failure.code, failure.message.clone());
            }
            FailureClass::Throttled { retry_after } => {
                attempt.result = AttemptResult::Throttled;
                let until = self.retry.throttled(&mut step.streaks, retry_after);
                (until, StepInput::Throttled, "step.throttled")
            }
            FailureClass::Retryable { retry_after } => {
                attempt.result = AttemptResult::Retryable;
                let next = self
                    .retry
                    .failed(&mut step.streaks, self.deadline, retry_after);
                match next {
                    Next::At(until) => (until, StepInput::RetryableError, "step.retry_scheduled"),
                    Next::GiveUp(why) => {
                        let why = format!("{why}; the last: {}: {}", failure.code, failure.message);
                        return self.gave_up(write, step, why);
                    }
                }
            }
        };
        step.last_error = Some(StepError {
            class: StepErrorClass::Retryable,
            code: failure.code.clone(),
            message: failure.message.clone(),
            at: self.at,
        });
        let wait = Wait {
            input,
            code: &failure.code,
            until,
            event,
        };
        self.wait(write, step, wait)
    }

    /// The step waits until `wait.until`, then its message comes back.
    fn wait(&self, write: &mut Write, step: &mut Step, wait: Wait<'_>) -> Result<(), EngineError> {
        write.step(step, wait.input)?;
        step.not_before = Some(wait.until);
        let delay = super::until(self.at, wait.until);
        write.commit.events.push(RunEvent::new(
            &step.run_id,
            self.at,
            wait.event,
            &self.worker,
            json!({"step": step.key, "attempt": step.attempts, "code": wait.code, "delay_ms": delay.as_millis() as u64}),
        ));
        Ok(())
    }

    /// Still failing, or the operation still running, when the deadline passed. The attempt
    /// keeps what the provider said; the step says why Passage stopped.
    fn gave_up(&self, write: &mut Write, step: &mut Step, why: String) -> Result<(), EngineError> {
        write.step(step, StepInput::DeadlinePassed)?;
        self.fail(write, step, "deadline_passed", why)
    }

    /// The step failed for good: it holds the gate until an operator retries (or waives) it.
    fn fail(
        &self,
        write: &mut Write,
        step: &mut Step,
        code: &str,
        message: String,
    ) -> Result<(), EngineError> {
        step.last_error = Some(StepError {
            class: StepErrorClass::Permanent,
            code: code.into(),
            message: message.clone(),
            at: self.at,
        });
        write.commit.events.push(RunEvent::new(
            &step.run_id,
            self.at,
            "step.failed",
            &self.worker,
            json!({"step": step.key, "attempt": step.attempts, "code": code, "message": message}),
        ));
        Ok(())
    }
}
