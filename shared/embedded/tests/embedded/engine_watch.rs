//! The sign-in watch on the SQLite store: a closed run whose leaver signs in after the cutoff
//! reopens, works its lockout again, alerts and closes again into the next bundle; nothing
//! else reopens it, and a log that was not read to its end proves nothing.

use crate::engine_world::{World, at, close};
use passage_core::domain::{Action, LogReading, Provider, RunState, SignIn, StepState, step_key};
use passage_core::engine::Fired;
use passage_core::ids::RunId;
use passage_core::ports::{NoticeKind, RunStore};
use std::time::Duration;

fn sign_in(id: &str, at_: &str, success: bool) -> SignIn {
    SignIn {
        provider: Provider::Okta,
        at: at(at_),
        success,
        event_id: id.into(),
        app: Some("Salesforce".into()),
        ip: Some("203.0.113.7".into()),
        request_id: Some(format!("req-{id}")),
        failure: (!success).then(|| "INVALID_CREDENTIALS".into()),
    }
}

async fn closed_run(world: &World) -> RunId {
    let run_id = world.running_run().await;
    assert_eq!(close(world, &run_id).await, 1);
    assert_eq!(world.run_state(&run_id).await, RunState::Closed);
    run_id
}

async fn reading(world: &World, run_id: &RunId) -> LogReading {
    let run = world.store.run(run_id).await.unwrap().unwrap();
    run.sign_in_watch.unwrap().logs[&Provider::Okta].clone()
}

#[tokio::test]
async fn a_sign_in_after_the_cutoff_reopens_locks_out_again_alerts_and_closes_into_the_chain() {
    let world = World::new();
    let run_id = closed_run(&world).await;
    let timers = world.timer.take();
    assert!(
        !timers.is_empty(),
        "closing sets the timer for the watch's first read"
    );

    world
        .sign_ins
        .entries
        .lock()
        .unwrap()
        .push(sign_in("s1", "2030-01-07T17:10:00Z", true));
    world.advance(Duration::from_secs(15 * 60));
    let calls_before = world.okta.calls.lock().unwrap().len();
    assert_eq!(
        world.engine.fire_cutoff(&run_id).await.unwrap(),
        Fired::NotYet
    );

    let run = world.store.run(&run_id).await.unwrap().unwrap();
    assert_eq!(run.state, RunState::Running);
    assert!(
        run.bundle.is_none(),
        "the first bundle is superseded, not reused"
    );
    let watch = run.sign_in_watch.as_ref().unwrap();
    assert_eq!(watch.reopenings.len(), 1);
    assert_eq!(
        watch.reopenings[0]
            .previous_bundle
            .as_ref()
            .unwrap()
            .sequence,
        1
    );
    for action in [Action::Suspend, Action::RevokeSessions] {
        assert_eq!(
            world.state_of(&run_id, action).await,
            StepState::Ready,
            "{action}"
        );
    }
    assert_eq!(
        world.state_of(&run_id, Action::RemoveGroups).await,
        StepState::Verified,
        "only the lockout runs again"
    );
    let sent = world.notifier.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].kind, NoticeKind::SignInAfterCutoff);
    assert!(
        sent[0].subject.contains("after the cutoff"),
        "{}",
        sent[0].subject
    );
    assert!(sent[0].text.contains("203.0.113.7"));
    let kinds = world.event_kinds(&run_id).await;
    for kind in ["sign_in.after_cutoff", "run.reopened", "sign_in.alerted"] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "{kind} missing from {kinds:?}"
        );
    }

    // The lockout is done again at the provider, and the gate closes the run into bundle 2.
    assert_eq!(close(&world, &run_id).await, 2);
    let calls = world.okta.calls.lock().unwrap()[calls_before..].to_vec();
    assert!(calls.contains(&Action::Suspend) && calls.contains(&Action::RevokeSessions));
    let run = world.store.run(&run_id).await.unwrap().unwrap();
    assert_eq!(run.state, RunState::Closed);
    let first = world.evidence.bundle_dir(&world.tenant, &run_id).unwrap();
    assert!(
        first.join("manifest.json").exists(),
        "bundle 1 stays in place"
    );
    let second = std::path::PathBuf::from(&run.bundle.as_ref().unwrap().location);
    assert_ne!(first, second);
    let listed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(second.join("sign-ins.json")).unwrap()).unwrap();
    assert_eq!(listed["access"][0]["grade"], "remains");
    assert_eq!(listed["access"][0]["ip"], "203.0.113.7");
    assert_eq!(listed["access"][0]["request_id"], "req-s1");
    assert_eq!(listed["reopenings"][0]["previous_bundle"]["sequence"], 1);

    // The same entry read again is no news: closed stays closed.
    world.advance(Duration::from_secs(15 * 60));
    assert_eq!(
        world.engine.fire_cutoff(&run_id).await.unwrap(),
        Fired::NotYet
    );
    assert_eq!(world.run_state(&run_id).await, RunState::Closed);
    assert_eq!(world.notifier.sent().len(), 1);
}

#[tokio::test]
async fn a_sign_in_before_the_cutoff_within_the_slack_or_failed_does_not_reopen() {
    let world = World::new();
    let run_id = closed_run(&world).await;
    {
        let mut log = world.sign_ins.entries.lock().unwrap();
        log.push(sign_in("before", "2030-01-07T16:59:00Z", true));
        log.push(sign_in("slack", "2030-01-07T17:01:00Z", true));
        log.push(sign_in("failed", "2030-01-07T17:20:00Z", false));
    }
    world.advance(Duration::from_secs(30 * 60));
    assert_eq!(
        world.engine.fire_cutoff(&run_id).await.unwrap(),
        Fired::NotYet
    );
    let run = world.store.run(&run_id).await.unwrap().unwrap();
    assert_eq!(run.state, RunState::Closed);
    assert!(world.notifier.sent().is_empty());
    let watch = run.sign_in_watch.unwrap();
    assert!(watch.reopenings.is_empty());
    let seen: Vec<&str> = watch.sign_ins.iter().map(|s| s.event_id.as_str()).collect();
    assert!(
        seen.contains(&"failed"),
        "the failed attempt is recorded: {seen:?}"
    );
    assert!(!seen.contains(&"before"), "{seen:?}");
    assert!(matches!(
        reading(&world, &run_id).await,
        LogReading::Complete { .. }
    ));
    let kinds = world.event_kinds(&run_id).await;
    assert!(kinds.iter().any(|k| k == "sign_in.failed_after_cutoff"));
    assert!(!kinds.iter().any(|k| k == "run.reopened"));
}

#[tokio::test]
async fn a_log_not_read_to_its_end_is_unknown_and_read_again() {
    let world = World::new();
    let run_id = closed_run(&world).await;
    // The sign-in sits on a page the read never reached.
    world
        .sign_ins
        .entries
        .lock()
        .unwrap()
        .push(sign_in("s1", "2030-01-07T17:10:00Z", true));
    *world.sign_ins.partial.lock().unwrap() = true;
    world.advance(Duration::from_secs(15 * 60));
    assert_eq!(
        world.engine.fire_cutoff(&run_id).await.unwrap(),
        Fired::NotYet
    );
    assert_eq!(world.run_state(&run_id).await, RunState::Closed);
    let LogReading::Unknown { why, .. } = reading(&world, &run_id).await else {
        panic!("a partial read must be unknown, never none");
    };
    assert!(why.contains("page 2"), "{why}");

    // A failing log is unknown too.
    *world.sign_ins.partial.lock().unwrap() = false;
    *world.sign_ins.broken.lock().unwrap() = true;
    world.advance(Duration::from_secs(15 * 60));
    assert_eq!(
        world.engine.fire_cutoff(&run_id).await.unwrap(),
        Fired::NotYet
    );
    assert!(matches!(
        reading(&world, &run_id).await,
        LogReading::Unknown { .. }
    ));

    // The next read gets through and finds it.
    *world.sign_ins.broken.lock().unwrap() = false;
    world.advance(Duration::from_secs(15 * 60));
    world.engine.fire_cutoff(&run_id).await.unwrap();
    assert_eq!(world.run_state(&run_id).await, RunState::Running);
    assert_eq!(*world.sign_ins.reads.lock().unwrap(), 3);
}

#[tokio::test]
async fn a_sign_in_that_shows_up_late_still_reopens_and_the_watch_ends() {
    let world = World::new();
    let run_id = closed_run(&world).await;
    // Past the window itself, inside the logs' ingestion delay: nothing yet.
    world.set_time("2030-01-10T18:00:00Z");
    assert_eq!(
        world.engine.fire_cutoff(&run_id).await.unwrap(),
        Fired::NotYet
    );
    assert_eq!(world.run_state(&run_id).await, RunState::Closed);
    // A sign-in from inside the window arrives in the log hours late.
    world
        .sign_ins
        .entries
        .lock()
        .unwrap()
        .push(sign_in("late", "2030-01-10T16:30:00Z", true));
    world.set_time("2030-01-10T20:00:00Z");
    world.engine.fire_cutoff(&run_id).await.unwrap();
    assert_eq!(world.run_state(&run_id).await, RunState::Running);
    assert_eq!(close(&world, &run_id).await, 2);

    // Once the logs have caught up with the window, the watch is over and its timer spent.
    world.set_time("2030-01-11T00:00:00Z");
    assert_eq!(
        world.engine.fire_cutoff(&run_id).await.unwrap(),
        Fired::Ignored
    );
    let steps = world.store.steps(&run_id).await.unwrap();
    assert!(
        steps
            .iter()
            .filter(|s| s.key == step_key(Provider::Okta, Action::Suspend))
            .all(|s| s.state == StepState::Verified)
    );
}
