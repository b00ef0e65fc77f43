//! The BambooHR client against the BambooHR emulator over real HTTP.

use crate::common;
use std::collections::BTreeSet;

use common::{hex, in_days, openssl_hmac};
use passage_core::ports::{EmploymentStatus, HrError, HrSource};
use passage_core::secret::Secret;
use passage_hrapi::{BambooHr, BambooHrSettings};
use passage_sandbox::hr::bamboohr::{self as emu, BambooHrEmulator};
use passage_sandbox::hr::{NewEmployee, RawReceiver, Termination};

fn client(emulator: &BambooHrEmulator, api_key: &str) -> BambooHr {
    BambooHr::new(BambooHrSettings {
        base_url: emulator.base_url(),
        page_size: Some(2),
        ..BambooHrSettings::new(emulator.company_domain(), Secret::new(api_key))
    })
}

#[tokio::test]
async fn reads_active_terminated_rescinded_and_missing_employees() {
    let (bhr, demo) = BambooHrEmulator::start_demo().await.unwrap();
    let hr = client(&bhr, bhr.api_key());

    // Future-dated: BambooHR still says "Active", but the date is on record.
    let seen = common::lifecycle_is_read(&hr, &bhr, &demo, in_days(21), in_days(35)).await;
    assert_eq!(seen.active.work_location.as_deref(), Some("London"));

    // Past-dated: BambooHR says "Inactive".
    bhr.terminate(&demo.ids[3], in_days(-3)).unwrap();
    let priya = hr.employee(&demo.ids[3]).await.unwrap().unwrap();
    assert_eq!(priya.status, EmploymentStatus::Terminated);
    assert_eq!(priya.manager, None);

    assert_eq!(hr.employee("999999").await.unwrap(), None);
    assert!(matches!(
        hr.employee("..").await,
        Err(HrError::Malformed(_))
    ));
    bhr.shutdown().await;
}

#[tokio::test]
async fn wrong_key_is_denied_without_revealing_it() {
    let (bhr, demo) = BambooHrEmulator::start_demo().await.unwrap();
    let hr = client(&bhr, "not-the-key-0123456789");
    let err = hr.employee(&demo.leaver_id).await.unwrap_err();
    assert!(matches!(err, HrError::Denied(_)), "{err}");
    assert!(!err.to_string().contains("not-the-key"));
    assert!(matches!(
        hr.terminations(in_days(0)).await,
        Err(HrError::Denied(_))
    ));
}

#[tokio::test]
async fn throttling_and_server_faults_are_unavailable() {
    let (bhr, demo) = BambooHrEmulator::start_demo().await.unwrap();
    let hr = client(&bhr, bhr.api_key());
    bhr.faults().set_retry_after(7);
    bhr.faults().throttle_next(1);
    let err = hr.employee(&demo.leaver_id).await.unwrap_err();
    assert!(matches!(err, HrError::Unavailable(_)), "{err}");
    assert!(err.to_string().contains("429"), "{err}");
    assert!(err.to_string().contains("Retry-After 7s"), "{err}");
    // The burst is spent: the next call gets through.
    assert!(hr.employee(&demo.leaver_id).await.unwrap().is_some());

    bhr.faults().fail_next(500, 1);
    let err = hr.employee(&demo.leaver_id).await.unwrap_err();
    assert!(matches!(err, HrError::Unavailable(_)), "{err}");
    assert!(err.to_string().contains("500"), "{err}");
    bhr.faults().fail_next(503, 1);
    assert!(matches!(
        hr.terminations(in_days(0)).await,
        Err(HrError::Unavailable(_))
    ));
}

#[tokio::test]
async fn terminations_since_walk_every_dataset_page() {
    let (bhr, demo) = BambooHrEmulator::start_demo().await.unwrap();
    let hr = client(&bhr, bhr.api_key());
    bhr.terminate(&demo.leaver_id, in_days(14)).unwrap();
    bhr.terminate_with(
        &demo.ids[2],
        Termination {
            date: in_days(-2),
            last_day_worked: None,
            involuntary: Some(true),
        },
    )
    .unwrap();
    // Terminated before the window: must not come back.
    bhr.terminate(&demo.ids[3], in_days(-40)).unwrap();
    let mut expected = BTreeSet::from([demo.leaver_id.clone(), demo.ids[2].clone()]);
    for n in 0..5 {
        let id = bhr
            .seed(
                NewEmployee::new(
                    "Temp",
                    &format!("Worker{n}"),
                    &format!("temp{n}@example.com"),
                )
                .terminated(Termination::on(in_days(n))),
            )
            .unwrap();
        expected.insert(id);
    }
    let before = bhr.faults().requests();
    let found = hr.terminations(in_days(-7)).await.unwrap();
    let ids: BTreeSet<String> = found.iter().map(|r| r.employee_id.clone()).collect();
    assert_eq!(ids, expected);
    assert!(
        found
            .iter()
            .all(|r| r.status == EmploymentStatus::Terminated)
    );
    // Seven matches at two per page: four dataset pages, then one read per leaver.
    assert_eq!(bhr.faults().requests() - before, 4 + 7);
}

#[tokio::test]
async fn webhook_signature_matches_an_independent_hmac() {
    let (bhr, demo) = BambooHrEmulator::start_demo().await.unwrap();
    let receiver = RawReceiver::start().await.unwrap();
    let response = bhr
        .send_webhook(&receiver.url(), "employee.updated", &demo.leaver_id)
        .await
        .unwrap();
    assert!(response.status().is_success());
    let delivery = receiver.received().pop().unwrap();
    let timestamp = delivery.header(emu::TIMESTAMP_HEADER).unwrap().to_owned();
    assert!(timestamp.parse::<i64>().is_ok());
    let mut signed = delivery.body.clone();
    signed.extend_from_slice(timestamp.as_bytes());
    let expected = hex(&openssl_hmac("sha256", bhr.webhook_private_key(), &signed));
    assert_eq!(
        delivery.header(emu::SIGNATURE_HEADER),
        Some(expected.as_str())
    );
    assert_eq!(
        emu::sign(bhr.webhook_private_key(), &delivery.body, &timestamp),
        expected
    );
    let body = delivery.json().unwrap();
    assert_eq!(body["type"], "employee.updated");
    assert_eq!(body["data"]["employeeId"], demo.leaver_id.as_str());
    assert!(body["data"]["companyId"].is_number());
}
