//! Human-confirmed steps through the running host and its operator API: an unreturned laptop
//! keeps the run open after every provider step is verified, reminders and then escalations
//! really reach Slack, an SMTP inbox and a webhook endpoint, and the run closes only when an
//! operator confirms each device; the bundle names who confirmed and when.

use passage::harness::{Cutoff, Sandbox, SandboxOptions, leaver_event, wait_for};
use passage_core::ports::{Channel, RunStore};
use passage_core::secret::Secret;
use passage_core::{HumanStepPolicy, RunState, StepState};
use passage_http::{Operator, Operators};
use passage_sandbox::okta::DEMO_LEAVER;
use passage_sandbox::sinks::{SlackSink, SmtpSink, WebhookSink};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "ivan-operator-token-0123456789abcdef";

/// A notifier that mails through `smtp` (plain SMTP on loopback).
fn mail_through(smtp: &SmtpSink) -> Arc<passage_notify::ChannelNotifier> {
    let notify = passage_notify::NotifySettings {
        smtp: Some(passage_notify::SmtpSettings {
            host: smtp.addr().ip().to_string(),
            port: smtp.addr().port(),
            from: "passage@example.com".into(),
            username: None,
            password: None,
            tls: passage_notify::SmtpTls::None,
            ca_pem: None,
        }),
    };
    Arc::new(passage_notify::ChannelNotifier::new(&notify).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreturned_laptop_holds_the_run_reminds_and_closes_on_confirmation() {
    let dir = std::env::temp_dir().join(format!("passage-human-{}", uuid::Uuid::new_v4().simple()));
    let slack = SlackSink::start().await.unwrap();
    let smtp = SmtpSink::start().await.unwrap();
    let hook = WebhookSink::start().await.unwrap();
    let slack_url = slack.add_hook();
    let hook_url = hook.url();
    let hook_secret = hook.secret().to_owned();
    let mut options = SandboxOptions::new(&dir);
    options.all_providers = true;
    options.customize = Some(Arc::new(move |p: &mut passage_core::TenantPolicy| {
        p.human.device_return = Some(HumanStepPolicy {
            critical: true,
            due_after: Duration::from_secs(1),
            remind_every: Duration::from_secs(2),
            escalate_after: Duration::from_secs(4),
        });
        p.human.remind = vec![Channel::Slack {
            url: Secret::new(slack_url.clone()),
        }];
        p.human.escalate = vec![
            Channel::Email {
                to: vec!["it-lead@example.com".into()],
                include_recipients: true,
            },
            Channel::Webhook {
                url: hook_url.clone(),
                secret: Secret::new(hook_secret.clone()),
            },
        ];
    }));
    options.notifier = Some(mail_through(&smtp));
    options.operators = Operators::new(vec![Operator::new(
        "ivan",
        Some(&Secret::new(TOKEN)),
        None,
        vec!["demo".into()],
    )]);
    let sb = Sandbox::start(options).await.unwrap();

    let r = sb
        .post(
            "msg_laptop",
            &leaver_event(DEMO_LEAVER, "E7", Cutoff::Immediate),
        )
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202, "{}", r.text().await.unwrap());
    let v: Value = r.json().await.unwrap();
    let run_id = passage_core::RunId::new(v["run_id"].as_str().unwrap());

    // Every provider step verifies; the device return waits for people.
    let key = passage_core::StepKey::new("human.return_devices");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let steps = sb.system.store.steps(&run_id).await.unwrap();
        let others_done = steps
            .iter()
            .filter(|s| s.key != key)
            .all(|s| s.state == StepState::Verified);
        let human = steps.iter().find(|s| s.key == key).unwrap();
        if others_done && human.state == StepState::Awaiting {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "provider steps did not finish: {:?}",
            steps.iter().map(|s| (&s.key, s.state)).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Reminders go to Slack; after the escalation point, email and the webhook get escalations.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while smtp.received().is_empty() || hook.received().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no escalation arrived"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let run = sb.system.store.run(&run_id).await.unwrap().unwrap();
    assert_eq!(
        run.state,
        RunState::Running,
        "the laptop holds the run open"
    );
    let slack_msgs = slack.received();
    assert!(!slack_msgs.is_empty(), "a reminder reached Slack");
    assert!(
        serde_json::to_string(&slack_msgs[0].payload)
            .unwrap()
            .contains(DEMO_LEAVER),
        "the reminder names the leaver"
    );
    let mail = &smtp.received()[0];
    assert!(
        mail.subject
            .as_deref()
            .unwrap_or_default()
            .starts_with("Escalation"),
        "{:?}",
        mail.subject
    );
    assert!(
        mail.envelope_to
            .iter()
            .any(|t| t.contains("it-lead@example.com"))
    );
    let delivered: Value = serde_json::from_slice(&hook.received()[0].body).unwrap();
    assert_eq!(delivered["kind"], "escalation");
    assert_eq!(delivered["run_id"], run_id.as_str());

    // The operator API lists the devices with asset tag and MDM state.
    let http = reqwest::Client::new();
    let base = format!("{}/v1/operator/tenants/demo/runs/{run_id}", sb.base_url);
    let unauth = http.get(&base).send().await.unwrap();
    assert_eq!(unauth.status().as_u16(), 401);
    // The escalation is recorded on the step just after it is delivered.
    let step = loop {
        let shown: Value = http
            .get(&base)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let step = shown["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"] == "human.return_devices")
            .unwrap()
            .clone();
        let escalated = step["human"]["notices"]
            .as_array()
            .is_some_and(|n| n.iter().any(|n| n["kind"] == "escalation"));
        if escalated {
            break step;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "escalation not recorded"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let items = step["human"]["items"].as_array().unwrap().clone();
    assert!(!items.is_empty(), "the leaver's devices are listed");
    for item in &items {
        assert!(item["device"]["mdm_state"].is_string(), "{item}");
        assert!(item["device"]["source"].is_string(), "{item}");
    }
    let notices = step["human"]["notices"].as_array().unwrap();
    assert!(notices.iter().any(|n| n["kind"] == "reminder"));
    assert!(notices.iter().any(|n| {
        n["kind"] == "escalation"
            && n["deliveries"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["delivered"] == true)
    }));

    // Bad confirmations are refused with a reason and change nothing.
    let confirm = format!("{base}/steps/human.return_devices/confirm");
    let bad = http
        .post(&confirm)
        .bearer_auth(TOKEN)
        .json(&json!({"item": "device-99", "outcome": "received"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 404);
    let bad = http
        .post(&confirm)
        .bearer_auth(TOKEN)
        .json(&json!({"item": "device-1", "outcome": "written_off"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 422, "written off needs a note");
    let bad = http
        .post(&confirm)
        .bearer_auth(TOKEN)
        .json(&json!({"item": "device-1", "outcome": "received", "colour": "red"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400, "unknown fields are named");

    // Confirm each device; the run closes after the last.
    for (n, item) in items.iter().enumerate() {
        let r = http
            .post(&confirm)
            .bearer_auth(TOKEN)
            .json(&json!({"item": item["id"], "outcome": "received", "condition": "good", "note": format!("shelf {n}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    }
    let again = http
        .post(&confirm)
        .bearer_auth(TOKEN)
        .json(&json!({"item": items[0]["id"], "outcome": "received"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.status().as_u16(),
        409,
        "a step already verified cannot be confirmed again"
    );
    let run = wait_for(&sb.system, &run_id, Duration::from_secs(30), |r| {
        r.state == RunState::Closed
    })
    .await
    .unwrap();

    // The signed bundle shows who confirmed each device, when, and the reminders sent.
    let dir_of_bundle = sb.system.evidence.bundle_dir(&run.tenant, &run.id).unwrap();
    let file = std::fs::read(dir_of_bundle.join("evidence/human/return_devices.json"))
        .expect("the human step's evidence file");
    let evidence: Value = serde_json::from_slice(&file).unwrap();
    for item in evidence["human"]["items"].as_array().unwrap() {
        assert_eq!(item["confirmation"]["actor"], "operator:ivan");
        assert_eq!(item["confirmation"]["condition"], "good");
        assert!(item["confirmation"]["at"].is_string());
    }
    assert!(!evidence["human"]["notices"].as_array().unwrap().is_empty());
    let text = String::from_utf8_lossy(&file);
    assert!(!text.contains(TOKEN), "no operator token in evidence");
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_passage"))
        .arg("verify")
        .arg(&dir_of_bundle)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );

    sb.shutdown().await;
    slack.shutdown().await;
    smtp.shutdown().await;
    hook.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_manager_confirms_the_hand_over_from_the_reminder_link() {
    let dir = std::env::temp_dir().join(format!(
        "passage-handover-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let smtp = SmtpSink::start().await.unwrap();
    let mut options = SandboxOptions::new(&dir);
    options.customize = Some(Arc::new(|p: &mut passage_core::TenantPolicy| {
        p.human.handover = Some(HumanStepPolicy {
            critical: true,
            due_after: Duration::from_secs(1),
            remind_every: Duration::from_secs(60),
            escalate_after: Duration::from_secs(600),
        });
        p.human.remind = vec![Channel::Email {
            to: vec![],
            include_recipients: true,
        }];
    }));
    options.notifier = Some(mail_through(&smtp));
    options.confirm_links = true;
    let sb = Sandbox::start(options).await.unwrap();
    let r = sb
        .post(
            "msg_handover",
            &leaver_event(DEMO_LEAVER, "E8", Cutoff::Immediate),
        )
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let v: Value = r.json().await.unwrap();
    let run_id = passage_core::RunId::new(v["run_id"].as_str().unwrap());

    // The reminder reaches the manager by email, with a link for them alone.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while smtp.received().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no reminder mail");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mail = smtp.received().remove(0);
    let run = sb.system.store.run(&run_id).await.unwrap().unwrap();
    let manager = run.subject.manager.as_ref().unwrap().email.clone();
    assert!(
        mail.envelope_to.iter().any(|t| t.contains(&manager)),
        "{:?}",
        mail.envelope_to
    );
    assert_eq!(
        run.state,
        RunState::Running,
        "the hand-over holds the run open"
    );
    // The mail is quoted-printable: undo soft line breaks and `=3D` before reading the link.
    let body = mail
        .body()
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let start = body
        .find("/v1/confirm/")
        .expect("a confirmation link in the mail");
    let path: String = body[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let url = format!("{}{path}", sb.base_url);
    let http = reqwest::Client::new();

    // Opening the link (as a mail scanner would) changes nothing.
    let page = http.get(&url).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("I confirm"));
    let step_state = |steps: Vec<passage_core::Step>| {
        steps
            .into_iter()
            .find(|s| s.key.as_str() == "human.confirm_handover")
            .unwrap()
            .state
    };
    assert_eq!(
        step_state(sb.system.store.steps(&run_id).await.unwrap()),
        StepState::Awaiting
    );

    // A link altered to confirm as someone else is refused.
    let forged = url.replace(
        &format!("by={}", manager.replace('@', "%40")),
        "by=mallory%40example.com",
    );
    assert_ne!(forged, url);
    let r = http.post(&forged).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403);

    // The manager's click records the confirmation as them and closes the run.
    let r = http
        .post(&url)
        .form(&[("note", "have the Drive folder and the inbox")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    let run = sb
        .wait_closed(&run_id, Duration::from_secs(30))
        .await
        .unwrap();
    let bundle = sb.system.evidence.bundle_dir(&run.tenant, &run.id).unwrap();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    let c = &manifest["confirmations"][0];
    assert_eq!(c["actor"], format!("manager:{manager}"));
    assert_eq!(c["outcome"], "handed_over");
    assert_eq!(c["note"], "have the Drive folder and the inbox");
    // A second click is answered, not applied twice.
    let again = http.post(&url).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 409);
    sb.shutdown().await;
    smtp.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
