//! `passage.leaver.v1` parsing: the good shapes, and one test per way a body can be wrong.

use jiff::Timestamp;
use passage_hris::{Classified, ErrorKind, EventError, LeaverEvent, MAX_BODY_BYTES, ProblemKind};
use serde_json::{Value, json};

fn base() -> Value {
    json!({
        "type": "passage.leaver.v1",
        "tenant": "acme",
        "employee_id": "E1042",
        "email": "dana@acme.example",
        "last_working_day": "2025-03-31",
        "time_zone": "Europe/Berlin"
    })
}

fn with(changes: Value) -> Vec<u8> {
    let mut event = base();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            event.as_object_mut().unwrap().remove(k);
        } else {
            event[k] = v.clone();
        }
    }
    serde_json::to_vec(&event).unwrap()
}

/// The single problem of a body expected to have exactly one.
fn problem(body: &[u8]) -> (String, ProblemKind, String) {
    let err = LeaverEvent::parse(body).unwrap_err();
    let problems = err.problems();
    assert_eq!(problems.len(), 1, "{err}");
    let p = &problems[0];
    (p.path.clone(), p.kind, p.message.clone())
}

fn invalid_at(body: &[u8], path: &str) {
    let (p, kind, message) = problem(body);
    assert_eq!(
        (p.as_str(), kind),
        (path, ProblemKind::Invalid),
        "{message}"
    );
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn minimal_event_parses() {
    let event = LeaverEvent::parse(&with(json!({}))).unwrap();
    assert_eq!(event.tenant(), "acme");
    assert_eq!(event.employee_id(), "E1042");
    assert_eq!(event.email(), "dana@acme.example");
    assert_eq!(event.last_working_day().unwrap().to_string(), "2025-03-31");
    assert_eq!(event.time_zone_name(), "Europe/Berlin");
    assert!(!event.immediate());
    assert!(event.manager().is_none());
}

#[test]
fn full_event_parses_and_round_trips() {
    let body = with(json!({
        "last_working_day": null,
        "cutoff_at": "2025-03-31T17:30:00+02:00",
        "time_zone": "europe/berlin",
        "manager": { "email": "lee@acme.example", "employee_id": "E7" },
        "display_name": "Dana Müller",
        "reason": "Resigned\nto travel",
        "immediate": false
    }));
    let event = LeaverEvent::parse(&body).unwrap();
    assert_eq!(event.cutoff_at(), Some(ts("2025-03-31T15:30:00Z")));
    assert_eq!(
        event.time_zone_name(),
        "Europe/Berlin",
        "canonical spelling"
    );
    let manager = event.manager().unwrap();
    assert_eq!(manager.email(), "lee@acme.example");
    assert_eq!(manager.employee_id(), Some("E7"));
    assert_eq!(event.display_name(), Some("Dana Müller"));
    assert_eq!(event.reason(), Some("Resigned\nto travel"));

    let json = event.to_json();
    assert_eq!(
        json["cutoff_at"], "2025-03-31T17:30:00+02:00",
        "offset kept"
    );
    let again = LeaverEvent::from_value(&json).unwrap();
    assert_eq!(again, event);
    assert_eq!(serde_json::to_value(&event).unwrap(), json);
}

#[test]
fn cutoff_is_end_of_last_working_day_in_the_leaver_zone() {
    let event = LeaverEvent::parse(&with(json!({}))).unwrap();
    // 2025-04-01 00:00 in Berlin (CEST, +02:00).
    assert_eq!(
        event.cutoff(ts("2025-01-01T00:00:00Z")),
        ts("2025-03-31T22:00:00Z")
    );
    let event = LeaverEvent::parse(&with(json!({
        "last_working_day": "2025-11-02", "time_zone": "America/New_York"
    })))
    .unwrap();
    assert_eq!(
        event.cutoff(ts("2025-01-01T00:00:00Z")),
        ts("2025-11-03T05:00:00Z")
    );
}

#[test]
fn cutoff_at_and_immediate() {
    let event = LeaverEvent::parse(&with(json!({
        "last_working_day": null, "cutoff_at": "2025-03-31T12:00:00Z"
    })))
    .unwrap();
    let now = ts("2025-03-01T00:00:00Z");
    assert_eq!(event.cutoff(now), ts("2025-03-31T12:00:00Z"));

    let event = LeaverEvent::parse(&with(json!({
        "last_working_day": null, "immediate": true
    })))
    .unwrap();
    assert!(event.immediate());
    assert_eq!(event.cutoff(now), now);

    // Immediate with a recorded last working day: still now.
    let event = LeaverEvent::parse(&with(json!({ "immediate": true }))).unwrap();
    assert_eq!(event.cutoff(now), now);
}

#[test]
fn too_large_body() {
    let mut body = with(json!({ "reason": "x" }));
    body.resize(MAX_BODY_BYTES + 1, b' ');
    let err = LeaverEvent::parse(&body).unwrap_err();
    assert_eq!(
        err,
        EventError::TooLarge {
            size: MAX_BODY_BYTES + 1,
            limit: MAX_BODY_BYTES
        }
    );
    assert_eq!(err.code(), "payload_too_large");
    assert_eq!(err.kind(), ErrorKind::TooLarge);
}

#[test]
fn invalid_json() {
    for body in [&b""[..], b"{", b"{\"type\":}", b"\xff\xfe{}", b"{} {}"] {
        let err = LeaverEvent::parse(body).unwrap_err();
        assert!(matches!(err, EventError::InvalidJson { .. }), "{err}");
        assert_eq!(err.code(), "invalid_json");
        assert_eq!(err.kind(), ErrorKind::Malformed);
    }
}

#[test]
fn not_an_object() {
    for body in [&b"[]"[..], b"\"passage.leaver.v1\"", b"null"] {
        let (path, kind, _) = problem(body);
        assert_eq!((path.as_str(), kind), ("", ProblemKind::Invalid));
    }
}

#[test]
fn unknown_field_is_a_typo() {
    let body = with(json!({ "last_workday": "2025-03-31" }));
    let err = LeaverEvent::parse(&body).unwrap_err();
    assert_eq!(err.code(), "unknown_field");
    assert_eq!(err.problems()[0].path, "/last_workday");
    assert!(err.to_string().contains("last_workday"), "{err}");
}

#[test]
fn duplicate_field() {
    let body =
        br#"{"type":"passage.leaver.v1","tenant":"acme","employee_id":"E1","employee_id":"E2",
        "email":"a@b.example","last_working_day":"2025-03-31","time_zone":"UTC"}"#;
    let err = LeaverEvent::parse(body).unwrap_err();
    assert_eq!(err.code(), "duplicate_field");
    assert_eq!(err.problems()[0].path, "/employee_id");
}

#[test]
fn missing_required_fields_each() {
    for field in ["type", "tenant", "employee_id", "email", "time_zone"] {
        let (path, kind, _) = problem(&with(json!({ field: null })));
        assert_eq!(path, format!("/{field}"));
        assert_eq!(kind, ProblemKind::Missing);
    }
}

#[test]
fn wrong_type_value() {
    invalid_at(&with(json!({ "type": "passage.leaver.v2" })), "/type");
    invalid_at(&with(json!({ "type": 1 })), "/type");
}

#[test]
fn tenant_shape() {
    for bad in ["Acme", "", "acme_corp", &"a".repeat(65)] {
        invalid_at(&with(json!({ "tenant": bad })), "/tenant");
    }
    assert!(LeaverEvent::parse(&with(json!({ "tenant": "a".repeat(64) }))).is_ok());
}

#[test]
fn employee_id_shape() {
    for bad in ["", " E1", "E1 ", "E\u{1}1", &"9".repeat(129)] {
        invalid_at(&with(json!({ "employee_id": bad })), "/employee_id");
    }
    invalid_at(&with(json!({ "employee_id": 1042 })), "/employee_id");
    assert!(LeaverEvent::parse(&with(json!({ "employee_id": "9".repeat(128) }))).is_ok());
}

#[test]
fn email_shape() {
    for bad in [
        "dana",
        "dana@",
        "@acme.example",
        "dana@localhost",
        "dana@@acme.example",
        "dana..x@acme.example",
        ".dana@acme.example",
        "dana@-acme.example",
        "dana@acme..example",
        "da na@acme.example",
        "däna@acme.example",
    ] {
        invalid_at(&with(json!({ "email": bad })), "/email");
    }
    for ok in [
        "d.m+offboard@mail.acme.example",
        "o'neil@acme.co.uk",
        "x@xn--80ak6aa92e.com",
    ] {
        assert!(
            LeaverEvent::parse(&with(json!({ "email": ok }))).is_ok(),
            "{ok}"
        );
    }
}

#[test]
fn dates_and_instants() {
    for bad in ["2025-02-30", "31/03/2025", "2025-03-31T00:00:00Z"] {
        invalid_at(
            &with(json!({ "last_working_day": bad })),
            "/last_working_day",
        );
    }
    for bad in ["2025-03-31T17:00:00", "2025-03-31", "tomorrow"] {
        invalid_at(
            &with(json!({ "last_working_day": null, "cutoff_at": bad })),
            "/cutoff_at",
        );
    }
}

#[test]
fn exactly_one_of_day_or_instant_unless_immediate() {
    let (path, kind, message) = problem(&with(json!({ "last_working_day": null })));
    assert_eq!((path.as_str(), kind), ("", ProblemKind::Missing));
    assert!(message.contains("immediate"), "{message}");

    invalid_at(
        &with(json!({ "cutoff_at": "2025-03-31T17:00:00Z" })),
        "/cutoff_at",
    );
    invalid_at(
        &with(json!({ "cutoff_at": "2025-03-31T17:00:00Z", "immediate": true })),
        "/cutoff_at",
    );
}

#[test]
fn time_zone_must_exist() {
    for bad in ["Europe/Atlantis", "CEST", "+02:00", "Etc/Unknown"] {
        invalid_at(&with(json!({ "time_zone": bad })), "/time_zone");
    }
}

#[test]
fn immediate_must_be_boolean() {
    invalid_at(&with(json!({ "immediate": "yes" })), "/immediate");
}

#[test]
fn manager_shape() {
    invalid_at(&with(json!({ "manager": "lee@acme.example" })), "/manager");
    let (path, kind, _) = problem(&with(json!({ "manager": {} })));
    assert_eq!(
        (path.as_str(), kind),
        ("/manager/email", ProblemKind::Missing)
    );
    invalid_at(
        &with(json!({ "manager": { "email": "lee" } })),
        "/manager/email",
    );
    invalid_at(
        &with(json!({ "manager": { "email": "lee@acme.example", "employee_id": "" } })),
        "/manager/employee_id",
    );
    let (path, kind, _) = problem(&with(json!({
        "manager": { "email": "lee@acme.example", "name": "Lee" }
    })));
    assert_eq!(
        (path.as_str(), kind),
        ("/manager/name", ProblemKind::Unknown)
    );
}

#[test]
fn display_name_and_reason_limits() {
    invalid_at(&with(json!({ "display_name": "" })), "/display_name");
    invalid_at(
        &with(json!({ "display_name": "x".repeat(257) })),
        "/display_name",
    );
    invalid_at(&with(json!({ "reason": "x".repeat(501) })), "/reason");
    let mut event = base();
    event["reason"] = json!(["not", "text"]);
    invalid_at(&serde_json::to_vec(&event).unwrap(), "/reason");
    assert!(LeaverEvent::parse(&with(json!({ "reason": "é".repeat(500) }))).is_ok());
}

#[test]
fn null_is_not_absent() {
    for field in ["display_name", "manager", "immediate", "cutoff_at"] {
        let mut event = base();
        event[field] = Value::Null;
        let err = LeaverEvent::parse(&serde_json::to_vec(&event).unwrap()).unwrap_err();
        assert!(
            err.problems().iter().any(|p| p.path == format!("/{field}")),
            "{field}: {err}"
        );
    }
}

#[test]
fn every_problem_is_listed_at_once() {
    let body = serde_json::to_vec(&json!({
        "type": "passage.leaver.v1",
        "tenant": "ACME",
        "email": "nope",
        "time_zone": "Nowhere/City",
        "lastday": "2025-03-31"
    }))
    .unwrap();
    let err = LeaverEvent::parse(&body).unwrap_err();
    let found: Vec<(&str, &str)> = err
        .problems()
        .iter()
        .map(|p| (p.path.as_str(), p.kind.code()))
        .collect();
    assert_eq!(
        found,
        vec![
            ("/lastday", "unknown_field"),
            ("/tenant", "invalid_field"),
            ("/employee_id", "missing_field"),
            ("/email", "invalid_field"),
            ("/time_zone", "invalid_field"),
            ("", "missing_field"),
        ]
    );
    assert_eq!(err.code(), "invalid_event", "mixed kinds");
    assert_eq!(err.kind(), ErrorKind::Malformed);
    // What the API body lists under `details` (its shape is checked in passage-http).
    let details = err.details().expect("an invalid event lists its problems");
    assert_eq!(details.len(), 6);
    assert_eq!(details[1].path, "/tenant");
    assert_eq!(details[1].kind.code(), "invalid_field");
}
