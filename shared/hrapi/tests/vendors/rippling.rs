//! The Rippling client against the Rippling emulator over real HTTP.

use crate::common;
use common::in_days;
use passage_core::ports::HrSource;
use passage_core::secret::Secret;
use passage_hrapi::{Rippling, RipplingSettings};
use passage_sandbox::hr::rippling::RipplingEmulator;
use passage_sandbox::hr::{DEMO_MANAGER, RawReceiver};

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

    let _seen = common::lifecycle_is_read(&hr, &rippling, &demo, in_days(15), in_days(1)).await;

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
