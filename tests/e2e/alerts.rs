//! Being told: a run that blocks, or stays open past the tenant's SLA, sends one alert per
//! cause to the tenant's channels, however many sweeps look at it afterwards, with the
//! command that resolves it.

use passage::harness::{Cutoff, Sandbox, SandboxOptions, leaver_event, wait_for};
use passage_core::ports::{Channel, RunStore};
use passage_core::secret::Secret;
use passage_core::{RunId, RunState};
use passage_sandbox::sinks::WebhookSink;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// A sandbox whose tenant escalates to `hook`, with `sla` as its access-removal SLA.
async fn sandbox(dir: &std::path::Path, hook: &WebhookSink, sla: Option<Duration>) -> Sandbox {
    let (url, secret) = (hook.url(), hook.secret().to_owned());
    let mut options = SandboxOptions::new(dir);
    options.customize = Some(Arc::new(move |p: &mut passage_core::TenantPolicy| {
        p.human.escalate = vec![Channel::Webhook {
            url: url.clone(),
            secret: Secret::new(secret.clone()),
        }];
        if let Some(within) = sla {
            p.sla.within = within;
        }
    }));
    let notify = passage_notify::NotifySettings { smtp: None };
    options.notifier = Some(Arc::new(
        passage_notify::ChannelNotifier::new(&notify).unwrap(),
    ));
    Sandbox::start(options).await.unwrap()
}

/// Posts a leaver no provider knows: the run blocks at its first step.
async fn blocked_run(sb: &Sandbox) -> RunId {
    let r = sb
        .post(
            "msg_alert",
            &leaver_event("nobody@example.com", "E404", Cutoff::Immediate),
        )
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let v: Value = r.json().await.unwrap();
    let id = RunId::new(v["run_id"].as_str().unwrap());
    wait_for(&sb.system, &id, Duration::from_secs(30), |r| {
        r.state == RunState::Blocked
    })
    .await
    .unwrap();
    id
}

/// Waits until `n` alerts arrived, then through several more sweeps; all that arrived.
async fn alerts_after_sweeps(sb: &Sandbox, hook: &WebhookSink, n: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while hook.received().len() < n {
        assert!(
            std::time::Instant::now() < deadline,
            "the alerts did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for _ in 0..3 {
        sb.system.engine.sweep().await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    hook.received().into_iter().map(|r| r.json).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_open_past_its_sla_is_told_once_beside_its_block() {
    let dir = std::env::temp_dir().join(format!("passage-alert-{}", uuid::Uuid::new_v4().simple()));
    let hook = WebhookSink::start().await.unwrap();
    let sb = sandbox(&dir, &hook, Some(Duration::from_secs(1))).await;
    let id = blocked_run(&sb).await;
    let received = alerts_after_sweeps(&sb, &hook, 2).await;
    let mut kinds: Vec<&str> = received
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        ["past_sla", "run_blocked"],
        "one alert per cause: {received:?}"
    );
    let sla = received.iter().find(|a| a["kind"] == "past_sla").unwrap();
    assert_eq!(sla["run_id"], id.as_str());
    let run = sb.system.store.run(&id).await.unwrap().unwrap();
    assert_eq!(run.alerts.len(), 2);
    sb.shutdown().await;
    hook.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_blocked_run_sends_one_alert_per_cause() {
    let dir = std::env::temp_dir().join(format!("passage-alert-{}", uuid::Uuid::new_v4().simple()));
    let hook = WebhookSink::start().await.unwrap();
    let sb = sandbox(&dir, &hook, None).await;
    let id = blocked_run(&sb).await;
    let received = alerts_after_sweeps(&sb, &hook, 1).await;
    assert_eq!(received.len(), 1, "one alert, not a storm: {received:?}");
    let alert = &received[0];
    assert_eq!(alert["kind"], "run_blocked");
    assert_eq!(alert["run_id"], id.as_str());
    assert_eq!(alert["step"], "okta.snapshot");
    let text = alert["text"].as_str().unwrap();
    assert!(text.contains("user_not_found"), "{text}");
    assert!(
        text.contains(&format!("passage not-applicable {id} okta.snapshot")),
        "{text}"
    );
    let run = sb.system.store.run(&id).await.unwrap().unwrap();
    assert_eq!(run.alerts.len(), 1);
    assert!(run.alerts[0].deliveries[0].delivered);
    sb.shutdown().await;
    hook.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
