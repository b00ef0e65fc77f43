//! The sign-in watch through the running host: a run closes, someone reactivates the leaver
//! and they sign in, the provider's emulator logs it over real HTTP, and the host's timer
//! wakes the watch: the run reopens, the leaver is locked out again at the provider, the
//! tenant's webhook receives the alert, and the run closes again into a second bundle that
//! verifies, chains to the first and lists the sign-in.

use passage::harness::{Cutoff, Sandbox, SandboxOptions, leaver_event, wait_for};
use passage_core::evidence::{verify_bundle, verify_chain};
use passage_core::ports::{Channel, RunStore};
use passage_core::secret::Secret;
use passage_core::{RunId, RunState, SignInWatchPolicy};
use passage_embedded::read_bundle_dir;
use passage_sandbox::okta::{DEMO_LEAVER, SignInSpec};
use passage_sandbox::sinks::WebhookSink;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A watch short enough for a test: a minute's window, read every 300 ms, no clock slack.
fn short_watch() -> SignInWatchPolicy {
    SignInWatchPolicy {
        window: Duration::from_secs(60),
        every: Duration::from_millis(300),
        slack: Duration::ZERO,
        ingestion: Duration::from_secs(2),
    }
}

/// A sandbox whose tenant alerts `hook` and watches sign-ins for a minute.
async fn sandbox(dir: &Path, hook: &WebhookSink) -> Sandbox {
    let (url, secret) = (hook.url(), hook.secret().to_owned());
    let mut options = SandboxOptions::new(dir);
    options.customize = Some(Arc::new(move |p: &mut passage_core::TenantPolicy| {
        p.sign_in_watch = short_watch();
        p.human.escalate = vec![Channel::Webhook {
            url: url.clone(),
            secret: Secret::new(secret.clone()),
        }];
    }));
    let notify = passage_notify::NotifySettings { smtp: None };
    options.notifier = Some(Arc::new(
        passage_notify::ChannelNotifier::new(&notify).unwrap(),
    ));
    Sandbox::start(options).await.unwrap()
}

async fn closed_run(sb: &Sandbox, id: &str) -> RunId {
    let r = sb
        .post(id, &leaver_event(DEMO_LEAVER, "E12", Cutoff::Immediate))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let v: Value = r.json().await.unwrap();
    let run_id = RunId::new(v["run_id"].as_str().unwrap());
    sb.wait_closed(&run_id, Duration::from_secs(30))
        .await
        .unwrap();
    run_id
}

/// What an administrator does by mistake: unsuspends the leaver in Okta.
async fn reactivate(sb: &Sandbox) {
    let user = sb.okta.user(DEMO_LEAVER).unwrap();
    let url = format!(
        "{}/api/v1/users/{}/lifecycle/unsuspend",
        sb.okta.base_url(),
        user.id
    );
    let r = sb
        .http
        .post(url)
        .header("Authorization", sb.okta.authorization())
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
}

fn okta_status(sb: &Sandbox) -> String {
    format!("{:?}", sb.okta.user(DEMO_LEAVER).unwrap().status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn okta_a_sign_in_after_the_cutoff_reopens_locks_out_alerts_and_closes_into_the_chain() {
    let dir = std::env::temp_dir().join(format!("passage-watch-{}", uuid::Uuid::new_v4().simple()));
    let hook = WebhookSink::start().await.unwrap();
    let sb = sandbox(&dir, &hook).await;
    let run_id = closed_run(&sb, "msg_watch_okta").await;
    let first = sb.system.store.run(&run_id).await.unwrap().unwrap();
    assert_eq!(okta_status(&sb), "Suspended");

    // Before the cutoff: no news. A failed attempt after it: recorded, no reopening.
    let before = first.cutoff.at - jiff::SignedDuration::from_secs(60);
    sb.okta
        .inject_sign_in(DEMO_LEAVER, SignInSpec::success(before))
        .unwrap();
    let now = jiff::Timestamp::now();
    sb.okta
        .inject_sign_in(DEMO_LEAVER, SignInSpec::failure(now))
        .unwrap();
    let failed_seen = wait_for(&sb.system, &run_id, Duration::from_secs(10), |r| {
        r.sign_in_watch
            .as_ref()
            .is_some_and(|w| !w.sign_ins.is_empty())
    })
    .await
    .unwrap();
    assert_eq!(failed_seen.state, RunState::Closed);
    let watch = failed_seen.sign_in_watch.unwrap();
    assert!(watch.reopenings.is_empty());
    assert_eq!(
        watch.sign_ins.len(),
        1,
        "only the failure after the cutoff: {watch:?}"
    );
    assert!(!watch.sign_ins[0].success);
    assert!(hook.received().is_empty(), "a failed attempt alerts nobody");

    // Reactivated by mistake, the leaver signs in to an app through Okta.
    reactivate(&sb).await;
    let mut spec = SignInSpec::success(jiff::Timestamp::now());
    spec.app = Some("Salesforce".into());
    let (event_id, request_id) = sb.okta.inject_sign_in(DEMO_LEAVER, spec).unwrap();
    let reclosed = wait_for(&sb.system, &run_id, Duration::from_secs(30), |r| {
        r.state == RunState::Closed && r.bundle.as_ref().is_some_and(|b| b.sequence == 2)
    })
    .await
    .unwrap();

    let watch = reclosed.sign_in_watch.as_ref().unwrap();
    assert_eq!(watch.reopenings.len(), 1);
    assert_eq!(watch.reopenings[0].event_id, event_id);
    assert_eq!(okta_status(&sb), "Suspended", "locked out again at Okta");
    assert_eq!(
        sb.okta.sessions(DEMO_LEAVER),
        Some(0),
        "the new session ended"
    );
    let alerts = hook.received();
    assert_eq!(alerts.len(), 1, "one alert for one sign-in");
    let alert = &alerts[0].json;
    assert!(
        alert["subject"]
            .as_str()
            .unwrap()
            .contains("after the cutoff"),
        "{alert}"
    );

    // Both bundles verify and chain; the second lists the sign-in as access that remained.
    let files1 = read_bundle_dir(Path::new(&first.bundle.as_ref().unwrap().location)).unwrap();
    let files2 = read_bundle_dir(Path::new(&reclosed.bundle.as_ref().unwrap().location)).unwrap();
    let verified = vec![
        verify_bundle(&files1, None).unwrap(),
        verify_bundle(&files2, None).unwrap(),
    ];
    verify_chain(&verified).unwrap();
    let listed: Value = serde_json::from_slice(files2.get("sign-ins.json").unwrap()).unwrap();
    let item = &listed["access"][0];
    assert_eq!(item["grade"], "remains");
    assert_eq!(item["name"], "Salesforce");
    assert_eq!(item["request_id"], request_id.as_str());
    assert_eq!(item["ip"], "203.0.113.7");
    assert_eq!(listed["reopenings"][0]["previous_bundle"]["sequence"], 1);
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// Waits for the run to reopen and close again as bundle `sequence`.
async fn reclosed(sb: &Sandbox, run_id: &RunId, sequence: u64) -> passage_core::Run {
    wait_for(&sb.system, run_id, Duration::from_secs(40), |r| {
        r.state == RunState::Closed && r.bundle.as_ref().is_some_and(|b| b.sequence == sequence)
    })
    .await
    .unwrap()
}

/// The sign-in `sign-ins.json` of the run's current bundle lists for `event_id`.
fn listed(run: &passage_core::Run, event_id: &str) -> Value {
    let files = read_bundle_dir(Path::new(&run.bundle.as_ref().unwrap().location)).unwrap();
    verify_bundle(&files, None).unwrap();
    let listed: Value = serde_json::from_slice(files.get("sign-ins.json").unwrap()).unwrap();
    listed["access"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["event_id"] == event_id)
        .cloned()
        .unwrap_or_else(|| panic!("{event_id} not listed in {listed}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn entra_google_and_jumpcloud_sign_ins_each_reopen_lock_out_again_and_alert() {
    use passage_sandbox::{google, jumpcloud, microsoft};
    let dir = std::env::temp_dir().join(format!("passage-watch-{}", uuid::Uuid::new_v4().simple()));
    let hook = WebhookSink::start().await.unwrap();
    let (url, secret) = (hook.url(), hook.secret().to_owned());
    let mut options = SandboxOptions::new(&dir);
    options.all_providers = true;
    options.customize = Some(Arc::new(move |p: &mut passage_core::TenantPolicy| {
        p.sign_in_watch = SignInWatchPolicy {
            window: Duration::from_secs(120),
            ..short_watch()
        };
        p.human.escalate = vec![Channel::Webhook {
            url: url.clone(),
            secret: Secret::new(secret.clone()),
        }];
    }));
    let notify = passage_notify::NotifySettings { smtp: None };
    options.notifier = Some(Arc::new(
        passage_notify::ChannelNotifier::new(&notify).unwrap(),
    ));
    let sb = Sandbox::start(options).await.unwrap();
    let run_id = closed_run(&sb, "msg_watch_all").await;
    let others = sb.others.as_ref().unwrap();

    // Entra: the account is enabled again and the leaver signs in; Graph lists it late.
    let ms = &others.microsoft;
    assert!(!ms.user(microsoft::DEMO_LEAVER).unwrap().account_enabled);
    assert!(ms.reenable_user(microsoft::DEMO_LEAVER));
    let mut spec = microsoft::SignInSpec::success(jiff::Timestamp::now());
    spec.app = Some("Office 365 Exchange Online".into());
    spec.ingestion_delay = Duration::from_millis(800);
    let (ms_event, correlation) = ms.inject_sign_in(microsoft::DEMO_LEAVER, spec).unwrap();
    let run = reclosed(&sb, &run_id, 2).await;
    assert!(
        !ms.user(microsoft::DEMO_LEAVER).unwrap().account_enabled,
        "disabled again"
    );
    let item = listed(&run, &ms_event);
    assert_eq!(item["provider"], "microsoft");
    assert_eq!(item["request_id"], correlation.as_str());
    assert_eq!(hook.received().len(), 1);

    // Google: unsuspended by mistake, the leaver logs in.
    let g = &others.google;
    assert!(g.unsuspend_user(google::DEMO_LEAVER));
    let g_event = g
        .inject_sign_in(
            google::DEMO_LEAVER,
            google::SignInSpec::success(jiff::Timestamp::now()),
        )
        .unwrap();
    let run = reclosed(&sb, &run_id, 3).await;
    assert!(
        g.user(google::DEMO_LEAVER).unwrap().suspended,
        "suspended again"
    );
    assert_eq!(listed(&run, &format!("{g_event}/0"))["provider"], "google");
    assert_eq!(hook.received().len(), 2);

    // JumpCloud: reactivated, the leaver signs in to an SSO app.
    let jc = &others.jumpcloud;
    assert!(jc.reactivate_user(jumpcloud::DEMO_LEAVER));
    let mut spec = jumpcloud::SignInSpec::success(jiff::Timestamp::now());
    spec.app = Some("Slack".into());
    let jc_event = jc.inject_sign_in(jumpcloud::DEMO_LEAVER, spec).unwrap();
    let run = reclosed(&sb, &run_id, 4).await;
    assert!(
        jc.user(jumpcloud::DEMO_LEAVER).unwrap().suspended,
        "suspended again"
    );
    let item = listed(&run, &jc_event);
    assert_eq!(item["provider"], "jumpcloud");
    assert_eq!(item["name"], "Slack");
    let alerts = hook.received();
    assert_eq!(alerts.len(), 3, "one alert per sign-in");
    for (alert, provider) in alerts.iter().zip(["microsoft", "google", "jumpcloud"]) {
        let subject = alert.json["subject"].as_str().unwrap();
        assert!(subject.contains(provider), "{subject}");
    }
    let watch = run.sign_in_watch.as_ref().unwrap();
    assert_eq!(watch.reopenings.len(), 3);
    period_view_holds_every_bundle_of(&sb, &run).await;
    run_link_reaches_every_bundle_of(&sb, &run).await;
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// The auditor's period view serves a reopened run's later bundles beside its first: without
/// them the period's chain would show a gap.
async fn period_view_holds_every_bundle_of(sb: &Sandbox, run: &passage_core::Run) {
    let day = passage_core::report::termination_date_of(run);
    let issued = passage_report::publish::issue_period_link(
        &sb.system.engine,
        &passage_report::publish::LinkRequest {
            tenant: &run.tenant,
            period: passage_core::report::Period::new(day, day).unwrap(),
            valid_for: Duration::from_secs(3600),
            actor: "cli:test",
            link_key: sb.system.link_key.expose().as_bytes(),
        },
        None,
    )
    .await
    .unwrap();
    let index = reqwest::get(format!("{}{}", sb.base_url, issued.path))
        .await
        .unwrap();
    assert_eq!(index.status(), 200);
    let page = index.text().await.unwrap();
    for n in 1..=3 {
        let slot = passage_core::engine::reopened_slot(&run.id, n);
        assert!(
            page.contains(&format!("bundles/{slot}/manifest.json")),
            "the period index lists {slot}"
        );
    }
    let (path, query) = issued.path.split_once('?').unwrap();
    let slot = passage_core::engine::reopened_slot(&run.id, 3);
    let url = format!("{}{path}/bundles/{slot}/sign-ins.json?{query}", sb.base_url);
    let sign_ins = reqwest::get(url).await.unwrap();
    assert_eq!(
        sign_ins.status(),
        200,
        "the latest bundle's files are served"
    );
    let archive = reqwest::get(format!("{}{path}/archive.tar?{query}", sb.base_url))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    // Tar keeps each member's name in plain text in its header.
    let names = String::from_utf8_lossy(&archive);
    for slot in std::iter::once(run.id.clone())
        .chain((1..=3).map(|n| passage_core::engine::reopened_slot(&run.id, n)))
    {
        assert!(
            names.contains(&format!("bundles/{slot}/manifest.json")),
            "the archive holds {slot}"
        );
    }
}

/// A run's auditor link names the bundles the run closed with after each reopening and serves
/// them; a forged slot under another run's link is refused.
async fn run_link_reaches_every_bundle_of(sb: &Sandbox, run: &passage_core::Run) {
    let scope = passage_core::link::LinkScope {
        tenant: run.tenant.to_string(),
        run_id: run.id.to_string(),
        expires: jiff::Timestamp::now().as_second() + 3600,
    };
    let key = sb.system.link_key.expose().as_bytes();
    let path = passage_core::link::path(key, &scope);
    let index: Value = reqwest::get(format!("{}{path}", sb.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let slots: Vec<String> = (1..=3)
        .map(|n| passage_core::engine::reopened_slot(&run.id, n).to_string())
        .collect();
    assert_eq!(index["reopened_bundles"], serde_json::json!(slots));
    let (base, query) = path.split_once('?').unwrap();
    let latest = base.replace(run.id.as_str(), &slots[2]);
    let url = format!("{}{latest}/sign-ins.json?{query}", sb.base_url);
    assert_eq!(reqwest::get(url).await.unwrap().status(), 200);
    let other = passage_core::link::LinkScope {
        run_id: "run_other".into(),
        ..scope
    };
    let forged = passage_core::link::path(key, &other);
    let (_, query) = forged.split_once('?').unwrap();
    let url = format!("{}{latest}/sign-ins.json?{query}", sb.base_url);
    assert_eq!(reqwest::get(url).await.unwrap().status(), 403);
}
