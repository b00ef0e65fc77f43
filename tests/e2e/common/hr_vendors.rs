//! Each HR vendor's emulator set up for an intake test, shared by the embedded and the Lambda
//! intake suites: the vendor's API settings, its webhook secret and one genuine delivery signed
//! the vendor's way, plus the forged and stale variants every intake must refuse.

use passage_core::secret::Secret;
use passage_hrapi::HrSettings;
use passage_sandbox::hr::receiver::{RawDelivery, RawReceiver};
use std::any::Any;

/// Every vendor with its own webhook route.
pub const VENDORS: [&str; 7] = [
    "bamboohr", "hibob", "gusto", "merge", "finch", "personio", "rippling",
];

pub type Headers = Vec<(String, String)>;

/// One vendor set up for a test: the emulator (kept alive), Passage's settings for its API and
/// webhooks, and one genuine delivery captured verbatim.
pub struct Case {
    pub settings: HrSettings,
    pub secret: String,
    pub leaver_id: String,
    pub genuine: RawDelivery,
    /// A correctly signed delivery with a timestamp ten minutes old, for vendors that sign one.
    pub stale: Option<(Headers, Vec<u8>)>,
    _emulator: Box<dyn Any + Send>,
}

pub fn termination_day() -> jiff::civil::Date {
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

pub async fn case(vendor: &'static str) -> Case {
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
                        ("Content-Type".into(), "application/json".into()),
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
                        ("Content-Type".into(), "application/json".into()),
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

pub fn headers_of(d: &RawDelivery) -> Vec<(String, String)> {
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

/// A delivery the intake must refuse as forged: one byte of the body changed (vendors that sign
/// the body), or the wrong token (vendors that send a static token).
pub fn forged(vendor: &str, c: &Case) -> (Headers, Vec<u8>) {
    let genuine = headers_of(&c.genuine);
    if matches!(vendor, "personio" | "rippling") {
        let mut h = genuine;
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
        (genuine, body)
    }
}

/// The `[tenants.hr_api]` table an operator would write for these settings.
pub fn hr_api_toml(settings: &HrSettings) -> String {
    let q = |s: &str| serde_json::to_string(s).unwrap();
    let fields: Vec<(&str, String)> = match settings {
        HrSettings::Bamboohr(s) => vec![
            ("company_domain", q(&s.company_domain)),
            ("api_key", q(s.api_key.expose())),
            ("base_url", q(&s.base_url)),
        ],
        HrSettings::Hibob(s) => vec![
            ("service_user_id", q(&s.service_user_id)),
            ("token", q(s.token.expose())),
            ("base_url", q(&s.base_url)),
        ],
        HrSettings::Gusto(s) => vec![
            ("access_token", q(s.access_token.expose())),
            ("company_uuid", q(&s.company_uuid)),
            ("base_url", q(&s.base_url)),
        ],
        HrSettings::Merge(s) => vec![
            ("api_key", q(s.api_key.expose())),
            ("account_token", q(s.account_token.expose())),
            ("base_url", q(&s.base_url)),
        ],
        HrSettings::Finch(s) => vec![
            ("access_token", q(s.access_token.expose())),
            ("base_url", q(&s.base_url)),
        ],
        HrSettings::Personio(s) => vec![
            ("client_id", q(&s.client_id)),
            ("client_secret", q(s.client_secret.expose())),
            ("base_url", q(&s.base_url)),
        ],
        HrSettings::Rippling(s) => vec![
            ("api_token", q(s.api_token.expose())),
            ("base_url", q(&s.base_url)),
        ],
    };
    let mut out = format!("vendor = {}\n", q(settings.vendor()));
    for (k, v) in fields {
        out.push_str(&format!("{k} = {v}\n"));
    }
    out
}
