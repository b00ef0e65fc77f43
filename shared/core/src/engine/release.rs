//! Queuing steps whose dependencies are met, and asking for finalization when the gate opens.

use super::effects::Write;
use super::{Engine, EngineError};
use crate::domain::{RunEvent, RunState};
use crate::gate::{self, Gate};
use crate::ids::RunId;
use crate::machine::step::StepInput;
use crate::plan;
use crate::ports::QueueMessage;
use serde_json::json;
use std::time::Duration;

/// A step that waits out a grace period after the cutoff (an irreversible removal) is queued
/// for the end of it: the cutoff is read when the step is released, so a rescheduled cutoff
/// moves the removal with it. Returns the time it is held until, if it is held.
fn hold_past_cutoff(
    step: &mut crate::domain::Step,
    run: &crate::domain::Run,
    now: jiff::Timestamp,
) -> Option<jiff::Timestamp> {
    let wait = Duration::from_secs(step.wait_after_cutoff_s?);
    let until = super::after(run.cutoff.at, wait);
    if until <= now {
        return None;
    }
    step.not_before = Some(step.not_before.map_or(until, |nb| nb.max(until)));
    step.not_before
}

impl Engine {
    /// Moves every releasable step to `ready` and queues it; if nothing is left to do, queues the
    /// run's finalization. Safe to call any number of times. Returns how many steps it moved.
    pub async fn release_ready(&self, run_id: &RunId) -> Result<usize, EngineError> {
        let mut released = 0;
        for _ in 0..self.settings.conflict_retries {
            let Some(run) = self.ports.store.run(run_id).await? else {
                return Err(EngineError::NotFound(format!("run {run_id}")));
            };
            // A run the go-live guard holds moves nothing until an operator approves it.
            if run.hold.is_some() {
                return Ok(released);
            }
            // Before the cutoff only early steps move, and only once their window has opened.
            let early_only = run.state == RunState::Scheduled;
            if early_only && run.early_at.is_none_or(|t| t > self.now()) {
                return Ok(released);
            }
            if !run.state.is_open() && !early_only {
                return Ok(released);
            }
            let mut steps = self.ports.store.steps(run_id).await?;
            let mut keys = plan::releasable(&steps);
            if early_only {
                keys.retain(|k| steps.iter().any(|s| &s.key == k && s.early));
                if keys.is_empty() {
                    return Ok(released);
                }
            }
            if keys.is_empty() {
                if gate::evaluate_run(&steps, &run.exceptions, self.now()) == Gate::Open {
                    self.ports
                        .queue
                        .enqueue(
                            &QueueMessage::Finalize {
                                run_id: run_id.clone(),
                            },
                            Duration::ZERO,
                        )
                        .await?;
                }
                return Ok(released);
            }
            let now = self.now();
            let mut write = Write::new(&run, now);
            for s in steps.iter_mut().filter(|s| keys.contains(&s.key)) {
                write.step(s, StepInput::DependenciesMet)?;
                let held = hold_past_cutoff(s, &run, now);
                write.commit.steps.push(s.clone());
                let mut detail = json!({"step": s.key});
                if let Some(until) = held {
                    detail["not_before"] = until.to_string().into();
                }
                write.commit.events.push(RunEvent::new(
                    run_id,
                    now,
                    "step.ready",
                    "system",
                    detail,
                ));
            }
            // Storing the write queues the released steps.
            if self.write(write).await?.is_none() {
                continue;
            }
            released += keys.len();
            // Go round once more: with nothing left to release, the gate is checked.
        }
        Err(EngineError::Contended(self.settings.conflict_retries))
    }
}
