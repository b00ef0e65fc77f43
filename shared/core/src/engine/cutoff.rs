//! Starting runs when their cutoff arrives.

use super::effects::Write;
use super::{Engine, EngineError};
use crate::domain::{RunEvent, RunState};
use crate::ids::RunId;
use crate::machine::run::RunInput;
use serde_json::json;

/// What firing a cutoff did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fired {
    Started,
    /// The run is not due yet (it was rescheduled later), or its sign-in watch goes on: the
    /// timer will fire again.
    NotYet,
    /// Already started, closed or cancelled: nothing to do.
    Ignored,
    /// Held by the go-live guard: nothing starts until an operator approves the run, which
    /// sets its timer again.
    Held,
}

/// Who noticed that a run may be due.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// The run's own timer, which is spent once it fires.
    Timer,
    /// The sweep, which finds due runs whose timer may never have been set or was lost.
    Sweep,
}

impl Engine {
    /// Called by the timer for a run whose early window or cutoff may have arrived.
    pub async fn fire_cutoff(&self, run_id: &RunId) -> Result<Fired, EngineError> {
        self.fire(run_id, Caller::Timer).await
    }

    async fn fire(&self, run_id: &RunId, caller: Caller) -> Result<Fired, EngineError> {
        for _ in 0..self.settings.conflict_retries {
            let Some(mut run) = self.ports.store.run(run_id).await? else {
                return Err(EngineError::NotFound(format!("run {run_id}")));
            };
            let now = self.now();
            if run.state == RunState::Closed && run.sign_in_watch.is_some() {
                // A closed run's timer wakes its sign-in watch.
                return Ok(match self.watch_sign_ins(run_id).await? {
                    super::Watched::Again => Fired::NotYet,
                    super::Watched::Done => Fired::Ignored,
                });
            }
            if run.state != RunState::Scheduled {
                // A duplicate or late fire moves nothing; like the sweep, it still makes sure
                // nothing is left unqueued.
                if run.state.is_open() {
                    self.release_ready(run_id).await?;
                }
                return Ok(Fired::Ignored);
            }
            if run.hold.is_some() {
                return Ok(Fired::Held);
            }
            if run.cutoff.at > now {
                // The early window: hand-over preparation starts, the run stays scheduled and
                // the timer is set again for the cutoff itself. The sweep re-arms it only when
                // it was the one to open the window (the early timer never fired).
                if run.early_at.is_some_and(|t| t <= now) {
                    let released = self.release_ready(run_id).await?;
                    if caller == Caller::Timer || released > 0 {
                        self.ports
                            .timer
                            .schedule(&run.tenant, run_id, run.cutoff.at)
                            .await?;
                    }
                }
                return Ok(Fired::NotYet);
            }
            let mut write = Write::new(&run, now);
            write.run(&mut run, RunInput::CutoffReached)?;
            run.started_at = Some(now);
            let lag_ms = (now - run.cutoff.at).get_milliseconds();
            write.commit.events.push(RunEvent::new(
                run_id,
                now,
                "run.started",
                "timer",
                json!({"cutoff_at": run.cutoff.at, "started_ms_after_cutoff": lag_ms}),
            ));
            write.commit.runs.push(run);
            if self.write(write).await?.is_none() {
                continue;
            }
            return Ok(Fired::Started);
        }
        Err(EngineError::Contended(self.settings.conflict_retries))
    }

    /// Starts every scheduled run whose cutoff has passed, and opens early windows that have
    /// arrived without their timer. Returns how many runs started.
    pub async fn start_due(&self) -> Result<usize, EngineError> {
        let now = self.now();
        // Runs whose cutoff is within the longest early lead may have an early window open.
        let horizon = self
            .ports
            .tenants
            .longest_early_lead()
            .and_then(|lead| jiff::SignedDuration::try_from(lead).ok())
            .and_then(|lead| now.checked_add(lead).ok())
            .unwrap_or(now);
        let due = self.ports.store.due_runs(horizon).await?;
        let mut started = 0;
        for id in due {
            if self.start_if_due(&id).await? == Fired::Started {
                started += 1;
            }
        }
        Ok(started)
    }

    /// What the sweep does for one scheduled run it found due (or in its early window): starts
    /// it, or opens its early window, as its lost timer would have. For a host that finds due
    /// runs itself (the AWS sweep, per tenant).
    pub async fn start_if_due(&self, run_id: &RunId) -> Result<Fired, EngineError> {
        self.fire(run_id, Caller::Sweep).await
    }
}
