//! HR vendors' own webhooks delivered to the running intake: each vendor's emulator signs a
//! termination the way the vendor does; Passage verifies it, fetches the employee from the
//! vendor's API and starts one correct run. Forged, stale and replayed deliveries are refused
//! (or answered with the existing run) and store nothing.

use passage::harness::{Sandbox, SandboxOptions};
use passage_core::HrWebhook;
use passage_core::ports::{RunFilter, RunStore};
use passage_core::secret::Secret;
use passage_hrapi::HrSettings;
use passage_sandbox::hr::directory::DEMO_LEAVER;

use passage_sandbox::hr::receiver::{RawDelivery, RawReceiver};
use serde_json::Value;
use std::any::Any;
use std::sync::Arc;

type Headers = Vec<(String, String)>;

/// One vendor set up for a test: the emulator (kept alive), Passage's settings for its API and
/// webhooks, and one genuine delivery captured verbatim.
struct Case {
    settings: HrSettings,
    secret: String,
    leaver_id: String,
    genuine: RawDelivery,
    /// A correctly signed delivery with a timestamp ten minutes old, for vendors that sign one.
    stale: Option<(Headers, Vec<u8>)>,
    _emulator: Box<dyn Any + Send>,
}

fn termination_day() -> jiff::civil::Date {
    jiff::Zoned::now().date() + jiff::Span::new().days(10)
}

async fn capture(
    send: impl std::future::Future<Output = reqwest::Result<reqwest::Response>>,
    rx: &RawReceiver,
) -> RawDelivery {
    let r = send.await.unwrap();
    assert!(r.status().is_success());
    rx.received().pop().expect("the emulator delivered")
}

async fn case(vendor: &'static str) -> Case {
    use passage_sandbox::hr::*;
    let rx = RawReceiver::start().await.unwrap();
    let url = rx.url();
    let day = termination_day();
    let old = (jiff::Timestamp::now().as_second() - 600).to_string();
    let terminate = |d: &directory::Directory, id: &str| d.terminate(id, day).unwrap();
    match vendor {
        "bamboohr" => {
            let (emu, people) = bamboohr::BambooHrEmulator::start_demo().await.unwrap();
            terminate(&emu, &people.leaver_id);
            let genuine = capture(
                emu.send_webhook(&url, "employee.updated", &people.leaver_id),
                &rx,
            )
            .await;
            let body = emu.webhook_body("employee.updated", &people.leaver_id);
            let sig = bamboohr::sign(emu.webhook_private_key(), &body, &old);
            let mut settings = passage_hrapi::BambooHrSettings::new(
                emu.company_domain(),
                Secret::new(emu.api_key()),
            );
            settings.base_url = emu.base_url();
            Case {
                settings: HrSettings::Bamboohr(settings),
                secret: emu.webhook_private_key().to_owned(),
                leaver_id: people.leaver_id,
                genuine,
                stale: Some((
                    vec![
                        ("X-BambooHR-Signature".into(), sig),
                        ("X-BambooHR-Timestamp".into(), old),
                    ],
                    body,
                )),
                _emulator: Box::new(emu),
            }
        }
        "hibob" => {
            let (emu, people) = hibob::HiBobEmulator::start_demo().await.unwrap();
            terminate(&emu, &people.leaver_id);
            let genuine = capture(
                emu.send_webhook(&url, "employee.left", &people.leaver_id),
                &rx,
            )
            .await;
            let mut settings = passage_hrapi::HiBobSettings::new(
                emu.service_user_id(),
                Secret::new(emu.service_user_token()),
            );
            settings.base_url = emu.base_url().to_owned();
            Case {
                settings: HrSettings::Hibob(settings),
                secret: emu.webhook_secret().to_owned(),
                leaver_id: people.leaver_id,
                genuine,
                stale: None,
                _emulator: Box::new(emu),
            }
        }
        "gusto" => {
            let (emu, people) = gusto::GustoEmulator::start_demo().await.unwrap();
            terminate(&emu, &people.leaver_id);
            let genuine = capture(
                emu.send_webhook(&url, "employee.terminated", &people.leaver_id),
                &rx,
            )
            .await;
            let mut settings = passage_hrapi::GustoSettings::new(
                Secret::new(emu.access_token()),
                emu.company_uuid(),
            );
            settings.base_url = emu.base_url().to_owned();
            Case {
                settings: HrSettings::Gusto(settings),
                secret: emu.verification_token().to_owned(),
                leaver_id: people.leaver_id,
                genuine,
                stale: None,
                _emulator: Box::new(emu),
            }
        }
        "merge" => {
            let (emu, people) = merge::MergeEmulator::start_demo().await.unwrap();
            terminate(&emu, &people.leaver_id);
            let genuine = capture(
                emu.send_webhook(&url, "Employee.changed", &people.leaver_id),
                &rx,
            )
            .await;
            let mut settings = passage_hrapi::MergeSettings::new(
                Secret::new(emu.api_key()),
                Secret::new(emu.account_token()),
            );
            settings.base_url = emu.base_url().to_owned();
            Case {
                settings: HrSettings::Merge(settings),
                secret: emu.webhook_signature_key().to_owned(),
                leaver_id: people.leaver_id,
                genuine,
                stale: None,
                _emulator: Box::new(emu),
            }
        }
        "finch" => {
            let (emu, people) = finch::FinchEmulator::start_demo().await.unwrap();
            terminate(&emu, &people.leaver_id);
            let genuine = capture(
                emu.send_webhook(&url, "employment.updated", &people.leaver_id),
                &rx,
            )
            .await;
            let body = genuine.body.clone();
            let id = "evt_stale_1";
            let sig = finch::sign(emu.webhook_secret(), id, &old, &body).unwrap();
            let mut settings = passage_hrapi::FinchSettings::new(Secret::new(emu.access_token()));
            settings.base_url = emu.base_url().to_owned();
            Case {
                settings: HrSettings::Finch(settings),
                secret: emu.webhook_secret().to_owned(),
                leaver_id: people.leaver_id,
                genuine,
                stale: Some((
                    vec![
                        ("finch-event-id".into(), id.into()),
                        ("finch-timestamp".into(), old),
                        ("finch-signature".into(), sig),
                    ],
                    body,
                )),
                _emulator: Box::new(emu),
            }
        }
        "personio" => {
            let (emu, people) = personio::PersonioEmulator::start_demo().await.unwrap();
            terminate(&emu, &people.leaver_id);
            let genuine = capture(
                emu.send_webhook(&url, "employment.terminated", &people.leaver_id),
                &rx,
            )
            .await;
            let mut settings = passage_hrapi::PersonioSettings::new(
                emu.client_id(),
                Secret::new(emu.client_secret()),
            );
            settings.base_url = emu.base_url().to_owned();
            Case {
                settings: HrSettings::Personio(settings),
                secret: emu.webhook_token().to_owned(),
                leaver_id: people.leaver_id,
                genuine,
                stale: None,
                _emulator: Box::new(emu),
            }
        }
        "rippling" => {
            let (emu, people) = rippling::RipplingEmulator::start_demo().await.unwrap();
            terminate(&emu, &people.leaver_id);
            let genuine = capture(
                emu.send_webhook(&url, "employee.deleted", &people.leaver_id),
                &rx,
            )
            .await;
            let mut settings = passage_hrapi::RipplingSettings::new(Secret::new(emu.api_token()));
            settings.base_url = emu.base_url().to_owned();
            Case {
                settings: HrSettings::Rippling(settings),
                secret: emu.webhook_token().to_owned(),
                leaver_id: people.leaver_id,
                genuine,
                stale: None,
                _emulator: Box::new(emu),
            }
        }
        other => panic!("no case for {other}"),
    }
}

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

fn headers_of(d: &RawDelivery) -> Vec<(String, String)> {
    d.headers
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "host" | "content-length"))
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_owned(), v.to_owned()))
        })
        .collect()
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
        }];
    }));
    let sb = Sandbox::start(options).await.unwrap();
    let genuine = headers_of(&c.genuine);

    // Forged: one byte of the body changed (MAC vendors), or the wrong token (token vendors).
    let forged = if matches!(vendor, "personio" | "rippling") {
        let mut h = genuine.clone();
        for (k, v) in h.iter_mut() {
            if k.eq_ignore_ascii_case("authorization") {
                *v = v.replace(&c.secret, "not-the-token");
            }
        }
        (h, c.genuine.body.clone())
    } else {
        let mut body = c.genuine.body.clone();
        let at = body.iter().position(|b| b.is_ascii_digit()).unwrap();
        body[at] = if body[at] == b'9' { b'8' } else { body[at] + 1 };
        (genuine.clone(), body)
    };
    let (s, v) = post(&sb, vendor, &forged.0, &forged.1).await;
    assert_eq!(s, 401, "{vendor} forged: {v}");
    if let Some((h, body)) = &c.stale {
        let (s, v) = post(&sb, vendor, h, body).await;
        assert_eq!(s, 401, "{vendor} stale: {v}");
        assert_eq!(v["error"]["code"], "stale_timestamp", "{vendor}: {v}");
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
