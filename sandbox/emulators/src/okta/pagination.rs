//! Query-string handling and Okta's cursor pagination: a `limit`, an opaque
//! `after` cursor, and `Link` headers with absolute URLs —
//! `<https://org/api/v1/users?limit=2>; rel="self"` and
//! `<https://org/api/v1/users?after=00u…&limit=2>; rel="next"` — sent as
//! two separate `Link` header fields, the way Okta sends them. The `next`
//! link is present only while more results remain (except for System Log
//! polling queries, see `routes::list_logs`).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::okta::errors::OktaError;

/// Decoded query parameters, in the order the client sent them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Query {
    raw: Option<String>,
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
        Self { raw, pairs }
    }

    /// The first value for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean flag; anything but `true` (any case) is false.
    pub fn flag(&self, key: &str, default: bool) -> bool {
        self.get(key)
            .map_or(default, |v| v.eq_ignore_ascii_case("true"))
    }

    /// The `after` cursor, if any.
    pub fn after(&self) -> Option<&str> {
        self.get("after").filter(|a| !a.is_empty())
    }

    /// Refuses any parameter the operation's spec does not declare. Okta's own
    /// front end passes them over, so a client that sends `limit` to a list that
    /// does not page believes it asked for a page size it never got; the
    /// emulator answers 400 E0000001 so such a call is caught in tests.
    pub fn only(&self, declared: &[&str]) -> Result<(), OktaError> {
        match self
            .pairs
            .iter()
            .find(|(k, _)| !declared.contains(&k.as_str()))
        {
            None => Ok(()),
            Some((k, _)) => Err(OktaError::validation(k)
                .with_causes([format!("{k}: this operation takes no such parameter")])),
        }
    }

    /// The page size: `default` when absent, capped at `max`, never below
    /// `min`. A non-numeric value is a validation error.
    pub fn limit(&self, default: usize, min: usize, max: usize) -> Result<usize, OktaError> {
        match self.get("limit") {
            None | Some("") => Ok(default),
            Some(raw) => raw
                .trim()
                .parse::<i64>()
                .map(|n| usize::try_from(n.max(0)).unwrap_or(max).clamp(min, max))
                .map_err(|_| {
                    OktaError::validation("limit")
                        .with_causes(["limit: The value must be an integer"])
                }),
        }
    }

    /// This request's query string with `after` replaced by `cursor`.
    fn with_after(&self, cursor: &str) -> String {
        let mut out = format!("after={}", encode(cursor));
        for (k, v) in self.pairs.iter().filter(|(k, _)| k != "after") {
            out.push('&');
            out.push_str(&encode(k));
            out.push('=');
            out.push_str(&encode(v));
        }
        out
    }
}

/// One page of a list response.
pub(crate) struct Page {
    pub items: Vec<Value>,
    /// Cursor for the next page, when there is one.
    pub next: Option<String>,
}

impl Page {
    /// Renders the page as a 200 with `Link` headers. `base_url` is the
    /// org's absolute origin and `path` the request path.
    pub fn into_response(self, base_url: &str, path: &str, query: &Query) -> Response {
        let self_url = match query.raw.as_deref() {
            Some(raw) if !raw.is_empty() => format!("{base_url}{path}?{raw}"),
            _ => format!("{base_url}{path}"),
        };
        let mut response = (StatusCode::OK, Json(Value::Array(self.items))).into_response();
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&format!("<{self_url}>; rel=\"self\"")) {
            headers.append(header::LINK, value);
        }
        if let Some(cursor) = self.next {
            let next_url = format!("{base_url}{path}?{}", query.with_after(&cursor));
            if let Ok(value) = HeaderValue::from_str(&format!("<{next_url}>; rel=\"next\"")) {
                headers.append(header::LINK, value);
            }
        }
        response
    }
}

/// Splits `ordered` (already filtered and in cursor order) into one page.
/// `position_after` maps the incoming cursor to the index of the first item
/// to return; `cursor_of` produces the cursor for an item.
pub(crate) fn paginate<'a, T>(
    ordered: &'a [T],
    after: Option<&str>,
    limit: usize,
    position_after: impl Fn(&str) -> Option<usize>,
    cursor_of: impl Fn(&T) -> String,
) -> Result<(Vec<&'a T>, Option<String>), OktaError> {
    let start = match after {
        None => 0,
        Some(cursor) => position_after(cursor).ok_or_else(|| {
            OktaError::validation("after").with_causes(["after: Invalid pagination cursor"])
        })?,
    };
    let rest = ordered.get(start..).unwrap_or_default();
    let page: Vec<&T> = rest.iter().take(limit).collect();
    let next = if rest.len() > page.len() {
        page.last().map(|item| cursor_of(item))
    } else {
        None
    };
    Ok((page, next))
}

/// Percent-encodes a query component, keeping RFC 3986 unreserved
/// characters and writing spaces as `%20` (as Okta's own links do).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for byte in s.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_query_replaces_after_and_keeps_the_rest() {
        let q = Query::parse(Some(
            "search=profile.email%20eq%20%22a%40b.c%22&limit=2&after=old".into(),
        ));
        assert_eq!(q.get("search"), Some("profile.email eq \"a@b.c\""));
        assert_eq!(
            q.with_after("00uNEXT"),
            "after=00uNEXT&search=profile.email%20eq%20%22a%40b.c%22&limit=2"
        );
    }

    #[test]
    fn limit_defaults_clamps_and_rejects_garbage() {
        assert_eq!(Query::parse(None).limit(20, 1, 200).unwrap(), 20);
        assert_eq!(
            Query::parse(Some("limit=500".into()))
                .limit(20, 1, 200)
                .unwrap(),
            200
        );
        assert_eq!(
            Query::parse(Some("limit=0".into()))
                .limit(20, 1, 200)
                .unwrap(),
            1
        );
        assert!(
            Query::parse(Some("limit=ten".into()))
                .limit(20, 1, 200)
                .is_err()
        );
    }

    #[test]
    fn paginate_walks_in_order() {
        let items = [1, 2, 3, 4, 5];
        let pos = |c: &str| c.parse::<usize>().ok();
        let cur = |i: &i32| i.to_string();
        let (page, next) = paginate(&items, None, 2, pos, cur).unwrap();
        assert_eq!(page, [&1, &2]);
        assert_eq!(next.as_deref(), Some("2"));
        let (page, next) = paginate(&items, Some("4"), 2, pos, cur).unwrap();
        assert_eq!(page, [&5]);
        assert_eq!(next, None);
    }
}
