//! Contract checks every adapter of the ports must pass, run by each adapter set's tests
//! against real backends (SQLite and memory; DynamoDB, SQS, KMS, S3 and Scheduler on the AWS
//! emulator).
//!
//! Each check is an async function taking the port as a trait object and panicking with a
//! message that names the broken promise. The store, signer, evidence and timer checks make
//! their own tenants and runs with random ids, so they may share one backend (and run
//! concurrently). The queue check receives whatever is visible, so it needs a queue of its own.
//!
//! Core has no async runtime; checks that must wait take a [`Sleep`] from the test.

use jiff::{SignedDuration, Timestamp};
use passage_core::cutoff::{Cutoff, Derivation};
use passage_core::domain::{
    AttemptRecord, AttemptResult, Run, RunEvent, RunSource, RunState, Step, Subject, TenantPolicy,
};
use passage_core::evidence::BundleFiles;
use passage_core::ids::{RunId, StepKey, TenantId};
use passage_core::plan;
use passage_core::ports::{
    AuditEvent, AuditLog, ChainHead, Commit, Delivery, EvidenceError, EvidenceStore, InsertOutcome,
    KeyError, KeySlot, KeyVault, QueueMessage, RunFilter, RunStore, Signer, StepQueue, StoreError,
    Timer,
};
mod pacer;

pub use pacer::{
    ManualClock, pacer_all, pacer_gives_concurrent_callers_distinct_places,
    pacer_holds_to_the_providers_count, pacer_pauses_every_caller_after_a_refusal,
    pacer_serves_the_burst_then_the_rate,
};

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A boxed future, as the closures below return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Waits for a while: `&|d| Box::pin(tokio::time::sleep(d))` in a tokio test.
pub type Sleep = dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync;

/// Reads the dead letters an adapter kept, as `(body, reason)` pairs.
pub type DeadLetters = dyn Fn() -> BoxFuture<'static, Vec<(String, String)>> + Send + Sync;

/// When the adapter will fire a run's timer, if one is set.
pub type FiresAt = dyn Fn(RunId) -> BoxFuture<'static, Option<Timestamp>> + Send + Sync;

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

fn suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// A tenant id no other check uses.
pub fn unique_tenant() -> TenantId {
    TenantId::new(format!("ct-{}", suffix()))
}

/// A whole-millisecond instant `secs` seconds from now (stores may keep milliseconds only in
/// their indexes, never in the documents, but round numbers keep failures readable).
fn at(secs: i64) -> Timestamp {
    let now = Timestamp::now().as_millisecond();
    Timestamp::from_millisecond(now + secs * 1000).expect("timestamp in range")
}

/// A run fixture in `state`, cut off at `cutoff` and created at `created`.
pub fn run_fixture(
    tenant: &TenantId,
    employee_id: &str,
    state: RunState,
    cutoff: Timestamp,
    created: Timestamp,
) -> Run {
    Run {
        id: RunId::generate(),
        tenant: tenant.clone(),
        version: 0,
        state,
        subject: Subject {
            employee_id: employee_id.into(),
            email: format!("{employee_id}@example.com"),
            display_name: Some("Contract Check".into()),
            time_zone: "Europe/Berlin".into(),
            manager: None,
        },
        source: RunSource::Manual {
            actor: "contract".into(),
            received_at: created,
            note: Some("fixture".into()),
        },
        idempotency_key: format!("key-{}", suffix()),
        cutoff: Cutoff {
            at: cutoff,
            zone: "Europe/Berlin".into(),
            derivation: Derivation::Immediate,
        },
        created_at: created,
        started_at: None,
        closed_at: None,
        blocked_reason: None,
        hold: None,
        alerts: Vec::new(),
        cancellation: None,
        exceptions: Vec::new(),
        bundle: None,
        finalizing: None,
        sign_in_watch: None,
        early_at: None,
    }
}

fn steps_for(run: &Run) -> Vec<Step> {
    plan::build(&run.id, &TenantPolicy::new(run.tenant.as_str()), None)
        .expect("default plan builds")
}

fn event(run: &RunId, at: Timestamp, kind: &str) -> RunEvent {
    RunEvent::new(
        run,
        at,
        kind,
        "contract",
        serde_json::json!({"kind": kind, "nested": {"n": 1}}),
    )
}

fn attempt(run: &RunId, step: &StepKey, number: u32, result: AttemptResult) -> AttemptRecord {
    let t = at(0);
    AttemptRecord {
        run_id: run.clone(),
        step_key: step.clone(),
        number,
        worker: "contract-worker".into(),
        started_at: t,
        finished_at: t,
        result,
        error_code: None,
        message: Some(format!("attempt {number}")),
        calls: Vec::new(),
    }
}

async fn insert(store: &dyn RunStore, run: &Run, steps: &[Step], events: &[RunEvent]) {
    let outcome = store
        .insert_run(run, steps, events)
        .await
        .unwrap_or_else(|e| panic!("insert_run of a new run {} failed: {e}", run.id));
    assert_eq!(
        outcome,
        InsertOutcome::Created,
        "insert_run of a new run must create it"
    );
}

async fn load(store: &dyn RunStore, id: &RunId) -> Run {
    store
        .run(id)
        .await
        .unwrap_or_else(|e| panic!("run({id}) failed: {e}"))
        .unwrap_or_else(|| panic!("run {id} was stored but cannot be read"))
}

async fn commit_ok(store: &dyn RunStore, commit: Commit, what: &str) {
    store
        .commit(commit)
        .await
        .unwrap_or_else(|e| panic!("commit ({what}) should succeed: {e}"));
}

async fn commit_conflicts(store: &dyn RunStore, commit: Commit, what: &str) {
    match store.commit(commit).await {
        Err(StoreError::Conflict(_)) => {}
        Err(e) => panic!("commit ({what}) must fail with Conflict, got {e:?}"),
        Ok(()) => panic!("commit ({what}) must fail with Conflict, but it succeeded"),
    }
}

// ---------------------------------------------------------------------------------------------
// RunStore
// ---------------------------------------------------------------------------------------------

/// Every store check in turn.
pub async fn store_all(store: &dyn RunStore) {
    store_insert_is_idempotent(store).await;
    store_one_open_run_per_employee(store).await;
    store_commit_is_version_checked_and_atomic(store).await;
    store_keeps_attempts_and_events(store).await;
    store_chain_head_compare_and_set(store).await;
    store_learned_secrets(store).await;
    store_queries(store).await;
    store_keeps_a_reopened_run(store).await;
    store_counts_terminations_under_races(store).await;
}

/// A closed run's sign-in watch and a reopening by it read back exactly as written: the
/// providers' readings, the sign-ins (failed ones too), the superseded bundle. Reopened, the
/// run is open again for the sweep and for the one-open-run-per-employee rule.
pub async fn store_keeps_a_reopened_run(store: &dyn RunStore) {
    use passage_core::domain::{
        BundleRef, LogReading, Provider, Reopening, SignIn, SignInWatch, SignInWatchPolicy,
    };
    let tenant = unique_tenant();
    let mut run = run_fixture(&tenant, "e-watch", RunState::Closed, at(-3600), at(-7200));
    let bundle = BundleRef {
        sequence: 1,
        manifest_sha256: "ab".repeat(32),
        location: "bundles/x".into(),
    };
    run.bundle = Some(bundle.clone());
    run.sign_in_watch = Some(SignInWatch::new(
        run.cutoff.at,
        &SignInWatchPolicy::default(),
    ));
    insert(store, &run, &steps_for(&run), &[]).await;

    let mut reopened = load(store, &run.id).await;
    let sign_in = |id: &str, success| SignIn {
        provider: Provider::Google,
        at: at(-600),
        success,
        event_id: id.into(),
        app: Some("Gmail".into()),
        ip: Some("198.51.100.4".into()),
        request_id: None,
        failure: (!success).then(|| "login_failure".into()),
    };
    let watch = reopened
        .sign_in_watch
        .as_mut()
        .expect("the watch was stored");
    watch
        .logs
        .insert(Provider::Google, LogReading::Complete { read_at: at(0) });
    watch.logs.insert(
        Provider::Okta,
        LogReading::Unknown {
            read_at: at(0),
            why: "page 2: 500".into(),
        },
    );
    watch.logs.insert(
        Provider::Jumpcloud,
        LogReading::NotObservable {
            why: "no scope".into(),
        },
    );
    watch.sign_ins = vec![sign_in("ok", true), sign_in("bad", false)];
    watch.reopenings.push(Reopening {
        at: at(0),
        event_id: "ok".into(),
        provider: Provider::Google,
        previous_bundle: Some(bundle),
    });
    reopened.state = RunState::Running;
    reopened.bundle = None;
    reopened.closed_at = None;
    commit_ok(
        store,
        Commit {
            runs: vec![reopened.clone()],
            ..Commit::default()
        },
        "a reopened run",
    )
    .await;
    assert_eq!(
        load(store, &run.id).await,
        Run {
            version: reopened.version + 1,
            ..reopened
        },
        "the reopened run and its watch read back as written"
    );
    assert!(
        store
            .open_runs()
            .await
            .expect("open runs")
            .contains(&run.id),
        "a reopened run is open again"
    );
}

/// `insert_run` stores a run, its steps and events exactly as given; a second run with the same
/// tenant and idempotency key is not stored and the first one's id is returned; the same key
/// in another tenant is a different run.
pub async fn store_insert_is_idempotent(store: &dyn RunStore) {
    let tenant = unique_tenant();
    let run = run_fixture(&tenant, "e-idem", RunState::Scheduled, at(3600), at(0));
    let steps = steps_for(&run);
    let events = vec![
        event(&run.id, at(0), "run.created"),
        event(&run.id, at(0), "run.scheduled"),
    ];
    insert(store, &run, &steps, &events).await;
    assert_eq!(
        load(store, &run.id).await,
        run,
        "the run reads back as stored"
    );
    assert_eq!(
        store.steps(&run.id).await.expect("steps"),
        steps,
        "steps read back as stored, in plan order"
    );
    assert_eq!(
        store.events(&run.id).await.expect("events"),
        events,
        "events read back as stored, in order"
    );
    assert!(store.attempts(&run.id).await.expect("attempts").is_empty());

    // A second delivery of the same request: same tenant and key, new run id.
    let mut again = run_fixture(&tenant, "e-idem", RunState::Scheduled, at(3600), at(1));
    again.idempotency_key = run.idempotency_key.clone();
    let again_steps = steps_for(&again);
    let outcome = store
        .insert_run(
            &again,
            &again_steps,
            &[event(&again.id, at(1), "run.created")],
        )
        .await
        .expect("insert_run of a duplicate must not error");
    assert_eq!(
        outcome,
        InsertOutcome::Existing(run.id.clone()),
        "a duplicate idempotency key must return the existing run"
    );
    assert!(
        store.run(&again.id).await.expect("run").is_none(),
        "the duplicate run must not be stored"
    );
    assert!(
        store.steps(&again.id).await.expect("steps").is_empty(),
        "the duplicate's steps must not be stored"
    );
    assert!(
        store.events(&again.id).await.expect("events").is_empty(),
        "the duplicate's events must not be stored"
    );
    assert_eq!(
        store.events(&run.id).await.expect("events").len(),
        events.len(),
        "a duplicate insert adds no events to the existing run"
    );

    // Retrying the very same insert (a crash after the write) also finds the run.
    let outcome = store
        .insert_run(&run, &steps, &events)
        .await
        .expect("a repeated insert must not error");
    assert_eq!(outcome, InsertOutcome::Existing(run.id.clone()));

    // Idempotency is per tenant.
    let other_tenant = unique_tenant();
    let mut other = run_fixture(
        &other_tenant,
        "e-idem",
        RunState::Scheduled,
        at(3600),
        at(0),
    );
    other.idempotency_key = run.idempotency_key.clone();
    insert(store, &other, &steps_for(&other), &[]).await;
    assert_eq!(load(store, &other.id).await, other);

    assert!(store.run(&RunId::generate()).await.expect("run").is_none());
    assert!(
        store
            .steps(&RunId::generate())
            .await
            .expect("steps")
            .is_empty()
    );
}

/// Concurrent deliveries for one employee that the one-open-run rule must settle.
pub const RACING_DELIVERIES: usize = 200;

/// An employee has at most one open (scheduled, running or blocked) run per tenant, decided by
/// the store inside the insert: a second run with another idempotency key is refused with the
/// open run's id; once that run has ended, a new one may start; and of
/// [`RACING_DELIVERIES`] inserts racing for one employee exactly one creates a run.
pub async fn store_one_open_run_per_employee(store: &dyn RunStore) {
    let tenant = unique_tenant();
    let employee = format!("emp-{}", suffix());
    let first = run_fixture(&tenant, &employee, RunState::Scheduled, at(3600), at(0));
    insert(store, &first, &steps_for(&first), &[]).await;
    let second = run_fixture(&tenant, &employee, RunState::Scheduled, at(7200), at(1));
    let outcome = store
        .insert_run(&second, &steps_for(&second), &[])
        .await
        .expect("insert_run while another run is open must not error");
    assert_eq!(
        outcome,
        InsertOutcome::OpenRun(first.id.clone()),
        "a second open run for the employee must be refused, naming the open one"
    );
    assert!(store.run(&second.id).await.expect("run").is_none());
    // The same employee in another tenant is someone else.
    let elsewhere = run_fixture(
        &unique_tenant(),
        &employee,
        RunState::Scheduled,
        at(60),
        at(1),
    );
    insert(store, &elsewhere, &steps_for(&elsewhere), &[]).await;

    // Once the open run has ended, the employee may get a new one.
    let mut ended = load(store, &first.id).await;
    ended.state = RunState::Cancelled;
    store
        .commit(Commit {
            runs: vec![ended],
            ..Commit::default()
        })
        .await
        .expect("cancel the first run");
    insert(store, &second, &steps_for(&second), &[]).await;

    // A storm of deliveries for one new employee, each with its own event id.
    let racer = format!("emp-{}", suffix());
    let runs: Vec<Run> = (0..RACING_DELIVERIES)
        .map(|i| run_fixture(&tenant, &racer, RunState::Scheduled, at(3600), at(i as i64)))
        .collect();
    let outcomes =
        futures::future::join_all(runs.iter().map(|r| store.insert_run(r, &[], &[]))).await;
    let mut created = Vec::new();
    let mut named = std::collections::BTreeSet::new();
    for (run, outcome) in runs.iter().zip(outcomes) {
        match outcome.expect("a racing insert must not error") {
            InsertOutcome::Created => created.push(run.id.clone()),
            InsertOutcome::OpenRun(id) => {
                named.insert(id);
            }
            InsertOutcome::Existing(id) => {
                panic!("distinct event ids reported as a repeat of {id}")
            }
        }
    }
    assert_eq!(
        created.len(),
        1,
        "exactly one of {RACING_DELIVERIES} racing inserts creates a run"
    );
    assert!(
        named.iter().all(|id| *id == created[0]),
        "every refused insert names the one open run: {named:?}"
    );
    let filter = RunFilter {
        tenant: Some(tenant.clone()),
        employee_id: Some(racer),
        ..RunFilter::default()
    };
    assert_eq!(store.list_runs(&filter).await.expect("list").len(), 1);
}

/// Each run and step in a commit carries the version it was read at: the store refuses the
/// whole commit if any has moved on (or does not exist), applies nothing of a refused commit,
/// and stores each record with its version plus one.
pub async fn store_commit_is_version_checked_and_atomic(store: &dyn RunStore) {
    let tenant = unique_tenant();
    let run = run_fixture(&tenant, "e-occ", RunState::Scheduled, at(3600), at(0));
    let steps = steps_for(&run);
    insert(store, &run, &steps, &[event(&run.id, at(0), "run.created")]).await;

    // A run and a step, both at the versions read: stored with version + 1.
    let mut r = load(store, &run.id).await;
    let mut s = store.steps(&run.id).await.expect("steps")[0].clone();
    r.state = RunState::Running;
    r.started_at = Some(at(1));
    s.attempts = 1;
    commit_ok(
        store,
        Commit {
            runs: vec![r.clone()],
            steps: vec![s.clone()],
            events: vec![event(&run.id, at(1), "run.started")],
            ..Commit::default()
        },
        "run and step at their read versions",
    )
    .await;
    let stored = load(store, &run.id).await;
    assert_eq!(
        stored.version, 1,
        "a committed run's version goes up by one"
    );
    assert_eq!(
        stored,
        Run {
            version: 1,
            ..r.clone()
        },
        "the committed run reads back as written"
    );
    let stored_step = store.steps(&run.id).await.expect("steps")[0].clone();
    assert_eq!(
        stored_step,
        Step {
            version: 1,
            ..s.clone()
        },
        "the committed step reads back as written, version + 1"
    );
    assert_eq!(
        store.steps(&run.id).await.expect("steps").len(),
        steps.len(),
        "a commit neither adds nor drops steps"
    );

    // A writer still holding version 0 loses everything it tried to write.
    let mut stale_run = r.clone();
    stale_run.blocked_reason = Some("must not persist".into());
    let mut fresh_step = store.steps(&run.id).await.expect("steps")[1].clone();
    fresh_step.attempts = 7;
    let loser = Commit {
        runs: vec![stale_run],
        steps: vec![fresh_step.clone()],
        attempts: vec![attempt(
            &run.id,
            &fresh_step.key,
            1,
            AttemptResult::Verified,
        )],
        events: vec![event(&run.id, at(2), "must.not.persist")],
        chain: Some((
            tenant.clone(),
            ChainHead::genesis(),
            ChainHead {
                sequence: 1,
                manifest_sha256: "c".repeat(64),
            },
        )),
    };
    commit_conflicts(store, loser, "run at a stale version").await;
    assert_eq!(
        load(store, &run.id).await,
        stored,
        "a refused commit leaves the run untouched"
    );
    let after = store.steps(&run.id).await.expect("steps");
    assert_eq!(
        after[1].version, 0,
        "a refused commit applies no step change"
    );
    assert_eq!(
        after[1].attempts, 0,
        "a refused commit applies no step change"
    );
    assert!(
        store.attempts(&run.id).await.expect("attempts").is_empty(),
        "a refused commit stores no attempts"
    );
    assert_eq!(
        store.events(&run.id).await.expect("events").len(),
        2,
        "a refused commit appends no events"
    );
    assert_eq!(
        store.chain_head(&tenant).await.expect("chain head"),
        ChainHead::genesis(),
        "a refused commit leaves the chain head alone"
    );

    // The same with the stale record being a step and the run being fresh.
    let mut fresh_run = stored.clone();
    fresh_run.blocked_reason = Some("must not persist either".into());
    let mut stale_step = s.clone(); // version 0, stored is 1
    stale_step.attempts = 99;
    commit_conflicts(
        store,
        Commit {
            runs: vec![fresh_run],
            steps: vec![stale_step],
            ..Commit::default()
        },
        "step at a stale version",
    )
    .await;
    assert_eq!(load(store, &run.id).await.blocked_reason, None);
    let now = store.steps(&run.id).await.expect("steps");
    assert_eq!((now[0].attempts, now[0].version), (1, 1));

    // A version from the future is as wrong as one from the past.
    let mut ahead = stored.clone();
    ahead.version = 5;
    commit_conflicts(
        store,
        Commit {
            runs: vec![ahead],
            ..Commit::default()
        },
        "run at a version never stored",
    )
    .await;

    // Records that do not exist cannot be updated.
    let ghost = run_fixture(&tenant, "e-occ", RunState::Running, at(0), at(0));
    commit_conflicts(
        store,
        Commit {
            runs: vec![ghost.clone()],
            ..Commit::default()
        },
        "a run that was never inserted",
    )
    .await;
    assert!(store.run(&ghost.id).await.expect("run").is_none());
    let ghost_step = steps_for(&ghost)[0].clone();
    commit_conflicts(
        store,
        Commit {
            steps: vec![ghost_step],
            ..Commit::default()
        },
        "a step that was never inserted",
    )
    .await;

    // Versions keep counting: 1 -> 2 -> 3.
    let mut r2 = load(store, &run.id).await;
    r2.state = RunState::Blocked;
    r2.blocked_reason = Some("waiting".into());
    commit_ok(
        store,
        Commit {
            runs: vec![r2.clone()],
            ..Commit::default()
        },
        "second update",
    )
    .await;
    let mut r3 = load(store, &run.id).await;
    assert_eq!(r3.version, 2);
    r3.state = RunState::Running;
    r3.blocked_reason = None;
    commit_ok(
        store,
        Commit {
            runs: vec![r3],
            ..Commit::default()
        },
        "third update",
    )
    .await;
    assert_eq!(load(store, &run.id).await.version, 3);
    commit_conflicts(
        store,
        Commit {
            runs: vec![r2],
            ..Commit::default()
        },
        "replaying an old commit",
    )
    .await;

    // An empty commit is a no-op.
    commit_ok(store, Commit::default(), "empty commit").await;
}

/// Attempts are kept per step and number (a repeated record is stored once, a later record of
/// the same attempt replaces it) and read back by step key and number; events append in order
/// across inserts and commits.
pub async fn store_keeps_attempts_and_events(store: &dyn RunStore) {
    let tenant = unique_tenant();
    let run = run_fixture(&tenant, "e-att", RunState::Running, at(0), at(0));
    let steps = steps_for(&run);
    let mut events = vec![event(&run.id, at(0), "run.created")];
    insert(store, &run, &steps, &events).await;

    // `b` sorts before `a`.
    let (b, a) = if steps[0].key < steps[1].key {
        (steps[0].key.clone(), steps[1].key.clone())
    } else {
        (steps[1].key.clone(), steps[0].key.clone())
    };
    let a1 = attempt(&run.id, &a, 1, AttemptResult::Retryable);
    let a2 = attempt(&run.id, &a, 2, AttemptResult::Verified);
    let b1 = attempt(&run.id, &b, 1, AttemptResult::Repeat);
    let e1 = event(&run.id, at(1), "step.attempted");
    let e2 = event(&run.id, at(1), "step.attempted.again");
    commit_ok(
        store,
        Commit {
            attempts: vec![a2.clone(), a1.clone()],
            events: vec![e1.clone(), e2.clone()],
            ..Commit::default()
        },
        "attempts and events only",
    )
    .await;
    events.extend([e1, e2]);
    let e3 = event(&run.id, at(2), "step.verified");
    commit_ok(
        store,
        Commit {
            attempts: vec![b1.clone()],
            events: vec![e3.clone()],
            ..Commit::default()
        },
        "more attempts",
    )
    .await;
    events.push(e3);
    // A repeated attempt record (a retried commit) is stored once.
    commit_ok(
        store,
        Commit {
            attempts: vec![a1.clone()],
            ..Commit::default()
        },
        "repeated attempt",
    )
    .await;

    let got = store.attempts(&run.id).await.expect("attempts");
    assert_eq!(
        got,
        vec![b1.clone(), a1.clone(), a2.clone()],
        "attempts read back once each, ordered by step key then number"
    );
    assert_eq!(
        store.events(&run.id).await.expect("events"),
        events,
        "events read back in the order they were appended"
    );

    // An attempt is stored when claimed and again when it ends: the later record replaces it.
    let started = attempt(&run.id, &b, 2, AttemptResult::Started);
    commit_ok(
        store,
        Commit {
            attempts: vec![started],
            ..Commit::default()
        },
        "an attempt as claimed",
    )
    .await;
    let ended = AttemptRecord {
        finished_at: at(3),
        ..attempt(&run.id, &b, 2, AttemptResult::Interrupted)
    };
    commit_ok(
        store,
        Commit {
            attempts: vec![ended.clone()],
            ..Commit::default()
        },
        "the same attempt as it ended",
    )
    .await;
    let got = store.attempts(&run.id).await.expect("attempts");
    assert_eq!(
        got,
        vec![b1, ended, a1, a2],
        "the later record of an attempt replaces the earlier"
    );
}

/// The chain head starts at genesis and moves only from the value the commit expects.
/// Learned secrets: absent until learned, replaced by a later one, kept per tenant and vendor.
/// The go-live guard's count: racing terminations each get a distinct count (1..=n), a
/// redelivered one keeps its count, terminations out of the window no longer count, and each
/// tenant counts alone.
pub async fn store_counts_terminations_under_races(store: &dyn RunStore) {
    let tenant = unique_tenant();
    let hour = std::time::Duration::from_secs(3600);
    let racing = 12u32;
    let base = at(0);
    let at = |secs: i64| base + jiff::SignedDuration::from_secs(secs);
    let counts = futures::future::join_all((0..racing).map(|i| {
        let tenant = tenant.clone();
        async move {
            store
                .count_termination(&tenant, &format!("evt-{i}"), at(i64::from(i)), hour, 100)
                .await
                .unwrap()
        }
    }))
    .await;
    let mut sorted = counts.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (1..=racing).collect::<Vec<_>>(),
        "racing counts: {counts:?}"
    );
    let again = store
        .count_termination(&tenant, "evt-3", at(30), hour, 100)
        .await
        .unwrap();
    assert_eq!(again, counts[3], "a redelivery is counted once");
    let later = store
        .count_termination(&tenant, "evt-late", at(3600 + 5), hour, 100)
        .await
        .unwrap();
    assert_eq!(later, racing - 5, "the first six fell out of the window");
    let other = store
        .count_termination(&unique_tenant(), "evt-0", at(0), hour, 100)
        .await
        .unwrap();
    assert_eq!(other, 1, "another tenant counts alone");
}

pub async fn store_learned_secrets(store: &dyn RunStore) {
    use passage_core::secret::Secret;
    let acme = TenantId::new(format!("acme-{}", uuid::Uuid::new_v4().simple()));
    let globex = TenantId::new(format!("globex-{}", uuid::Uuid::new_v4().simple()));
    let read = async |t: &TenantId, v: &str| {
        store
            .learned_secret(t, v)
            .await
            .expect("read learned secret")
            .map(|s| s.expose().to_owned())
    };
    assert_eq!(read(&acme, "gusto").await, None);
    store
        .learn_secret(&acme, "gusto", &Secret::new("first-token"))
        .await
        .expect("learn");
    store
        .learn_secret(&acme, "gusto", &Secret::new("second-token"))
        .await
        .expect("learn again");
    assert_eq!(read(&acme, "gusto").await.as_deref(), Some("second-token"));
    assert_eq!(read(&acme, "hibob").await, None, "per vendor");
    assert_eq!(read(&globex, "gusto").await, None, "per tenant");
}

/// The audit log keeps every event per tenant, as appended (detail included), oldest first
/// with appends at the same millisecond in append order, and filters by time.
pub async fn audit_log_appends_and_lists(log: &dyn AuditLog) {
    let acme = unique_tenant();
    let globex = unique_tenant();
    let t0 = at(-600);
    let when = |secs: i64| t0 + SignedDuration::from_secs(secs);
    let event = |tenant: &TenantId, secs: i64, n: u32| AuditEvent {
        tenant: tenant.clone(),
        at: when(secs),
        kind: if n == 0 {
            "link.issued"
        } else {
            "link.fetched"
        }
        .into(),
        actor: format!("actor-{n}"),
        detail: serde_json::json!({"n": n, "path": "/v1/periods/x", "nested": {"ok": true}}),
    };
    let base = 0;
    // Appended out of time order; two at the same instant.
    for (secs, n) in [(base + 20, 2), (base, 0), (base + 10, 1), (base + 10, 3)] {
        log.append_audit(&event(&acme, secs, n))
            .await
            .expect("append audit event");
    }
    log.append_audit(&event(&globex, base, 9))
        .await
        .expect("append audit event");
    let all = log
        .audit_events(&acme, None)
        .await
        .expect("list audit events");
    let order: Vec<u32> = all
        .iter()
        .map(|e| e.detail["n"].as_u64().unwrap() as u32)
        .collect();
    assert_eq!(
        order,
        [0, 1, 3, 2],
        "oldest first, same instant in append order"
    );
    assert_eq!(
        all[0],
        event(&acme, base, 0),
        "an event reads back as appended"
    );
    let since = log
        .audit_events(&acme, Some(when(base + 10)))
        .await
        .expect("list audit events since");
    assert_eq!(since.len(), 3, "events at or after `since`");
    let other = log.audit_events(&globex, None).await.expect("list");
    assert_eq!(other.len(), 1, "per tenant");
    assert_eq!(other[0].actor, "actor-9");
    assert!(
        log.audit_events(&unique_tenant(), None)
            .await
            .expect("list")
            .is_empty()
    );
}

pub async fn store_chain_head_compare_and_set(store: &dyn RunStore) {
    let tenant = unique_tenant();
    let other = unique_tenant();
    assert_eq!(
        store.chain_head(&tenant).await.expect("chain head"),
        ChainHead::genesis(),
        "a tenant without bundles is at genesis"
    );
    let head = |n: u64, c: char| ChainHead {
        sequence: n,
        manifest_sha256: c.to_string().repeat(64),
    };
    let chain = |from: ChainHead, to: ChainHead| Commit {
        chain: Some((tenant.clone(), from, to)),
        ..Commit::default()
    };
    commit_ok(
        store,
        chain(ChainHead::genesis(), head(1, 'a')),
        "genesis -> 1",
    )
    .await;
    assert_eq!(store.chain_head(&tenant).await.expect("head"), head(1, 'a'));
    commit_conflicts(
        store,
        chain(ChainHead::genesis(), head(1, 'b')),
        "a fork from genesis",
    )
    .await;
    commit_conflicts(
        store,
        chain(head(1, 'b'), head(2, 'b')),
        "right sequence, wrong hash",
    )
    .await;
    commit_conflicts(
        store,
        chain(head(2, 'a'), head(3, 'a')),
        "right hash, wrong sequence",
    )
    .await;
    assert_eq!(store.chain_head(&tenant).await.expect("head"), head(1, 'a'));
    commit_ok(store, chain(head(1, 'a'), head(2, 'b')), "1 -> 2").await;
    assert_eq!(store.chain_head(&tenant).await.expect("head"), head(2, 'b'));
    commit_conflicts(store, chain(head(1, 'a'), head(2, 'c')), "replaying 1 -> 2").await;
    assert_eq!(
        store.chain_head(&other).await.expect("head"),
        ChainHead::genesis(),
        "chains are per tenant"
    );

    // The chain moves together with the run that closes, or not at all.
    let run = run_fixture(&tenant, "e-chain", RunState::Running, at(0), at(0));
    insert(store, &run, &steps_for(&run), &[]).await;
    let mut closed = load(store, &run.id).await;
    closed.state = RunState::Closed;
    let mut stale_close = closed.clone();
    stale_close.version = 9;
    commit_conflicts(
        store,
        Commit {
            runs: vec![stale_close],
            chain: Some((tenant.clone(), head(2, 'b'), head(3, 'd'))),
            ..Commit::default()
        },
        "chain move with a stale run",
    )
    .await;
    assert_eq!(store.chain_head(&tenant).await.expect("head"), head(2, 'b'));
    commit_conflicts(
        store,
        Commit {
            runs: vec![closed.clone()],
            chain: Some((tenant.clone(), head(1, 'a'), head(3, 'd'))),
            ..Commit::default()
        },
        "run close with a stale chain head",
    )
    .await;
    assert_eq!(load(store, &run.id).await.state, RunState::Running);
    commit_ok(
        store,
        Commit {
            runs: vec![closed],
            chain: Some((tenant.clone(), head(2, 'b'), head(3, 'd'))),
            ..Commit::default()
        },
        "run close with the chain move",
    )
    .await;
    assert_eq!(load(store, &run.id).await.state, RunState::Closed);
    assert_eq!(store.chain_head(&tenant).await.expect("head"), head(3, 'd'));
}

fn ids(runs: &[Run]) -> Vec<RunId> {
    runs.iter().map(|r| r.id.clone()).collect()
}

async fn listed(store: &dyn RunStore, filter: RunFilter) -> Vec<RunId> {
    ids(&store
        .list_runs(&filter)
        .await
        .unwrap_or_else(|e| panic!("list_runs({filter:?}) failed: {e}")))
}

/// `list_runs` filters by tenant, state and employee (with or without a tenant), newest first,
/// up to a limit; `due_runs` finds scheduled runs whose cutoff has come; `open_runs` finds
/// running and blocked runs; both follow state changes made by commits.
pub async fn store_queries(store: &dyn RunStore) {
    let tenant = unique_tenant();
    let other = unique_tenant();
    let e1 = format!("emp-{}", suffix());
    let e2 = format!("emp-{}", suffix());
    let e3 = format!("emp-{}", suffix());
    let e4 = format!("emp-{}", suffix());
    // Created one second apart, oldest first: a .. f in `tenant`, g in `other`. An employee has
    // at most one open run in a tenant, so e1's history there is one scheduled run (a) and two
    // that ended (e, f).
    let make = |t: &TenantId, e: &str, state, cutoff: i64, created: i64| {
        run_fixture(t, e, state, at(cutoff), at(created - 100))
    };
    let a = make(&tenant, &e1, RunState::Scheduled, -3600, 1);
    let b = make(&tenant, &e3, RunState::Scheduled, 3600, 2);
    let c = make(&tenant, &e4, RunState::Running, -3600, 3);
    let d = make(&tenant, &e2, RunState::Blocked, -7200, 4);
    let e = make(&tenant, &e1, RunState::Closed, -7200, 5);
    let f = make(&tenant, &e1, RunState::Cancelled, -7200, 6);
    let g = make(&other, &e1, RunState::Scheduled, -60, 7);
    for r in [&a, &b, &c, &d, &e, &f, &g] {
        insert(store, r, &steps_for(r), &[]).await;
    }
    let id = |r: &Run| r.id.clone();
    let filter = |tenant: Option<&TenantId>, state, employee: Option<&str>, limit| RunFilter {
        tenant: tenant.cloned(),
        state,
        employee_id: employee.map(str::to_owned),
        limit,
    };

    assert_eq!(
        listed(store, filter(Some(&tenant), None, None, None)).await,
        vec![id(&f), id(&e), id(&d), id(&c), id(&b), id(&a)],
        "list_runs by tenant: all of that tenant's runs, newest first"
    );
    assert_eq!(
        listed(store, filter(Some(&tenant), None, None, Some(2))).await,
        vec![id(&f), id(&e)],
        "list_runs honours the limit, keeping the newest"
    );
    assert_eq!(
        listed(
            store,
            filter(Some(&tenant), Some(RunState::Scheduled), None, None)
        )
        .await,
        vec![id(&b), id(&a)],
        "list_runs by tenant and state"
    );
    assert_eq!(
        listed(
            store,
            filter(Some(&tenant), Some(RunState::Scheduled), None, Some(1))
        )
        .await,
        vec![id(&b)],
        "the limit applies after the state filter"
    );
    assert_eq!(
        listed(store, filter(Some(&tenant), None, Some(&e1), None)).await,
        vec![id(&f), id(&e), id(&a)],
        "list_runs by tenant and employee"
    );
    assert_eq!(
        listed(
            store,
            filter(Some(&tenant), Some(RunState::Running), Some(&e4), None)
        )
        .await,
        vec![id(&c)],
        "list_runs by tenant, employee and state"
    );
    assert_eq!(
        listed(store, filter(Some(&other), None, Some(&e2), None)).await,
        Vec::<RunId>::new(),
        "an employee of another tenant is not listed"
    );
    assert_eq!(
        listed(store, filter(None, None, Some(&e1), None)).await,
        vec![id(&g), id(&f), id(&e), id(&a)],
        "list_runs by employee across tenants"
    );
    assert_eq!(
        listed(store, filter(None, None, Some(&e1), Some(2))).await,
        vec![id(&g), id(&f)],
        "list_runs by employee across tenants, limited"
    );
    assert_eq!(
        listed(
            store,
            filter(None, Some(RunState::Scheduled), Some(&e1), None)
        )
        .await,
        vec![id(&g), id(&a)],
        "list_runs by employee and state across tenants"
    );
    let blocked = listed(store, filter(None, Some(RunState::Blocked), None, None)).await;
    assert!(
        blocked.contains(&id(&d)) && !blocked.contains(&id(&c)),
        "list_runs by state alone"
    );
    let everything = listed(store, RunFilter::default()).await;
    for r in [&a, &b, &c, &d, &e, &f, &g] {
        assert!(
            everything.contains(&r.id),
            "list_runs without a filter lists every run"
        );
    }
    let stored = store
        .list_runs(&filter(Some(&other), None, None, None))
        .await
        .expect("list_runs");
    assert_eq!(stored, vec![g.clone()], "list_runs returns whole runs");

    let now = Timestamp::now();
    let due = store.due_runs(now).await.expect("due_runs");
    assert!(
        due.contains(&id(&a)),
        "a scheduled run past its cutoff is due"
    );
    assert!(due.contains(&id(&g)), "due runs of every tenant are found");
    for (r, why) in [
        (&b, "a scheduled run before its cutoff"),
        (&c, "a running run"),
        (&d, "a blocked run"),
        (&e, "a closed run"),
        (&f, "a cancelled run"),
    ] {
        assert!(!due.contains(&r.id), "due_runs must not return {why}");
    }
    let later = store
        .due_runs(now + SignedDuration::from_hours(2))
        .await
        .expect("due_runs");
    assert!(
        later.contains(&id(&a)) && later.contains(&id(&b)),
        "due_runs compares cutoffs with the time it is given"
    );
    let open = store.open_runs().await.expect("open_runs");
    assert!(open.contains(&id(&c)), "a running run is open");
    assert!(open.contains(&id(&d)), "a blocked run is open");
    for (r, why) in [
        (&a, "a scheduled run"),
        (&b, "a scheduled run"),
        (&e, "a closed run"),
        (&f, "a cancelled run"),
    ] {
        assert!(!open.contains(&r.id), "open_runs must not return {why}");
    }

    // State changes through commits move runs between the queries.
    let mut started = load(store, &a.id).await;
    started.state = RunState::Running;
    let mut finished = load(store, &c.id).await;
    finished.state = RunState::Closed;
    let mut moved = load(store, &b.id).await;
    moved.cutoff.at = at(-10);
    commit_ok(
        store,
        Commit {
            runs: vec![started, finished, moved],
            ..Commit::default()
        },
        "state and cutoff changes",
    )
    .await;
    let due = store.due_runs(Timestamp::now()).await.expect("due_runs");
    assert!(
        !due.contains(&id(&a)),
        "a run that started is no longer due"
    );
    assert!(
        due.contains(&id(&b)),
        "a run whose cutoff moved into the past is due"
    );
    let open = store.open_runs().await.expect("open_runs");
    assert!(open.contains(&id(&a)), "a run that started is open");
    assert!(
        !open.contains(&id(&c)),
        "a run that closed is no longer open"
    );
    assert_eq!(
        listed(
            store,
            filter(Some(&tenant), Some(RunState::Running), None, None)
        )
        .await,
        vec![id(&a)],
        "list_runs by state follows commits"
    );
    assert_eq!(
        listed(
            store,
            filter(Some(&tenant), Some(RunState::Closed), Some(&e4), None)
        )
        .await,
        vec![id(&c)],
        "list_runs by employee and state follows commits"
    );
}

// ---------------------------------------------------------------------------------------------
// StepQueue
// ---------------------------------------------------------------------------------------------

/// What the queue check needs besides the queue.
pub struct QueueCheck<'a> {
    pub queue: &'a dyn StepQueue,
    /// A visibility timeout and delay short enough to wait out (SQS counts whole seconds).
    pub visibility_short: Duration,
    pub sleep: &'a Sleep,
    /// Reads the adapter's dead letters, when it can.
    pub dead_letters: Option<&'a DeadLetters>,
}

impl QueueCheck<'_> {
    /// Waits out `short` plus a margin for clocks and polling.
    async fn wait_short(&self) {
        (self.sleep)(
            self.visibility_short + self.visibility_short / 2 + Duration::from_millis(250),
        )
        .await;
    }

    /// Receives until `want` deliveries arrived or a few polls came back empty-handed.
    async fn receive_some(&self, want: usize, visibility: Duration) -> Vec<Delivery> {
        let mut got = Vec::new();
        for _ in 0..12 {
            let batch = self
                .queue
                .receive(10, visibility)
                .await
                .unwrap_or_else(|e| panic!("receive failed: {e}"));
            got.extend(batch);
            if got.len() >= want {
                break;
            }
            (self.sleep)(self.visibility_short / 4 + Duration::from_millis(50)).await;
        }
        got
    }

    async fn receive_one(&self, expected: &QueueMessage, visibility: Duration) -> Delivery {
        let got = self.receive_some(1, visibility).await;
        assert_eq!(
            got.len(),
            1,
            "expected exactly one delivery of {expected:?}, got {got:?}"
        );
        let d = got.into_iter().next().expect("one delivery");
        assert_eq!(
            d.message.as_ref(),
            Some(expected),
            "the delivery carries the message"
        );
        let body: QueueMessage =
            serde_json::from_str(&d.body).expect("the raw body is the message's JSON");
        assert_eq!(&body, expected, "the raw body decodes to the message");
        d
    }

    async fn assert_nothing_visible(&self, why: &str) {
        let got = self
            .queue
            .receive(10, Duration::from_secs(60))
            .await
            .unwrap_or_else(|e| panic!("receive failed: {e}"));
        assert!(got.is_empty(), "{why}, but received {got:?}");
    }
}

/// Visibility, per-message delay, release, requeue, ack, fresh receipts and receive counts,
/// routing of both message kinds, and dead letters. Needs a queue nobody else uses while it
/// runs; leaves it empty.
pub async fn queue_visibility_receipts_and_dead_letters(check: QueueCheck<'_>) {
    let long = Duration::from_secs(60);
    let run = RunId::generate();
    let step = |k: &str| QueueMessage::Step {
        run_id: run.clone(),
        step_key: StepKey::new(k),
    };
    let q = check.queue;
    check
        .assert_nothing_visible("the queue check needs an empty queue")
        .await;

    // Received: hidden from others, then released with no delay: delivered again with a new
    // receipt and a higher receive count.
    let m1 = step("okta.snapshot");
    q.enqueue(&m1, Duration::ZERO).await.expect("enqueue");
    let first = check.receive_one(&m1, long).await;
    assert_eq!(
        first.receive_count, 1,
        "a first delivery has receive count 1"
    );
    check
        .assert_nothing_visible("a received message is hidden during its visibility timeout")
        .await;
    q.release(&first.receipt, Duration::ZERO)
        .await
        .expect("release with no delay");
    let second = check.receive_one(&m1, long).await;
    assert_eq!(second.receive_count, 2, "a redelivery counts up");
    assert_ne!(
        second.receipt, first.receipt,
        "each delivery gets its own receipt"
    );
    q.ack(&second.receipt).await.expect("ack");
    check.wait_short().await;
    check
        .assert_nothing_visible("an acked message is gone for good")
        .await;

    // A receiver that dies: the message comes back after the visibility timeout.
    let m2 = step("okta.revoke_sessions");
    q.enqueue(&m2, Duration::ZERO).await.expect("enqueue");
    let held = check.receive_one(&m2, check.visibility_short).await;
    assert_eq!(held.receive_count, 1);
    check
        .assert_nothing_visible("hidden until its visibility timeout passes")
        .await;
    check.wait_short().await;
    let back = check.receive_one(&m2, long).await;
    assert_eq!(
        back.receive_count, 2,
        "redelivered after the visibility timeout"
    );
    q.ack(&back.receipt).await.expect("ack");

    // A delayed message waits for its delay.
    let m3 = step("okta.suspend");
    q.enqueue(&m3, check.visibility_short)
        .await
        .expect("enqueue delayed");
    check
        .assert_nothing_visible("a delayed message is not visible before its delay")
        .await;
    check.wait_short().await;
    let delayed = check.receive_one(&m3, long).await;
    assert_eq!(delayed.receive_count, 1);

    // Released with a delay: hidden for that long, then back.
    q.release(&delayed.receipt, check.visibility_short)
        .await
        .expect("release with a delay");
    check
        .assert_nothing_visible("a message released with a delay stays hidden for it")
        .await;
    check.wait_short().await;
    let retried = check.receive_one(&m3, long).await;
    assert_eq!(retried.receive_count, 2);
    q.ack(&retried.receipt).await.expect("ack");

    // Requeued: hidden for its delay, then delivered as if newly queued, so a step that waits
    // (however often) never nears the dead-letter limit.
    let m6 = step("okta.unassign_apps");
    q.enqueue(&m6, Duration::ZERO).await.expect("enqueue");
    let got = check.receive_one(&m6, long).await;
    q.release(&got.receipt, Duration::ZERO)
        .await
        .expect("release with no delay");
    let again = check.receive_one(&m6, long).await;
    assert_eq!(again.receive_count, 2);
    q.requeue(&again.receipt, check.visibility_short)
        .await
        .expect("requeue with a delay");
    check
        .assert_nothing_visible("a requeued message stays hidden for its delay")
        .await;
    check.wait_short().await;
    let fresh = check.receive_one(&m6, long).await;
    assert_eq!(
        fresh.receive_count, 1,
        "a requeued message starts its receive count over"
    );
    q.ack(&fresh.receipt).await.expect("ack");

    // Finalize messages travel too (SQS adapters route them to their own queue).
    let fin = QueueMessage::Finalize {
        run_id: run.clone(),
    };
    q.enqueue(&fin, Duration::ZERO).await.expect("enqueue");
    let d = check.receive_one(&fin, long).await;
    q.ack(&d.receipt).await.expect("ack");

    // Dead letters: the message leaves the queue and keeps its reason.
    let m4 = step("okta.remove_groups");
    q.enqueue(&m4, Duration::ZERO).await.expect("enqueue");
    let doomed = check.receive_one(&m4, long).await;
    let reason = format!("contract check {run}: gave up");
    q.dead_letter(&doomed.receipt, &reason)
        .await
        .expect("dead_letter");
    check.wait_short().await;
    check
        .assert_nothing_visible("a dead-lettered message is no longer queued")
        .await;
    if let Some(read) = check.dead_letters {
        let letters = read().await;
        assert!(
            letters
                .iter()
                .any(|(body, r)| body == &doomed.body && r == &reason),
            "the dead letter keeps the body and the reason; got {letters:?}"
        );
    }

    // The same message queued twice: one copy may be dropped, but no copy is lost or altered.
    let m5 = step("okta.revoke_grants");
    q.enqueue(&m5, Duration::ZERO).await.expect("enqueue");
    q.enqueue(&m5, Duration::ZERO).await.expect("enqueue again");
    // The backlog, where the backend reports one (for /metrics), counts what waits and what
    // was given up on.
    if let Some(b) = q.backlog().await.expect("backlog") {
        assert!(b.queued >= 1, "a queued message is in the backlog: {b:?}");
        assert!(b.dead_letters >= 1, "the dead letter is counted: {b:?}");
    }
    let copies = check.receive_some(2, long).await;
    assert!(
        (1..=2).contains(&copies.len()),
        "one or two copies of a message queued twice, got {copies:?}"
    );
    for c in &copies {
        assert_eq!(c.message.as_ref(), Some(&m5));
        q.ack(&c.receipt).await.expect("ack");
    }
    check.wait_short().await;
    check
        .assert_nothing_visible("the check leaves the queue empty")
        .await;
}

// ---------------------------------------------------------------------------------------------
// Signer
// ---------------------------------------------------------------------------------------------

/// Signatures are DER ECDSA P-256/SHA-256 over the message, verifiable with the published
/// public key (as `openssl dgst -sha256 -verify` would), under a stable key id.
pub async fn signer_produces_verifiable_der(signer: &dyn Signer) {
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::{Signature, VerifyingKey};
    use p256::pkcs8::DecodePublicKey;

    let pem = signer.public_key_pem();
    assert!(
        pem.starts_with("-----BEGIN PUBLIC KEY-----"),
        "the public key is SPKI PEM: {pem}"
    );
    let key = VerifyingKey::from_public_key_pem(&pem)
        .unwrap_or_else(|e| panic!("the public key must be a P-256 SPKI PEM: {e}"));
    passage_core::evidence::public_key_fingerprint(&pem).expect("the public key has a fingerprint");
    let id = signer.key_id();
    assert!(!id.is_empty(), "the signer names its key");
    assert_eq!(signer.key_id(), id, "the key id is stable");
    assert_eq!(signer.public_key_pem(), pem, "the public key is stable");

    let statement = format!(
        "passage evidence statement v1\ntenant: contract\nrun: {}\n",
        RunId::generate()
    );
    let large = vec![b'x'; 4000];
    for message in [statement.as_bytes(), large.as_slice()] {
        let der = signer
            .sign(message)
            .await
            .unwrap_or_else(|e| panic!("signing {} bytes failed: {e}", message.len()));
        let sig = Signature::from_der(&der)
            .unwrap_or_else(|e| panic!("the signature must be DER (r, s): {e}"));
        assert_eq!(
            sig.to_der().as_bytes(),
            der.as_slice(),
            "the signature is strict (minimal) DER"
        );
        key.verify(message, &sig).unwrap_or_else(|e| {
            panic!(
                "the signature must verify as ECDSA P-256/SHA-256 over the message ({} bytes): {e}",
                message.len()
            )
        });
        let mut tampered = message.to_vec();
        tampered[0] ^= 1;
        assert!(
            key.verify(&tampered, &sig).is_err(),
            "the signature must not verify for another message"
        );
    }
}

/// One key per tenant: a tenant has no key until one is made, each tenant's key is its own and
/// stays the same, a key is never replaced by `create`, and a rotation's next key becomes
/// current only by `promote`, which repeats harmlessly. Key sets and checkpoints round-trip per
/// tenant.
pub async fn key_vault_keeps_one_key_per_tenant(vault: &dyn KeyVault) {
    let (a, b) = (unique_tenant(), unique_tenant());
    let fp = |s: &std::sync::Arc<dyn Signer>| {
        passage_core::evidence::public_key_fingerprint(&s.public_key_pem())
            .expect("the key has a fingerprint")
    };
    let current = |t: TenantId| async move { vault.key(&t, KeySlot::Current).await };
    assert!(
        current(a.clone()).await.expect("key lookup").is_none(),
        "a new tenant has no key until one is made"
    );
    assert!(vault.key(&a, KeySlot::Next).await.expect("key").is_none());
    let key_a = vault
        .create(&a, KeySlot::Current)
        .await
        .expect("create a's key");
    let key_b = vault
        .create(&b, KeySlot::Current)
        .await
        .expect("create b's key");
    assert_ne!(fp(&key_a), fp(&key_b), "each tenant has a key of its own");
    signer_produces_verifiable_der(key_a.as_ref()).await;
    signer_produces_verifiable_der(key_b.as_ref()).await;
    let again = current(a.clone())
        .await
        .expect("key")
        .expect("a's key is kept");
    assert_eq!(fp(&again), fp(&key_a), "the key reads back the same");
    match vault.create(&a, KeySlot::Current).await {
        Err(KeyError::Exists { slot, .. }) => assert_eq!(slot, KeySlot::Current),
        Err(e) => panic!("creating over a key must fail with Exists, got {e}"),
        Ok(_) => panic!("creating over a key must fail, but it replaced the key"),
    }
    let stayed = current(a.clone()).await.expect("key").expect("key");
    assert_eq!(
        fp(&stayed),
        fp(&key_a),
        "a refused create leaves the key alone"
    );

    // Rotation: the next key waits beside the current one until promoted.
    vault
        .promote(&a)
        .await
        .expect("promote without a next key does nothing");
    let unchanged = current(a.clone()).await.expect("key").expect("key");
    assert_eq!(fp(&unchanged), fp(&key_a));
    let next = vault
        .create(&a, KeySlot::Next)
        .await
        .expect("create a next key");
    assert_ne!(fp(&next), fp(&key_a), "the next key is a new key");
    assert!(matches!(
        vault.create(&a, KeySlot::Next).await,
        Err(KeyError::Exists { .. })
    ));
    let still = current(a.clone()).await.expect("key").expect("key");
    assert_eq!(fp(&still), fp(&key_a), "a next key does not sign yet");
    vault.promote(&a).await.expect("promote");
    let promoted = current(a.clone()).await.expect("key").expect("key");
    assert_eq!(
        fp(&promoted),
        fp(&next),
        "the next key is current after promotion"
    );
    assert!(vault.key(&a, KeySlot::Next).await.expect("key").is_none());
    signer_produces_verifiable_der(promoted.as_ref()).await;
    vault
        .promote(&a)
        .await
        .expect("promoting again does nothing");
    let same = current(a.clone()).await.expect("key").expect("key");
    assert_eq!(fp(&same), fp(&next));
    let b_key = current(b.clone()).await.expect("key").expect("key");
    assert_eq!(
        fp(&b_key),
        fp(&key_b),
        "another tenant's rotation leaves b alone"
    );

    // What is published about the keys.
    assert_eq!(vault.key_set(&a).await.expect("key set"), None);
    let published = passage_core::evidence::PublishedKey::from_pem(
        &key_a.key_id(),
        &key_a.public_key_pem(),
        Some(at(0)),
        None,
    )
    .expect("published key");
    let set = passage_core::evidence::KeySet::first(a.as_str(), published.clone());
    vault.publish_key_set(&a, &set).await.expect("publish");
    assert_eq!(vault.key_set(&a).await.expect("key set"), Some(set.clone()));
    let rotated = set.rotated(
        passage_core::evidence::PublishedKey::from_pem(
            &next.key_id(),
            &next.public_key_pem(),
            None,
            None,
        )
        .expect("next key"),
        at(1),
        2,
    );
    vault
        .publish_key_set(&a, &rotated)
        .await
        .expect("republish");
    assert_eq!(
        vault.key_set(&a).await.expect("key set"),
        Some(rotated),
        "a new set replaces the old"
    );
    assert_eq!(
        vault.key_set(&b).await.expect("key set"),
        None,
        "sets are per tenant"
    );
    assert_eq!(vault.checkpoint(&a).await.expect("checkpoint"), None);
    let checkpoint = passage_core::evidence::SignedCheckpoint {
        schema: passage_core::evidence::CHECKPOINT_SCHEMA.into(),
        checkpoint: "text\n".into(),
        signature: "c2ln".into(),
        public_key_pem: next.public_key_pem(),
    };
    vault
        .publish_checkpoint(&a, &checkpoint)
        .await
        .expect("publish checkpoint");
    assert_eq!(
        vault.checkpoint(&a).await.expect("checkpoint"),
        Some(checkpoint)
    );
    assert_eq!(vault.checkpoint(&b).await.expect("checkpoint"), None);
}

// ---------------------------------------------------------------------------------------------
// EvidenceStore
// ---------------------------------------------------------------------------------------------

fn bundle(files: &[(&str, &[u8])]) -> BundleFiles {
    let mut b = BundleFiles::new();
    for (p, bytes) in files {
        b.insert(p, bytes.to_vec()).expect("fixture path is safe");
    }
    b
}

/// Bundles round-trip byte for byte, per file and whole; writing a run's bundle again replaces
/// it; missing bundles and files read as `None`; unsafe paths are refused.
pub async fn evidence_round_trip(store: &dyn EvidenceStore) {
    let tenant = unique_tenant();
    let run = RunId::generate();
    let first = bundle(&[
        (
            "manifest.json",
            br#"{"schema":"passage.evidence.bundle/v1"}"#,
        ),
        ("statement.txt", b"passage evidence statement v1\n"),
        ("statement.sig", &[0x30, 0x45, 0x02, 0x20, 0xff, 0x00, 0x80]),
        ("signing-key.pem", b"-----BEGIN PUBLIC KEY-----\n"),
        ("evidence/okta/suspend.json", br#"{"status":"SUSPENDED"}"#),
        ("pre-state/okta.json", br#"{"groups":["a","b"]}"#),
        ("VERIFY.md", b"# Verify\n"),
        ("stale.json", b"only in the first write"),
    ]);
    let location = store
        .put_bundle(&tenant, &run, &first)
        .await
        .unwrap_or_else(|e| panic!("put_bundle failed: {e}"));
    assert!(!location.is_empty(), "put_bundle says where the bundle is");
    for (path, bytes) in first.iter() {
        assert_eq!(
            store
                .get_file(&tenant, &run, path)
                .await
                .unwrap_or_else(|e| panic!("get_file({path}) failed: {e}")),
            Some(bytes.clone()),
            "file {path} reads back byte for byte"
        );
    }
    assert_eq!(
        store.get_bundle(&tenant, &run).await.expect("get_bundle"),
        Some(first.clone()),
        "the bundle reads back whole"
    );

    // Writing again (a retried finalizer) replaces the bundle: changed files change, files
    // the new bundle lacks are gone.
    let second = bundle(&[
        (
            "manifest.json",
            br#"{"schema":"passage.evidence.bundle/v1","n":2}"#,
        ),
        ("statement.txt", b"passage evidence statement v1\nsecond\n"),
        ("evidence/okta/suspend.json", br#"{"status":"SUSPENDED"}"#),
    ]);
    let again = store
        .put_bundle(&tenant, &run, &second)
        .await
        .expect("put_bundle again");
    assert_eq!(again, location, "a bundle's location does not move");
    assert_eq!(
        store.get_bundle(&tenant, &run).await.expect("get_bundle"),
        Some(second.clone()),
        "the second write replaces the first"
    );
    assert_eq!(
        store
            .get_file(&tenant, &run, "stale.json")
            .await
            .expect("get_file"),
        None,
        "a file the new bundle lacks is gone"
    );

    // Bundles of other runs and tenants are separate.
    let other_run = RunId::generate();
    assert_eq!(
        store
            .get_bundle(&tenant, &other_run)
            .await
            .expect("get_bundle"),
        None
    );
    assert_eq!(
        store
            .get_file(&tenant, &other_run, "manifest.json")
            .await
            .expect("get_file"),
        None
    );
    assert_eq!(
        store
            .get_bundle(&unique_tenant(), &run)
            .await
            .expect("get_bundle"),
        None,
        "a bundle is found only under its own tenant"
    );
    let neighbour = bundle(&[("manifest.json", b"{}")]);
    store
        .put_bundle(&tenant, &other_run, &neighbour)
        .await
        .expect("put_bundle");
    assert_eq!(
        store.get_bundle(&tenant, &run).await.expect("get_bundle"),
        Some(second),
        "writing another run's bundle leaves this one alone"
    );
    assert_eq!(
        store
            .get_file(&tenant, &run, "missing.json")
            .await
            .expect("get_file"),
        None
    );

    for bad in ["../x", "/etc/passwd", "a/../b", "a//b", ""] {
        assert!(
            matches!(
                store.get_file(&tenant, &run, bad).await,
                Err(EvidenceError::BadPath(_))
            ),
            "get_file must refuse the path {bad:?}"
        );
    }
    let bad_tenant = TenantId::new("../escape");
    assert!(
        matches!(
            store.put_bundle(&bad_tenant, &run, &neighbour).await,
            Err(EvidenceError::BadPath(_))
        ),
        "put_bundle must refuse a tenant id that is not a plain segment"
    );
    assert!(
        matches!(
            store.get_bundle(&tenant, &RunId::new("a/b")).await,
            Err(EvidenceError::BadPath(_))
        ),
        "get_bundle must refuse a run id that is not a plain segment"
    );
}

// ---------------------------------------------------------------------------------------------
// Timer
// ---------------------------------------------------------------------------------------------

/// Scheduling is idempotent per run and moves an existing timer; cancelling removes it and is
/// idempotent, also for runs that never had one. With `fires_at`, the check also reads the
/// adapter's timers back (times are whole seconds in the future, as Scheduler keeps them).
pub async fn timer_schedule_and_cancel_are_idempotent(
    timer: &dyn Timer,
    fires_at: Option<&FiresAt>,
) {
    let tenant = unique_tenant();
    let run = RunId::generate();
    let whole = |secs: i64| {
        let t = Timestamp::now().as_second() + secs;
        Timestamp::from_second(t).expect("in range")
    };
    let (t1, t2) = (whole(86_400), whole(2 * 86_400));
    let expect = |want: Option<Timestamp>, why: &'static str| {
        let run = run.clone();
        async move {
            if let Some(read) = fires_at {
                assert_eq!(read(run).await, want, "{why}");
            }
        }
    };

    expect(None, "no timer before scheduling").await;
    timer.schedule(&tenant, &run, t1).await.expect("schedule");
    timer
        .schedule(&tenant, &run, t1)
        .await
        .expect("scheduling the same time again is fine");
    expect(Some(t1), "the timer fires at the scheduled time").await;
    timer
        .schedule(&tenant, &run, t2)
        .await
        .expect("moving the timer");
    expect(Some(t2), "scheduling again moves the timer").await;
    timer.cancel(&run).await.expect("cancel");
    expect(None, "a cancelled timer is gone").await;
    timer.cancel(&run).await.expect("cancelling twice is fine");
    timer
        .cancel(&RunId::generate())
        .await
        .expect("cancelling a run without a timer is fine");
    timer
        .schedule(&tenant, &run, t1)
        .await
        .expect("scheduling again after a cancel");
    expect(Some(t1), "a timer can be set again after a cancel").await;
    timer.cancel(&run).await.expect("cancel");
}
