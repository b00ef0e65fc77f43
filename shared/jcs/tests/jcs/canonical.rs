//! Properties of the canonical form beyond the reference vectors.

use passage_jcs::{JcsError, canonicalize, number_to_string, to_canonical_string, utf16_cmp};
use serde_json::{Value, json};

#[test]
fn keys_sort_by_utf16_code_units_not_code_points() {
    // U+1F600 is D83D DE00 in UTF-16, which sorts before U+FB33 (and U+E000); by code point
    // (or UTF-8 bytes) it would sort after both.
    let value = json!({ "\u{fb33}": 1, "\u{1f600}": 2, "\u{e000}": 3, "z": 4 });
    assert_eq!(
        to_canonical_string(&value).unwrap(),
        "{\"z\":4,\"\u{1f600}\":2,\"\u{e000}\":3,\"\u{fb33}\":1}"
    );
    assert!("\u{1f600}" > "\u{fb33}", "code point order differs");
    assert_eq!(utf16_cmp("\u{1f600}", "\u{fb33}"), std::cmp::Ordering::Less);
}

#[test]
fn insertion_order_does_not_matter() {
    let a = json!({ "b": 1, "a": { "y": [1, 2], "x": null } });
    let mut reversed = serde_json::Map::new();
    reversed.insert("a".into(), json!({ "x": null, "y": [1, 2] }));
    reversed.insert("b".into(), json!(1));
    assert_eq!(
        to_canonical_string(&a).unwrap(),
        to_canonical_string(&Value::Object(reversed)).unwrap()
    );
    assert_eq!(
        to_canonical_string(&a).unwrap(),
        r#"{"a":{"x":null,"y":[1,2]},"b":1}"#
    );
}

#[test]
fn prefix_keys_sort_first() {
    let value = json!({ "aa": 1, "a": 2, "": 3 });
    assert_eq!(
        to_canonical_string(&value).unwrap(),
        r#"{"":3,"a":2,"aa":1}"#
    );
}

#[test]
fn control_characters_are_escaped_in_keys_and_values() {
    let value = json!({ "\u{1}\n": "\u{0}\u{7f}\u{1f}\t" });
    assert_eq!(
        to_canonical_string(&value).unwrap(),
        "{\"\\u0001\\n\":\"\\u0000\u{7f}\\u001f\\t\"}"
    );
}

#[test]
fn no_whitespace_and_literals() {
    let value = json!([null, true, false, [], {}, "", 0]);
    assert_eq!(
        to_canonical_string(&value).unwrap(),
        r#"[null,true,false,[],{},"",0]"#
    );
}

#[test]
fn parsed_numbers_come_out_in_es6_form() {
    let cases = [
        ("-0", "0"),
        ("-0.0", "0"),
        ("0.0", "0"),
        ("4.50", "4.5"),
        ("2e-3", "0.002"),
        ("1E30", "1e+30"),
        ("0.000001", "0.000001"),
        ("0.0000001", "1e-7"),
        ("1e21", "1e+21"),
        ("123456789012345678901", "123456789012345680000"),
        ("333333333.33333329", "333333333.3333333"),
        ("5e-324", "5e-324"),
        ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ("9007199254740992", "9007199254740992"),
        ("-9007199254740992", "-9007199254740992"),
        ("56.0", "56"),
    ];
    for (input, expected) in cases {
        let value: Value = serde_json::from_str(input).unwrap();
        assert_eq!(to_canonical_string(&value).unwrap(), expected, "{input}");
    }
}

#[test]
fn integers_are_printed_as_the_double_es6_would_print() {
    // 2^60 is exactly a double; ES6 prints its shortest digits, not all nineteen.
    assert_eq!(
        to_canonical_string(&json!(1_152_921_504_606_846_976_u64)).unwrap(),
        "1152921504606847000"
    );
    assert_eq!(
        to_canonical_string(&json!(9_007_199_254_740_994_u64)).unwrap(),
        "9007199254740994"
    );
    assert_eq!(
        to_canonical_string(&json!(i64::MIN)).unwrap(),
        "-9223372036854776000"
    );
}

#[test]
fn integers_without_an_exact_double_are_rejected() {
    for value in [
        json!(9_007_199_254_740_993_u64),
        json!(u64::MAX),
        json!(i64::MAX),
        json!(-9_007_199_254_740_993_i64),
    ] {
        assert!(
            matches!(
                to_canonical_string(&value),
                Err(JcsError::InexactInteger { .. })
            ),
            "{value}"
        );
    }
    let err = to_canonical_string(&json!({ "n": 9_007_199_254_740_993_u64 })).unwrap_err();
    assert!(err.to_string().contains("9007199254740993"), "{err}");
}

#[test]
fn canonicalize_accepts_serialize_types() {
    #[derive(serde::Serialize)]
    struct Manifest<'a> {
        version: u32,
        bundle: &'a str,
        ratio: f64,
    }
    let bytes = canonicalize(&Manifest {
        version: 1,
        bundle: "b-1",
        ratio: 0.5,
    })
    .unwrap();
    assert_eq!(bytes, br#"{"bundle":"b-1","ratio":0.5,"version":1}"#);
}

#[test]
fn canonicalize_rejects_non_json() {
    let mut map = std::collections::BTreeMap::new();
    map.insert(vec![1u8], 1);
    assert!(matches!(canonicalize(&map), Err(JcsError::NotJson(_))));
}

#[test]
fn non_finite_serialize_values_become_null_as_documented() {
    // serde_json maps non-finite floats to null before canonicalization sees them.
    assert_eq!(canonicalize(&[f64::NAN]).unwrap(), b"[null]");
    assert!(matches!(
        number_to_string(f64::NAN),
        Err(JcsError::NonFiniteNumber(_))
    ));
}

#[test]
fn random_doubles_round_trip_and_follow_the_es6_layout() {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut checked = 0;
    while checked < 200_000 {
        // xorshift64*: deterministic, so a failure reproduces.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let bits = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
        let x = f64::from_bits(bits);
        if !x.is_finite() || x == 0.0 {
            continue;
        }
        let printed = number_to_string(x).unwrap();
        assert_eq!(
            printed.parse::<f64>().unwrap(),
            x,
            "round trip of {printed}"
        );
        let magnitude = x.abs();
        let plain = (1e-6..1e21).contains(&magnitude);
        assert_eq!(!printed.contains('e'), plain, "layout of {printed}");
        let mantissa = printed.split('e').next().unwrap();
        if mantissa.contains('.') {
            assert!(!mantissa.ends_with('0'), "trailing zero in {printed}");
        }
        if !plain {
            let int = mantissa.trim_start_matches('-').split('.').next().unwrap();
            assert_eq!(int.len(), 1, "one digit before the point in {printed}");
        }
        checked += 1;
    }
}
