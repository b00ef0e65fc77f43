//! The Rippling client against the Rippling emulator over real HTTP.

mod common;

use std::collections::BTreeSet;

use common::in_days;
use passage_core::ports::{EmploymentStatus, HrError, HrSource};
use passage_core::secret::Secret;
use passage_hrapi::{Rippling, RipplingSettings};
use passage_sandbox::hr::rippling::RipplingEmulator;
use passage_sandbox::hr::{DEMO_LEAVER, DEMO_MANAGER, NewEmployee, RawReceiver, Termination};

fn client(emulator: &RipplingEmulator, token: &str) -> Rippling {
    Rippling::new(RipplingSettings {
        base_url: emulator.base_url().to_owned(),
        page_size: Some(2),
        ..RipplingSettings::new(Secret::new(token))
    })
}

#[tokio::test]
async fn reads_active_terminated_rescinded_and_missing_employees() {
    let (rippling, demo) = RipplingEmulator::start_demo().await.unwrap();
    let hr = client(&rippling, rippling.api_token());

    let jane = hr.employee(&demo.leaver_id).await.unwrap().unwrap();
    assert_eq!(jane.email, DEMO_LEAVER);
    assert_eq!(jane.display_name.as_deref(), Some("Jane Doe"));
    assert_eq!(jane.status, EmploymentStatus::Active);
    let manager = jane.manager.unwrap();
    assert_eq!(manager.email, DEMO_MANAGER);
    assert_eq!(
        manager.employee_id.as_deref(),
        Some(demo.manager_id.as_str())
    );

    rippling.terminate(&demo.leaver_id, in_days(15)).unwrap();
    let jane = hr.employee(&demo.leaver_id).await.unwrap().unwrap();
    assert_eq!(jane.status, EmploymentStatus::Terminated);
    assert_eq!(jane.termination_date, Some(in_days(15)));

    rippling
        .move_termination(&demo.leaver_id, in_days(1))
        .unwrap();
    let jane = hr.employee(&demo.leaver_id).await.unwrap().unwrap();
    assert_eq!(jane.termination_date, Some(in_days(1)));

    rippling.rescind(&demo.leaver_id).unwrap();
    let jane = hr.employee(&demo.leaver_id).await.unwrap().unwrap();
    assert_eq!(jane.status, EmploymentStatus::Active);
    assert_eq!(jane.termination_date, None);

    assert_eq!(hr.employee("1111111111111111111").await.unwrap(), None);
}

#[tokio::test]
async fn wrong_token_is_denied_and_faults_are_unavailable() {
    let (rippling, demo) = RipplingEmulator::start_demo().await.unwrap();
    let err = client(&rippling, "rippling-wrong-token-8")
        .employee(&demo.leaver_id)
        .await
        .unwrap_err();
    assert!(matches!(err, HrError::Denied(_)), "{err}");
    assert!(!err.to_string().contains("rippling-wrong-token"));

    let hr = client(&rippling, rippling.api_token());
    rippling.faults().set_retry_after(6);
    rippling.faults().throttle_next(1);
    let err = hr.employee(&demo.leaver_id).await.unwrap_err();
    assert!(err.to_string().contains("Retry-After 6s"), "{err}");
    assert!(hr.employee(&demo.leaver_id).await.unwrap().is_some());
    rippling.faults().fail_next(500, 1);
    assert!(matches!(
        hr.terminations(in_days(0)).await,
        Err(HrError::Unavailable(_))
    ));
}

#[tokio::test]
async fn terminations_since_page_through_all_employees() {
    let (rippling, demo) = RipplingEmulator::start_demo().await.unwrap();
    let hr = client(&rippling, rippling.api_token());
    rippling.terminate(&demo.leaver_id, in_days(2)).unwrap();
    rippling.terminate(&demo.ids[2], in_days(-20)).unwrap();
    let mut expected = BTreeSet::from([demo.leaver_id.clone()]);
    for n in 0..2 {
        let id = rippling
            .seed(
                NewEmployee::new("Temp", &format!("R{n}"), &format!("tr{n}@example.com"))
                    .terminated(Termination::on(in_days(-n))),
            )
            .unwrap();
        expected.insert(id);
    }
    let found = hr.terminations(in_days(-7)).await.unwrap();
    let ids: BTreeSet<String> = found.iter().map(|r| r.employee_id.clone()).collect();
    assert_eq!(ids, expected);
    let jane = found
        .iter()
        .find(|r| r.employee_id == demo.leaver_id)
        .unwrap();
    assert_eq!(jane.manager.as_ref().unwrap().email, DEMO_MANAGER);
}

#[tokio::test]
async fn webhook_is_a_form_post_with_the_static_bearer_token() {
    let (rippling, demo) = RipplingEmulator::start_demo().await.unwrap();
    let receiver = RawReceiver::start().await.unwrap();
    rippling
        .send_webhook(&receiver.url(), "employee.deleted", &demo.leaver_id)
        .await
        .unwrap();
    let delivery = receiver.received().pop().unwrap();
    assert_eq!(
        delivery.header("authorization"),
        Some(format!("Bearer {}", rippling.webhook_token()).as_str())
    );
    assert_eq!(
        delivery.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(&delivery.body)
        .into_owned()
        .collect();
    assert!(fields.contains(&("id".into(), demo.leaver_id.clone())));
    assert!(fields.contains(&("event_type".into(), "employee.deleted".into())));
}
