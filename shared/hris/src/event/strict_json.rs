//! JSON parsing that notices duplicate member names.
//!
//! `serde_json::Value` keeps the last of two equal names silently. For an HR event that would
//! mean `{"employee_id":"a", …, "employee_id":"b"}` cuts off whoever the last one names, while
//! another parser (or a person reading the log) sees the first. Duplicates are therefore
//! collected, by JSON Pointer, and refused by the caller.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::pointer;

/// Parse `body`, returning the value (first occurrence wins) and the paths of duplicates.
pub(crate) fn from_slice(body: &[u8]) -> Result<(Value, Vec<String>), serde_json::Error> {
    let mut duplicates = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = Strict {
        path: String::new(),
        duplicates: &mut duplicates,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok((value, duplicates))
}

struct Strict<'a> {
    path: String,
    duplicates: &'a mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // The JSON parser never yields a non-finite number.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Strict {
            path: format!("{}/{}", self.path, items.len()),
            duplicates: &mut *self.duplicates,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            let path = pointer(&self.path, &name);
            let value = map.next_value_seed(Strict {
                path: path.clone(),
                duplicates: &mut *self.duplicates,
            })?;
            if members.contains_key(&name) {
                self.duplicates.push(path);
            } else {
                members.insert(name, value);
            }
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::from_slice;

    #[test]
    fn duplicates_are_reported_by_pointer_at_any_depth() {
        let (value, dups) =
            from_slice(br#"{"a":1,"b":{"c":1,"c":2},"a":3,"l":[{"x/y":1,"x/y":2}]}"#).unwrap();
        assert_eq!(dups, vec!["/b/c", "/a", "/l/0/x~1y"]);
        assert_eq!(value["a"], 1, "first occurrence is kept");
    }

    #[test]
    fn trailing_garbage_is_an_error() {
        assert!(from_slice(b"{} x").is_err());
        assert!(from_slice(b"").is_err());
        assert!(from_slice(b"\xef\xbb\xbf{}").is_err(), "BOM");
    }
}
