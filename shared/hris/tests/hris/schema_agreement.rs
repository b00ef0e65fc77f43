//! The published JSON Schema and the hand-written validator must give integrators the same
//! answer. These tests compare their field lists, limits and patterns.

use std::collections::BTreeSet;

use passage_hris::LEAVER_EVENT_V1_SCHEMA;
use passage_hris::LeaverEvent;
use passage_hris::event::leaver::{
    FIELDS, LEAVER_EVENT_TYPE, MANAGER_FIELDS, MANAGER_REQUIRED_FIELDS, REQUIRED_FIELDS,
};
use regex::Regex;
use serde_json::{Value, json};

fn schema() -> Value {
    serde_json::from_str(LEAVER_EVENT_V1_SCHEMA).expect("schema is JSON")
}

fn names(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn set(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Resolve a property schema, following a local `$ref` and merging its keywords under the
/// property's own (the property's win, as both apply in 2020-12 and the property's are tighter).
fn property(schema: &Value, path: &[&str]) -> Value {
    let mut node = schema;
    for step in path {
        node = &node["properties"][*step];
    }
    let mut merged = serde_json::Map::new();
    if let Some(reference) = node["$ref"].as_str() {
        let name = reference.strip_prefix("#/$defs/").unwrap();
        merged.extend(schema["$defs"][name].as_object().unwrap().clone());
    }
    merged.extend(node.as_object().unwrap().clone());
    Value::Object(merged)
}

fn base() -> Value {
    json!({
        "type": "passage.leaver.v1",
        "tenant": "acme",
        "employee_id": "E1042",
        "email": "dana@acme.example",
        "last_working_day": "2025-03-31",
        "time_zone": "Europe/Berlin",
        "manager": { "email": "lee@acme.example" }
    })
}

/// Does the validator accept `value` at `path` (all else valid)?
fn validator_accepts(path: &[&str], value: &str) -> bool {
    let mut event = base();
    if path == ["cutoff_at"] {
        event.as_object_mut().unwrap().remove("last_working_day");
    }
    let mut slot = &mut event;
    for step in path {
        slot = &mut slot[*step];
    }
    *slot = json!(value);
    LeaverEvent::parse(&serde_json::to_vec(&event).unwrap()).is_ok()
}

/// Does the schema's `pattern`, `minLength` and `maxLength` accept `value`?
fn schema_accepts(prop: &Value, value: &str) -> bool {
    let len = value.chars().count() as u64;
    let pattern_ok = prop["pattern"]
        .as_str()
        .is_none_or(|p| Regex::new(p).unwrap().is_match(value));
    pattern_ok
        && prop["minLength"].as_u64().is_none_or(|min| len >= min)
        && prop["maxLength"].as_u64().is_none_or(|max| len <= max)
}

#[test]
fn schema_metadata() {
    let schema = schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["properties"]["type"]["const"], LEAVER_EVENT_TYPE);
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(
        schema["properties"]["manager"]["additionalProperties"],
        false
    );
}

#[test]
fn required_and_known_fields_match() {
    let schema = schema();
    assert_eq!(names(&schema["required"]), set(REQUIRED_FIELDS));
    let properties: BTreeSet<String> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(properties, set(FIELDS));
    let manager = &schema["properties"]["manager"];
    assert_eq!(names(&manager["required"]), set(MANAGER_REQUIRED_FIELDS));
    let manager_props: BTreeSet<String> = manager["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(manager_props, set(MANAGER_FIELDS));
}

#[test]
fn validator_requires_exactly_the_schema_required_fields() {
    let minimal = base();
    assert!(LeaverEvent::from_value(&minimal).is_ok());
    for field in FIELDS {
        let mut event = minimal.clone();
        if event.as_object_mut().unwrap().remove(*field).is_none() {
            continue;
        }
        let err = LeaverEvent::from_value(&event).err();
        let required_by_validator = err
            .iter()
            .flat_map(|e| e.problems())
            .any(|p| p.path == format!("/{field}") && p.kind.code() == "missing_field");
        assert_eq!(
            required_by_validator,
            REQUIRED_FIELDS.contains(field),
            "{field}"
        );
    }
}

#[test]
fn date_rule_matches_the_schema_conditional() {
    let schema = schema();
    assert_eq!(schema["if"]["properties"]["immediate"]["const"], true);
    assert_eq!(
        names(&schema["then"]["not"]["required"]),
        set(&["last_working_day", "cutoff_at"])
    );
    let one_of: Vec<BTreeSet<String>> = schema["else"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| names(&s["required"]))
        .collect();
    assert_eq!(
        one_of,
        vec![set(&["last_working_day"]), set(&["cutoff_at"])]
    );
}

#[test]
fn patterns_and_lengths_agree_with_the_validator() {
    let schema = schema();
    let long = |n: usize| "x".repeat(n);
    let cases: Vec<(&[&str], Vec<String>)> = vec![
        (
            &["tenant"],
            vec![
                "acme",
                "a-1",
                "",
                "Acme",
                "a_b",
                &"a".repeat(64),
                &"a".repeat(65),
            ]
            .into_iter()
            .map(String::from)
            .collect(),
        ),
        (
            &["employee_id"],
            vec![
                "E1".into(),
                "x".into(),
                "a b".into(),
                "".into(),
                " E1".into(),
                "E1 ".into(),
                "E\t1".into(),
                "E\u{7f}".into(),
                "Zoë".into(),
                long(128),
                long(129),
            ],
        ),
        (
            &["display_name"],
            vec![
                "Dana Müller".into(),
                "".into(),
                " Dana".into(),
                long(256),
                long(257),
            ],
        ),
        (
            &["email"],
            [
                "dana@acme.example",
                "d.m+x@mail.acme.example",
                "o'neil@acme.co.uk",
                "a@b.c",
                "dana",
                "dana@localhost",
                "dana@-acme.example",
                "dana@acme-.example",
                "dana..m@acme.example",
                "dana.@acme.example",
                "da na@acme.example",
                "däna@acme.example",
                "dana@acme.example.",
            ]
            .into_iter()
            .map(String::from)
            .chain([format!("{}@acme.example", long(250))])
            .chain([format!("dana@{}.example", "a".repeat(64))])
            .collect(),
        ),
        (
            &["manager", "email"],
            vec!["lee@acme.example".into(), "lee".into()],
        ),
        (
            &["manager", "employee_id"],
            vec!["E7".into(), "".into(), "E7 ".into()],
        ),
        (
            &["last_working_day"],
            [
                "2025-03-31",
                "2025-3-31",
                "2025-13-01",
                "2025-03-32",
                "31-03-2025",
                "2025-03-31Z",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
        ),
        (
            &["cutoff_at"],
            [
                "2025-03-31T17:00:00Z",
                "2025-03-31T17:00:00.123456789+05:30",
                "2025-03-31T17:00:00-00:00",
                "2025-03-31T17:00:00",
                "2025-03-31 17:00:00Z",
                "2025-03-31t17:00:00z",
                "2025-03-31T24:00:00Z",
                "2025-03-31T17:00:60Z",
                "2025-03-31T17:00:00.1234567890Z",
                "2025-03-31T17:00:00+0100",
                "2025-03-31T17:00:00+24:00",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
        ),
        (
            &["time_zone"],
            [
                "Europe/Berlin",
                "UTC",
                "Etc/GMT+5",
                "America/Argentina/Buenos_Aires",
                "",
                "Europe/",
                "/UTC",
                "Europe Berlin",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
        ),
        (
            &["reason"],
            vec![
                "".into(),
                "resigned".into(),
                "line\nbreak".into(),
                long(500),
                long(501),
            ],
        ),
    ];
    for (path, samples) in cases {
        let prop = property(&schema, path);
        for sample in samples {
            assert_eq!(
                validator_accepts(path, &sample),
                schema_accepts(&prop, &sample),
                "{path:?} = {sample:?}"
            );
        }
    }
}

#[test]
fn format_only_checks_are_documented() {
    // What `pattern` cannot express the schema leaves to `format: date` / `date-time` and to the
    // tz database; the validator enforces those too.
    let schema = schema();
    assert_eq!(schema["properties"]["last_working_day"]["format"], "date");
    assert_eq!(schema["properties"]["cutoff_at"]["format"], "date-time");
    assert!(
        schema["properties"]["time_zone"]["description"]
            .as_str()
            .unwrap()
            .contains("IANA")
    );
    assert!(!validator_accepts(&["last_working_day"], "2025-02-30"));
    assert!(!validator_accepts(&["time_zone"], "Europe/Atlantis"));
}

#[test]
fn schema_examples_are_valid_events() {
    let schema = schema();
    let examples = schema["examples"].as_array().unwrap();
    assert!(!examples.is_empty());
    for example in examples {
        LeaverEvent::from_value(example).unwrap_or_else(|e| panic!("{example}: {e}"));
    }
}
