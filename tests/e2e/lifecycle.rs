//! Run lifecycle through the running host: the cutoff timer's precision, cancellation and
//! rescheduling before the cutoff, and the gate's refusal to waive critical steps.

use passage::harness::{Cutoff, Sandbox, SandboxOptions, leaver_event, wait_for};
use passage_core::cutoff::CutoffRequest;
use passage_core::ports::RunStore;
use passage_core::{RunId, RunState, StepKey};
use passage_sandbox::okta::DEMO_LEAVER;
use std::time::Duration;

async fn sandbox() -> (Sandbox, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("passage-life-{}", uuid::Uuid::new_v4().simple()));
    (
        Sandbox::start(SandboxOptions::new(&dir)).await.unwrap(),
        dir,
    )
}

async fn accept(sb: &Sandbox, id: &str, body: &[u8]) -> RunId {
    let r = sb.post(id, body).await.unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let v: serde_json::Value = r.json().await.unwrap();
    RunId::new(v["run_id"].as_str().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_timer_fires_within_a_second_of_the_cutoff_and_not_before() {
    let (sb, dir) = sandbox().await;
    let cutoff = (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(2))
        .round(jiff::Unit::Second)
        .unwrap();
    let id = accept(
        &sb,
        "msg_timer",
        &leaver_event(DEMO_LEAVER, "E1", Cutoff::At(cutoff)),
    )
    .await;
    let run = sb.system.store.run(&id).await.unwrap().unwrap();
    assert_eq!(run.state, RunState::Scheduled);
    assert_eq!(
        format!("{:?}", sb.okta.user(DEMO_LEAVER).unwrap().status),
        "Active"
    );
    let run = sb.wait_closed(&id, Duration::from_secs(30)).await.unwrap();
    let started = run.started_at.unwrap();
    let lag = started.duration_since(run.cutoff.at);
    assert!(
        lag >= jiff::SignedDuration::ZERO,
        "started {lag:?} before the cutoff"
    );
    assert!(
        lag < jiff::SignedDuration::from_secs(1),
        "started {lag:?} after the cutoff"
    );
    assert_eq!(
        format!("{:?}", sb.okta.user(DEMO_LEAVER).unwrap().status),
        "Suspended"
    );
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_can_be_cancelled_or_rescheduled_before_its_cutoff_only() {
    let (sb, dir) = sandbox().await;
    let far = jiff::Zoned::now().date() + jiff::Span::new().days(20);
    let engine = &sb.system.engine;

    // Cancel: recorded with actor and reason; nothing happens in Okta.
    let id = accept(
        &sb,
        "msg_cancel",
        &leaver_event(DEMO_LEAVER, "E1", Cutoff::LastDay(far)),
    )
    .await;
    engine
        .cancel(&id, "alice", "")
        .await
        .expect_err("a reason is required");
    let run = engine
        .cancel(&id, "alice", "termination withdrawn")
        .await
        .unwrap();
    assert_eq!(run.state, RunState::Cancelled);
    let events = sb.system.store.events(&id).await.unwrap();
    let e = events.iter().find(|e| e.kind == "run.cancelled").unwrap();
    assert_eq!(e.actor, "operator:alice");
    assert_eq!(e.detail["reason"], "termination withdrawn");
    assert!(engine.cancel(&id, "alice", "again").await.is_err());

    // Reschedule: a new employee's run moves from weeks away to now, then runs and closes.
    let login = "mover@example.com";
    sb.okta
        .seed_user(passage_sandbox::okta::SeedUser::new(login, "Mo", "Ver"));
    let id = accept(
        &sb,
        "msg_move",
        &leaver_event(login, "E2", Cutoff::LastDay(far)),
    )
    .await;
    let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_millis(500);
    let run = engine
        .reschedule(&id, &CutoffRequest::Exact(soon), "bob", "last day moved up")
        .await
        .unwrap();
    assert_eq!(run.cutoff.at, soon);
    let run = sb.wait_closed(&id, Duration::from_secs(30)).await.unwrap();
    let events = sb.system.store.events(&id).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == "run.rescheduled" && e.actor == "operator:bob")
    );
    assert_eq!(
        format!("{:?}", sb.okta.user(login).unwrap().status),
        "Suspended"
    );
    // Closed runs cannot be cancelled or rescheduled.
    assert!(engine.cancel(&run.id, "bob", "too late").await.is_err());
    assert!(
        engine
            .reschedule(&run.id, &CutoffRequest::Immediate, "bob", "too late")
            .await
            .is_err()
    );
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_critical_step_blocks_the_run_and_cannot_be_waived() {
    let (sb, dir) = sandbox().await;
    let id = accept(
        &sb,
        "msg_ghost",
        &leaver_event("ghost@example.com", "E9", Cutoff::Immediate),
    )
    .await;
    let run = wait_for(&sb.system, &id, Duration::from_secs(30), |r| {
        r.state == RunState::Blocked
    })
    .await
    .unwrap();
    assert!(run.blocked_reason.unwrap().contains("user_not_found"));
    let snapshot = StepKey::new("okta.snapshot");
    let err = sb
        .system
        .engine
        .waive(&id, &snapshot, "alice", "never had Okta")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("critical"), "{err}");
    // Retrying does not help while the user is missing; the run stays blocked, never closes.
    sb.system
        .engine
        .retry(&id, &snapshot, "alice")
        .await
        .unwrap();
    let run = wait_for(&sb.system, &id, Duration::from_secs(30), |r| {
        r.state == RunState::Blocked
    })
    .await
    .unwrap();
    assert!(run.bundle.is_none());
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deactivate_policy_deprovisions_and_the_bundle_holds_no_secret() {
    let dir = std::env::temp_dir().join(format!("passage-life-{}", uuid::Uuid::new_v4().simple()));
    let mut options = SandboxOptions::new(&dir);
    options.disable = passage_core::DisableMode::Deactivate;
    let sb = Sandbox::start(options).await.unwrap();
    let id = accept(
        &sb,
        "msg_deact",
        &leaver_event(DEMO_LEAVER, "E1", Cutoff::Immediate),
    )
    .await;
    let run = sb.wait_closed(&id, Duration::from_secs(30)).await.unwrap();
    let user = sb.okta.user(DEMO_LEAVER).unwrap();
    assert_eq!(format!("{:?}", user.status), "Deprovisioned");
    assert_eq!(
        sb.okta.count_events("user.lifecycle.deactivate", &user.id),
        1
    );
    let steps = sb.system.store.steps(&id).await.unwrap();
    assert!(steps.iter().any(|s| s.key.as_str() == "okta.deactivate"));
    assert!(!steps.iter().any(|s| s.key.as_str() == "okta.suspend"));

    // No credential reaches the evidence: not the Okta token, not the webhook secret.
    let files =
        passage_embedded::read_bundle_dir(std::path::Path::new(&run.bundle.unwrap().location))
            .unwrap();
    let token = sb.okta.api_token();
    let whsec = sb.secret.to_whsec();
    let key = whsec.trim_start_matches("whsec_");
    for (path, bytes) in files.iter() {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains(&token), "{path} contains the Okta API token");
        assert!(!text.contains(key), "{path} contains the webhook secret");
        assert!(
            !text.contains("webhook-signature"),
            "{path} contains a signature header"
        );
    }
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
