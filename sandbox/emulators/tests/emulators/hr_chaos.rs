//! The HR emulators' shared faults over HTTP: a storm of 429s whose
//! `Retry-After` names its end, responses lost after the request was
//! served, and latency drawn from a distribution.

use std::time::{Duration, Instant};

use passage_sandbox::common::knobs::{Latency, LostResponse, Storm};
use passage_sandbox::hr::bamboohr::BambooHrEmulator;
use reqwest::StatusCode;

async fn get_employee(hr: &BambooHrEmulator, id: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!(
            "{}/{}/v1/employees/{id}?fields=firstName",
            hr.base_url(),
            hr.company_domain()
        ))
        .basic_auth(hr.api_key(), Some("x"))
        .header("accept", "application/json")
        .send()
        .await
        .expect("request is sent")
}

#[tokio::test]
async fn an_hr_storm_names_its_end_in_retry_after() {
    let (hr, demo) = BambooHrEmulator::start_demo().await.unwrap();
    let knobs = hr.faults().knobs();
    knobs.storm_429(Storm::window(Duration::from_secs(45)));
    let throttled = get_employee(&hr, &demo.leaver_id).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.headers()["retry-after"], "45");
    knobs.timeline().advance(Duration::from_secs(30));
    let later = get_employee(&hr, &demo.leaver_id).await;
    assert_eq!(later.headers()["retry-after"], "15");
    knobs.timeline().advance(Duration::from_secs(15));
    assert_eq!(
        get_employee(&hr, &demo.leaver_id).await.status(),
        StatusCode::OK
    );
    hr.shutdown().await;
}

#[tokio::test]
async fn an_hr_dataset_answer_can_be_lost_and_latency_is_drawn() {
    let (hr, demo) = BambooHrEmulator::start_demo().await.unwrap();
    let knobs = hr.faults().knobs();
    knobs.set_lost_response(LostResponse::Dropped);
    knobs.fail_after_apply(1);
    let dataset = reqwest::Client::new()
        .post(format!(
            "{}/{}/v2/datasets/employee/data",
            hr.base_url(),
            hr.company_domain()
        ))
        .basic_auth(hr.api_key(), Some("x"))
        .json(&serde_json::json!({ "fields": ["firstName"] }))
        .send()
        .await;
    assert!(dataset.is_err(), "connection closed with no response");

    knobs.set_latency_model(Latency::Uniform {
        base: Duration::from_millis(30),
        spread: Duration::from_millis(10),
    });
    let started = Instant::now();
    assert_eq!(
        get_employee(&hr, &demo.leaver_id).await.status(),
        StatusCode::OK
    );
    assert!(started.elapsed() >= Duration::from_millis(30));
    hr.shutdown().await;
}
