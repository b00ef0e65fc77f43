//! The Gusto client against the Gusto emulator over real HTTP.

use crate::common;
use common::{hex, in_days, openssl_hmac};
use passage_core::ports::HrSource;
use passage_core::secret::Secret;
use passage_hrapi::{Gusto, GustoSettings};
use passage_sandbox::hr::RawReceiver;
use passage_sandbox::hr::gusto::{self as emu, GustoEmulator};

fn client(emulator: &GustoEmulator, token: &str) -> Gusto {
    Gusto::new(GustoSettings {
        base_url: emulator.base_url().to_owned(),
        page_size: Some(2),
        ..GustoSettings::new(Secret::new(token), emulator.company_uuid())
    })
}

#[tokio::test]
async fn reads_active_terminated_rescinded_and_missing_employees() {
    let (gusto, demo) = GustoEmulator::start_demo().await.unwrap();
    let hr = client(&gusto, gusto.access_token());

    let seen = common::lifecycle_is_read(&hr, &gusto, &demo, in_days(9), in_days(4)).await;
    // A Gusto termination's effective date is also the last day worked.
    assert_eq!(
        seen.terminated.last_day_worked,
        seen.terminated.termination_date
    );

    assert_eq!(
        hr.employee("00000000-0000-4000-8000-000000000000")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn wrong_token_is_denied_and_faults_are_unavailable() {
    let (gusto, demo) = GustoEmulator::start_demo().await.unwrap();
    common::wrong_credentials_are_denied(
        &client(&gusto, "gusto-wrong-token-5"),
        &demo.leaver_id,
        "gusto-wrong-token",
    )
    .await;
    let hr = client(&gusto, gusto.access_token());
    common::throttling_and_failures_are_unavailable(&hr, gusto.faults(), &demo.leaver_id, 4, 500)
        .await;
}

#[tokio::test]
async fn terminations_since_page_through_the_company() {
    let (gusto, demo) = GustoEmulator::start_demo().await.unwrap();
    let hr = client(&gusto, gusto.access_token());
    common::recent_terminations_are_listed(&hr, &gusto, &demo, 2, 3, "G").await;
}

#[tokio::test]
async fn webhook_signature_matches_an_independent_hmac() {
    let (gusto, demo) = GustoEmulator::start_demo().await.unwrap();
    let receiver = RawReceiver::start().await.unwrap();
    gusto
        .send_webhook(&receiver.url(), "employee.terminated", &demo.leaver_id)
        .await
        .unwrap();
    let delivery = receiver.received().pop().unwrap();
    let expected = hex(&openssl_hmac(
        "sha256",
        gusto.verification_token(),
        &delivery.body,
    ));
    assert_eq!(
        delivery.header(emu::SIGNATURE_HEADER),
        Some(expected.as_str())
    );
    assert_eq!(
        emu::sign(gusto.verification_token(), &delivery.body),
        expected
    );
    let body = delivery.json().unwrap();
    assert_eq!(body["event_type"], "employee.terminated");
    assert_eq!(body["entity_uuid"], demo.leaver_id.as_str());
    assert_eq!(body["resource_uuid"], gusto.company_uuid());
}
