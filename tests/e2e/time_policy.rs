//! Time policy through the running host: a work location's own zone and end of day, a DST gap
//! at the end of the day, a last day already past, and a cutoff that passes while Passage is
//! down.

use passage::harness::{Sandbox, SandboxOptions, wait_for};
use passage_core::cutoff::{CutoffRequest, Derivation};
use passage_core::engine::ManualLeaver;
use passage_core::ports::RunStore;
use passage_core::{LocationPolicy, RunState, TenantId};
use passage_sandbox::okta::DEMO_LEAVER;
use std::sync::Arc;
use std::time::Duration;

fn leaver(employee: &str, cutoff: CutoffRequest, location: Option<&str>) -> ManualLeaver {
    ManualLeaver {
        employee_id: employee.into(),
        email: DEMO_LEAVER.into(),
        display_name: None,
        cutoff,
        time_zone: None,
        work_location: location.map(str::to_owned),
        manager: None,
        note: Some("entered by hand".into()),
    }
}

async fn sandbox() -> (Sandbox, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("passage-time-{}", uuid::Uuid::new_v4().simple()));
    let mut options = SandboxOptions::new(&dir);
    options.customize = Some(Arc::new(|p: &mut passage_core::TenantPolicy| {
        p.locations = vec![
            LocationPolicy {
                name: "Berlin".into(),
                time_zone: "Europe/Berlin".into(),
                end_of_day: Some(jiff::civil::time(18, 0, 0, 0)),
            },
            LocationPolicy {
                name: "New York night shift".into(),
                time_zone: "America/New_York".into(),
                end_of_day: Some(jiff::civil::time(2, 30, 0, 0)),
            },
        ];
    }));
    (Sandbox::start(options).await.unwrap(), dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn locations_set_the_zone_and_end_of_day_and_dst_gaps_resolve_forward() {
    let (sb, dir) = sandbox().await;
    let engine = &sb.system.engine;
    let tenant = TenantId::new("demo");
    let day = jiff::civil::date(2031, 6, 13);

    // Berlin: 18:00 local (16:00 UTC in summer), not the tenant's 17:00 New York default.
    let a = engine
        .start_manual(
            &tenant,
            leaver("B1", CutoffRequest::LastWorkingDay(day), Some("berlin")),
            "ivan",
            "k1",
        )
        .await
        .unwrap();
    assert_eq!(a.cutoff_at.to_string(), "2031-06-13T16:00:00Z");
    let run = sb.system.store.run(&a.run_id).await.unwrap().unwrap();
    assert_eq!(run.subject.time_zone, "Europe/Berlin");

    // An unknown location falls back to the tenant's zone and end of day.
    engine.cancel(&a.run_id, "ivan", "test").await.unwrap();
    let a = engine
        .start_manual(
            &tenant,
            leaver("B2", CutoffRequest::LastWorkingDay(day), Some("Lisbon")),
            "ivan",
            "k2",
        )
        .await
        .unwrap();
    assert_eq!(
        a.cutoff_at.to_string(),
        "2031-06-13T21:00:00Z",
        "17:00 New York"
    );
    engine.cancel(&a.run_id, "ivan", "test").await.unwrap();

    // 02:30 on the spring-forward day does not exist in New York: cut at the transition.
    let gap = jiff::civil::date(2031, 3, 9);
    let a = engine
        .start_manual(
            &tenant,
            leaver(
                "N1",
                CutoffRequest::LastWorkingDay(gap),
                Some("New York night shift"),
            ),
            "ivan",
            "k3",
        )
        .await
        .unwrap();
    assert_eq!(
        a.cutoff_at.to_string(),
        "2031-03-09T07:00:00Z",
        "03:00 EDT, the gap's end"
    );
    let run = sb.system.store.run(&a.run_id).await.unwrap().unwrap();
    match &run.cutoff.derivation {
        Derivation::LastWorkingDay { dst_note, .. } => {
            assert!(
                dst_note.as_deref().unwrap_or_default().contains("gap"),
                "{dst_note:?}"
            )
        }
        other => panic!("unexpected derivation {other:?}"),
    }
    engine.cancel(&a.run_id, "ivan", "test").await.unwrap();

    // A bad zone is refused with a reason, and nothing is stored.
    let mut bad = leaver("Z1", CutoffRequest::Immediate, None);
    bad.time_zone = Some("Mars/Olympus".into());
    let err = engine
        .start_manual(&tenant, bad, "ivan", "k4")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Mars/Olympus"), "{err}");
    let runs = sb
        .system
        .store
        .list_runs(&passage_core::ports::RunFilter {
            employee_id: Some("Z1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(runs.is_empty());
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_last_day_in_the_past_is_cut_on_receipt() {
    let (sb, dir) = sandbox().await;
    let past = jiff::Zoned::now().date() - jiff::Span::new().days(3);
    let a = sb
        .system
        .engine
        .start_manual(
            &TenantId::new("demo"),
            leaver("P1", CutoffRequest::LastWorkingDay(past), None),
            "ivan",
            "p1",
        )
        .await
        .unwrap();
    assert!(a.cutoff_at < jiff::Timestamp::now());
    let run = sb
        .wait_closed(&a.run_id, Duration::from_secs(30))
        .await
        .unwrap();
    // The evidence keeps the date HR gave and shows how late the cut was against it.
    match &run.cutoff.derivation {
        Derivation::LastWorkingDay { date, .. } => assert_eq!(*date, past),
        other => panic!("unexpected derivation {other:?}"),
    }
    assert!(run.started_at.unwrap() > run.cutoff.at);
    assert_eq!(
        format!("{:?}", sb.okta.user(DEMO_LEAVER).unwrap().status),
        "Suspended"
    );
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cutoff_that_passes_while_passage_is_down_runs_at_start_up() {
    let (mut sb, dir) = sandbox().await;
    sb.running.take().unwrap().shutdown().await;
    let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_millis(700);
    let a = sb
        .system
        .engine
        .start_manual(
            &TenantId::new("demo"),
            leaver("D1", CutoffRequest::Exact(soon), None),
            "ivan",
            "d1",
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let run = sb.system.store.run(&a.run_id).await.unwrap().unwrap();
    assert_eq!(
        run.state,
        RunState::Scheduled,
        "nothing runs while the host is down"
    );
    assert_eq!(
        format!("{:?}", sb.okta.user(DEMO_LEAVER).unwrap().status),
        "Active"
    );

    // On start, the sweep starts the overdue run at once.
    let running = passage::harness::host(&sb.system, 2).start().await.unwrap();
    sb.running = Some(running);
    let run = wait_for(&sb.system, &a.run_id, Duration::from_secs(30), |r| {
        r.state == RunState::Closed
    })
    .await
    .unwrap();
    let late = run.started_at.unwrap().duration_since(run.cutoff.at);
    assert!(
        late >= jiff::SignedDuration::from_secs(1),
        "started {late:?} after the cutoff"
    );
    assert_eq!(
        format!("{:?}", sb.okta.user(DEMO_LEAVER).unwrap().status),
        "Suspended"
    );
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// A four-provider sandbox whose tenant runs `actions` `lead` before the cutoff, and the
/// manager-handed leaver it started with the cutoff `in_` from now.
async fn early_world(
    name: &str,
    lead: Duration,
    actions: Vec<passage_core::Action>,
    in_: jiff::SignedDuration,
) -> (
    std::path::PathBuf,
    Sandbox,
    jiff::Timestamp,
    passage_core::engine::Accepted,
) {
    let dir =
        std::env::temp_dir().join(format!("passage-{name}-{}", uuid::Uuid::new_v4().simple()));
    let mut options = SandboxOptions::new(&dir);
    options.all_providers = true;
    options.customize = Some(Arc::new(move |p: &mut passage_core::TenantPolicy| {
        p.early = Some(passage_core::EarlyPolicy {
            lead,
            actions: actions.clone(),
        });
    }));
    let sb = Sandbox::start(options).await.unwrap();
    let cutoff = jiff::Timestamp::now() + in_;
    let mut person = leaver(name, CutoffRequest::Exact(cutoff), None);
    person.manager = Some(passage_core::Manager {
        email: "sam.lee@example.com".into(),
        employee_id: None,
    });
    let accepted = sb
        .system
        .engine
        .start_manual(&TenantId::new("demo"), person, "ivan", name)
        .await
        .unwrap();
    (dir, sb, cutoff, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn early_steps_prepare_the_hand_over_before_the_cutoff_and_only_those() {
    use passage_core::{Action, StepState};
    let (dir, sb, cutoff, a) = early_world(
        "early",
        Duration::from_secs(5),
        vec![Action::DelegateMailbox, Action::SetAutoReply],
        jiff::SignedDuration::from_secs(7),
    )
    .await;
    let google = &sb.others.as_ref().unwrap().google;
    let run = sb.system.store.run(&a.run_id).await.unwrap().unwrap();
    let early_at = run.early_at.expect("the plan has early steps");
    assert_eq!(
        cutoff.duration_since(early_at),
        jiff::SignedDuration::from_secs(5)
    );

    // Before the window nothing has happened.
    let steps = sb.system.store.steps(&a.run_id).await.unwrap();
    assert!(steps.iter().all(|s| s.state == StepState::Pending));
    let early: Vec<String> = steps
        .iter()
        .filter(|s| s.early)
        .map(|s| s.key.to_string())
        .collect();
    assert_eq!(
        early,
        [
            "microsoft.snapshot",
            "microsoft.set_auto_reply",
            "google.snapshot",
            "google.delegate_mailbox",
            "google.set_auto_reply"
        ],
        "the early actions and what they depend on"
    );

    // In the window: the delegation and vacation reply are set, access is untouched.
    let deadline = std::time::Instant::now() + Duration::from_secs(6);
    loop {
        let steps = sb.system.store.steps(&a.run_id).await.unwrap();
        let done = steps
            .iter()
            .filter(|s| s.early)
            .all(|s| s.state == StepState::Verified);
        if done {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "early steps did not run in their window"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(jiff::Timestamp::now() < cutoff, "all before the cutoff");
    let run = sb.system.store.run(&a.run_id).await.unwrap().unwrap();
    assert_eq!(run.state, RunState::Scheduled);
    let steps = sb.system.store.steps(&a.run_id).await.unwrap();
    for s in steps.iter().filter(|s| !s.early) {
        assert_eq!(s.state, StepState::Pending, "{} ran early", s.key);
    }
    let user = google.user(DEMO_LEAVER).unwrap();
    assert!(!user.suspended, "not suspended before the cutoff");
    assert!(
        !user.delegates.is_empty(),
        "the manager already has the mailbox"
    );
    assert_eq!(
        format!("{:?}", sb.okta.user(DEMO_LEAVER).unwrap().status),
        "Active"
    );

    // At the cutoff the rest runs and the run closes.
    let run = sb
        .wait_closed(&a.run_id, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(run.started_at.unwrap() >= cutoff);
    assert!(google.user(DEMO_LEAVER).unwrap().suspended);
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// An early window whose timer was lost (cancelled here, as a crash between storing the run and
/// arming its timer would leave it) still opens: the sweep looks ahead by the longest early
/// lead, releases the early steps, and arms the timer for the cutoff.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_early_window_without_its_timer_opens_at_the_next_sweep() {
    use passage_core::ports::Timer;
    use passage_core::{Action, StepState};
    // The window opens in three seconds; the cutoff is an hour after that.
    let (dir, sb, cutoff, a) = early_world(
        "early-lost",
        Duration::from_secs(3600),
        vec![Action::DelegateMailbox],
        jiff::SignedDuration::from_secs(3603),
    )
    .await;
    let google = &sb.others.as_ref().unwrap().google;
    let run = sb.system.store.run(&a.run_id).await.unwrap().unwrap();
    let next_ms = async || {
        sb.system
            .timer
            .next()
            .await
            .unwrap()
            .map(|t| t.as_millisecond())
    };
    assert_eq!(next_ms().await, run.early_at.map(|t| t.as_millisecond()));
    sb.system.timer.cancel(&a.run_id).await.unwrap();
    assert_eq!(next_ms().await, None, "no timer left");

    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let steps = loop {
        let steps = sb.system.store.steps(&a.run_id).await.unwrap();
        let early_done = steps
            .iter()
            .filter(|s| s.early)
            .all(|s| s.state == StepState::Verified);
        if early_done {
            break steps;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the sweep did not open the early window"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for s in steps.iter().filter(|s| !s.early) {
        assert_eq!(s.state, StepState::Pending, "{} ran early", s.key);
    }
    assert!(!google.user(DEMO_LEAVER).unwrap().delegates.is_empty());
    let run = sb.system.store.run(&a.run_id).await.unwrap().unwrap();
    assert_eq!(run.state, RunState::Scheduled);
    assert_eq!(
        next_ms().await,
        Some(cutoff.as_millisecond()),
        "the timer is armed for the cutoff again"
    );
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
