//! HR vendors' own webhooks delivered to the running intake: each vendor's emulator signs a
//! termination the way the vendor does; Passage verifies it, fetches the employee from the
//! vendor's API and starts one correct run. Forged, stale and replayed deliveries are refused
//! (or answered with the existing run) and store nothing.

use crate::common;
use common::hr_vendors::{case, forged, headers_of, termination_day};
use passage::harness::{Sandbox, SandboxOptions};
use passage_core::HrWebhook;
use passage_core::ports::{RunFilter, RunStore};
use passage_core::secret::Secret;
use passage_sandbox::hr::directory::DEMO_LEAVER;
use serde_json::Value;
use std::sync::Arc;

async fn post(
    sb: &Sandbox,
    vendor: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> (u16, Value) {
    let mut req = sb
        .http
        .post(format!("{}/v1/tenants/demo/webhooks/{vendor}", sb.base_url))
        .body(body.to_vec());
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// `headers` with their content type replaced by `content_type`.
fn relabelled(headers: &[(String, String)], content_type: &str) -> Vec<(String, String)> {
    let mut out: Vec<_> = headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("content-type"))
        .cloned()
        .collect();
    out.push(("content-type".into(), content_type.into()));
    out
}

async fn runs(sb: &Sandbox) -> Vec<passage_core::Run> {
    sb.system
        .store
        .list_runs(&RunFilter::default())
        .await
        .unwrap()
}

async fn check(vendor: &'static str) {
    let c = case(vendor).await;
    let dir = std::env::temp_dir().join(format!(
        "passage-hrw-{vendor}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let mut options = SandboxOptions::new(&dir);
    options.hr = Some(c.settings.clone());
    let secret = c.secret.clone();
    options.customize = Some(Arc::new(move |p: &mut passage_core::TenantPolicy| {
        p.hr_webhooks = vec![HrWebhook {
            vendor: vendor.into(),
            secrets: vec![Secret::new(secret.clone())],
            unsigned: false,
        }];
    }));
    let sb = Sandbox::start(options).await.unwrap();
    let genuine = headers_of(&c.genuine);

    let forged = forged(vendor, &c);
    let (s, v) = post(&sb, vendor, &forged.0, &forged.1).await;
    assert_eq!(s, 401, "{vendor} forged: {v}");
    if let Some((h, body)) = &c.stale {
        let (s, v) = post(&sb, vendor, h, body).await;
        assert_eq!(s, 401, "{vendor} stale: {v}");
        assert_eq!(v["error"]["code"], "stale_timestamp", "{vendor}: {v}");
    }
    // The genuine delivery in a content type the vendor does not send.
    let mut others = vec!["text/plain"];
    if !matches!(vendor, "bamboohr" | "rippling") {
        others.push("application/x-www-form-urlencoded");
    }
    for other in others {
        let (s, v) = post(&sb, vendor, &relabelled(&genuine, other), &c.genuine.body).await;
        assert_eq!(s, 415, "{vendor} as {other}: {v}");
        assert_eq!(
            v["error"]["code"], "unsupported_media_type",
            "{vendor}: {v}"
        );
    }
    assert!(
        runs(&sb).await.is_empty(),
        "{vendor}: refused deliveries stored nothing"
    );

    // The genuine delivery: one run, with HR's facts (not the webhook's).
    let (s, v) = post(&sb, vendor, &genuine, &c.genuine.body).await;
    assert_eq!(s, 202, "{vendor}: {v}");
    assert_eq!(v["outcome"], "created", "{vendor}: {v}");
    let stored = runs(&sb).await;
    assert_eq!(stored.len(), 1);
    let run = &stored[0];
    assert_eq!(run.subject.employee_id, c.leaver_id, "{vendor}");
    assert_eq!(run.subject.email, DEMO_LEAVER, "{vendor}");
    let local = run
        .cutoff
        .at
        .to_zoned(jiff::tz::TimeZone::get(&run.cutoff.zone).unwrap());
    assert_eq!(
        local.date(),
        termination_day(),
        "{vendor}: cut on the HR termination day"
    );
    assert_eq!(
        local.time(),
        jiff::civil::time(17, 0, 0, 0),
        "{vendor}: at the end of day"
    );
    let source = serde_json::to_value(&run.source).unwrap();
    assert_eq!(source["vendor"], vendor);
    assert_eq!(
        source["event"]["hr_record"]["status"], "terminated",
        "{vendor}: {source}"
    );
    let text = source.to_string();
    assert!(
        !text.contains(&c.secret),
        "{vendor}: no webhook secret in the run's source"
    );

    // Replayed: the same delivery again changes nothing.
    let (s, v) = post(&sb, vendor, &genuine, &c.genuine.body).await;
    assert_eq!(s, 200, "{vendor} replay: {v}");
    assert_eq!(v["outcome"], "existing", "{vendor}: {v}");
    assert_eq!(v["run_id"], run.id.as_str());
    assert_eq!(
        runs(&sb).await.len(),
        1,
        "{vendor}: the replay stored nothing"
    );
    let events = sb.system.store.events(&run.id).await.unwrap();
    assert_eq!(events.len(), 1, "{vendor}: only run.created");
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bamboohr() {
    check("bamboohr").await;
}

/// BambooHR may be set up to post form data: a signed form delivery is taken like JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bamboohr_form_posts_are_taken() {
    let c = case("bamboohr").await;
    let dir = std::env::temp_dir().join(format!(
        "passage-hrw-form-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let mut options = SandboxOptions::new(&dir);
    options.hr = Some(c.settings.clone());
    let secret = c.secret.clone();
    options.customize = Some(Arc::new(move |p: &mut passage_core::TenantPolicy| {
        p.hr_webhooks = vec![HrWebhook {
            vendor: "bamboohr".into(),
            secrets: vec![Secret::new(secret.clone())],
            unsigned: false,
        }];
    }));
    let sb = Sandbox::start(options).await.unwrap();
    let body = format!(
        "type=employee.updated&data%5BcompanyId%5D=1&data%5BemployeeId%5D={}",
        c.leaver_id
    )
    .into_bytes();
    let ts = jiff::Timestamp::now().as_second().to_string();
    let signature = passage_sandbox::hr::bamboohr::sign(&c.secret, &body, &ts);
    let headers = vec![
        ("X-BambooHR-Signature".to_owned(), signature),
        ("X-BambooHR-Timestamp".to_owned(), ts),
        (
            "Content-Type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        ),
    ];
    let (s, v) = post(&sb, "bamboohr", &headers, &body).await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(v["outcome"], "created", "{v}");
    let stored = runs(&sb).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].subject.employee_id, c.leaver_id);
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hibob() {
    check("hibob").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gusto() {
    check("gusto").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn merge() {
    check("merge").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn finch() {
    check("finch").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn personio() {
    check("personio").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rippling() {
    check("rippling").await;
}

/// Rippling without a token: a tenant that opts in (`unsigned = true`) takes its deliveries as
/// unauthenticated hints. The record read from Rippling's API decides: a hint for the leaver
/// makes her run; a forged hint for someone still employed changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rippling_hints_without_a_token_when_the_tenant_accepts_them() {
    use passage_sandbox::hr::rippling::RipplingEmulator;
    let (emu, people) = RipplingEmulator::start_demo().await.unwrap();
    emu.terminate(&people.leaver_id, termination_day()).unwrap();
    let dir = std::env::temp_dir().join(format!(
        "passage-hrw-unsigned-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let mut settings = passage_hrapi::RipplingSettings::new(Secret::new(emu.api_token()));
    settings.base_url = emu.base_url().to_owned();
    let mut options = SandboxOptions::new(&dir);
    options.hr = Some(passage_hrapi::HrSettings::Rippling(settings));
    options.customize = Some(Arc::new(|p: &mut passage_core::TenantPolicy| {
        p.hr_webhooks = vec![HrWebhook {
            vendor: "rippling".into(),
            secrets: Vec::new(),
            unsigned: true,
        }];
    }));
    let sb = Sandbox::start(options).await.unwrap();
    let json = vec![("content-type".to_owned(), "application/json".to_owned())];

    // A hint for someone still employed (the manager): read, found active, nothing happens.
    let forged = emu.webhook_body("employee.deleted", &people.manager_id);
    let (s, v) = post(&sb, "rippling", &json, &forged).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["outcome"], "unchanged", "{v}");
    assert!(
        runs(&sb).await.is_empty(),
        "an unsigned hint alone cuts no one"
    );

    // The leaver's hint, no Authorization header: one run, marked unauthenticated.
    let body = emu.webhook_body("employee.deleted", &people.leaver_id);
    let (s, v) = post(&sb, "rippling", &json, &body).await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(v["outcome"], "created", "{v}");
    let stored = runs(&sb).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].subject.employee_id, people.leaver_id);
    let source = serde_json::to_value(&stored[0].source).unwrap();
    assert!(
        source.to_string().contains("not authenticated"),
        "the evidence says the delivery was not authenticated: {source}"
    );
    // The same body again is the same delivery.
    let (s, v) = post(&sb, "rippling", &json, &body).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["outcome"], "existing", "{v}");
    assert_eq!(runs(&sb).await.len(), 1);
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// Gusto's subscription handshake, completed by Passage: the unsigned verification token is
/// kept only after Gusto confirms it (`PUT .../verify` with the tenant's system token), then
/// authenticates Gusto's deliveries. A forged token is refused and nothing is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gusto_subscription_handshake_is_completed_and_its_token_then_authenticates() {
    use passage_sandbox::hr::gusto::{GustoEmulator, sign};
    let (emu, people) = GustoEmulator::start_demo().await.unwrap();
    emu.terminate(&people.leaver_id, termination_day()).unwrap();
    let subscription = emu.create_subscription("http://127.0.0.1:9/not-yet");
    let dir = std::env::temp_dir().join(format!(
        "passage-hrw-gusto-hs-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let mut settings =
        passage_hrapi::GustoSettings::new(Secret::new(emu.access_token()), emu.company_uuid());
    settings.base_url = emu.base_url().to_owned();
    settings.webhook_subscription_uuid = Some(subscription.clone());
    settings.system_token = Some(Secret::new(emu.system_token()));
    let mut options = SandboxOptions::new(&dir);
    options.hr = Some(passage_hrapi::HrSettings::Gusto(settings));
    options.customize = Some(Arc::new(|p: &mut passage_core::TenantPolicy| {
        p.hr_webhooks = vec![HrWebhook {
            vendor: "gusto".into(),
            secrets: Vec::new(),
            unsigned: false,
        }];
    }));
    let sb = Sandbox::start(options).await.unwrap();
    emu.update_subscription_url(
        &subscription,
        &format!("{}/v1/tenants/demo/webhooks/gusto", sb.base_url),
    );
    let tenant = passage_core::TenantId::new("demo");
    let learned = async || {
        sb.system
            .store
            .learned_secret(&tenant, "gusto")
            .await
            .unwrap()
            .map(|s| s.expose().to_owned())
    };

    // Before the handshake no token authenticates anything.
    let body = emu.webhook_body("employee.terminated", &people.leaver_id);
    let json = ("content-type".to_owned(), "application/json".to_owned());
    let early = vec![
        (
            "X-Gusto-Signature".to_owned(),
            sign(emu.verification_token(), &body),
        ),
        json.clone(),
    ];
    let (s, v) = post(&sb, "gusto", &early, &body).await;
    assert_eq!(s, 401, "{v}");
    assert!(v.to_string().contains("handshake"), "{v}");

    // A forged handshake: Gusto does not confirm the token, so it is not kept.
    let forged = br#"{"verification_token":"9f0c1d2e-not-from-gusto"}"#;
    let (s, v) = post(&sb, "gusto", &[json], forged).await;
    assert_eq!(s, 401, "{v}");
    assert_eq!(v["error"]["code"], "handshake_refused");
    assert_eq!(learned().await, None);
    assert!(!emu.subscription_verified(&subscription));

    // Gusto's own handshake: verified at Gusto, token kept.
    let answer = emu.send_verification_token(&subscription).await.unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    assert!(
        emu.subscription_verified(&subscription),
        "Gusto marks it verified"
    );
    assert!(learned().await.is_some());

    // Gusto's events now authenticate with that token and start the run.
    let answer = emu
        .send_subscription_event(&subscription, "employee.terminated", &people.leaver_id)
        .await
        .expect("a verified subscription gets events")
        .unwrap();
    assert_eq!(answer.status().as_u16(), 202);
    let stored = runs(&sb).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].subject.employee_id, people.leaver_id);
    // The token is in no run record or event.
    let token = learned().await.unwrap();
    let events = sb.system.store.events(&stored[0].id).await.unwrap();
    let recorded = serde_json::to_string(&(&stored[0], &events)).unwrap();
    assert!(!recorded.contains(&token));
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
