//! What follows a transition, carried out in one place.
//!
//! The run and step machines answer every move with commands ([`RunCommand`], [`StepCommand`]).
//! The engine moves a record only through [`Write::run`] and [`Write::step`], which apply the
//! transition and keep its commands with the write they belong to; [`Engine::write`] stores the
//! write and then carries the commands out. No other code decides what follows a move, so the
//! transition tables and the engine cannot drift apart.
//!
//! The commands are kept, rather than read off the new state, because one state is reached by
//! moves with different consequences: a step becomes `ready` when its dependencies are met
//! (queue it) and when an operator retries it (reconsider the run's block, then queue it).
//!
//! How each command is carried out:
//! - `BlockRun` is part of the write itself: the failed step and its blocked run are stored in
//!   one commit, so no crash leaves a failed step under a run that does not say so.
//! - `Execute` belongs to the worker that holds the step's lease: the write hands it back
//!   ([`Handover::execute`]).
//! - `Enqueue` queues the step once its wait (`not_before`: a backoff, a throttle, the next
//!   poll of an operation) has passed. For the step whose own queue message is being handled it
//!   hands back the delay to give that message back with ([`Handover::redeliver_after`])
//!   instead, as a fresh message: one message per step, and waiting never counts toward the
//!   dead-letter limit.
//! - The rest follow once the write is stored, in the order the tables list them and each once
//!   per write: releasing ready steps (`ReleaseDependents`, `ReleaseReadySteps`), reconsidering
//!   a block, setting or removing the cutoff timer, and queuing finalization. A follow-up that
//!   moves a record itself (unblocking a run) adds its own commands to the same list.

use super::intake::next_fire;
use super::{Engine, EngineError, until};
use crate::domain::{Run, RunEvent, RunState, Step};
use crate::gate::{self, Gate};
use crate::ids::{RunId, StepKey};
use crate::machine::TransitionError;
use crate::machine::run::{self, RunCommand, RunInput};
use crate::machine::step::{self, StepCommand, StepInput};
use crate::ports::{Commit, QueueMessage};
use jiff::Timestamp;
use serde_json::json;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// One command, with the record it is about. Run commands are about the write's run.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Command {
    Run(RunCommand),
    Step(StepKey, StepCommand),
}

/// One change to a run's records in the making: what to store together, and the commands of
/// the transitions it makes.
#[must_use = "a write does nothing until Engine::write stores it"]
#[derive(Debug)]
pub(crate) struct Write {
    /// The records and events stored together.
    pub(crate) commit: Commit,
    commands: Vec<Command>,
    /// The run as it was read, for the commands that change it within the write.
    read: Run,
    /// The step whose queue message is being handled, if any.
    delivered: Option<StepKey>,
    /// When the change was decided; queue delays count from here.
    at: Timestamp,
}

impl Write {
    /// A change to `run` (as read) decided at `at`.
    pub(crate) fn new(run: &Run, at: Timestamp) -> Self {
        Self {
            commit: Commit::default(),
            commands: Vec::new(),
            read: run.clone(),
            delivered: None,
            at,
        }
    }

    /// A change made while handling the queue message of `step`.
    pub(crate) fn delivery(run: &Run, step: &StepKey, at: Timestamp) -> Self {
        Self {
            delivered: Some(step.clone()),
            ..Self::new(run, at)
        }
    }

    /// Moves `step` by `input`, keeping the commands for when the write is stored.
    pub(crate) fn step(
        &mut self,
        step: &mut Step,
        input: StepInput,
    ) -> Result<(), TransitionError> {
        let (next, commands) = step::transition(step.state, input)?;
        step.state = next;
        self.commands.extend(
            commands
                .into_iter()
                .map(|c| Command::Step(step.key.clone(), c)),
        );
        Ok(())
    }

    /// Moves `run` by `input`, keeping the commands for when the write is stored.
    pub(crate) fn run(&mut self, run: &mut Run, input: RunInput) -> Result<(), TransitionError> {
        let (next, commands) = run::transition(run.state, input)?;
        run.state = next;
        self.commands.extend(commands.into_iter().map(Command::Run));
        Ok(())
    }

    /// Carries out `BlockRun` within the write: the run is blocked, with the failed step's
    /// error as the reason, in the commit that stores the failed step.
    fn block_runs(&mut self) -> Result<(), TransitionError> {
        let failed: Vec<StepKey> = self
            .commands
            .iter()
            .filter_map(|c| match c {
                Command::Step(key, StepCommand::BlockRun) => Some(key.clone()),
                _ => None,
            })
            .collect();
        for key in failed {
            let error = self
                .commit
                .steps
                .iter()
                .find(|s| s.key == key)
                .and_then(|s| s.last_error.clone());
            let (reason, at) = match error {
                Some(e) => (format!("{key} failed ({}): {}", e.code, e.message), e.at),
                None => (format!("{key} failed"), self.at),
            };
            let mut run = match self.commit.runs.iter().position(|r| r.id == self.read.id) {
                Some(i) => self.commit.runs.remove(i),
                None => self.read.clone(),
            };
            let was = run.state;
            self.run(&mut run, RunInput::StepFailed)?;
            run.blocked_reason = Some(reason);
            if was != RunState::Blocked {
                self.commit.events.push(RunEvent::new(
                    &run.id,
                    at,
                    "run.blocked",
                    "system",
                    json!({"step": key, "reason": run.blocked_reason}),
                ));
            }
            self.commit.runs.push(run);
        }
        Ok(())
    }

    /// What must follow the write once stored, resolved against the records it stores.
    fn follow_ups(&self) -> After {
        let run = self
            .commit
            .runs
            .iter()
            .find(|r| r.id == self.read.id)
            .unwrap_or(&self.read);
        let mut after = After::default();
        for command in &self.commands {
            let next = match command {
                // Carried out within the write (`block_runs`).
                Command::Step(_, StepCommand::BlockRun) => continue,
                Command::Step(_, StepCommand::Execute) => {
                    after.handover.execute = true;
                    continue;
                }
                Command::Step(key, StepCommand::Enqueue) => {
                    let delay = self.backoff_of(key);
                    if self.delivered.as_ref() == Some(key) {
                        after.handover.redeliver_after = Some(delay);
                        continue;
                    }
                    FollowUp::Enqueue(key.clone(), delay)
                }
                Command::Step(_, StepCommand::ReleaseDependents)
                | Command::Run(RunCommand::ReleaseReadySteps) => FollowUp::ReleaseReady,
                Command::Step(_, StepCommand::ReconsiderBlock) => FollowUp::ReconsiderBlock,
                Command::Run(RunCommand::ScheduleTimer) => {
                    FollowUp::ScheduleTimer(Box::new(run.clone()))
                }
                Command::Run(RunCommand::CancelTimer) => FollowUp::CancelTimer,
                Command::Run(RunCommand::Finalize) => FollowUp::Finalize,
            };
            if !after.work.contains(&next) {
                after.work.push(next);
            }
        }
        after
    }

    /// How long the step waits before its next attempt, as this write stores it.
    fn backoff_of(&self, key: &StepKey) -> Duration {
        self.commit
            .steps
            .iter()
            .find(|s| &s.key == key)
            .and_then(|s| s.not_before)
            .map(|nb| until(self.at, nb))
            .unwrap_or_default()
    }
}

/// What a stored write leaves to the worker handling a step's queue message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Handover {
    /// The step is claimed: call the provider (or open the human step).
    pub(crate) execute: bool,
    /// The step waits to try (or poll) again: give its message back, fresh, for this long.
    pub(crate) redeliver_after: Option<Duration>,
}

/// Work that follows a stored write.
#[derive(Clone, Debug, PartialEq)]
enum FollowUp {
    /// Queue the step after this delay.
    Enqueue(StepKey, Duration),
    ReleaseReady,
    ReconsiderBlock,
    /// Set the run's timer (the run as stored).
    ScheduleTimer(Box<Run>),
    CancelTimer,
    Finalize,
}

#[derive(Debug, Default)]
struct After {
    handover: Handover,
    work: Vec<FollowUp>,
}

/// The work that follows a write, as a future named outright: that work may store writes of
/// its own, so the future may await another of its kind.
type FollowingWork<'a> = Pin<Box<dyn Future<Output = Result<Handover, EngineError>> + Send + 'a>>;

impl Engine {
    /// Stores `write` and carries out its commands. `Ok(None)` on a version conflict: nothing
    /// was stored or done, and the caller reads again and decides anew.
    pub(crate) async fn write(&self, write: Write) -> Result<Option<Handover>, EngineError> {
        let run_id = write.read.id.clone();
        let Some(after) = self.store(write).await? else {
            return Ok(None);
        };
        self.carry_out(&run_id, after).await.map(Some)
    }

    /// Stores `write` (a blocked run included) and says what must follow; does none of it.
    async fn store(&self, mut write: Write) -> Result<Option<After>, EngineError> {
        write.block_runs()?;
        let after = write.follow_ups();
        if !self.try_commit(write.commit).await? {
            return Ok(None);
        }
        Ok(Some(after))
    }

    /// Does the work that follows a stored write, each piece once, in order.
    fn carry_out<'a>(&'a self, run_id: &'a RunId, after: After) -> FollowingWork<'a> {
        Box::pin(async move {
            let mut work: VecDeque<FollowUp> = after.work.into();
            let mut done: Vec<FollowUp> = Vec::new();
            while let Some(next) = work.pop_front() {
                if !done.contains(&next) {
                    work.extend(self.follow_up(run_id, &next).await?);
                    done.push(next);
                }
            }
            Ok(after.handover)
        })
    }

    /// Does one piece of work; answers the follow-ups of any write it stored without doing
    /// them (unblocking a run), so they join the caller's list.
    async fn follow_up(
        &self,
        run_id: &RunId,
        next: &FollowUp,
    ) -> Result<Vec<FollowUp>, EngineError> {
        match next {
            FollowUp::Enqueue(key, delay) => {
                let message = QueueMessage::Step {
                    run_id: run_id.clone(),
                    step_key: key.clone(),
                };
                self.ports.queue.enqueue(&message, *delay).await?;
            }
            FollowUp::ReleaseReady => {
                self.release_ready(run_id).await?;
            }
            FollowUp::ReconsiderBlock => return self.reconsider_block(run_id).await,
            FollowUp::ScheduleTimer(run) => self.arm_timer(run).await?,
            FollowUp::CancelTimer => {
                if let Err(e) = self.ports.timer.cancel(run_id).await {
                    tracing::warn!(run = %run_id, error = %e, "timer not removed; a late fire is ignored");
                }
            }
            FollowUp::Finalize => {
                let message = QueueMessage::Finalize {
                    run_id: run_id.clone(),
                };
                self.ports.queue.enqueue(&message, Duration::ZERO).await?;
            }
        }
        Ok(Vec::new())
    }

    /// Lets a blocked run run again once nothing holds its gate (after a retry or waiver).
    /// Returns the follow-ups of unblocking it, for the caller's list.
    async fn reconsider_block(&self, run_id: &RunId) -> Result<Vec<FollowUp>, EngineError> {
        for _ in 0..self.settings.conflict_retries {
            let Some(mut run) = self.ports.store.run(run_id).await? else {
                return Ok(Vec::new());
            };
            if run.state != RunState::Blocked {
                return Ok(Vec::new());
            }
            let steps = self.ports.store.steps(run_id).await?;
            if matches!(gate::evaluate(&steps), Gate::Blocked { .. }) {
                return Ok(Vec::new());
            }
            let now = self.now();
            let mut write = Write::new(&run, now);
            write.run(&mut run, RunInput::Unblocked)?;
            run.blocked_reason = None;
            write.commit.runs.push(run);
            write.commit.events.push(RunEvent::new(
                run_id,
                now,
                "run.unblocked",
                "system",
                json!({}),
            ));
            if let Some(after) = self.store(write).await? {
                return Ok(after.work);
            }
        }
        Err(EngineError::Contended(self.settings.conflict_retries))
    }

    /// Sets the run's timer for its next moment (the early window or the cutoff), and does at
    /// once what the timer would do if that moment has already come.
    pub(super) async fn arm_timer(&self, run: &Run) -> Result<(), EngineError> {
        let now = self.now();
        self.ports
            .timer
            .schedule(&run.tenant, &run.id, next_fire(run, now))
            .await?;
        if run.cutoff.at <= now {
            self.fire_cutoff(&run.id).await?;
        } else {
            // Inside a (moved) early window: start the early steps now.
            self.release_ready(&run.id).await?;
        }
        Ok(())
    }
}
