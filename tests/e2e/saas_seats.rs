//! SaaS seats through the running host: one leaver's Slack, GitHub and SCIM accounts closed
//! and read back in each app, the SCIM app's irreversible removal held past the cutoff for the
//! grace period (the account restorable meanwhile), Figma's owner reminded by mail and
//! attesting from the signed link, and the bundle listing what became of every seat.

use passage::harness::{Cutoff, SAAS_GRACE, Sandbox, SandboxOptions, leaver_event, saas_owner};
use passage_core::ports::{Channel, RunStore};
use passage_core::{RunId, StepState};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn mailer(smtp: &passage_sandbox::sinks::SmtpSink) -> Arc<passage_notify::ChannelNotifier> {
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

async fn step_state(sb: &Sandbox, run_id: &RunId, key: &str) -> passage_core::Step {
    let steps = sb.system.store.steps(run_id).await.unwrap();
    steps.into_iter().find(|s| s.key.as_str() == key).unwrap()
}

/// The signed confirmation link in the first mail to `owner`.
async fn link_for(smtp: &passage_sandbox::sinks::SmtpSink, owner: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(mail) = smtp
            .received()
            .into_iter()
            .find(|m| m.envelope_to.iter().any(|t| t.contains(owner)))
        {
            let body = mail
                .body()
                .replace("=\r\n", "")
                .replace("=\n", "")
                .replace("=3D", "=");
            let start = body.find("/v1/confirm/").expect("a confirmation link");
            return body[start..]
                .chars()
                .take_while(|c| !c.is_whitespace())
                .collect();
        }
        assert!(Instant::now() < deadline, "no reminder reached {owner}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_seat_is_closed_read_back_and_listed_in_the_bundle() {
    use passage_sandbox::github::{DEMO_LEAVER as EMAIL, DEMO_LOGIN};
    let dir = std::env::temp_dir().join(format!("passage-saas-{}", uuid::Uuid::new_v4().simple()));
    let smtp = passage_sandbox::sinks::SmtpSink::start().await.unwrap();
    let mut options = SandboxOptions::new(&dir);
    options.saas = true;
    options.confirm_links = true;
    options.notifier = Some(mailer(&smtp));
    options.customize = Some(Arc::new(|p: &mut passage_core::TenantPolicy| {
        for app in &mut p.saas.manual {
            app.step.due_after = Duration::from_secs(1);
        }
        p.human.remind = vec![Channel::Email {
            to: vec![],
            include_recipients: true,
        }];
    }));
    let sb = Sandbox::start(options).await.unwrap();
    let apps = sb.saas.as_ref().unwrap();
    let slack_billed = apps.slack.billed_seats();
    let r = sb
        .post("msg_saas", &leaver_event(EMAIL, "E9", Cutoff::Immediate))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202, "{}", r.text().await.unwrap());
    let v: Value = r.json().await.unwrap();
    let run_id = RunId::new(v["run_id"].as_str().unwrap());
    let posted = Instant::now();

    // Inside the grace period the SCIM account is only deactivated: a rehire could be
    // restored. The removal waits, queued for the end of the grace period.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let deactivate = step_state(&sb, &run_id, "scim.wiki.deactivate_seat").await;
        if deactivate.state == StepState::Verified {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the SCIM deactivation did not verify"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let remove = step_state(&sb, &run_id, "scim.wiki.remove_seat").await;
    if posted.elapsed() < SAAS_GRACE - Duration::from_secs(1) {
        assert_ne!(
            remove.state,
            StepState::Verified,
            "removed inside the grace period"
        );
        let account = apps.scim.user(EMAIL).expect("kept during the grace period");
        assert!(!account.active);
    }
    let run = sb.system.store.run(&run_id).await.unwrap().unwrap();
    assert_eq!(remove.wait_after_cutoff_s, Some(SAAS_GRACE.as_secs()));
    if let Some(nb) = remove.not_before {
        assert!(nb >= run.cutoff.at + jiff::SignedDuration::try_from(SAAS_GRACE).unwrap());
    }

    // Figma's owner is reminded by mail and attests from the link, as the owner.
    let link = link_for(&smtp, saas_owner()).await;
    let url = format!("{}{link}", sb.base_url);
    let http = reqwest::Client::new();
    let r = http
        .post(&url)
        .form(&[("note", "removed in Figma admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());

    let run = sb
        .wait_closed(&run_id, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        run.closed_at.unwrap()
            >= run.cutoff.at + jiff::SignedDuration::try_from(SAAS_GRACE).unwrap()
    );

    // In each app: Slack deactivated, signed out, not billed; GitHub membership, credentials
    // and invitation gone, Copilot pending cancellation; the SCIM account removed.
    let member = apps.slack.member(EMAIL).unwrap();
    assert!(member.deleted && member.sessions == 0);
    assert_eq!(apps.slack.billed_seats(), slack_billed - 1);
    assert_eq!(apps.github.membership(DEMO_LOGIN), None);
    assert_eq!(apps.github.credentials(DEMO_LOGIN), 0);
    assert_eq!(apps.github.invitations_for(EMAIL), 0);
    assert!(
        apps.github
            .copilot_seat(DEMO_LOGIN)
            .unwrap()
            .pending_cancellation
            .is_some()
    );
    assert!(apps.scim.user(EMAIL).is_none());

    // The bundle says what became of each seat, and only what Passage saw.
    let bundle = sb.system.evidence.bundle_dir(&run.tenant, &run.id).unwrap();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    let seats: Vec<(String, String)> = manifest["seats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["app"].as_str().unwrap().into(),
                s["outcome"].as_str().unwrap().into(),
            )
        })
        .collect();
    for expected in [
        ("slack", "deactivated"),
        ("github", "pending_cancellation"),
        ("github", "removed_from_organization"),
        ("wiki", "deactivated"),
        ("wiki", "removed"),
        ("figma", "attested"),
    ] {
        assert!(
            seats.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} not in {seats:?}"
        );
    }
    let figma = manifest["seats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["app"] == "figma")
        .unwrap();
    assert_eq!(figma["attested_by"], format!("owner:{}", saas_owner()));
    let figma_step = manifest["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "human.figma.confirm_app_removal")
        .unwrap();
    assert!(
        figma_step["controls"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["relation"] == "supports")
    );
    let github_step = manifest["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "github.deactivate_seat")
        .unwrap();
    assert!(!github_step["request_ids"].as_array().unwrap().is_empty());
    assert!(bundle.join("evidence/scim/wiki/remove_seat.json").exists());
    assert!(bundle.join("pre-state/scim/wiki.json").exists());
    sb.shutdown().await;
    smtp.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
