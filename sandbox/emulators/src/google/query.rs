//! Query parameters and Google's token pagination: a list answers at most
//! `maxResults` items and, while more remain, a `nextPageToken` the client
//! sends back as `pageToken`. Tokens are opaque, bound to the list and
//! filter they came from, and resume after the last item returned, so
//! items removed between pages never cause skips.

use axum::body::Bytes;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::google::errors::GoogleError;
use crate::google::model::content_etag;

/// Decoded query parameters.
#[derive(Clone, Debug, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: Option<String>) -> Self {
        let pairs = raw
            .as_deref()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Self { pairs }
    }

    /// The first non-empty value for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// `maxResults`: `default` when absent; outside `1..=max` it is either
    /// clamped (Directory lists whose discovery entry gives no maximum) or
    /// refused with 400 `invalidParameter` (those that declare one).
    pub fn max_results(
        &self,
        default: usize,
        max: usize,
        clamp: bool,
    ) -> Result<usize, GoogleError> {
        let Some(raw) = self.get("maxResults") else {
            return Ok(default);
        };
        let parsed = raw.trim().parse::<i64>().ok();
        match parsed {
            Some(n) if n >= 1 && usize::try_from(n).is_ok_and(|n| n <= max) => {
                Ok(usize::try_from(n).unwrap_or(max))
            }
            Some(n) if clamp && n > 0 => Ok(max),
            _ => Err(GoogleError::out_of_range("maxResults", raw, 1, max)),
        }
    }
}

/// One page of `items` (already in list order, each with a strictly
/// increasing key), starting after the position named by `page_token`.
/// `context` binds tokens to one list and filter.
pub(crate) fn page<T: Clone>(
    items: &[(u64, T)],
    page_token: Option<&str>,
    context: &str,
    max: usize,
) -> Result<(Vec<T>, Option<String>), GoogleError> {
    let start = match page_token {
        None => 0,
        Some(token) => {
            let after = decode_token(token, context)
                .ok_or_else(|| GoogleError::invalid_input("pageToken"))?;
            items.partition_point(|(key, _)| *key <= after)
        }
    };
    let rest = &items[start.min(items.len())..];
    let taken: Vec<T> = rest.iter().take(max).map(|(_, t)| t.clone()).collect();
    let next = (rest.len() > max).then(|| encode_token(context, rest[max - 1].0));
    Ok((taken, next))
}

fn encode_token(context: &str, after: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{after}\n{context}"))
}

fn decode_token(token: &str, context: &str) -> Option<u64> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (after, bound) = text.split_once('\n')?;
    (bound == context).then(|| after.parse().ok()).flatten()
}

/// A JSON object request body, or 400 `parseError`.
pub(crate) fn json_object(body: &Bytes) -> Result<Map<String, Value>, GoogleError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(GoogleError::parse_error()),
    }
}

/// A string field of a JSON body (`None` when absent or null).
pub(crate) fn string_field(
    body: &Map<String, Value>,
    field: &str,
) -> Result<Option<String>, GoogleError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(GoogleError::invalid_argument(&format!(
            "Invalid value at '{field}', expected a string"
        ))),
    }
}

/// A list response: `kind`, a content `etag`, the items under
/// `items_key` (omitted when empty) and `nextPageToken` while more remain.
pub(crate) fn list_response(
    kind: &str,
    items_key: &str,
    items: Vec<Value>,
    next: Option<String>,
) -> Value {
    let mut out = Map::new();
    out.insert("kind".into(), Value::String(kind.to_owned()));
    out.insert(
        "etag".into(),
        Value::String(content_etag(&Value::Array(items.clone()).to_string())),
    );
    put_list(&mut out, items_key, items);
    if let Some(next) = next {
        out.insert("nextPageToken".into(), Value::String(next));
    }
    Value::Object(out)
}

/// Inserts `key: items` only when `items` is non-empty: Google omits empty
/// repeated fields from responses.
pub(crate) fn put_list(object: &mut Map<String, Value>, key: &str, items: Vec<Value>) {
    if !items.is_empty() {
        object.insert(key.to_owned(), Value::Array(items));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_resume_after_the_last_key_and_are_bound_to_their_list() {
        let items: Vec<(u64, u32)> = (1..=5)
            .map(|i| (i * 10, u32::try_from(i).unwrap()))
            .collect();
        let (first, next) = page(&items, None, "a", 2).unwrap();
        assert_eq!(first, [1, 2]);
        let token = next.unwrap();
        let (second, next) = page(&items, Some(&token), "a", 2).unwrap();
        assert_eq!(second, [3, 4]);
        let (third, next) = page(&items, next.as_deref(), "a", 2).unwrap();
        assert_eq!(third, [5]);
        assert!(next.is_none());
        assert!(page(&items, Some(&token), "b", 2).is_err());
        assert!(page(&items, Some("garbage!"), "a", 2).is_err());
        // An item removed between pages does not shift the next page.
        let fewer: Vec<(u64, u32)> = items.iter().copied().filter(|(k, _)| *k != 30).collect();
        let (after_removal, _) = page(&fewer, Some(&token), "a", 2).unwrap();
        assert_eq!(after_removal, [4, 5]);
    }

    #[test]
    fn exact_page_has_no_next_token() {
        let items: Vec<(u64, u32)> = vec![(1, 1), (2, 2)];
        let (all, next) = page(&items, None, "a", 2).unwrap();
        assert_eq!(all, [1, 2]);
        assert!(next.is_none());
    }
}
