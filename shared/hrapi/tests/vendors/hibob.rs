//! The HiBob client against the HiBob emulator over real HTTP.

use crate::common;
use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{in_days, openssl_hmac};
use passage_core::ports::{EmploymentStatus, HrError, HrSource};
use passage_core::secret::Secret;
use passage_hrapi::{HiBob, HiBobSettings};
use passage_sandbox::hr::hibob::{self as emu, HiBobEmulator};
use passage_sandbox::hr::{NewEmployee, RawReceiver, Termination};

fn client(emulator: &HiBobEmulator, token: &str) -> HiBob {
    HiBob::new(HiBobSettings {
        base_url: emulator.base_url().to_owned(),
        ..HiBobSettings::new(emulator.service_user_id(), Secret::new(token))
    })
}

#[tokio::test]
async fn reads_active_terminated_rescinded_and_missing_employees() {
    let (bob, demo) = HiBobEmulator::start_demo().await.unwrap();
    let hr = client(&bob, bob.service_user_token());

    let seen = common::lifecycle_is_read(&hr, &bob, &demo, in_days(30), in_days(10)).await;
    assert_eq!(seen.active.work_location.as_deref(), Some("London"));
    assert_eq!(seen.active.time_zone, None);

    bob.terminate(&demo.ids[4], in_days(-1)).unwrap();
    let sam = hr.employee(&demo.ids[4]).await.unwrap().unwrap();
    assert_eq!(sam.status, EmploymentStatus::Terminated);

    assert_eq!(hr.employee("1234567890123456789").await.unwrap(), None);
}

#[tokio::test]
async fn wrong_token_is_denied_without_revealing_it() {
    let (bob, demo) = HiBobEmulator::start_demo().await.unwrap();
    let hr = client(&bob, "wrong-service-token-42");
    let err = hr.employee(&demo.leaver_id).await.unwrap_err();
    assert!(matches!(err, HrError::Denied(_)), "{err}");
    assert!(!err.to_string().contains("wrong-service-token"));
}

#[tokio::test]
async fn throttling_and_server_faults_are_unavailable() {
    let (bob, demo) = HiBobEmulator::start_demo().await.unwrap();
    let hr = client(&bob, bob.service_user_token());
    bob.faults().set_retry_after(3);
    bob.faults().throttle_next(1);
    let err = hr.employee(&demo.leaver_id).await.unwrap_err();
    assert!(matches!(err, HrError::Unavailable(_)), "{err}");
    assert!(err.to_string().contains("Retry-After 3s"), "{err}");
    assert!(hr.employee(&demo.leaver_id).await.unwrap().is_some());
    bob.faults().fail_next(500, 1);
    assert!(matches!(
        hr.terminations(in_days(0)).await,
        Err(HrError::Unavailable(_))
    ));
}

/// HiBob answers people searches in one response (no pagination), inactive employees included
/// only on request; the client asks for them and filters by date itself.
#[tokio::test]
async fn terminations_since_include_past_and_future_leavers() {
    let (bob, demo) = HiBobEmulator::start_demo().await.unwrap();
    let hr = client(&bob, bob.service_user_token());
    bob.terminate(&demo.leaver_id, in_days(5)).unwrap();
    bob.terminate(&demo.ids[2], in_days(-1)).unwrap();
    bob.terminate(&demo.ids[3], in_days(-60)).unwrap();
    let extra = bob
        .seed(
            NewEmployee::new("Old", "Timer", "old.timer@example.com")
                .terminated(Termination::on(in_days(-6))),
        )
        .unwrap();
    let before = bob.faults().requests();
    let found = hr.terminations(in_days(-7)).await.unwrap();
    assert_eq!(bob.faults().requests() - before, 1);
    let ids: BTreeSet<String> = found.iter().map(|r| r.employee_id.clone()).collect();
    assert_eq!(
        ids,
        BTreeSet::from([demo.leaver_id.clone(), demo.ids[2].clone(), extra])
    );
}

#[tokio::test]
async fn webhook_signature_matches_an_independent_hmac() {
    let (bob, demo) = HiBobEmulator::start_demo().await.unwrap();
    let receiver = RawReceiver::start().await.unwrap();
    bob.send_webhook(&receiver.url(), "employee.left", &demo.leaver_id)
        .await
        .unwrap();
    let delivery = receiver.received().pop().unwrap();
    let expected = STANDARD.encode(openssl_hmac("sha512", bob.webhook_secret(), &delivery.body));
    assert_eq!(
        delivery.header(emu::SIGNATURE_HEADER),
        Some(expected.as_str())
    );
    assert_eq!(emu::sign(bob.webhook_secret(), &delivery.body), expected);
    let body = delivery.json().unwrap();
    assert_eq!(body["type"], "employee.left");
    assert_eq!(body["data"]["employeeId"], demo.leaver_id.as_str());
    assert!(body["companyId"].is_number());
    assert!(body["triggeredAt"].is_string());
}
