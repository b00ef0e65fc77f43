//! What an intake contributes to an evidence bundle.
//!
//! Evidence is shown to auditors and kept for years, so it carries only what proves the control
//! operated: who was offboarded, when HR said so, and how the instruction was authenticated.
//! Signature headers never appear (a [`VerifiedDelivery`] holds none), and the free-text
//! termination reason is left out: it is HR-sensitive and proves nothing about access removal.
//! The SHA-256 of the raw body ties the record to the exact bytes received.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::event::leaver::LeaverEvent;
use crate::verify::VerifiedDelivery;

/// Lowercase hex SHA-256 of the raw request body, exactly as received.
pub fn body_sha256_hex(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// The event as it may appear in evidence: the documented JSON without `reason`, plus
/// `"reason_redacted": true` when a reason was given (so its absence is explained).
pub fn redacted_event(event: &LeaverEvent) -> Value {
    let mut value = event.to_json();
    if let Some(obj) = value.as_object_mut()
        && obj.remove("reason").is_some()
    {
        obj.insert("reason_redacted".into(), Value::Bool(true));
    }
    value
}

/// The intake record for evidence: how the delivery was authenticated, the body's digest and
/// size, and the redacted event.
pub fn intake_record(event: &LeaverEvent, delivery: &VerifiedDelivery, body: &[u8]) -> Value {
    json!({
        "delivery": {
            "scheme": delivery.scheme,
            "delivery_id": delivery.delivery_id,
            "timestamp_unix": delivery.timestamp_unix,
            "method": delivery.method,
            "secret_index": delivery.secret_index,
        },
        "body_sha256": body_sha256_hex(body),
        "body_bytes": body.len(),
        "event": redacted_event(event),
    })
}
