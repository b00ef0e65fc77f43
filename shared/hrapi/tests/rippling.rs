//! The Rippling client against the Rippling emulator over real HTTP.

mod common;

use common::in_days;
use passage_core::ports::{EmploymentStatus, HrSource};
use passage_core::secret::Secret;
use passage_hrapi::{Rippling, RipplingSettings};
use passage_sandbox::hr::rippling::RipplingEmulator;
use passage_sandbox::hr::{DEMO_LEAVER, DEMO_MANAGER, RawReceiver};

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
    common::wrong_credentials_are_denied(
        &client(&rippling, "rippling-wrong-token-8"),
        &demo.leaver_id,
        "rippling-wrong-token",
    )
    .await;
    let hr = client(&rippling, rippling.api_token());
    common::throttling_and_failures_are_unavailable(
        &hr,
        rippling.faults(),
        &demo.leaver_id,
        6,
        500,
    )
    .await;
}

#[tokio::test]
async fn terminations_since_page_through_all_employees() {
    let (rippling, demo) = RipplingEmulator::start_demo().await.unwrap();
    let hr = client(&rippling, rippling.api_token());
    let found = common::recent_terminations_are_listed(&hr, &rippling, &demo, 2, 2, "R").await;
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
