//! Standard Webhooks verification against the official vectors (kept read-only in the
//! project's `shared/specs/standard-webhooks/`) and against deliveries signed here.

use std::fs;
use std::path::PathBuf;

use passage_hris::{
    Classified, ErrorKind, SecretError, StandardWebhooksVerifier, VerifyError, WebhookSecret,
    WebhookVerifier, sign, signed_headers,
};
use serde_json::Value;

fn vectors() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/specs/standard-webhooks/vectors.json");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "Standard Webhooks vectors not found: looked for {} (the project's \
             shared/specs/standard-webhooks, beside the repository root): {e}",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

fn headers(id: &str, ts: &str, sig: &str) -> Vec<(String, String)> {
    vec![
        ("webhook-id".into(), id.into()),
        ("webhook-timestamp".into(), ts.into()),
        ("webhook-signature".into(), sig.into()),
    ]
}

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OTHER_SECRET: &str = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const NOW: i64 = 1_700_000_000;

#[test]
fn official_vector_verifies() {
    let vectors = vectors();
    let valid = vectors["valid"].as_array().unwrap();
    assert!(!valid.is_empty());
    for v in valid {
        let secret = WebhookSecret::parse(s(&v["secret"])).unwrap();
        let ts = v["timestamp"].as_i64().unwrap();
        let body = s(&v["payload"]).as_bytes();
        assert_eq!(
            sign(&secret, s(&v["id"]), ts, body),
            s(&v["expected_signature"])
        );

        let verifier = StandardWebhooksVerifier::new([s(&v["secret"])]).unwrap();
        let h: Vec<(String, String)> = v["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), s(v).to_owned()))
            .collect();
        let delivery = verifier.verify(&h, body, ts).unwrap();
        assert_eq!(delivery.delivery_id, s(&v["id"]));
        assert_eq!(delivery.timestamp_unix, ts);
        assert_eq!(delivery.scheme, "standard-webhooks");
        assert_eq!(
            delivery.method,
            "standard-webhooks v1 hmac-sha256 + timestamp ±300s"
        );
        assert_eq!(delivery.secret_index, 0);
    }
}

#[test]
fn official_invalid_signatures_are_rejected() {
    let vectors = vectors();
    let v = &vectors["valid"][0];
    let verifier = StandardWebhooksVerifier::new([s(&v["secret"])]).unwrap();
    let ts = v["timestamp"].as_i64().unwrap();
    let invalid = vectors["invalid_signatures_for_same_message"]
        .as_array()
        .unwrap();
    assert!(!invalid.is_empty());
    for bad in invalid {
        let h = headers(s(&v["id"]), &ts.to_string(), s(&bad["value"]));
        let err = verifier
            .verify(&h, s(&v["payload"]).as_bytes(), ts)
            .unwrap_err();
        assert_eq!(err, VerifyError::NoValidSignature, "{}", bad["note"]);
        assert_eq!(err.code(), "bad_signature");
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    }
}

#[test]
fn official_multi_signature_example_verifies() {
    let vectors = vectors();
    let m = &vectors["multi_signature_header_example"];
    assert_eq!(s(&m["expected"]), "valid");
    let verifier = StandardWebhooksVerifier::new([s(&m["secret"])]).unwrap();
    let ts = m["timestamp"].as_i64().unwrap();
    let h = headers(s(&m["id"]), &ts.to_string(), s(&m["webhook-signature"]));
    assert!(verifier.verify(&h, s(&m["payload"]).as_bytes(), ts).is_ok());
}

#[test]
fn tolerance_is_300_seconds_both_ways() {
    let secret = WebhookSecret::parse(SECRET).unwrap();
    let verifier = StandardWebhooksVerifier::new([SECRET]).unwrap();
    let body = b"{}";
    for offset in [-300, 0, 300] {
        let h = signed_headers(&secret, "msg_1", NOW + offset, body);
        assert!(verifier.verify(&h, body, NOW).is_ok(), "offset {offset}");
    }

    let h = signed_headers(&secret, "msg_1", NOW - 301, body);
    let err = verifier.verify(&h, body, NOW).unwrap_err();
    assert_eq!(
        err,
        VerifyError::TimestampTooOld {
            age_secs: 301,
            tolerance_secs: 300
        }
    );
    assert_eq!(err.code(), "stale_timestamp");
    assert!(err.to_string().contains("301 s old"), "{err}");

    let h = signed_headers(&secret, "msg_1", NOW + 301, body);
    let err = verifier.verify(&h, body, NOW).unwrap_err();
    assert_eq!(
        err,
        VerifyError::TimestampInFuture {
            ahead_secs: 301,
            tolerance_secs: 300
        }
    );
    assert_eq!(err.code(), "future_timestamp");
}

#[test]
fn tolerance_is_configurable() {
    let secret = WebhookSecret::parse(SECRET).unwrap();
    let verifier = StandardWebhooksVerifier::new([SECRET])
        .unwrap()
        .with_tolerance_secs(60);
    let h = signed_headers(&secret, "msg_1", NOW - 61, b"x");
    assert!(matches!(
        verifier.verify(&h, b"x", NOW),
        Err(VerifyError::TimestampTooOld { .. })
    ));
    let h = signed_headers(&secret, "msg_1", NOW - 60, b"x");
    let ok = verifier.verify(&h, b"x", NOW).unwrap();
    assert_eq!(
        ok.method,
        "standard-webhooks v1 hmac-sha256 + timestamp ±60s"
    );
}

#[test]
fn extreme_timestamps_do_not_overflow() {
    let verifier = StandardWebhooksVerifier::new([SECRET]).unwrap();
    let h = headers("msg_1", "9223372036854775807", "v1,AAAA");
    assert!(matches!(
        verifier.verify(&h, b"", i64::MIN),
        Err(VerifyError::TimestampInFuture { .. })
    ));
    let h = headers("msg_1", "0", "v1,AAAA");
    assert!(matches!(
        verifier.verify(&h, b"", i64::MAX),
        Err(VerifyError::TimestampTooOld { .. })
    ));
}

#[test]
fn rotation_accepts_either_secret_and_reports_which() {
    let old = WebhookSecret::parse(SECRET).unwrap();
    let new = WebhookSecret::parse(OTHER_SECRET).unwrap();
    let verifier = StandardWebhooksVerifier::new([SECRET, OTHER_SECRET]).unwrap();
    let body = br#"{"a":1}"#;

    let h = signed_headers(&new, "msg_2", NOW, body);
    assert_eq!(verifier.verify(&h, body, NOW).unwrap().secret_index, 1);

    let h = signed_headers(&old, "msg_2", NOW, body);
    assert_eq!(verifier.verify(&h, body, NOW).unwrap().secret_index, 0);

    // A sender mid-rotation signs with both; either matching is enough.
    let both = format!(
        "{} {}",
        sign(&new, "msg_2", NOW, body),
        sign(&old, "msg_2", NOW, body)
    );
    let h = headers("msg_2", &NOW.to_string(), &both);
    assert!(verifier.verify(&h, body, NOW).is_ok());

    // Only the new secret configured: the old signature no longer works.
    let only_new = StandardWebhooksVerifier::new([OTHER_SECRET]).unwrap();
    let h = signed_headers(&old, "msg_2", NOW, body);
    assert_eq!(
        only_new.verify(&h, body, NOW).unwrap_err(),
        VerifyError::NoValidSignature
    );
}

#[test]
fn tampered_body_id_or_timestamp_is_rejected() {
    let secret = WebhookSecret::parse(SECRET).unwrap();
    let verifier = StandardWebhooksVerifier::new([SECRET]).unwrap();
    let body = br#"{"employee_id":"E1"}"#;
    let sig = sign(&secret, "msg_3", NOW, body);

    let h = headers("msg_3", &NOW.to_string(), &sig);
    assert!(verifier.verify(&h, body, NOW).is_ok());
    assert_eq!(
        verifier
            .verify(&h, br#"{"employee_id":"E2"}"#, NOW)
            .unwrap_err(),
        VerifyError::NoValidSignature
    );
    assert_eq!(
        verifier
            .verify(&h, br#"{"employee_id":"E1"} "#, NOW)
            .unwrap_err(),
        VerifyError::NoValidSignature,
        "trailing whitespace changes the bytes"
    );

    let h = headers("msg_4", &NOW.to_string(), &sig);
    assert_eq!(
        verifier.verify(&h, body, NOW).unwrap_err(),
        VerifyError::NoValidSignature
    );
    let h = headers("msg_3", &(NOW + 1).to_string(), &sig);
    assert_eq!(
        verifier.verify(&h, body, NOW).unwrap_err(),
        VerifyError::NoValidSignature
    );
}

#[test]
fn missing_headers_are_named() {
    let secret = WebhookSecret::parse(SECRET).unwrap();
    let verifier = StandardWebhooksVerifier::new([SECRET]).unwrap();
    let full = signed_headers(&secret, "msg_5", NOW, b"{}");
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let h: Vec<_> = full.iter().filter(|(k, _)| k != name).cloned().collect();
        let err = verifier.verify(&h, b"{}", NOW).unwrap_err();
        assert_eq!(err, VerifyError::MissingHeader(name));
        assert_eq!(err.code(), "missing_header");
        assert_eq!(err.kind(), ErrorKind::Malformed);
        assert!(err.to_string().contains(name), "{err}");
    }
    let h: Vec<(String, String)> = full
        .iter()
        .map(|(k, v)| {
            let v = if k == "webhook-id" { "  " } else { v.as_str() };
            (k.clone(), v.to_owned())
        })
        .collect();
    assert_eq!(
        verifier.verify(&h, b"{}", NOW).unwrap_err(),
        VerifyError::MissingHeader("webhook-id"),
        "blank counts as missing"
    );
}

#[test]
fn header_names_are_case_insensitive() {
    let secret = WebhookSecret::parse(SECRET).unwrap();
    let verifier = StandardWebhooksVerifier::new([SECRET]).unwrap();
    let sig = sign(&secret, "msg_6", NOW, b"{}");
    let ts = NOW.to_string();
    let h = [
        ("Webhook-Id", "msg_6"),
        ("WEBHOOK-TIMESTAMP", ts.as_str()),
        ("webhook-Signature", sig.as_str()),
    ];
    assert!(verifier.verify(&h, b"{}", NOW).is_ok());

    let map: std::collections::HashMap<String, String> = h
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    assert!(verifier.verify(&map, b"{}", NOW).is_ok());
}

#[test]
fn malformed_headers_have_their_own_codes() {
    let verifier = StandardWebhooksVerifier::new([SECRET]).unwrap();
    let ts = NOW.to_string();
    let cases: [(Vec<(String, String)>, &str); 6] = [
        (
            headers("msg_7", "yesterday", "v1,AAAA"),
            "invalid_timestamp",
        ),
        (headers("msg_7", "1.7e9", "v1,AAAA"), "invalid_timestamp"),
        (headers("msg.7", &ts, "v1,AAAA"), "invalid_header"),
        (headers("msg 7", &ts, "v1,AAAA"), "invalid_header"),
        (headers("msg_7", &ts, "AAAA"), "malformed_signature_header"),
        (
            headers("msg_7", &ts, "v1a,AAAA v2,AAAA"),
            "unsupported_signature_version",
        ),
    ];
    for (h, code) in cases {
        let err = verifier.verify(&h, b"{}", NOW).unwrap_err();
        assert_eq!(err.code(), code, "{err}");
        // The API body carries exactly this code and message (checked in passage-http).
        assert!(err.details().is_none(), "{err}");
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn malformed_secrets_fail_at_construction() {
    let cases = [
        ("", SecretError::Empty),
        ("whsec_", SecretError::Empty),
        (
            "whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            SecretError::AsymmetricKey { prefix: "whsk_" },
        ),
        ("whsec_AAAA", SecretError::WrongLength { len: 3 }),
    ];
    for (input, expected) in cases {
        assert_eq!(
            WebhookSecret::parse(input).unwrap_err(),
            expected,
            "{input:?}"
        );
    }
    let err = WebhookSecret::parse("whsec_not base64!").unwrap_err();
    assert_eq!(err.code(), "invalid_secret_encoding");
    assert!(err.to_string().contains("base64"), "{err}");

    assert_eq!(
        StandardWebhooksVerifier::new(Vec::<String>::new()).unwrap_err(),
        SecretError::NoSecrets
    );
    assert_eq!(
        StandardWebhooksVerifier::new([SECRET, "whsec_AAAA"]).unwrap_err(),
        SecretError::WrongLength { len: 3 }
    );
    let err = WebhookSecret::from_bytes(&[7u8; 65]).unwrap_err();
    assert_eq!(err.code(), "invalid_secret_length");
}

#[test]
fn secrets_tolerate_missing_prefix_padding_and_newline() {
    let canonical = WebhookSecret::parse(SECRET).unwrap();
    for variant in [
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
    ] {
        assert_eq!(WebhookSecret::parse(variant).unwrap(), canonical);
    }
    // 32 bytes encode with one `=`; both spellings are the same secret.
    let padded = WebhookSecret::parse(OTHER_SECRET).unwrap();
    let unpadded = WebhookSecret::parse(OTHER_SECRET.trim_end_matches('=')).unwrap();
    assert_eq!(padded, unpadded);
    assert_eq!(padded.to_whsec(), OTHER_SECRET);
    assert_eq!(canonical.to_whsec(), SECRET);
}

#[test]
fn verifier_works_as_a_trait_object() {
    let verifier: Box<dyn WebhookVerifier> =
        Box::new(StandardWebhooksVerifier::new([SECRET]).unwrap());
    assert_eq!(verifier.scheme(), "standard-webhooks");
    let secret = WebhookSecret::parse(SECRET).unwrap();
    let h = signed_headers(&secret, "msg_8", NOW, b"{}");
    let slice: &[(String, String)] = &h;
    assert!(verifier.verify(&slice, b"{}", NOW).is_ok());
}
