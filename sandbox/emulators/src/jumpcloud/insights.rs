//! Directory Insights: `POST /insights/directory/v1/events` over the audit
//! trail (served on the emulator's origin; production uses
//! `api.jumpcloud.com`).
//!
//! Follows the Directory Insights spec: `service` and `start_time` are
//! required; `end_time`, `sort` (`ASC` default, case-insensitive, anything
//! else silently ASC), `limit` (default 1000, at most 10000, nonsensical
//! values fall back to the default), `skip`, `fields` (projection; empty or
//! no known field is a 400), `search_term` (`and`/`or`/`not` lists of
//! `{field: value | [values]}` terms, nestable, dot paths, case-insensitive
//! because values are stored lowercased), `q` (full text) and
//! `search_after`. Responses carry `X-Result-Count`, `X-Limit`, `X-Sort`,
//! `X-Search_after` (always, a JSON array) and `X-Request-Id`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::jumpcloud::audit::AuditEvent;
use crate::jumpcloud::errors::{ApiFamily, JcError};
use crate::jumpcloud::gate::Caller;
use crate::jumpcloud::query::{lookup, scalar_text};
use crate::jumpcloud::service::{AppState, json_body};

const F: ApiFamily = ApiFamily::Insights;

/// Valid `service` values (`EventServiceTimeQuery.service`).
pub const SERVICES: &[&str] = &[
    "alerts",
    "all",
    "directory",
    "ldap",
    "mdm",
    "notifications",
    "object_storage",
    "password_manager",
    "radius",
    "reports",
    "saas_app_management",
    "software",
    "sso",
    "systems",
    "access_management",
    "asset_management",
];

/// Default and maximum rows per page.
pub const DEFAULT_LIMIT: usize = 1000;
const MAX_LIMIT: usize = 10_000;

pub(crate) fn routes() -> axum::Router<AppState> {
    Router::new().route("/insights/directory/v1/events", post(events))
}

struct EventQuery {
    services: Vec<String>,
    start: Timestamp,
    end: Option<Timestamp>,
    descending: bool,
    limit: usize,
    skip: usize,
    fields: Option<Vec<String>>,
    search: Option<Term>,
    text: Option<String>,
    after: Option<(i64, String)>,
}

/// A `search_term` tree.
enum Term {
    And(Vec<Term>),
    Or(Vec<Term>),
    Not(Vec<Term>),
    Field(String, Vec<String>),
}

impl Term {
    fn parse(value: &Value) -> Result<Self, JcError> {
        let Value::Object(map) = value else {
            return Err(JcError::bad_request(F, "search_term must be an object"));
        };
        let mut parts = Vec::new();
        for (key, inner) in map {
            let list = || match inner {
                Value::Array(items) => items.iter().map(Self::parse).collect::<Result<Vec<_>, _>>(),
                other => Ok(vec![Self::parse(other)?]),
            };
            parts.push(match key.as_str() {
                "and" => Self::And(list()?),
                "or" => Self::Or(list()?),
                "not" => Self::Not(list()?),
                field => {
                    if matches!(field, "changes" | "useragent" | "system_timestamp") {
                        return Err(JcError::bad_request(
                            F,
                            format!("field {field} is not searchable"),
                        ));
                    }
                    let values = match inner {
                        Value::Array(items) => items.iter().map(scalar_text).collect(),
                        other => vec![scalar_text(other)],
                    };
                    Self::Field(field.to_owned(), values)
                }
            });
        }
        Ok(Self::And(parts))
    }

    fn matches(&self, event: &Value) -> bool {
        match self {
            Self::And(parts) => parts.iter().all(|p| p.matches(event)),
            Self::Or(parts) => parts.iter().any(|p| p.matches(event)),
            Self::Not(parts) => !parts.iter().any(|p| p.matches(event)),
            Self::Field(field, values) => lookup(event, field).is_some_and(|v| {
                let actual = scalar_text(v).to_lowercase();
                values.iter().any(|want| want.to_lowercase() == actual)
            }),
        }
    }
}

fn parse_time(value: Option<&Value>, name: &str) -> Result<Option<Timestamp>, JcError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s.parse::<Timestamp>().map(Some).map_err(|_| {
            JcError::bad_request(
                F,
                format!("{name} must be an RFC 3339 date, e.g. 2020-01-01T14:00:00Z"),
            )
        }),
        Some(_) => Err(JcError::bad_request(F, format!("{name} must be a string"))),
    }
}

impl EventQuery {
    fn parse(body: &Value) -> Result<Self, JcError> {
        let Value::Object(body) = body else {
            return Err(JcError::bad_request(
                F,
                "request body must be a JSON object",
            ));
        };
        let services: Vec<String> = match body.get("service") {
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| JcError::bad_request(F, "service must be a list of strings"))?,
            _ => return Err(JcError::bad_request(F, "service is required")),
        };
        if let Some(bad) = services.iter().find(|s| !SERVICES.contains(&s.as_str())) {
            return Err(JcError::bad_request(
                F,
                format!(
                    "invalid service \"{bad}\"; supported values are: {}",
                    SERVICES.join(", ")
                ),
            ));
        }
        let start = parse_time(body.get("start_time"), "start_time")?
            .ok_or_else(|| JcError::bad_request(F, "start_time is required"))?;
        if start > Timestamp::now() {
            return Err(JcError::bad_request(
                F,
                "start_time must not be in the future",
            ));
        }
        let end = parse_time(body.get("end_time"), "end_time")?;
        if end.is_some_and(|e| e < start) {
            return Err(JcError::bad_request(F, "end_time must be after start_time"));
        }
        let descending = body
            .get("sort")
            .and_then(Value::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case("DESC"));
        let limit = body
            .get("limit")
            .and_then(Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .unwrap_or(DEFAULT_LIMIT);
        let skip = body
            .get("skip")
            .and_then(Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0);
        let fields = match body.get("fields") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => {
                let fields: Vec<String> = items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                if fields.is_empty() {
                    return Err(JcError::bad_request(
                        F,
                        "fields must name at least one field",
                    ));
                }
                Some(fields)
            }
            Some(_) => return Err(JcError::bad_request(F, "fields must be a list")),
        };
        let search = body.get("search_term").map(Term::parse).transpose()?;
        let text = body
            .get("q")
            .and_then(Value::as_str)
            .filter(|q| !q.is_empty())
            .map(str::to_lowercase);
        let after = match body.get("search_after") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) if items.len() == 2 => {
                let ms = match &items[0] {
                    Value::Number(n) => n.as_i64(),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                };
                let id = items[1].as_str().map(str::to_owned);
                match (ms, id) {
                    (Some(ms), Some(id)) => Some((ms, id)),
                    _ => return Err(JcError::bad_request(F, "invalid search_after")),
                }
            }
            Some(_) => return Err(JcError::bad_request(F, "invalid search_after")),
        };
        Ok(Self {
            services,
            start,
            end,
            descending,
            limit,
            skip,
            fields,
            search,
            text,
            after,
        })
    }

    fn selects(&self, e: &AuditEvent) -> bool {
        let ms = e.epoch_ms;
        let in_service = self.services.iter().any(|s| s == "all" || *s == e.service);
        let after = self.after.as_ref().is_none_or(|(a_ms, a_id)| {
            let key = (ms, e.id.as_str());
            let cursor = (*a_ms, a_id.as_str());
            if self.descending {
                key < cursor
            } else {
                key > cursor
            }
        });
        in_service
            && ms >= self.start.as_millisecond()
            && self.end.is_none_or(|end| ms <= end.as_millisecond())
            && after
            && self.search.as_ref().is_none_or(|t| t.matches(&e.body))
            && self
                .text
                .as_ref()
                .is_none_or(|q| e.body.to_string().to_lowercase().contains(q))
    }
}

async fn events(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Response, JcError> {
    let query = EventQuery::parse(&json_body(F, &body)?)?;
    let now = app.shared.knobs.timeline().now();
    let state = app.tenant();
    let mut selected: Vec<&AuditEvent> = state
        .events
        .iter()
        .filter(|e| e.visible_from.is_none_or(|v| v <= now))
        .filter(|e| caller.org_ids.contains(&e.org_id) && query.selects(e))
        .collect();
    selected.sort_by(|a, b| (a.epoch_ms, &a.id).cmp(&(b.epoch_ms, &b.id)));
    if query.descending {
        selected.reverse();
    }
    let page: Vec<&AuditEvent> = selected
        .into_iter()
        .skip(query.skip)
        .take(query.limit)
        .collect();
    if let Some(fields) = &query.fields
        && page
            .first()
            .is_some_and(|e| fields.iter().all(|f| lookup(&e.body, f).is_none()))
    {
        return Err(JcError::bad_request(F, "fields names no known field"));
    }
    let search_after = page.last().map_or_else(
        || match &query.after {
            Some((ms, id)) => json!([ms, id]),
            None => json!([]),
        },
        |e| json!([e.epoch_ms, e.id]),
    );
    let rows: Vec<Value> = page
        .iter()
        .map(|e| match &query.fields {
            None => e.body.clone(),
            Some(fields) => {
                let mut row = Map::new();
                for f in fields {
                    if let Some(v) = lookup(&e.body, f) {
                        row.insert(f.clone(), v.clone());
                    }
                }
                Value::Object(row)
            }
        })
        .collect();
    let count = rows.len();
    drop(state);
    let mut response = Json(rows).into_response();
    let headers = response.headers_mut();
    headers.insert("x-result-count", HeaderValue::from(count));
    headers.insert("x-limit", HeaderValue::from(query.limit));
    headers.insert(
        "x-sort",
        HeaderValue::from_static(if query.descending { "DESC" } else { "ASC" }),
    );
    if let Ok(v) = HeaderValue::from_str(&search_after.to_string()) {
        headers.insert("x-search_after", v);
    }
    if let Ok(v) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-request-id", v);
    }
    Ok(response)
}
