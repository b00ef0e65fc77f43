//! The engine carries out every command the run and step machines return.
//!
//! The engine runs on the SQLite store; the queue and the timer record what they are asked,
//! so each test can show a command's effect: a message queued, a timer set or removed, a run
//! blocked or released. `shown_by` names the test for each command, and fails to compile when
//! a command is added to the tables without one.

use crate::engine_world::{START, TimerCall, World, all_but_grants, at, okta, step_message};
use passage_core::cutoff::CutoffRequest;
use passage_core::domain::{Action, DisableMode, RunState, StepState};
use passage_core::engine::{Disposition, EngineError, EngineSettings};
use passage_core::machine::run::RunCommand;
use passage_core::machine::step::StepCommand;
use passage_core::ports::{FailureClass, QueueMessage, RunStore};
use std::time::Duration;

/// The test that shows each command carried out.
fn shown_by_step(command: StepCommand) -> &'static str {
    match command {
        StepCommand::Enqueue => "the_cutoff_releases_and_queues_ready_steps",
        StepCommand::Execute => "a_claim_calls_the_provider",
        StepCommand::ReleaseDependents => "a_verified_step_releases_its_dependents",
        StepCommand::BlockRun => "a_permanent_failure_blocks_the_run_in_the_same_write",
        StepCommand::ReconsiderBlock => "a_waiver_unblocks_the_run_and_releases_what_waited",
    }
}

fn shown_by_run(command: RunCommand) -> &'static str {
    match command {
        RunCommand::ReleaseReadySteps => "the_cutoff_releases_and_queues_ready_steps",
        RunCommand::ScheduleTimer => "a_new_cutoff_sets_the_timer_and_a_past_one_starts_the_run",
        RunCommand::CancelTimer => "a_cancellation_removes_the_timer_and_queues_its_record",
        RunCommand::Finalize => "a_cancellation_removes_the_timer_and_queues_its_record",
    }
}

#[test]
fn every_command_is_shown_carried_out() {
    let steps = [
        StepCommand::Enqueue,
        StepCommand::Execute,
        StepCommand::ReleaseDependents,
        StepCommand::BlockRun,
        StepCommand::ReconsiderBlock,
    ];
    let runs = [
        RunCommand::ReleaseReadySteps,
        RunCommand::ScheduleTimer,
        RunCommand::CancelTimer,
        RunCommand::Finalize,
    ];
    let tests = include_str!("engine_commands.rs");
    for name in steps
        .map(shown_by_step)
        .into_iter()
        .chain(runs.map(shown_by_run))
    {
        assert!(
            tests.contains(&format!("async fn {name}()")),
            "no test {name}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// One test per command
// ---------------------------------------------------------------------------------------------

/// `CutoffReached` → `CancelTimer`, `ReleaseReadySteps`; `DependenciesMet` → `Enqueue`.
#[tokio::test]
async fn the_cutoff_releases_and_queues_ready_steps() {
    let world = World::new();
    let run_id = world.scheduled_run().await;
    world.set_time("2030-01-07T17:00:01Z");
    world.engine.fire_cutoff(&run_id).await.unwrap();
    assert_eq!(world.run_state(&run_id).await, RunState::Running);
    assert_eq!(world.timer.take(), [TimerCall::Cancel(run_id.clone())]);
    assert_eq!(
        world.queue.take(),
        [(step_message(&run_id, Action::Snapshot), Duration::ZERO)]
    );
    assert_eq!(
        world.state_of(&run_id, Action::Snapshot).await,
        StepState::Ready
    );
}

/// `Claim` → `Execute`.
#[tokio::test]
async fn a_claim_calls_the_provider() {
    let world = World::new();
    let run_id = world.running_run().await;
    assert_eq!(
        world.work(&run_id, Action::Snapshot).await,
        Disposition::Ack
    );
    assert_eq!(*world.okta.calls.lock().unwrap(), [Action::Snapshot]);
}

/// `Succeeded` → `ReleaseDependents`.
#[tokio::test]
async fn a_verified_step_releases_its_dependents() {
    let world = World::new();
    let run_id = world.running_run().await;
    world.work(&run_id, Action::Snapshot).await;
    let queued: Vec<QueueMessage> = world.queue.take().into_iter().map(|(m, _)| m).collect();
    let released = [
        Action::RevokeSessions,
        Action::RevokeGrants,
        Action::RemoveGroups,
    ];
    assert_eq!(queued, released.map(|a| step_message(&run_id, a)));
    for action in released {
        assert_eq!(world.state_of(&run_id, action).await, StepState::Ready);
    }
    // The suspension waits for all three.
    assert_eq!(
        world.state_of(&run_id, Action::Suspend).await,
        StepState::Pending
    );
}

/// `RetryableError` → `Enqueue`, for the step whose message is being handled: the message
/// comes back after the backoff instead of a second one being queued.
#[tokio::test]
async fn a_retryable_failure_gives_the_message_back_after_its_backoff() {
    let world = World::new();
    let run_id = world.running_run().await;
    world.fail(
        Action::Snapshot,
        FailureClass::Retryable { retry_after: None },
    );
    let disposition = world.work(&run_id, Action::Snapshot).await;
    let steps = world.store.steps(&run_id).await.unwrap();
    let snapshot = steps
        .iter()
        .find(|s| s.key == okta(Action::Snapshot))
        .unwrap();
    assert_eq!(snapshot.state, StepState::RetryWait);
    let not_before = snapshot.not_before.unwrap();
    let backoff =
        Duration::try_from(not_before.duration_since(at("2030-01-07T17:00:01Z"))).unwrap();
    assert!(backoff > Duration::ZERO);
    assert_eq!(disposition, Disposition::Requeue(backoff));
    assert!(world.queue.take().is_empty());
}

/// `PermanentError` and `DeadLettered` → `BlockRun`: the run is blocked with the step's
/// error, and its event follows the step's.
#[tokio::test]
async fn a_permanent_failure_blocks_the_run_in_the_same_write() {
    let world = World::new();
    let run_id = world.running_run().await;
    world.fail(Action::Snapshot, FailureClass::Permanent);
    assert_eq!(
        world.work(&run_id, Action::Snapshot).await,
        Disposition::Ack
    );
    let run = world.store.run(&run_id).await.unwrap().unwrap();
    assert_eq!(run.state, RunState::Blocked);
    assert_eq!(
        run.blocked_reason.as_deref(),
        Some("okta.snapshot failed (E0000006): you do not have permission")
    );
    let kinds = world.event_kinds(&run_id).await;
    assert_eq!(kinds[kinds.len() - 2..], ["step.failed", "run.blocked"]);

    // A message the queue gave up on blocks the run the same way.
    let world = World::new();
    let run_id = world.running_run().await;
    let over = EngineSettings::default().max_receives + 1;
    let disposition = world.work_delivered(&run_id, Action::Snapshot, over).await;
    assert!(matches!(disposition, Disposition::DeadLetter(_)));
    let run = world.store.run(&run_id).await.unwrap().unwrap();
    assert_eq!(run.state, RunState::Blocked);
    assert!(
        run.blocked_reason
            .as_deref()
            .is_some_and(|r| r.starts_with("okta.snapshot failed (dead_lettered): "))
    );
    let kinds = world.event_kinds(&run_id).await;
    assert_eq!(
        kinds[kinds.len() - 2..],
        ["step.dead_lettered", "run.blocked"]
    );
}

/// `OperatorRetry` → `ReconsiderBlock`, `Enqueue`: the run runs again and the step is queued.
#[tokio::test]
async fn an_operator_retry_unblocks_the_run_and_queues_the_step() {
    let world = World::new();
    let run_id = world.running_run().await;
    world.fail(Action::Snapshot, FailureClass::Permanent);
    world.work(&run_id, Action::Snapshot).await;
    assert_eq!(world.run_state(&run_id).await, RunState::Blocked);
    world.queue.take();
    world
        .engine
        .retry(&run_id, &okta(Action::Snapshot), "ops")
        .await
        .unwrap();
    assert_eq!(world.run_state(&run_id).await, RunState::Running);
    assert_eq!(
        world.queue.take(),
        [(step_message(&run_id, Action::Snapshot), Duration::ZERO)]
    );
    let kinds = world.event_kinds(&run_id).await;
    assert_eq!(kinds[kinds.len() - 2..], ["step.retried", "run.unblocked"]);
}

/// `Waive` → `ReconsiderBlock`, `ReleaseDependents`; unblocking → `ReleaseReadySteps`.
#[tokio::test]
async fn a_waiver_unblocks_the_run_and_releases_what_waited() {
    // Deactivation waits for grant revocation (suspension no longer does: it blocks sign-in
    // first), so the waived step has a dependent to release.
    let world = World::with(
        |p| p.okta.as_mut().unwrap().disable = DisableMode::Deactivate,
        |_| {},
    );
    let run_id = world.running_run().await;
    world.fail(Action::RevokeGrants, FailureClass::Permanent);
    all_but_grants(&world, &run_id).await;
    world.work(&run_id, Action::RevokeGrants).await;
    assert_eq!(world.run_state(&run_id).await, RunState::Blocked);
    world.queue.take();
    world
        .engine
        .waive(
            &run_id,
            &okta(Action::RevokeGrants),
            "ops",
            "granted elsewhere",
        )
        .await
        .unwrap();
    assert_eq!(world.run_state(&run_id).await, RunState::Running);
    assert_eq!(
        world.state_of(&run_id, Action::Deactivate).await,
        StepState::Ready
    );
    // Queued once, though both the waiver and the unblocking ask for a release.
    assert_eq!(
        world.queue.take(),
        [(step_message(&run_id, Action::Deactivate), Duration::ZERO)]
    );
}

/// `Reschedule` → `ScheduleTimer`: the timer moves to the new cutoff, and a cutoff that is
/// already due (asked for as `Immediate`: a date in the past is refused) starts the run at once.
#[tokio::test]
async fn a_new_cutoff_sets_the_timer_and_a_past_one_starts_the_run() {
    let world = World::new();
    let run_id = world.scheduled_run().await;
    let later = at("2030-01-08T17:00:00Z");
    world
        .engine
        .reschedule(&run_id, &CutoffRequest::Exact(later), "ops", "one more day")
        .await
        .unwrap();
    assert_eq!(
        world.timer.take(),
        [TimerCall::Schedule(run_id.clone(), later)]
    );
    assert_eq!(world.run_state(&run_id).await, RunState::Scheduled);
    assert!(world.queue.take().is_empty());

    let past = at("2030-01-07T08:00:00Z");
    let refused = world
        .engine
        .reschedule(&run_id, &CutoffRequest::Exact(past), "ops", "left early")
        .await;
    assert!(
        matches!(&refused, Err(EngineError::Invalid(why)) if why.contains("in the past")),
        "{refused:?}"
    );
    assert!(
        world.timer.take().is_empty(),
        "a refused move sets no timer"
    );
    assert_eq!(world.run_state(&run_id).await, RunState::Scheduled);

    let earlier = at(START);
    world
        .engine
        .reschedule(&run_id, &CutoffRequest::Immediate, "ops", "left early")
        .await
        .unwrap();
    assert_eq!(
        world.timer.take(),
        [
            TimerCall::Schedule(run_id.clone(), earlier),
            TimerCall::Cancel(run_id.clone())
        ]
    );
    assert_eq!(world.run_state(&run_id).await, RunState::Running);
    assert_eq!(
        world.queue.take(),
        [(step_message(&run_id, Action::Snapshot), Duration::ZERO)]
    );
}

/// `Cancel` → `CancelTimer`, `Finalize`.
#[tokio::test]
async fn a_cancellation_removes_the_timer_and_queues_its_record() {
    let world = World::new();
    let run_id = world.scheduled_run().await;
    world
        .engine
        .cancel(&run_id, "ops", "the leaver stays")
        .await
        .unwrap();
    assert_eq!(world.run_state(&run_id).await, RunState::Cancelled);
    assert_eq!(world.timer.take(), [TimerCall::Cancel(run_id.clone())]);
    assert_eq!(
        world.queue.take(),
        [(QueueMessage::Finalize { run_id }, Duration::ZERO)]
    );
}
