//! Retries by time, long operations and crash-safe accounting, on the SQLite store with a
//! clock the test moves: throttling never blocks a run, transient failures retry until the
//! tenant's deadline, the tenant hears past its SLA, a provider's long operation is awaited
//! on its own terms, and every attempt, an interrupted one included, is on record.

use crate::engine_world::{World, delivery, done, failure, okta, step_message};
use async_trait::async_trait;
use passage_core::domain::{
    Action, AttemptResult, Channel, Provider, RunState, StepState, TenantPolicy,
};
use passage_core::engine::{Disposition, EngineSettings};
use passage_core::ports::{
    ActionPending, ActionReport, ActionRequest, Connector, FailureClass, NoticeKind, RunStore,
    StepQueue,
};
use passage_embedded::{Database, SqliteQueue};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

fn results(attempts: &[passage_core::AttemptRecord]) -> Vec<AttemptResult> {
    attempts.iter().map(|a| a.result).collect()
}

/// Okta answers the snapshot 429 with `Retry-After: 30` twenty times in a row: the step waits
/// exactly as asked each time (a delivery that comes early calls nobody), none of it counts as
/// a failure, and the step is verified on the 21st attempt.
#[tokio::test]
async fn twenty_throttles_in_a_row_never_block_and_each_wait_is_as_asked() {
    let world = World::new();
    let run_id = world.running_run().await;
    let answered = Arc::new(AtomicUsize::new(0));
    let count = answered.clone();
    world.answer(Action::Snapshot, move |req, _| {
        if count.fetch_add(1, Ordering::SeqCst) < 20 {
            failure(FailureClass::Throttled {
                retry_after: Some(Duration::from_secs(30)),
            })
        } else {
            done(req.action)
        }
    });
    for throttle in 1..=20 {
        let asked = Duration::from_secs(30);
        assert_eq!(
            world.work(&run_id, Action::Snapshot).await,
            Disposition::Requeue(asked),
            "throttle {throttle}"
        );
        assert_eq!(
            world.state_of(&run_id, Action::Snapshot).await,
            StepState::RetryWait
        );
        assert_eq!(world.run_state(&run_id).await, RunState::Running);
        // A second early: the step is not due, and Okta is not called.
        world.advance(asked - Duration::from_secs(1));
        assert_eq!(
            world.work(&run_id, Action::Snapshot).await,
            Disposition::Requeue(Duration::from_secs(1))
        );
        assert_eq!(answered.load(Ordering::SeqCst), throttle);
        world.advance(Duration::from_secs(1));
    }
    assert_eq!(
        world.work(&run_id, Action::Snapshot).await,
        Disposition::Ack
    );
    let step = world.step(&run_id, Action::Snapshot).await;
    assert_eq!(step.state, StepState::Verified);
    assert!(step.last_error.is_none());
    let attempts = world.attempts(&run_id, Action::Snapshot).await;
    let mut expected = vec![AttemptResult::Throttled; 20];
    expected.push(AttemptResult::Verified);
    assert_eq!(results(&attempts), expected);
    // Each retry started no sooner than the provider asked.
    for pair in attempts.windows(2) {
        let waited = pair[1].started_at.duration_since(pair[0].finished_at);
        assert!(waited >= jiff::SignedDuration::from_secs(30), "{pair:?}");
    }
    let kinds = world.event_kinds(&run_id).await;
    assert_eq!(kinds.iter().filter(|k| *k == "step.throttled").count(), 20);
}

/// Okta fails with a server error for ten minutes of the test's clock, then recovers: the step
/// backs off (full jitter, capped) and is verified, its run never blocked.
#[tokio::test]
async fn server_errors_for_ten_minutes_then_success_verify_the_step() {
    let world = World::new();
    let run_id = world.running_run().await;
    let recovers = world.now() + jiff::SignedDuration::from_mins(10);
    world.answer(Action::Snapshot, move |req, now| {
        if now < recovers {
            failure(FailureClass::Retryable { retry_after: None })
        } else {
            done(req.action)
        }
    });
    let seen = world
        .work_until_settled(&run_id, Action::Snapshot, 10_000)
        .await;
    assert_eq!(seen.last(), Some(&Disposition::Ack));
    for d in &seen[..seen.len() - 1] {
        let Disposition::Requeue(delay) = d else {
            panic!("{d:?}");
        };
        assert!(*delay <= Duration::from_secs(300), "the backoff is capped");
    }
    assert!(world.now() >= recovers);
    let step = world.step(&run_id, Action::Snapshot).await;
    assert_eq!(step.state, StepState::Verified);
    assert!(step.streaks.is_clear(), "{:?}", step.streaks);
    assert_eq!(world.run_state(&run_id).await, RunState::Running);
    let attempts = results(&world.attempts(&run_id, Action::Snapshot).await);
    assert!(
        attempts.len() > 6,
        "more than the old count budget: {attempts:?}"
    );
    assert_eq!(attempts.last(), Some(&AttemptResult::Verified));
    assert!(
        attempts[..attempts.len() - 1]
            .iter()
            .all(|r| *r == AttemptResult::Retryable)
    );
}

/// A provider that keeps failing past the tenant's deadline for critical steps (an hour here)
/// blocks the run, with a reason that says so; the last try falls on the deadline.
#[tokio::test]
async fn past_its_deadline_a_failing_step_blocks_the_run_with_the_reason() {
    let world = World::with(|p| p.retry.critical_deadline = HOUR, |_| {});
    let run_id = world.running_run().await;
    let first = world.now();
    world.fail(
        Action::Snapshot,
        FailureClass::Retryable { retry_after: None },
    );
    let seen = world
        .work_until_settled(&run_id, Action::Snapshot, 10_000)
        .await;
    assert_eq!(seen.last(), Some(&Disposition::Ack));
    assert_eq!(world.now(), first + jiff::SignedDuration::from_hours(1));
    assert_eq!(
        world.state_of(&run_id, Action::Snapshot).await,
        StepState::Failed
    );
    let run = world.store.run(&run_id).await.unwrap().unwrap();
    assert_eq!(run.state, RunState::Blocked);
    let reason = run.blocked_reason.unwrap();
    assert!(
        reason.starts_with(
            "okta.snapshot failed (deadline_passed): still failing 1h after the first of "
        ),
        "{reason}"
    );
    assert!(
        reason.ends_with(
            "past the step's deadline of 1h; the last: E0000006: you do not have permission"
        ),
        "{reason}"
    );
    let attempts = world.attempts(&run_id, Action::Snapshot).await;
    assert!(
        attempts
            .iter()
            .all(|a| a.result == AttemptResult::Retryable),
        "every failed attempt is recorded as what it was"
    );
    let kinds = world.event_kinds(&run_id).await;
    assert_eq!(kinds[kinds.len() - 2..], ["step.failed", "run.blocked"]);
}

/// Past the tenant's SLA the sweep sends one escalation about the step, recorded on the step
/// and in the timeline, and the step keeps trying until it is verified.
#[tokio::test]
async fn past_the_sla_the_tenant_is_alerted_once_while_the_step_keeps_trying() {
    let world = World::with(
        |p: &mut TenantPolicy| {
            p.retry.sla = 30 * MINUTE;
            p.human.remind = vec![Channel::Email {
                to: vec!["it@acme.example".into()],
                include_recipients: false,
            }];
        },
        |_| {},
    );
    let run_id = world.running_run().await;
    let recovers = world.now() + jiff::SignedDuration::from_mins(45);
    world.answer(Action::Snapshot, move |req, now| {
        if now < recovers {
            failure(FailureClass::Retryable { retry_after: None })
        } else {
            done(req.action)
        }
    });
    let sla = world.now() + jiff::SignedDuration::from_mins(30);
    while world.now() < sla {
        match world.work(&run_id, Action::Snapshot).await {
            Disposition::Requeue(delay) => world.advance(delay),
            other => panic!("{other:?}"),
        }
        if world.now() < sla {
            world.engine.sweep().await.unwrap();
            assert!(world.notifier.sent().is_empty(), "no alert before the SLA");
        }
    }
    world.engine.sweep().await.unwrap();
    world.engine.sweep().await.unwrap();
    let sent = world.notifier.sent();
    assert_eq!(sent.len(), 1, "one alert per step: {sent:?}");
    assert_eq!(sent[0].kind, NoticeKind::Escalation);
    assert_eq!(sent[0].step, Some(okta(Action::Snapshot)));
    assert!(
        sent[0].subject.contains("past its SLA"),
        "{}",
        sent[0].subject
    );
    assert!(sent[0].text.contains("keeps trying"), "{}", sent[0].text);
    let step = world.step(&run_id, Action::Snapshot).await;
    assert_eq!(step.state, StepState::RetryWait, "still trying");
    assert!(step.sla_alerted_at.is_some());
    let events = world.store.events(&run_id).await.unwrap();
    let alert = events.iter().find(|e| e.kind == "step.past_sla").unwrap();
    assert_eq!(alert.detail["deliveries"][0]["channel"], "email");

    let seen = world
        .work_until_settled(&run_id, Action::Snapshot, 10_000)
        .await;
    assert_eq!(seen.last(), Some(&Disposition::Ack));
    assert_eq!(
        world.state_of(&run_id, Action::Snapshot).await,
        StepState::Verified
    );
    assert_eq!(world.notifier.sent().len(), 1);
}

/// A long-running operation (a Drive transfer, say) pending for five hours of the test's
/// clock: the step awaits completion, polled on the operation's cadence and told each time
/// what an earlier attempt saw, and is verified when it completes, with no failed attempt.
#[tokio::test]
async fn a_long_operation_pending_for_hours_verifies_with_no_failed_attempt() {
    let world = World::new();
    let run_id = world.running_run().await;
    let completes = world.now() + jiff::SignedDuration::from_hours(5);
    world.answer(Action::Snapshot, move |req, now| {
        if now < completes {
            ActionPending {
                code: "transfer_in_progress".into(),
                what: "transfer T1 is inProgress".into(),
                poll_after: 10 * MINUTE,
                deadline: 12 * HOUR,
            }
            .into()
        } else {
            done(req.action)
        }
    });
    assert_eq!(
        world.work(&run_id, Action::Snapshot).await,
        Disposition::Requeue(10 * MINUTE)
    );
    let step = world.step(&run_id, Action::Snapshot).await;
    assert_eq!(step.state, StepState::AwaitingCompletion);
    let operation = step.operation.unwrap();
    assert_eq!(operation.code, "transfer_in_progress");
    assert_eq!(
        operation.deadline,
        operation.since + jiff::SignedDuration::from_hours(12)
    );
    world.advance(10 * MINUTE);
    let seen = world
        .work_until_settled(&run_id, Action::Snapshot, 1_000)
        .await;
    assert_eq!(seen.last(), Some(&Disposition::Ack));
    assert!(
        seen[..seen.len() - 1]
            .iter()
            .all(|d| *d == Disposition::Requeue(10 * MINUTE))
    );
    let step = world.step(&run_id, Action::Snapshot).await;
    assert_eq!(step.state, StepState::Verified);
    assert!(step.operation.is_none());
    let attempts = results(&world.attempts(&run_id, Action::Snapshot).await);
    assert_eq!(
        attempts.len(),
        31,
        "a poll every 10 minutes for 5 hours, then done"
    );
    assert!(attempts[..30].iter().all(|r| *r == AttemptResult::Pending));
    assert_eq!(attempts[30], AttemptResult::Verified);
    // Every poll after the first was told what the step saw pending.
    let requests = world.okta.requests.lock().unwrap().clone();
    assert!(requests[0].operation.is_none());
    assert!(requests[1..].iter().all(|r| {
        r.operation
            .as_ref()
            .is_some_and(|o| o.code == "transfer_in_progress")
    }));
}

/// An operation still pending at its own deadline blocks the run with a reason naming it.
#[tokio::test]
async fn an_operation_pending_past_its_own_deadline_blocks_the_run() {
    let world = World::new();
    let run_id = world.running_run().await;
    world.answer(Action::Snapshot, |_, _| {
        ActionPending {
            code: "device_action_pending".into(),
            what: "retire waits for the device to check in".into(),
            poll_after: 15 * MINUTE,
            deadline: 2 * HOUR,
        }
        .into()
    });
    let seen = world
        .work_until_settled(&run_id, Action::Snapshot, 1_000)
        .await;
    assert_eq!(seen.last(), Some(&Disposition::Ack));
    let run = world.store.run(&run_id).await.unwrap().unwrap();
    assert_eq!(run.state, RunState::Blocked);
    assert_eq!(
        run.blocked_reason.as_deref(),
        Some(
            "okta.snapshot failed (deadline_passed): retire waits for the device to check in: \
             not complete 2h after it was first seen pending, past its deadline of 2h"
        )
    );
    let attempts = results(&world.attempts(&run_id, Action::Snapshot).await);
    assert!(attempts.iter().all(|r| *r == AttemptResult::Pending));
}

/// Okta, whose first `hang` executions never return (their worker dies mid-call); later ones
/// are answered by the scripted Okta.
struct Hanging {
    inner: Arc<dyn Connector>,
    hang: usize,
    calls: AtomicUsize,
    entered: Notify,
}

#[async_trait]
impl Connector for Hanging {
    fn provider(&self) -> Provider {
        Provider::Okta
    }
    fn supports(&self, _: Action) -> bool {
        true
    }
    async fn execute(&self, request: &ActionRequest) -> ActionReport {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.hang {
            self.entered.notify_one();
            std::future::pending::<()>().await;
        }
        self.inner.execute(request).await
    }
}

/// A world whose Okta hangs on its first `hang` calls.
fn hanging_world(hang: usize, settings: impl FnOnce(&mut EngineSettings)) -> (World, Arc<Hanging>) {
    let mut handle = None;
    let world = World::on(
        |_| {},
        settings,
        World::clock(),
        |okta| {
            let hanging = Arc::new(Hanging {
                inner: okta,
                hang,
                calls: AtomicUsize::new(0),
                entered: Notify::new(),
            });
            handle = Some(hanging.clone());
            hanging
        },
    );
    (world, handle.unwrap())
}

/// Delivers the step's message to a worker that dies while the provider call is under way.
async fn die_during_the_call(world: &World, hanging: &Hanging, run_id: &passage_core::RunId) {
    let engine = world.engine.clone();
    let message = delivery(run_id, Action::Snapshot, 1);
    let worker = tokio::spawn(async move { engine.handle(&message).await });
    hanging.entered.notified().await;
    worker.abort();
    let _ = worker.await;
}

/// The worker dies during the provider call. The attempt was recorded as started with the
/// claim, before the call; the worker that takes over the expired lease records it as
/// interrupted, and the bundle's evidence shows it.
#[tokio::test]
async fn an_attempt_whose_worker_dies_is_recorded_and_shown_as_interrupted() {
    let (world, hanging) = hanging_world(1, |_| {});
    let run_id = world.running_run().await;
    die_during_the_call(&world, &hanging, &run_id).await;
    let step = world.step(&run_id, Action::Snapshot).await;
    assert_eq!(step.state, StepState::InFlight);
    let lease_end = step.lease.unwrap().until;
    let attempts = world.attempts(&run_id, Action::Snapshot).await;
    assert_eq!(results(&attempts), [AttemptResult::Started]);

    // Within the lease the step is busy: the delivery waits, no second call.
    let Disposition::Requeue(wait) = world.work(&run_id, Action::Snapshot).await else {
        panic!("a busy step is requeued");
    };
    assert!(wait > MINUTE - Duration::from_secs(1), "{wait:?}");
    world.advance(wait);
    assert_eq!(
        world.work(&run_id, Action::Snapshot).await,
        Disposition::Ack
    );
    let attempts = world.attempts(&run_id, Action::Snapshot).await;
    assert_eq!(
        results(&attempts),
        [AttemptResult::Interrupted, AttemptResult::Verified]
    );
    assert_eq!(attempts[0].finished_at, lease_end);
    assert_eq!(attempts[0].worker, "worker-1");
    let step = world.step(&run_id, Action::Snapshot).await;
    assert_eq!(step.attempts, 2);
    assert!(step.streaks.is_clear());

    // Close the run: the bundle lists the interrupted attempt.
    for action in [
        Action::RevokeSessions,
        Action::RevokeGrants,
        Action::RemoveGroups,
        Action::Suspend,
    ] {
        assert_eq!(world.work(&run_id, action).await, Disposition::Ack);
    }
    world.engine.finalize(&run_id).await.unwrap().unwrap();
    let dir = world.evidence.bundle_dir(&world.tenant, &run_id).unwrap();
    let file = std::fs::read(dir.join("evidence/okta/snapshot.json")).unwrap();
    let evidence: serde_json::Value = serde_json::from_slice(&file).unwrap();
    let shown: Vec<&str> = evidence["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["result"].as_str().unwrap())
        .collect();
    assert_eq!(shown, ["interrupted", "verified"]);
}

/// A step whose attempts keep stopping their worker is given up as poison after
/// `max_interrupted` of them in a row: dead-lettered, its run blocked with the reason.
#[tokio::test]
async fn a_step_that_keeps_stopping_its_worker_is_given_up_as_poison() {
    let (world, hanging) = hanging_world(usize::MAX, |s| s.max_interrupted = 3);
    let run_id = world.running_run().await;
    for _ in 0..3 {
        die_during_the_call(&world, &hanging, &run_id).await;
        world.advance(2 * MINUTE);
    }
    let Disposition::DeadLetter(reason) = world.work(&run_id, Action::Snapshot).await else {
        panic!("the fourth delivery gives the step up");
    };
    assert!(
        reason.starts_with("3 attempts in a row were interrupted"),
        "{reason}"
    );
    let run = world.store.run(&run_id).await.unwrap().unwrap();
    assert_eq!(run.state, RunState::Blocked);
    assert!(
        run.blocked_reason
            .as_deref()
            .is_some_and(|r| r.starts_with("okta.snapshot failed (interrupted): 3 attempts")),
        "{:?}",
        run.blocked_reason
    );
    let attempts = results(&world.attempts(&run_id, Action::Snapshot).await);
    assert_eq!(attempts, [AttemptResult::Interrupted; 3]);
}

/// Through the real SQLite queue: while another worker holds the lease, the step's message is
/// delivered far more often than the dead-letter limit and every delivery is a first one (the
/// engine hands it back fresh); once the lease has expired, a delivery after many redeliveries
/// takes over and completes the step. Nothing is dead-lettered.
#[tokio::test]
async fn busy_and_redelivered_deliveries_never_dead_letter() {
    let (world, hanging) = hanging_world(1, |_| {});
    let run_id = world.running_run().await;
    die_during_the_call(&world, &hanging, &run_id).await;
    let queue = SqliteQueue::new(Database::in_memory().unwrap());
    queue
        .enqueue(&step_message(&run_id, Action::Snapshot), Duration::ZERO)
        .await
        .unwrap();
    let limit = world.engine.settings().max_receives;
    for _ in 0..limit + 50 {
        let got = queue.receive(1, MINUTE).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].receive_count, 1, "each wait starts the count over");
        let Disposition::Requeue(_) = world.engine.handle(&got[0]).await.unwrap() else {
            panic!("a busy step is requeued");
        };
        queue
            .requeue(&got[0].receipt, Duration::ZERO)
            .await
            .unwrap();
    }
    // Hosts that die after receiving: the message comes back, counting up.
    for n in 1..=20 {
        let got = queue.receive(1, Duration::ZERO).await.unwrap();
        assert_eq!(got[0].receive_count, n);
    }
    world.advance(2 * MINUTE);
    let got = queue.receive(1, MINUTE).await.unwrap();
    assert_eq!(got[0].receive_count, 21);
    assert_eq!(
        world.engine.handle(&got[0]).await.unwrap(),
        Disposition::Ack
    );
    queue.ack(&got[0].receipt).await.unwrap();
    assert!(queue.dead_letters().await.unwrap().is_empty());
    assert_eq!(
        world.state_of(&run_id, Action::Snapshot).await,
        StepState::Verified
    );
    let attempts = results(&world.attempts(&run_id, Action::Snapshot).await);
    assert_eq!(
        attempts,
        [AttemptResult::Interrupted, AttemptResult::Verified]
    );
}
