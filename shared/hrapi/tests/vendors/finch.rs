//! The Finch client against the Finch emulator over real HTTP.

use crate::common;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{hex, in_days};
use passage_core::ports::HrSource;
use passage_core::secret::Secret;
use passage_hrapi::{Finch, FinchSettings};
use passage_sandbox::hr::RawReceiver;
use passage_sandbox::hr::finch::{self as emu, FinchEmulator};

fn client(emulator: &FinchEmulator, token: &str) -> Finch {
    Finch::new(FinchSettings {
        base_url: emulator.base_url().to_owned(),
        page_size: Some(2),
        ..FinchSettings::new(Secret::new(token))
    })
}

#[tokio::test]
async fn reads_active_terminated_rescinded_and_missing_individuals() {
    let (finch, demo) = FinchEmulator::start_demo().await.unwrap();
    let hr = client(&finch, finch.access_token());

    let seen = common::lifecycle_is_read(&hr, &finch, &demo, in_days(6), in_days(8)).await;
    assert_eq!(seen.active.work_location.as_deref(), Some("London"));

    assert_eq!(
        hr.employee("00000000-0000-4000-8000-000000000000")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn wrong_token_is_denied_and_faults_are_unavailable() {
    let (finch, demo) = FinchEmulator::start_demo().await.unwrap();
    common::wrong_credentials_are_denied(
        &client(&finch, "finch-wrong-token-3"),
        &demo.leaver_id,
        "finch-wrong-token",
    )
    .await;
    let hr = client(&finch, finch.access_token());
    common::throttling_and_failures_are_unavailable(&hr, finch.faults(), &demo.leaver_id, 5, 502)
        .await;
}

#[tokio::test]
async fn terminations_since_page_through_the_directory() {
    let (finch, demo) = FinchEmulator::start_demo().await.unwrap();
    let hr = client(&finch, finch.access_token());
    common::recent_terminations_are_listed(&hr, &finch, &demo, 3, 2, "F").await;
}

#[tokio::test]
async fn webhook_signature_matches_an_independent_hmac() {
    let (finch, demo) = FinchEmulator::start_demo().await.unwrap();
    let receiver = RawReceiver::start().await.unwrap();
    finch
        .send_webhook(&receiver.url(), "employment.updated", &demo.leaver_id)
        .await
        .unwrap();
    let delivery = receiver.received().pop().unwrap();
    let id = delivery.header(emu::EVENT_ID_HEADER).unwrap();
    let ts = delivery.header(emu::TIMESTAMP_HEADER).unwrap();
    let key = STANDARD
        .decode(finch.webhook_secret().trim_start_matches("whsec_"))
        .unwrap();
    // openssl takes a binary key as hex.
    let mut signed = format!("{id}.{ts}.").into_bytes();
    signed.extend_from_slice(&delivery.body);
    let mac = common::openssl_hmac_hexkey("sha256", &hex(&key), &signed);
    let expected = format!("v1,{}", STANDARD.encode(mac));
    assert_eq!(
        delivery.header(emu::SIGNATURE_HEADER),
        Some(expected.as_str())
    );
    let body = delivery.json().unwrap();
    assert_eq!(body["event_type"], "employment.updated");
    assert_eq!(body["data"]["individual_id"], demo.leaver_id.as_str());
}
