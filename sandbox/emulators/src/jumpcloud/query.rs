//! List parameters as JumpCloud takes them, applied to rendered JSON
//! records so every list endpoint filters, sorts and pages the same way.
//!
//! - `limit` (default 10, at most 100; more is a 400, as reported in
//!   TheJumpCloud/jcapi-python#38) and `skip` (offset).
//! - `sort`: v1 space-separated, v2 comma-separated; `-field` descends.
//!   Ties (and an absent `sort`) fall back to `_id`/`id` order, which is
//!   creation order.
//! - v1 `filter=field:$op:value` with `$eq $ne $gt $gte $lt $lte $in`;
//!   repeated `filter` / `filter[N]` / `filter[and][N]` are ANDed,
//!   `filter[or][N]` ORed. v2 `filter=field:op:value` with
//!   `eq ne gt ge lt le in search between`, repeated filters ANDed.
//!   Values are case-sensitive.
//! - v1 `search[searchTerm]` / `search[fields]`: case-insensitive partial
//!   match on any listed field.
//! - v1 `fields`: space-separated projection (`_id` always kept).
//! - The JSON filter language of `POST /api/search/*` bodies.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use crate::jumpcloud::errors::{ApiFamily, JcError};

/// Default and maximum page size on v1 and v2 lists.
pub const DEFAULT_LIMIT: usize = 10;
/// Largest `limit` JumpCloud accepts.
pub const MAX_LIMIT: usize = 100;

/// Decoded query-string pairs, in order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
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

    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `limit`, defaulting to `default`; above 100 is refused.
    pub fn limit(&self, family: ApiFamily, default: usize) -> Result<usize, JcError> {
        match self.get("limit") {
            None | Some("") => Ok(default),
            Some(raw) => check_limit(family, parse_count(family, "limit", raw)?, default),
        }
    }

    /// `skip`, defaulting to 0.
    pub fn skip(&self, family: ApiFamily) -> Result<usize, JcError> {
        match self.get("skip") {
            None | Some("") => Ok(0),
            Some(raw) => parse_count(family, "skip", raw),
        }
    }

    /// `sort` keys: v1 separates with spaces, v2 with commas; both are
    /// accepted either way.
    pub fn sort(&self) -> Vec<SortKey> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == "sort")
            .flat_map(|(_, v)| SortKey::parse_list(v))
            .collect()
    }

    /// v1 `fields` projection.
    pub fn fields(&self) -> Option<Vec<String>> {
        self.get("fields").and_then(split_fields)
    }

    /// v1 `filter` parameters.
    pub fn v1_filter(&self) -> Result<Filter, JcError> {
        let mut filter = Filter::default();
        for (key, value) in &self.pairs {
            if key.starts_with("filter[or]") {
                filter.any.push(Cond::parse_v1(value)?);
            } else if key == "filter" || key.starts_with("filter[") {
                if value.is_empty() {
                    continue;
                }
                filter.all.push(Cond::parse_v1(value)?);
            }
        }
        Ok(filter)
    }

    /// v2 `filter` parameters (ANDed).
    pub fn v2_filter(&self) -> Result<Filter, JcError> {
        let mut filter = Filter::default();
        for (key, value) in &self.pairs {
            if (key == "filter" || key.starts_with("filter[")) && !value.is_empty() {
                filter.all.push(Cond::parse_v2(value)?);
            }
        }
        Ok(filter)
    }

    /// v1 `search[searchTerm]` / `search[fields]`.
    pub fn v1_search(&self) -> Option<TextSearch> {
        let terms: Vec<String> = self
            .pairs
            .iter()
            .filter(|(k, _)| k.starts_with("search[searchTerm]"))
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
            .collect();
        if terms.is_empty() {
            return None;
        }
        let fields = self
            .pairs
            .iter()
            .filter(|(k, _)| k.starts_with("search[fields]"))
            .flat_map(|(_, v)| split_fields(v).unwrap_or_default())
            .collect();
        Some(TextSearch { terms, fields })
    }
}

fn parse_count(family: ApiFamily, name: &str, raw: &str) -> Result<usize, JcError> {
    raw.trim().parse::<usize>().map_err(|_| {
        JcError::bad_request(
            family,
            format!("request parameter \"{name}\" must be a non-negative integer"),
        )
    })
}

/// Applies the documented cap; `0` means "the default".
pub(crate) fn check_limit(
    family: ApiFamily,
    limit: usize,
    default: usize,
) -> Result<usize, JcError> {
    if limit > MAX_LIMIT {
        return Err(JcError::bad_request(
            family,
            format!("request parameter \"limit\" exceeds maximum value of {MAX_LIMIT}"),
        ));
    }
    Ok(if limit == 0 { default } else { limit })
}

fn split_fields(raw: &str) -> Option<Vec<String>> {
    let fields: Vec<String> = raw
        .split([' ', ','])
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    (!fields.is_empty()).then_some(fields)
}

/// One `sort` key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SortKey {
    pub field: String,
    pub descending: bool,
}

impl SortKey {
    fn parse_list(raw: &str) -> Vec<Self> {
        raw.split([' ', ','])
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(|f| match f.strip_prefix('-') {
                Some(field) => Self {
                    field: field.to_owned(),
                    descending: true,
                },
                None => Self {
                    field: f.trim_start_matches('+').to_owned(),
                    descending: false,
                },
            })
            .collect()
    }
}

/// A comparison operator.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    In(Vec<String>),
    Nin(Vec<String>),
    Search,
    Between(String, String),
}

/// `field op value`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Cond {
    pub field: String,
    pub op: Op,
    pub value: String,
}

impl Cond {
    /// `field:$op:value` (v1).
    pub fn parse_v1(raw: &str) -> Result<Self, JcError> {
        let family = ApiFamily::V1;
        let mut parts = raw.splitn(3, ':');
        let (Some(field), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid_filter(family, raw));
        };
        let op = match op {
            "$eq" => Op::Eq,
            "$ne" => Op::Ne,
            "$gt" => Op::Gt,
            "$gte" => Op::Ge,
            "$lt" => Op::Lt,
            "$lte" => Op::Le,
            "$in" => Op::In(value.split('|').map(str::to_owned).collect()),
            _ => return Err(invalid_filter(family, raw)),
        };
        Ok(Self {
            field: field.to_owned(),
            op,
            value: value.to_owned(),
        })
    }

    /// `field:op:value` (v2).
    pub fn parse_v2(raw: &str) -> Result<Self, JcError> {
        let family = ApiFamily::V2;
        let mut parts = raw.splitn(3, ':');
        let (Some(field), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid_filter(family, raw));
        };
        let op = match op {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            "search" => Op::Search,
            "in" => Op::In(value.split('|').map(str::to_owned).collect()),
            "between" => match value.split_once(',') {
                Some((a, b)) => Op::Between(a.to_owned(), b.to_owned()),
                None => return Err(invalid_filter(family, raw)),
            },
            _ => return Err(invalid_filter(family, raw)),
        };
        Ok(Self {
            field: field.to_owned(),
            op,
            value: value.to_owned(),
        })
    }

    pub fn matches(&self, item: &Value) -> bool {
        let found = lookup(item, &self.field);
        let actual = found.map(scalar_text);
        match &self.op {
            Op::Eq => actual.as_deref() == Some(self.value.as_str()),
            Op::Ne => actual.as_deref() != Some(self.value.as_str()),
            Op::In(values) => actual.is_some_and(|a| values.contains(&a)),
            Op::Nin(values) => !actual.is_some_and(|a| values.contains(&a)),
            Op::Search => actual.is_some_and(|a| wildcard_contains(&a, &self.value)),
            Op::Gt => actual.is_some_and(|a| compare(&a, &self.value) == Ordering::Greater),
            Op::Ge => actual.is_some_and(|a| compare(&a, &self.value) != Ordering::Less),
            Op::Lt => actual.is_some_and(|a| compare(&a, &self.value) == Ordering::Less),
            Op::Le => actual.is_some_and(|a| compare(&a, &self.value) != Ordering::Greater),
            Op::Between(low, high) => actual.is_some_and(|a| {
                compare(&a, low) != Ordering::Less && compare(&a, high) != Ordering::Greater
            }),
        }
    }
}

fn invalid_filter(family: ApiFamily, raw: &str) -> JcError {
    JcError::bad_request(family, format!("invalid filter \"{raw}\""))
}

/// `search` operator: case-insensitive containment, `*` as wildcard.
fn wildcard_contains(actual: &str, pattern: &str) -> bool {
    let actual = actual.to_lowercase();
    pattern
        .to_lowercase()
        .split('*')
        .filter(|p| !p.is_empty())
        .all(|p| actual.contains(p))
}

/// Filters from a query string or a search body: all of `all`, and at least
/// one of `any` when `any` is not empty; `nested` are sub-expressions from
/// search bodies that must all hold.
#[derive(Clone, Debug, Default)]
pub(crate) struct Filter {
    pub all: Vec<Cond>,
    pub any: Vec<Cond>,
    pub nested: Vec<Expr>,
}

impl Filter {
    pub fn matches(&self, item: &Value) -> bool {
        self.all.iter().all(|c| c.matches(item))
            && (self.any.is_empty() || self.any.iter().any(|c| c.matches(item)))
            && self.nested.iter().all(|e| e.matches(item))
    }
}

/// A text search over some fields.
#[derive(Clone, Debug)]
pub(crate) struct TextSearch {
    pub terms: Vec<String>,
    pub fields: Vec<String>,
}

impl TextSearch {
    pub fn matches(&self, item: &Value, default_fields: &[&str]) -> bool {
        let fields: Vec<&str> = if self.fields.is_empty() {
            default_fields.to_vec()
        } else {
            self.fields.iter().map(String::as_str).collect()
        };
        fields.iter().any(|f| {
            lookup(item, f).map(scalar_text).is_some_and(|actual| {
                let actual = actual.to_lowercase();
                self.terms
                    .iter()
                    .any(|t| actual.contains(&t.to_lowercase()))
            })
        })
    }
}

/// The JSON filter language of `POST /api/search/*`: an array of
/// expressions (all must hold), `{"and": […]}`, `{"or": […]}`, or a
/// `{field: value}` map where `value` is a literal (equality) or an
/// operator object (`$eq $ne $in $nin $gt $gte $lt $lte`). A string is
/// read as one v1 `field:$op:value` filter.
#[derive(Clone, Debug)]
pub(crate) enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Cond(Cond),
}

impl Expr {
    pub fn parse(value: &Value) -> Result<Self, JcError> {
        let family = ApiFamily::V1;
        match value {
            Value::Array(items) => Ok(Self::And(
                items.iter().map(Self::parse).collect::<Result<_, _>>()?,
            )),
            Value::String(raw) => Ok(Self::Cond(Cond::parse_v1(raw)?)),
            Value::Object(map) => {
                let mut parts = Vec::new();
                for (key, inner) in map {
                    match key.as_str() {
                        "and" | "$and" => parts.push(Self::And(list(family, inner)?)),
                        "or" | "$or" => parts.push(Self::Or(list(family, inner)?)),
                        field => parts.extend(field_conds(family, field, inner)?),
                    }
                }
                Ok(Self::And(parts))
            }
            Value::Null => Ok(Self::And(Vec::new())),
            _ => Err(JcError::bad_request(family, "invalid filter")),
        }
    }

    pub fn matches(&self, item: &Value) -> bool {
        match self {
            Self::And(parts) => parts.iter().all(|p| p.matches(item)),
            Self::Or(parts) => parts.iter().any(|p| p.matches(item)),
            Self::Cond(c) => c.matches(item),
        }
    }
}

fn list(family: ApiFamily, value: &Value) -> Result<Vec<Expr>, JcError> {
    match value {
        Value::Array(items) => items.iter().map(Expr::parse).collect(),
        _ => Err(JcError::bad_request(family, "invalid filter")),
    }
}

fn field_conds(family: ApiFamily, field: &str, value: &Value) -> Result<Vec<Expr>, JcError> {
    let cond = |op: Op, value: String| {
        Expr::Cond(Cond {
            field: field.to_owned(),
            op,
            value,
        })
    };
    match value {
        Value::Object(ops) if ops.keys().all(|k| k.starts_with('$')) && !ops.is_empty() => ops
            .iter()
            .map(|(op, v)| {
                let texts = || match v {
                    Value::Array(items) => items.iter().map(scalar_text).collect(),
                    other => vec![scalar_text(other)],
                };
                Ok(match op.as_str() {
                    "$eq" => cond(Op::Eq, scalar_text(v)),
                    "$ne" => cond(Op::Ne, scalar_text(v)),
                    "$gt" => cond(Op::Gt, scalar_text(v)),
                    "$gte" => cond(Op::Ge, scalar_text(v)),
                    "$lt" => cond(Op::Lt, scalar_text(v)),
                    "$lte" => cond(Op::Le, scalar_text(v)),
                    "$in" => cond(Op::In(texts()), String::new()),
                    "$nin" => cond(Op::Nin(texts()), String::new()),
                    other => {
                        return Err(JcError::bad_request(
                            family,
                            format!("unsupported operator {other}"),
                        ));
                    }
                })
            })
            .collect(),
        Value::Array(items) => Ok(vec![cond(
            Op::In(items.iter().map(scalar_text).collect()),
            String::new(),
        )]),
        other => Ok(vec![cond(Op::Eq, scalar_text(other))]),
    }
}

/// A dotted path into a JSON object.
pub(crate) fn lookup<'a>(item: &'a Value, path: &str) -> Option<&'a Value> {
    if let Some(direct) = item.get(path) {
        return Some(direct);
    }
    path.split('.')
        .try_fold(item, |v, part| v.get(part))
        .filter(|v| !v.is_null())
}

/// A scalar as the text filters compare against.
pub(crate) fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_owned(),
        other => other.to_string(),
    }
}

fn compare(a: &str, b: &str) -> Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.cmp(b),
    }
}

fn compare_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(x), Some(y)) => scalar_text(x).cmp(&scalar_text(y)),
    }
}

/// Sorts by `keys`, then by `id_field` (creation order).
pub(crate) fn sort(items: &mut [Value], keys: &[SortKey], id_field: &str) {
    items.sort_by(|a, b| {
        for key in keys {
            let field = if key.field == "_id" || key.field == "id" {
                id_field
            } else {
                key.field.as_str()
            };
            let ordering = compare_values(lookup(a, field), lookup(b, field));
            let ordering = if key.descending {
                ordering.reverse()
            } else {
                ordering
            };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        compare_values(lookup(a, id_field), lookup(b, id_field))
    });
}

/// One page.
pub(crate) fn page(items: Vec<Value>, skip: usize, limit: usize) -> Vec<Value> {
    items.into_iter().skip(skip).take(limit).collect()
}

/// Keeps only `fields` (and `_id`).
pub(crate) fn project(item: Value, fields: Option<&[String]>) -> Value {
    let Some(fields) = fields else {
        return item;
    };
    let Value::Object(map) = item else {
        return item;
    };
    let kept: Map<String, Value> = map
        .into_iter()
        .filter(|(k, _)| k == "_id" || fields.iter().any(|f| f == k))
        .collect();
    Value::Object(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(q: &str) -> Params {
        Params::parse(Some(q.to_owned()))
    }

    #[test]
    fn limits_are_capped_with_the_documented_error() {
        assert_eq!(params("").limit(ApiFamily::V1, 10).unwrap(), 10);
        assert_eq!(params("limit=100").limit(ApiFamily::V1, 10).unwrap(), 100);
        let err = params("limit=101").limit(ApiFamily::V1, 10).unwrap_err();
        assert_eq!(
            err.message(),
            "Bad Request: request parameter \"limit\" exceeds maximum value of 100"
        );
        assert!(params("skip=-1").skip(ApiFamily::V2).is_err());
    }

    #[test]
    fn v1_filters_and_or() {
        let p = params(
            "filter=email:$eq:a@x.com\
             &filter[or][0]=state:$eq:ACTIVATED&filter[or][1]=state:$eq:STAGED",
        );
        let f = p.v1_filter().unwrap();
        assert!(f.matches(&json!({"email": "a@x.com", "state": "STAGED"})));
        assert!(!f.matches(&json!({"email": "a@x.com", "state": "SUSPENDED"})));
        assert!(params("filter=email:eq:a").v1_filter().is_err());
    }

    #[test]
    fn search_bodies() {
        let e = Expr::parse(&json!([{"email": "a@x.com"}])).unwrap();
        assert!(e.matches(&json!({"email": "a@x.com"})));
        let e =
            Expr::parse(&json!({"or": [{"department": "IT"}, {"department": {"$eq": "Sales"}}]}))
                .unwrap();
        assert!(e.matches(&json!({"department": "Sales"})));
        assert!(!e.matches(&json!({"department": "HR"})));
        let e = Expr::parse(&json!("systemId:$eq:abc")).unwrap();
        assert!(e.matches(&json!({"systemId": "abc"})));
    }

    #[test]
    fn sorts_and_projects() {
        let mut items = vec![json!({"_id": "b", "n": 1}), json!({"_id": "a", "n": 1})];
        sort(&mut items, &[], "_id");
        assert_eq!(items[0]["_id"], "a");
        sort(
            &mut items,
            &[SortKey {
                field: "_id".into(),
                descending: true,
            }],
            "_id",
        );
        assert_eq!(items[0]["_id"], "b");
        let p = project(json!({"_id": "a", "n": 1, "m": 2}), Some(&["n".to_owned()]));
        assert_eq!(p, json!({"_id": "a", "n": 1}));
    }
}
