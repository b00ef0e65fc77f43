//! The OData query options the emulated endpoints honour: `$select`, `$top`,
//! `$skiptoken` (opaque, inside `@odata.nextLink`) and a `$filter` subset,
//! plus building the absolute `@odata.nextLink` Graph returns.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::microsoft::errors::GraphError;

/// Parsed query string (keys and values percent-decoded; `+` is a space).
#[derive(Clone, Debug, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub(crate) fn parse(raw: Option<String>) -> Self {
        let pairs = raw
            .map(|r| {
                url::form_urlencoded::parse(r.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Self { pairs }
    }

    /// A parameter (OData options match with or without `$`,
    /// case-insensitively).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        let bare = name.trim_start_matches('$');
        self.pairs
            .iter()
            .find(|(k, _)| k.trim_start_matches('$').eq_ignore_ascii_case(bare))
            .map(|(_, v)| v.as_str())
    }

    /// `$select` as a list; empty when absent.
    pub(crate) fn select(&self) -> Vec<String> {
        self.get("$select")
            .map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `$top` within `1..=999`, or `default`.
    pub(crate) fn top(&self, default: usize) -> Result<usize, GraphError> {
        match self.get("$top") {
            None => Ok(default),
            Some(raw) => match raw.trim().parse::<usize>() {
                Ok(n) if (1..=999).contains(&n) => Ok(n),
                _ => Err(GraphError::invalid_page_size(raw)),
            },
        }
    }

    /// The sequence number a `$skiptoken` encodes.
    pub(crate) fn skiptoken(&self) -> Result<Option<u64>, GraphError> {
        match self.get("$skiptoken") {
            None => Ok(None),
            Some(token) => decode_skiptoken(token)
                .map(Some)
                .ok_or_else(|| GraphError::bad_request("'$skiptoken' is invalid.")),
        }
    }

    /// Items `after..after + top` of `all`, and the next link at `base` + `path` when more
    /// remain: how every position-paged list (not the directory's sequence-paged ones) pages.
    pub(crate) fn page_of<T>(
        &self,
        all: Vec<T>,
        after: u64,
        top: usize,
        base: &str,
        path: &str,
    ) -> (Option<String>, Vec<T>) {
        let after = usize::try_from(after).unwrap_or(usize::MAX);
        let end = after.saturating_add(top).min(all.len());
        let next = (end < all.len()).then(|| self.next_link(base, path, end as u64));
        let page = all
            .into_iter()
            .skip(after)
            .take(end.saturating_sub(after))
            .collect();
        (next, page)
    }

    /// The absolute next link: the same path and options, with a new
    /// `$skiptoken`.
    pub(crate) fn next_link(&self, base_url: &str, path: &str, after_seq: u64) -> String {
        let mut parts: Vec<String> = self
            .pairs
            .iter()
            .filter(|(k, _)| !k.trim_start_matches('$').eq_ignore_ascii_case("skiptoken"))
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        parts.push(format!("$skiptoken={}", encode_skiptoken(after_seq)));
        format!("{base_url}{path}?{}", parts.join("&"))
    }
}

/// Percent-encodes a query component, keeping `$` (Graph's own links write
/// `$top`, `$select` literally).
fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace("%24", "$")
        .replace('+', "%20")
}

/// Skip tokens look like the directory's (`RFNwdAIAAQAA…`): opaque base64.
pub(crate) fn encode_skiptoken(seq: u64) -> String {
    let mut bytes = b"DSpt".to_vec();
    bytes.extend_from_slice(&[0x02, 0x00, 0x01, 0x00]);
    bytes.extend_from_slice(&seq.to_be_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

fn decode_skiptoken(token: &str) -> Option<u64> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    let rest = bytes.strip_prefix(b"DSpt\x02\x00\x01\x00")?;
    let seq: [u8; 8] = rest.try_into().ok()?;
    Some(u64::from_be_bytes(seq))
}

/// One `name eq 'value'` clause of a `$filter`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Clause {
    /// `prop eq 'value'`.
    Eq(String, String),
    /// `prop ge value` (timestamps).
    Ge(String, String),
    /// `prop le value` (timestamps).
    Le(String, String),
    /// `targetResources/any(t:t/id eq 'value')`.
    AnyTargetId(String),
    /// `collection/any(x:x eq 'value')` on a collection of strings (`proxyAddresses`).
    AnyEq(String, String),
}

/// Parses a conjunction of simple clauses; anything else is refused with
/// Graph's "Invalid filter clause".
pub(crate) fn parse_filter(filter: &str) -> Result<Vec<Clause>, GraphError> {
    let invalid = || GraphError::bad_request("Invalid filter clause");
    let mut clauses = Vec::new();
    for part in split_and(filter) {
        let part = part.trim();
        if let Some(inner) = part
            .strip_prefix("targetResources/any(")
            .and_then(|s| s.strip_suffix(')'))
        {
            let (var, cond) = inner.split_once(':').ok_or_else(invalid)?;
            let cond = cond.trim();
            let prefix = format!("{}/id eq ", var.trim());
            let value = cond.strip_prefix(&prefix).ok_or_else(invalid)?;
            clauses.push(Clause::AnyTargetId(literal(value).ok_or_else(invalid)?));
            continue;
        }
        if let Some((collection, inner)) = part
            .split_once("/any(")
            .and_then(|(c, rest)| Some((c, rest.strip_suffix(')')?)))
        {
            let (var, cond) = inner.split_once(':').ok_or_else(invalid)?;
            let prefix = format!("{} eq ", var.trim());
            let value = cond.trim().strip_prefix(&prefix).ok_or_else(invalid)?;
            let value = literal(value).ok_or_else(invalid)?;
            clauses.push(Clause::AnyEq(collection.trim().to_owned(), value));
            continue;
        }
        let mut words = part.splitn(3, ' ');
        let prop = words.next().ok_or_else(invalid)?.trim().to_owned();
        let op = words
            .next()
            .ok_or_else(invalid)?
            .trim()
            .to_ascii_lowercase();
        let value = words.next().ok_or_else(invalid)?.trim();
        let value = literal(value).unwrap_or_else(|| value.to_owned());
        clauses.push(match op.as_str() {
            "eq" => Clause::Eq(prop, value),
            "ge" => Clause::Ge(prop, value),
            "le" => Clause::Le(prop, value),
            _ => return Err(invalid()),
        });
    }
    Ok(clauses)
}

/// Splits on ` and ` outside quotes and parentheses.
fn split_and(filter: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let chars: Vec<char> = filter.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            _ => {}
        }
        if !quoted && depth == 0 {
            let rest: String = chars[i..].iter().take(5).collect();
            if rest.eq_ignore_ascii_case(" and ") {
                parts.push(std::mem::take(&mut current));
                i += 5;
                continue;
            }
        }
        current.push(c);
        i += 1;
    }
    parts.push(current);
    parts
}

/// A quoted OData string literal (`'it''s'`).
fn literal(raw: &str) -> Option<String> {
    let inner = raw.trim().strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace("''", "'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skiptokens_round_trip_and_reject_garbage() {
        let token = encode_skiptoken(42);
        assert!(token.starts_with("RFNwd"));
        assert_eq!(decode_skiptoken(&token), Some(42));
        assert_eq!(decode_skiptoken("nope"), None);
    }

    #[test]
    fn filters_parse_conjunctions() {
        let clauses = parse_filter(
            "userPrincipalName eq 'o''neil@x.com' and activityDateTime ge 2024-01-01T00:00:00Z",
        )
        .unwrap();
        assert_eq!(
            clauses,
            vec![
                Clause::Eq("userPrincipalName".into(), "o'neil@x.com".into()),
                Clause::Ge("activityDateTime".into(), "2024-01-01T00:00:00Z".into()),
            ]
        );
        assert_eq!(
            parse_filter("targetResources/any(t:t/id eq 'abc')").unwrap(),
            vec![Clause::AnyTargetId("abc".into())]
        );
        assert!(parse_filter("startswith(displayName,'a')").is_err());
    }

    #[test]
    fn next_links_keep_options_and_literal_dollars() {
        let q = Query::parse(Some("$top=2&$select=id,displayName&$skiptoken=old".into()));
        let link = q.next_link("http://h", "/v1.0/users/x/memberOf", 7);
        assert!(link.starts_with(
            "http://h/v1.0/users/x/memberOf?$top=2&$select=id%2CdisplayName&$skiptoken="
        ));
        let again = Query::parse(link.split_once('?').map(|(_, q)| q.to_owned()));
        assert_eq!(again.skiptoken().unwrap(), Some(7));
        assert_eq!(again.select(), vec!["id", "displayName"]);
    }
}
