//! The Merge client against the Merge HRIS emulator over real HTTP.

use crate::common;
use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use common::{in_days, openssl_hmac};
use passage_core::ports::{EmploymentStatus, HrError, HrSource};
use passage_core::secret::Secret;
use passage_hrapi::{Merge, MergeSettings};
use passage_sandbox::hr::merge::{self as emu, MergeEmulator};
use passage_sandbox::hr::{DEMO_LEAVER, NewEmployee, RawReceiver, Termination};

fn client(emulator: &MergeEmulator, api_key: &str, account_token: &str) -> Merge {
    Merge::new(MergeSettings {
        base_url: emulator.base_url().to_owned(),
        page_size: Some(2),
        ..MergeSettings::new(Secret::new(api_key), Secret::new(account_token))
    })
}

fn good(emulator: &MergeEmulator) -> Merge {
    client(emulator, emulator.api_key(), emulator.account_token())
}

#[tokio::test]
async fn reads_active_terminated_rescinded_and_missing_employees() {
    let (merge, demo) = MergeEmulator::start_demo().await.unwrap();
    let hr = good(&merge);

    // Merge keeps a future leaver ACTIVE with the date set.
    let seen = common::lifecycle_is_read(&hr, &merge, &demo, in_days(12), in_days(2)).await;
    assert_eq!(seen.active.work_location.as_deref(), Some("London"));

    merge.terminate(&demo.ids[2], in_days(-5)).unwrap();
    let john = hr.employee(&demo.ids[2]).await.unwrap().unwrap();
    assert_eq!(john.status, EmploymentStatus::Terminated);

    assert_eq!(
        hr.employee("00000000-0000-4000-8000-000000000000")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn wrong_key_or_account_token_is_denied_without_revealing_them() {
    let (merge, demo) = MergeEmulator::start_demo().await.unwrap();
    let bad_key = client(&merge, "merge-wrong-key-1", merge.account_token());
    let err = bad_key.employee(&demo.leaver_id).await.unwrap_err();
    assert!(matches!(err, HrError::Denied(_)), "{err}");
    assert!(!err.to_string().contains("merge-wrong-key"));
    let bad_account = client(&merge, merge.api_key(), "merge-wrong-account-2");
    let err = bad_account.terminations(in_days(0)).await.unwrap_err();
    assert!(matches!(err, HrError::Denied(_)), "{err}");
    assert!(!err.to_string().contains("merge-wrong-account"));
}

#[tokio::test]
async fn throttling_and_server_faults_are_unavailable() {
    let (merge, demo) = MergeEmulator::start_demo().await.unwrap();
    let hr = good(&merge);
    merge.faults().set_retry_after(1);
    merge.faults().throttle_next(1);
    let err = hr.employee(&demo.leaver_id).await.unwrap_err();
    assert!(matches!(err, HrError::Unavailable(_)), "{err}");
    assert!(err.to_string().contains("Retry-After 1s"), "{err}");
    assert!(hr.employee(&demo.leaver_id).await.unwrap().is_some());
    merge.faults().fail_next(500, 1);
    let err = hr.employee(&demo.leaver_id).await.unwrap_err();
    assert!(matches!(err, HrError::Unavailable(_)), "{err}");
    assert!(err.to_string().contains("500"), "{err}");
}

#[tokio::test]
async fn terminations_since_follow_next_cursors() {
    let (merge, demo) = MergeEmulator::start_demo().await.unwrap();
    let hr = good(&merge);
    merge.terminate(&demo.leaver_id, in_days(20)).unwrap();
    merge.terminate(&demo.ids[4], in_days(-30)).unwrap();
    let mut expected = BTreeSet::from([demo.leaver_id.clone()]);
    for n in 0..4 {
        let id = merge
            .seed(
                NewEmployee::new("Temp", &format!("M{n}"), &format!("tm{n}@example.com"))
                    .terminated(Termination::on(in_days(n - 3))),
            )
            .unwrap();
        expected.insert(id);
    }
    let before = merge.faults().requests();
    let found = hr.terminations(in_days(-7)).await.unwrap();
    // Nine employees at two per page.
    assert_eq!(merge.faults().requests() - before, 5);
    let ids: BTreeSet<String> = found.iter().map(|r| r.employee_id.clone()).collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn webhook_signature_matches_an_independent_hmac() {
    let (merge, demo) = MergeEmulator::start_demo().await.unwrap();
    merge.terminate(&demo.leaver_id, in_days(3)).unwrap();
    let receiver = RawReceiver::start().await.unwrap();
    merge
        .send_webhook(&receiver.url(), "Employee.changed", &demo.leaver_id)
        .await
        .unwrap();
    let delivery = receiver.received().pop().unwrap();
    let expected = URL_SAFE.encode(openssl_hmac(
        "sha256",
        merge.webhook_signature_key(),
        &delivery.body,
    ));
    assert_eq!(
        delivery.header(emu::SIGNATURE_HEADER),
        Some(expected.as_str())
    );
    assert_eq!(
        emu::sign(merge.webhook_signature_key(), &delivery.body),
        expected
    );
    let body = delivery.json().unwrap();
    assert_eq!(body["hook"]["event"], "Employee.changed");
    assert_eq!(body["hook"]["target"], receiver.url().as_str());
    assert_eq!(body["linked_account"]["category"], "hris");
    assert_eq!(body["data"]["id"], demo.leaver_id.as_str());
    assert_eq!(body["data"]["work_email"], DEMO_LEAVER);
    assert_eq!(
        body["data"]["termination_date"],
        format!("{}T00:00:00Z", in_days(3)).as_str()
    );
}
