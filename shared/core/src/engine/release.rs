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

impl Engine {
    /// Moves every releasable step to `ready` and queues it; if nothing is left to do, queues the
    /// run's finalization. Safe to call any number of times. Returns how many steps it moved.
    pub async fn release_ready(&self, run_id: &RunId) -> Result<usize, EngineError> {
        let mut released = 0;
        for _ in 0..self.settings.conflict_retries {
            let Some(run) = self.ports.store.run(run_id).await? else {
                return Err(EngineError::NotFound(format!("run {run_id}")));
            };
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
                if gate::evaluate(&steps) == Gate::Open {
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
                write.commit.steps.push(s.clone());
                write.commit.events.push(RunEvent::new(
                    run_id,
                    now,
                    "step.ready",
                    "system",
                    json!({"step": s.key}),
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
