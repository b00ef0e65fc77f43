//! The evidence view of an intake.

use passage_hris::{
    LeaverEvent, StandardWebhooksVerifier, WebhookSecret, WebhookVerifier, body_sha256_hex,
    intake_record, redacted_event, signed_headers,
};
use serde_json::json;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[test]
fn sha256_of_raw_body() {
    assert_eq!(
        body_sha256_hex(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        body_sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn intake_record_has_no_signature_or_reason() {
    let body = serde_json::to_vec(&json!({
        "type": "passage.leaver.v1",
        "tenant": "acme",
        "employee_id": "E1042",
        "email": "dana@acme.example",
        "time_zone": "Europe/Berlin",
        "immediate": true,
        "reason": "gross misconduct"
    }))
    .unwrap();
    let secret = WebhookSecret::parse(SECRET).unwrap();
    let headers = signed_headers(&secret, "msg_42", 1_700_000_000, &body);
    let signature = headers[2].1.clone();
    let delivery = StandardWebhooksVerifier::new([SECRET])
        .unwrap()
        .verify(&headers, &body, 1_700_000_000)
        .unwrap();
    let event = LeaverEvent::parse(&body).unwrap();

    let record = intake_record(&event, &delivery, &body);
    let text = record.to_string();
    assert!(!text.contains(&signature));
    assert!(!text.contains(signature.trim_start_matches("v1,")));
    assert!(!text.contains("misconduct"));
    assert!(!text.contains("whsec_"));

    assert_eq!(record["body_sha256"], body_sha256_hex(&body));
    assert_eq!(record["body_bytes"], body.len());
    assert_eq!(record["delivery"]["delivery_id"], "msg_42");
    assert_eq!(record["delivery"]["timestamp_unix"], 1_700_000_000);
    assert_eq!(
        record["delivery"]["method"],
        "standard-webhooks v1 hmac-sha256 + timestamp ±300s"
    );
    assert_eq!(record["event"]["employee_id"], "E1042");
    assert_eq!(record["event"]["reason_redacted"], true);
    assert!(record["event"].get("reason").is_none());
}

#[test]
fn redacted_event_without_reason_is_the_event() {
    let event = LeaverEvent::from_value(&json!({
        "type": "passage.leaver.v1",
        "tenant": "acme",
        "employee_id": "E1",
        "email": "a@acme.example",
        "cutoff_at": "2025-03-31T17:00:00Z",
        "time_zone": "UTC"
    }))
    .unwrap();
    assert_eq!(redacted_event(&event), event.to_json());
}
