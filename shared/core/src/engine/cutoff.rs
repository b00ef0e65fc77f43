//! Starting runs when their cutoff arrives.

use super::{Engine, EngineError, apply};
use crate::domain::{RunEvent, RunState};
use crate::ids::RunId;
use crate::machine::run::{RunCommand, RunInput};
use crate::ports::Commit;
use serde_json::json;

/// What firing a cutoff did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fired {
    Started,
    /// The run is not due yet (it was rescheduled later); the timer will fire again.
    NotYet,
    /// Already started, closed or cancelled: nothing to do.
    Ignored,
}

impl Engine {
    /// Called by the timer (and the sweep) for a run whose cutoff may have arrived.
    pub async fn fire_cutoff(&self, run_id: &RunId) -> Result<Fired, EngineError> {
        for _ in 0..self.settings.conflict_retries {
            let Some(mut run) = self.ports.store.run(run_id).await? else {
                return Err(EngineError::NotFound(format!("run {run_id}")));
            };
            let now = self.now();
            if run.state != RunState::Scheduled {
                // A duplicate or late fire; still make sure nothing is left unqueued.
                if run.state.is_open() {
                    self.release_ready(run_id).await?;
                }
                return Ok(Fired::Ignored);
            }
            if run.cutoff.at > now {
                // The early window: hand-over preparation starts, the run stays scheduled and
                // the timer is set again for the cutoff itself.
                if run.early_at.is_some_and(|t| t <= now) {
                    self.release_ready(run_id).await?;
                    self.ports
                        .timer
                        .schedule(&run.tenant, run_id, run.cutoff.at)
                        .await?;
                }
                return Ok(Fired::NotYet);
            }
            let cmds = apply::run(&mut run, RunInput::CutoffReached)?;
            run.started_at = Some(now);
            let lag_ms = (now - run.cutoff.at).get_milliseconds();
            let event = RunEvent::new(
                run_id,
                now,
                "run.started",
                "timer",
                json!({"cutoff_at": run.cutoff.at, "started_ms_after_cutoff": lag_ms}),
            );
            if !self
                .try_commit(Commit {
                    runs: vec![run],
                    events: vec![event],
                    ..Commit::default()
                })
                .await?
            {
                continue;
            }
            if cmds.contains(&RunCommand::CancelTimer)
                && let Err(e) = self.ports.timer.cancel(run_id).await
            {
                tracing::warn!(run = %run_id, error = %e, "timer not removed");
            }
            if cmds.contains(&RunCommand::ReleaseReadySteps) {
                self.release_ready(run_id).await?;
            }
            return Ok(Fired::Started);
        }
        Err(EngineError::Contended(self.settings.conflict_retries))
    }

    /// Starts every scheduled run whose cutoff has passed. Returns how many started.
    pub async fn start_due(&self) -> Result<usize, EngineError> {
        let due = self.ports.store.due_runs(self.now()).await?;
        let mut started = 0;
        for id in due {
            if self.fire_cutoff(&id).await? == Fired::Started {
                started += 1;
            }
        }
        Ok(started)
    }
}
