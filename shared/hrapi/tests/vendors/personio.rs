//! The Personio client against the Personio v2 emulator over real HTTP.

use crate::common;
use std::collections::BTreeSet;

use common::in_days;
use passage_core::ports::{EmploymentStatus, HrError, HrSource};
use passage_core::secret::Secret;
use passage_hrapi::{Personio, PersonioSettings};
use passage_sandbox::hr::personio::PersonioEmulator;
use passage_sandbox::hr::{DEMO_LEAVER, DEMO_MANAGER, NewEmployee, RawReceiver, Termination};

fn client(emulator: &PersonioEmulator, secret: &str) -> Personio {
    Personio::new(PersonioSettings {
        base_url: emulator.base_url().to_owned(),
        page_size: Some(2),
        ..PersonioSettings::new(emulator.client_id(), Secret::new(secret))
    })
}

#[tokio::test]
async fn reads_active_terminated_rescinded_and_missing_people() {
    let (personio, demo) = PersonioEmulator::start_demo().await.unwrap();
    let hr = client(&personio, personio.client_secret());

    let jane = hr.employee(&demo.leaver_id).await.unwrap().unwrap();
    assert_eq!(jane.employee_id, demo.leaver_id);
    assert_eq!(jane.email, DEMO_LEAVER);
    assert_eq!(jane.display_name.as_deref(), Some("Jane Doe"));
    assert_eq!(jane.status, EmploymentStatus::Active);
    let manager = jane.manager.unwrap();
    assert_eq!(manager.email, DEMO_MANAGER);
    assert_eq!(
        manager.employee_id.as_deref(),
        Some(demo.manager_id.as_str())
    );

    personio
        .terminate_with(
            &demo.leaver_id,
            Termination {
                date: in_days(30),
                last_day_worked: Some(in_days(27)),
                involuntary: Some(false),
            },
        )
        .unwrap();
    let jane = hr.employee(&demo.leaver_id).await.unwrap().unwrap();
    assert_eq!(jane.status, EmploymentStatus::Terminated);
    assert_eq!(jane.termination_date, Some(in_days(30)));
    assert_eq!(jane.last_day_worked, Some(in_days(27)));
    assert_eq!(jane.involuntary, Some(false));

    personio
        .move_termination(&demo.leaver_id, in_days(40))
        .unwrap();
    let jane = hr.employee(&demo.leaver_id).await.unwrap().unwrap();
    assert_eq!(jane.termination_date, Some(in_days(40)));

    personio.rescind(&demo.leaver_id).unwrap();
    let jane = hr.employee(&demo.leaver_id).await.unwrap().unwrap();
    assert_eq!(jane.status, EmploymentStatus::Active);
    assert_eq!(jane.termination_date, None);
    assert_eq!(jane.last_day_worked, None);

    assert_eq!(hr.employee("1").await.unwrap(), None);
    // One token served every call above.
    assert_eq!(personio.tokens_issued(), 1);
}

#[tokio::test]
async fn an_expired_token_is_renewed_once() {
    let (personio, demo) = PersonioEmulator::start_demo().await.unwrap();
    let hr = client(&personio, personio.client_secret());
    assert!(hr.employee(&demo.leaver_id).await.unwrap().is_some());
    personio.expire_tokens();
    assert!(hr.employee(&demo.leaver_id).await.unwrap().is_some());
    assert_eq!(personio.tokens_issued(), 2);
}

#[tokio::test]
async fn wrong_secret_is_denied_without_revealing_it() {
    let (personio, demo) = PersonioEmulator::start_demo().await.unwrap();
    let hr = client(&personio, "papi-wrong-secret-77");
    let err = hr.employee(&demo.leaver_id).await.unwrap_err();
    assert!(matches!(err, HrError::Denied(_)), "{err}");
    assert!(!err.to_string().contains("papi-wrong-secret"));
    assert_eq!(personio.tokens_issued(), 0);
}

#[tokio::test]
async fn throttling_and_server_faults_are_unavailable() {
    let (personio, demo) = PersonioEmulator::start_demo().await.unwrap();
    let hr = client(&personio, personio.client_secret());
    personio.faults().set_retry_after(2);
    personio.faults().throttle_next(1);
    let err = hr.employee(&demo.leaver_id).await.unwrap_err();
    assert!(matches!(err, HrError::Unavailable(_)), "{err}");
    assert!(err.to_string().contains("Retry-After 2s"), "{err}");
    assert!(hr.employee(&demo.leaver_id).await.unwrap().is_some());
    personio.faults().fail_next(500, 1);
    let err = hr.employee(&demo.leaver_id).await.unwrap_err();
    assert!(matches!(err, HrError::Unavailable(_)), "{err}");
}

#[tokio::test]
async fn terminations_since_follow_the_cursor_across_pages() {
    let (personio, demo) = PersonioEmulator::start_demo().await.unwrap();
    let hr = client(&personio, personio.client_secret());
    personio.terminate(&demo.leaver_id, in_days(14)).unwrap();
    personio.terminate(&demo.ids[3], in_days(-90)).unwrap();
    let mut expected = BTreeSet::from([demo.leaver_id.clone()]);
    for n in 0..3 {
        let id = personio
            .seed(
                NewEmployee::new("Temp", &format!("W{n}"), &format!("tw{n}@example.com"))
                    .terminated(Termination::on(in_days(-n))),
            )
            .unwrap();
        expected.insert(id);
    }
    let found = hr.terminations(in_days(-7)).await.unwrap();
    let ids: BTreeSet<String> = found.iter().map(|r| r.employee_id.clone()).collect();
    assert_eq!(ids, expected);
    assert!(
        found
            .iter()
            .all(|r| r.status == EmploymentStatus::Terminated)
    );
}

#[tokio::test]
async fn webhook_carries_the_static_token_and_the_employment() {
    let (personio, demo) = PersonioEmulator::start_demo().await.unwrap();
    let receiver = RawReceiver::start().await.unwrap();
    personio
        .send_webhook(&receiver.url(), "employment.terminated", &demo.leaver_id)
        .await
        .unwrap();
    let delivery = receiver.received().pop().unwrap();
    assert_eq!(
        delivery.header("authorization"),
        Some(personio.webhook_token())
    );
    let body = delivery.json().unwrap();
    assert_eq!(body["event_name"], "employment.terminated");
    assert_eq!(body["payload"]["person"]["id"], demo.leaver_id.as_str());
    assert!(body["payload"]["id"].is_string());
    assert!(body["company_id"].is_string());
    assert!(body["occurred_at"].is_string());
}
