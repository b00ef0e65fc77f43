//! RFC 8785 JSON Canonicalization Scheme (JCS) over [`serde_json::Value`].
//!
//! Passage signs evidence manifests over their bytes, and an auditor re-verifies those bytes
//! months later with different software. That only works if "the JSON" has exactly one byte
//! form, so every manifest is serialised with this crate. RFC 8785 fixes that form:
//!
//! * no insignificant whitespace;
//! * object members sorted by their names' **UTF-16 code units** (not UTF-8 bytes, not code
//!   points, not locale collation — the three disagree for non-BMP characters and accents);
//! * strings with the minimal escapes only (`\"`, `\\`, `\b \t \n \f \r`, other controls as
//!   `\u00xx`); everything else, including U+007F and all non-ASCII, as raw UTF-8;
//! * numbers as IEEE 754 doubles printed by ECMAScript's `Number.prototype.toString`.
//!
//! `jq -cS` is *not* JCS: it sorts by code point and prints numbers its own way, so a manifest
//! re-serialised with it will not verify. Verifiers must check the bytes as shipped.
//!
//! `NaN` and the infinities cannot occur: a [`serde_json::Number`] is always finite. Note that
//! [`canonicalize`] goes through [`serde_json::to_value`], which turns a non-finite `f64` field
//! into `null`; keep non-finite numbers out of evidence types (or use strings) rather than rely
//! on an error.

mod number;
mod string;

use serde::Serialize;
use serde_json::{Map, Number, Value};

pub use number::number_to_string;

/// Why a value has no RFC 8785 form.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JcsError {
    /// JSON has no `NaN` or `Infinity`; only reachable through [`number_to_string`].
    #[error("number {0} is not finite; JSON has no NaN or Infinity")]
    NonFiniteNumber(f64),
    /// RFC 8785 works on I-JSON, whose numbers are IEEE 754 doubles. An integer that no double
    /// equals would be silently rounded by every other JCS implementation, so the signed bytes
    /// would no longer say what the caller meant. Such values must travel as strings.
    #[error(
        "integer {value} has no exact IEEE 754 double form (RFC 8785 / I-JSON numbers are doubles); encode it as a string"
    )]
    InexactInteger {
        /// The integer as given.
        value: String,
    },
    /// The value could not be turned into JSON at all (e.g. a map with non-string keys).
    #[error("value is not representable as JSON: {0}")]
    NotJson(String),
}

/// The RFC 8785 canonical bytes of `value`.
pub fn to_canonical_vec(value: &Value) -> Result<Vec<u8>, JcsError> {
    to_canonical_string(value).map(String::into_bytes)
}

/// The RFC 8785 canonical form of `value` as a string (it is always valid UTF-8).
pub fn to_canonical_string(value: &Value) -> Result<String, JcsError> {
    let mut out = String::new();
    write_value(&mut out, value)?;
    Ok(out)
}

/// Serialise any [`Serialize`] type to its RFC 8785 canonical bytes.
///
/// Goes through [`serde_json::to_value`], so `#[serde(...)]` attributes apply as usual and the
/// field order of the type does not matter (members are sorted here).
pub fn canonicalize<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, JcsError> {
    let value = serde_json::to_value(value).map_err(|e| JcsError::NotJson(e.to_string()))?;
    to_canonical_vec(&value)
}

fn write_value(out: &mut String, value: &Value) -> Result<(), JcsError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => out.push_str(&json_number(n)?),
        Value::String(s) => string::write_escaped(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item)?;
            }
            out.push(']');
        }
        Value::Object(members) => write_object(out, members)?,
    }
    Ok(())
}

fn write_object(out: &mut String, members: &Map<String, Value>) -> Result<(), JcsError> {
    // serde_json's `preserve_order` keeps insertion order, so the order must be imposed here.
    let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
    sorted.sort_by(|(a, _), (b, _)| utf16_cmp(a, b));
    out.push('{');
    for (i, (name, value)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        string::write_escaped(out, name);
        out.push(':');
        write_value(out, value)?;
    }
    out.push('}');
    Ok(())
}

/// Order two member names as RFC 8785 §3.2.3 requires: by UTF-16 code units.
///
/// This differs from byte / code point order exactly when a supplementary character (encoded as
/// surrogates 0xD800–0xDFFF) meets a BMP character in 0xE000–0xFFFF.
pub fn utf16_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

fn json_number(n: &Number) -> Result<String, JcsError> {
    if let Some(u) = n.as_u64() {
        integer_to_string(i128::from(u))
    } else if let Some(i) = n.as_i64() {
        integer_to_string(i128::from(i))
    } else {
        // Without `arbitrary_precision`, a Number that is not an integer is an f64.
        number_to_string(n.as_f64().expect("serde_json numbers are u64, i64 or f64"))
    }
}

fn integer_to_string(value: i128) -> Result<String, JcsError> {
    // `as` rounds to nearest; the round trip tells whether some double equals the integer.
    let double = value as f64;
    if double as i128 != value {
        return Err(JcsError::InexactInteger {
            value: value.to_string(),
        });
    }
    number_to_string(double)
}
