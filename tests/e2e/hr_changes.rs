//! HR changes after a run exists: a moved termination date moves the cutoff, a rescinded
//! termination cancels the run before its cutoff (with a signed record), and the periodic
//! reconcile finds what no webhook announced. Every change names its source in the evidence.

use passage::harness::{Sandbox, SandboxOptions, wait_for};
use passage_core::HrWebhook;
use passage_core::cutoff::Derivation;
use passage_core::ports::RunStore;
use passage_core::secret::Secret;
use passage_core::{RunId, RunState, TenantId};
use passage_sandbox::hr::bamboohr::BambooHrEmulator;
use passage_sandbox::hr::directory::Termination;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

async fn sandbox(emu: &BambooHrEmulator) -> (Sandbox, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("passage-hrc-{}", uuid::Uuid::new_v4().simple()));
    let mut settings =
        passage_hrapi::BambooHrSettings::new(emu.company_domain(), Secret::new(emu.api_key()));
    settings.base_url = emu.base_url();
    settings.page_size = Some(2);
    let mut options = SandboxOptions::new(&dir);
    options.hr = Some(passage_hrapi::HrSettings::Bamboohr(settings));
    let key = emu.webhook_private_key().to_owned();
    options.customize = Some(Arc::new(move |p: &mut passage_core::TenantPolicy| {
        p.hr_webhooks = vec![HrWebhook {
            vendor: "bamboohr".into(),
            secrets: vec![Secret::new(key.clone())],
            unsigned: false,
        }];
    }));
    (Sandbox::start(options).await.unwrap(), dir)
}

fn day(n: i64) -> jiff::civil::Date {
    jiff::Zoned::now().date() + jiff::Span::new().days(n)
}

async fn hook(sb: &Sandbox, emu: &BambooHrEmulator, id: &str) -> Value {
    let url = format!("{}/v1/tenants/demo/webhooks/bamboohr", sb.base_url);
    let r = emu
        .send_webhook(&url, "employee.updated", id)
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_moved_date_moves_the_cutoff_and_a_rescinded_termination_cancels_the_run() {
    let (emu, people) = BambooHrEmulator::start_demo().await.unwrap();
    let (sb, dir) = sandbox(&emu).await;
    let jane = &people.leaver_id;

    emu.terminate(jane, day(10)).unwrap();
    let v = hook(&sb, &emu, jane).await;
    assert_eq!(v["outcome"], "created", "{v}");
    let run_id = RunId::new(v["run_id"].as_str().unwrap());
    let first = sb.system.store.run(&run_id).await.unwrap().unwrap();

    // HR moves the last day by two days: the same run, a later cutoff.
    emu.move_termination(jane, day(12)).unwrap();
    let v = hook(&sb, &emu, jane).await;
    assert_eq!(v["outcome"], "rescheduled", "{v}");
    let moved = sb.system.store.run(&run_id).await.unwrap().unwrap();
    assert_eq!(
        moved.cutoff.at.duration_since(first.cutoff.at),
        jiff::SignedDuration::from_hours(48)
    );
    match &moved.cutoff.derivation {
        Derivation::LastWorkingDay { date, .. } => assert_eq!(*date, day(12)),
        other => panic!("{other:?}"),
    }

    // HR withdraws the termination: the run is cancelled before its cutoff, by HR.
    emu.rescind(jane).unwrap();
    let v = hook(&sb, &emu, jane).await;
    assert_eq!(v["outcome"], "cancelled", "{v}");
    let run = wait_for(&sb.system, &run_id, Duration::from_secs(30), |r| {
        r.bundle.is_some()
    })
    .await
    .unwrap();
    assert_eq!(run.state, RunState::Cancelled);
    assert_eq!(run.cancellation.as_ref().unwrap().actor, "hr:bamboohr");
    assert_eq!(
        format!(
            "{:?}",
            sb.okta
                .user(passage_sandbox::okta::DEMO_LEAVER)
                .unwrap()
                .status
        ),
        "Active"
    );

    // The signed record shows both changes and where each came from.
    let bundle = sb.system.evidence.bundle_dir(&run.tenant, &run.id).unwrap();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["outcome"], "cancelled");
    let changes = manifest["hr_changes"].as_array().unwrap();
    let kinds: Vec<&str> = changes
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["run.rescheduled", "run.cancelled"], "{changes:?}");
    for c in changes {
        assert_eq!(c["actor"], "hr:bamboohr");
        assert_eq!(c["detail"]["source"]["via"], "webhook");
        assert_eq!(c["detail"]["source"]["vendor"], "bamboohr");
        assert!(c["detail"]["source"]["delivery_id"].is_string());
        assert!(c["detail"]["hr_record"].is_object());
    }
    assert_eq!(
        changes[0]["detail"]["previous_cutoff"],
        serde_json::to_value(first.cutoff.at).unwrap()
    );
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_passage"))
        .arg("verify")
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );

    sb.shutdown().await;
    emu.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reconcile_finds_missed_terminations_moved_dates_and_rescinded_ones() {
    let (emu, people) = BambooHrEmulator::start_demo().await.unwrap();
    let (sb, dir) = sandbox(&emu).await;
    let engine = &sb.system.engine;
    let tenant = TenantId::new("demo");
    let since = day(-30);
    let colleagues: Vec<&String> = people
        .ids
        .iter()
        .filter(|id| **id != people.leaver_id && **id != people.manager_id)
        .collect();
    let (a, b) = (colleagues[0], colleagues[1]);

    // Two terminations no webhook announced.
    emu.terminate(a, day(5)).unwrap();
    emu.terminate(b, day(6)).unwrap();
    let report = engine.reconcile(&tenant, Some(since)).await.unwrap();
    assert_eq!(report.created.len(), 2, "{report:?}");
    assert!(report.errors.is_empty(), "{report:?}");
    // A second pass changes nothing.
    let again = engine.reconcile(&tenant, Some(since)).await.unwrap();
    assert!(
        again.created.is_empty() && again.rescheduled.is_empty() && again.cancelled.is_empty(),
        "{again:?}"
    );

    // One date moves, the other termination is rescinded.
    emu.move_termination(a, day(8)).unwrap();
    emu.rescind(b).unwrap();
    let report = engine.reconcile(&tenant, Some(since)).await.unwrap();
    assert_eq!(report.rescheduled.len(), 1, "{report:?}");
    assert_eq!(report.cancelled.len(), 1, "{report:?}");
    let moved = sb
        .system
        .store
        .run(&report.rescheduled[0])
        .await
        .unwrap()
        .unwrap();
    match &moved.cutoff.derivation {
        Derivation::LastWorkingDay { date, .. } => assert_eq!(*date, day(8)),
        other => panic!("{other:?}"),
    }
    let events = sb.system.store.events(&moved.id).await.unwrap();
    let e = events.iter().find(|e| e.kind == "run.rescheduled").unwrap();
    assert_eq!(e.actor, "hr:bamboohr:reconcile");
    assert_eq!(e.detail["source"]["via"], "reconcile");
    let created = events.iter().find(|e| e.kind == "run.created").unwrap();
    assert_eq!(created.actor, "hr:bamboohr:reconcile");
    let cancelled = sb
        .system
        .store
        .run(&report.cancelled[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cancelled.state, RunState::Cancelled);

    // The HR system down: the reconcile says so and changes nothing.
    emu.faults().fail_next(503, 5);
    let err = engine.reconcile(&tenant, Some(since)).await.unwrap_err();
    assert!(
        err.to_string().contains("unavailable") || err.to_string().contains("503"),
        "{err}"
    );
    sb.shutdown().await;
    emu.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_involuntary_termination_is_cut_at_once() {
    let (emu, people) = passage_sandbox::hr::personio::PersonioEmulator::start_demo()
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("passage-hri-{}", uuid::Uuid::new_v4().simple()));
    let mut settings =
        passage_hrapi::PersonioSettings::new(emu.client_id(), Secret::new(emu.client_secret()));
    settings.base_url = emu.base_url().to_owned();
    let mut options = SandboxOptions::new(&dir);
    options.hr = Some(passage_hrapi::HrSettings::Personio(settings));
    let sb = Sandbox::start(options).await.unwrap();
    emu.terminate_with(
        &people.leaver_id,
        Termination {
            date: day(14),
            last_day_worked: None,
            involuntary: Some(true),
        },
    )
    .unwrap();
    let report = sb
        .system
        .engine
        .reconcile(&TenantId::new("demo"), None)
        .await
        .unwrap();
    assert_eq!(report.created.len(), 1, "{report:?}");
    let run = sb
        .system
        .store
        .run(&report.created[0])
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(run.cutoff.derivation, Derivation::Immediate),
        "{:?}",
        run.cutoff
    );
    let run = sb
        .wait_closed(&run.id, Duration::from_secs(30))
        .await
        .unwrap();
    assert!(run.started_at.unwrap() < jiff::Timestamp::now());
    assert_eq!(
        format!(
            "{:?}",
            sb.okta
                .user(passage_sandbox::okta::DEMO_LEAVER)
                .unwrap()
                .status
        ),
        "Suspended",
        "cut now, not in two weeks"
    );
    sb.shutdown().await;
    emu.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
