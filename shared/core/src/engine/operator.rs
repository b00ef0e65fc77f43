//! What operators may do to a run: waive a non-critical step, retry a failed one, cancel or
//! reschedule before the cutoff. Every action is recorded with its actor.

use super::{Engine, EngineError, apply};
use crate::cutoff::{self, CutoffRequest};
use crate::domain::{Cancellation, Run, RunEvent, RunState, Step, StepState, Waiver};
use crate::ids::{RunId, StepKey};
use crate::machine::run::RunInput;
use crate::machine::step::StepInput;
use crate::ports::Commit;
use serde_json::json;

impl Engine {
    /// Waives a non-critical step with a reason. Critical steps can never be waived.
    pub async fn waive(
        &self,
        run_id: &RunId,
        key: &StepKey,
        actor: &str,
        reason: &str,
    ) -> Result<Step, EngineError> {
        require_reason(reason)?;
        let step = self
            .change_step(run_id, key, |run, step, now| {
                if step.critical {
                    return Err(EngineError::NotAllowed(format!(
                        "{key} is critical: critical steps cannot be waived, only retried until verified"
                    )));
                }
                if !run.state.is_open() && run.state != RunState::Scheduled {
                    return Err(EngineError::NotAllowed(format!(
                        "run {run_id} is {}; steps can only be waived on an open run",
                        run.state.as_str()
                    )));
                }
                apply::step(step, StepInput::Waive { critical: false })
                    .map_err(|_| not_in_state(key, step.state, "waived"))?;
                step.lease = None;
                step.waiver = Some(Waiver {
                    actor: actor.into(),
                    reason: reason.into(),
                    at: now,
                });
                Ok(RunEvent::new(
                    run_id,
                    now,
                    "step.waived",
                    &format!("operator:{actor}"),
                    json!({"step": key, "reason": reason}),
                ))
            })
            .await?;
        self.reconsider_block(run_id).await?;
        self.release_ready(run_id).await?;
        Ok(step)
    }

    /// Sends a failed step round again (e.g. after a missing permission was granted), with a
    /// fresh attempt budget.
    pub async fn retry(
        &self,
        run_id: &RunId,
        key: &StepKey,
        actor: &str,
    ) -> Result<Step, EngineError> {
        let step = self
            .change_step(run_id, key, |_run, step, now| {
                apply::step(step, StepInput::OperatorRetry)
                    .map_err(|_| not_in_state(key, step.state, "retried"))?;
                step.budget_start = step.attempts;
                step.not_before = None;
                Ok(RunEvent::new(
                    run_id,
                    now,
                    "step.retried",
                    &format!("operator:{actor}"),
                    json!({"step": key}),
                ))
            })
            .await?;
        self.reconsider_block(run_id).await?;
        self.ports
            .queue
            .enqueue(
                &crate::ports::QueueMessage::Step {
                    run_id: run_id.clone(),
                    step_key: key.clone(),
                },
                std::time::Duration::ZERO,
            )
            .await?;
        Ok(step)
    }

    /// Cancels a run before its cutoff (the leaver stays, or HR withdrew the termination).
    pub async fn cancel(
        &self,
        run_id: &RunId,
        actor: &str,
        reason: &str,
    ) -> Result<Run, EngineError> {
        require_reason(reason)?;
        let run = self
            .change_run(run_id, |run, now| {
                apply::run(run, RunInput::Cancel).map_err(|_| {
                    EngineError::NotAllowed(format!(
                        "run {run_id} is {}: only a scheduled run can be cancelled (access is already being cut)",
                        run.state.as_str()
                    ))
                })?;
                run.cancellation = Some(Cancellation {
                    actor: actor.into(),
                    reason: reason.into(),
                    at: now,
                });
                Ok(RunEvent::new(
                    run_id,
                    now,
                    "run.cancelled",
                    &format!("operator:{actor}"),
                    json!({"reason": reason}),
                ))
            })
            .await?;
        if let Err(e) = self.ports.timer.cancel(run_id).await {
            tracing::warn!(run = %run_id, error = %e, "timer not removed; the run is cancelled and a late fire is ignored");
        }
        Ok(run)
    }

    /// Moves a scheduled run's cutoff. The old and new instants and the reason are recorded.
    pub async fn reschedule(
        &self,
        run_id: &RunId,
        request: &CutoffRequest,
        actor: &str,
        reason: &str,
    ) -> Result<Run, EngineError> {
        require_reason(reason)?;
        let Some(current) = self.ports.store.run(run_id).await? else {
            return Err(EngineError::NotFound(format!("run {run_id}")));
        };
        let policy = self
            .ports
            .tenants
            .tenant(&current.tenant)
            .ok_or_else(|| EngineError::NotFound(format!("tenant {}", current.tenant)))?;
        let resolved = cutoff::resolve(
            request,
            &current.subject.time_zone,
            policy.end_of_day,
            self.now(),
        )
        .map_err(|e| EngineError::NotAllowed(e.to_string()))?;
        let run = self
            .change_run(run_id, |run, now| {
                apply::run(run, RunInput::Reschedule).map_err(|_| {
                    EngineError::NotAllowed(format!(
                        "run {run_id} is {}: only a scheduled run can be rescheduled",
                        run.state.as_str()
                    ))
                })?;
                let previous = run.cutoff.at;
                run.cutoff = resolved.clone();
                Ok(RunEvent::new(
                    run_id,
                    now,
                    "run.rescheduled",
                    &format!("operator:{actor}"),
                    json!({"previous_cutoff": previous, "cutoff": run.cutoff.at, "reason": reason}),
                ))
            })
            .await?;
        self.ports
            .timer
            .schedule(&run.tenant, run_id, run.cutoff.at)
            .await?;
        if run.cutoff.at <= self.now() {
            self.fire_cutoff(run_id).await?;
        }
        Ok(run)
    }

    /// Reads, changes and commits one run with its event, retrying on version conflicts.
    async fn change_run(
        &self,
        run_id: &RunId,
        mut change: impl FnMut(&mut Run, jiff::Timestamp) -> Result<RunEvent, EngineError>,
    ) -> Result<Run, EngineError> {
        for _ in 0..self.settings.conflict_retries {
            let Some(mut run) = self.ports.store.run(run_id).await? else {
                return Err(EngineError::NotFound(format!("run {run_id}")));
            };
            let event = change(&mut run, self.now())?;
            if !self
                .try_commit(Commit {
                    runs: vec![run.clone()],
                    events: vec![event],
                    ..Commit::default()
                })
                .await?
            {
                continue;
            }
            run.version += 1;
            return Ok(run);
        }
        Err(EngineError::Contended(self.settings.conflict_retries))
    }

    /// Reads, changes and commits one step with its event, retrying on version conflicts.
    async fn change_step(
        &self,
        run_id: &RunId,
        key: &StepKey,
        mut change: impl FnMut(&Run, &mut Step, jiff::Timestamp) -> Result<RunEvent, EngineError>,
    ) -> Result<Step, EngineError> {
        for _ in 0..self.settings.conflict_retries {
            let Some(run) = self.ports.store.run(run_id).await? else {
                return Err(EngineError::NotFound(format!("run {run_id}")));
            };
            let steps = self.ports.store.steps(run_id).await?;
            let Some(mut step) = steps.into_iter().find(|s| &s.key == key) else {
                return Err(EngineError::NotFound(format!("step {key} in run {run_id}")));
            };
            let event = change(&run, &mut step, self.now())?;
            if !self
                .try_commit(Commit {
                    steps: vec![step.clone()],
                    events: vec![event],
                    ..Commit::default()
                })
                .await?
            {
                continue;
            }
            step.version += 1;
            return Ok(step);
        }
        Err(EngineError::Contended(self.settings.conflict_retries))
    }
}

fn require_reason(reason: &str) -> Result<(), EngineError> {
    if reason.trim().is_empty() {
        return Err(EngineError::NotAllowed(
            "a reason is required: it goes into the evidence".into(),
        ));
    }
    Ok(())
}

fn not_in_state(key: &StepKey, state: StepState, verb: &str) -> EngineError {
    EngineError::NotAllowed(format!("{key} is {} and cannot be {verb}", state.as_str()))
}
