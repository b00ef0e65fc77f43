//! A BambooHR emulator: `GET /api/gateway.php/{companyDomain}/v1/employees/{id}?fields=…`
//! and the paged employee dataset `POST /api/gateway.php/{companyDomain}/v2/datasets/employee/data`,
//! HTTP Basic with the API key as user name (password ignored, "x" by convention), errors as a
//! bare status with an `X-BambooHR-Error-Message` header, and event-based webhooks signed with
//! `X-BambooHR-Signature` = hex HMAC-SHA256 over body ‖ `X-BambooHR-Timestamp`.
//!
//! As in BambooHR, `status` stays `Active` until a recorded termination date is reached, and an
//! empty date reads `0000-00-00`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use jiff::civil::Date;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::Sha256;

use crate::hr::directory::{DemoPeople, Directory, Employee, IdStyle};
use crate::hr::plumbing::{self, HrEmulator};

/// Header carrying the hex signature.
pub const SIGNATURE_HEADER: &str = "X-BambooHR-Signature";
/// Header carrying the signed timestamp (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "X-BambooHR-Timestamp";
/// Header BambooHR uses to explain an error status.
pub const ERROR_HEADER: &str = "X-BambooHR-Error-Message";
/// Largest dataset page BambooHR serves.
pub const MAX_PAGE_SIZE: usize = 1000;

/// The `X-BambooHR-Signature` value: lowercase hex HMAC-SHA256 keyed with the webhook's private
/// key over the raw body immediately followed by the timestamp header's text.
pub fn sign(private_key: &str, body: &[u8], timestamp: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(private_key.as_bytes()) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(body);
    mac.update(timestamp.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// How to start the emulator.
#[derive(Clone, Debug)]
pub struct BambooHrConfig {
    pub company_domain: String,
    pub api_key: String,
    /// The webhook's `privateKey`, which BambooHR shows once when the webhook is created.
    pub webhook_private_key: String,
    pub company_id: u64,
    pub seed: u64,
}

impl Default for BambooHrConfig {
    fn default() -> Self {
        Self {
            company_domain: "passagedemo".into(),
            api_key: "bhr-0f3c9a7e5d1b2c4a6e8f0a1b3c5d7e9f01234567".into(),
            webhook_private_key: "bhr-webhook-private-key-5e0d".into(),
            company_id: 148_227,
            seed: 0xBA4B,
        }
    }
}

#[derive(Clone)]
struct App {
    directory: Arc<Directory>,
    config: Arc<BambooHrConfig>,
}

/// A running emulator (see [`HrEmulator`]).
pub type BambooHrEmulator = HrEmulator<BambooHrConfig>;

impl BambooHrEmulator {
    /// Starts an empty emulator on a free loopback port.
    ///
    /// # Errors
    /// If no loopback port can be bound.
    pub async fn start(config: BambooHrConfig) -> std::io::Result<Self> {
        let seed = config.seed;
        HrEmulator::serve(config, IdStyle::Sequential(101), seed, error, (), |p| {
            let app = App {
                directory: p.directory,
                config: p.config,
            };
            Router::new()
                .route(
                    "/api/gateway.php/{company}/v1/employees/{id}",
                    get(get_employee),
                )
                .route(
                    "/api/gateway.php/{company}/v2/datasets/{dataset}/data",
                    post(dataset),
                )
                .layer(middleware::from_fn_with_state(
                    p.faults,
                    plumbing::fault_gate,
                ))
                .layer(middleware::from_fn_with_state(app.clone(), authenticate))
                .with_state(app)
        })
        .await
    }

    /// Starts an emulator seeded with the demo company (see [`seed_demo`]).
    ///
    /// # Errors
    /// If no loopback port can be bound.
    pub async fn start_demo() -> std::io::Result<(Self, DemoPeople)> {
        Ok(Self::start(BambooHrConfig::default()).await?.seeded())
    }

    /// The gateway base, e.g. `http://127.0.0.1:49152/api/gateway.php` (the company domain and
    /// `/v1/...` follow it, as on `api.bamboohr.com`).
    pub fn base_url(&self) -> String {
        format!("{}/api/gateway.php", self.origin)
    }

    pub fn company_domain(&self) -> &str {
        &self.config.company_domain
    }

    /// The API key the emulator accepts.
    pub fn api_key(&self) -> &str {
        &self.config.api_key
    }

    pub fn webhook_private_key(&self) -> &str {
        &self.config.webhook_private_key
    }

    /// The event-based webhook body BambooHR sends for `event` (e.g. `employee.updated`).
    pub fn webhook_body(&self, event: &str, employee_id: &str) -> Vec<u8> {
        let body = json!({
            "type": event,
            "timestamp": jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S+00:00").to_string(),
            "data": {
                "companyId": self.config.company_id,
                "employeeId": employee_id,
            },
        });
        body.to_string().into_bytes()
    }

    /// Sends a signed webhook for `employee_id` to `url`, timestamped now.
    ///
    /// # Errors
    /// If the receiver cannot be reached.
    pub async fn send_webhook(
        &self,
        url: &str,
        event: &str,
        employee_id: &str,
    ) -> reqwest::Result<reqwest::Response> {
        let body = self.webhook_body(event, employee_id);
        let timestamp = jiff::Timestamp::now().as_second().to_string();
        let signature = sign(&self.config.webhook_private_key, &body, &timestamp);
        plumbing::deliver(
            url,
            vec![(SIGNATURE_HEADER, signature), (TIMESTAMP_HEADER, timestamp)],
            body,
        )
        .await
    }
}

/// BambooHR answers errors with a status, an explanatory header and no body.
fn error_with(status: StatusCode, message: &str) -> Response {
    let mut response = status.into_response();
    if let Ok(v) = HeaderValue::from_str(message) {
        response.headers_mut().insert(ERROR_HEADER, v);
    }
    response
}

fn error(status: StatusCode) -> Response {
    let message = match status {
        StatusCode::TOO_MANY_REQUESTS => "Rate limit exceeded",
        StatusCode::SERVICE_UNAVAILABLE => "Service temporarily unavailable",
        _ => "Internal error",
    };
    error_with(status, message)
}

async fn authenticate(State(app): State<App>, req: Request, next: Next) -> Response {
    let ok = plumbing::basic_credentials(req.headers())
        .is_some_and(|(user, _)| plumbing::same(&user, &app.config.api_key));
    if !ok {
        let mut response = error_with(StatusCode::UNAUTHORIZED, "Invalid API key");
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"BambooHR API\""),
        );
        return response;
    }
    next.run(req).await
}

#[derive(Deserialize)]
struct FieldsQuery {
    fields: Option<String>,
    /// BambooHR's default (`true`) answers with today's values only: a future-dated
    /// termination stays hidden until its day.
    #[serde(rename = "onlyCurrent")]
    only_current: Option<String>,
}

async fn get_employee(
    State(app): State<App>,
    Path((company, id)): Path<(String, String)>,
    Query(query): Query<FieldsQuery>,
) -> Response {
    if company != app.config.company_domain {
        return error_with(StatusCode::NOT_FOUND, "Unknown company");
    }
    let Some(employee) = app.directory.get(&id) else {
        return error_with(StatusCode::NOT_FOUND, "Employee not found");
    };
    let requested = query
        .fields
        .unwrap_or_else(|| "firstName,lastName".to_owned());
    let only_current = query
        .only_current
        .is_none_or(|v| !v.eq_ignore_ascii_case("false") && v != "0");
    let mut out = Map::new();
    out.insert("id".into(), json!(employee.id));
    for field in requested
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
    {
        let mut value = employee_field(&app.directory, &employee, field);
        if field == "terminationDate"
            && only_current
            && employee
                .termination_date()
                .is_some_and(|d| d > plumbing::today())
        {
            value = date_or_zero(None);
        }
        out.insert(field.to_owned(), value);
    }
    Json(Value::Object(out)).into_response()
}

fn date_or_zero(date: Option<Date>) -> Value {
    json!(date.map_or_else(|| "0000-00-00".to_owned(), |d| d.to_string()))
}

/// One field of `GET /v1/employees/{id}`; unknown fields come back `null`, as BambooHR does
/// for fields the key may not see.
fn employee_field(dir: &Directory, e: &Employee, field: &str) -> Value {
    let manager = || e.manager_id.as_deref().and_then(|m| dir.get(m));
    match field {
        "firstName" => json!(e.first_name),
        "lastName" => json!(e.last_name),
        "displayName" | "fullName1" => json!(e.display_name()),
        "workEmail" | "bestEmail" => json!(e.email),
        "status" => json!(if e.is_inactive_on(plumbing::today()) {
            "Inactive"
        } else {
            "Active"
        }),
        "terminationDate" => date_or_zero(e.termination_date()),
        "hireDate" => json!(e.hire_date.to_string()),
        "location" => json!(e.location),
        "supervisorEId" => json!(e.manager_id),
        "supervisorEmail" => json!(manager().map(|m| m.email)),
        "supervisor" => json!(manager().map(|m| format!("{}, {}", m.last_name, m.first_name))),
        _ => Value::Null,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DatasetRequest {
    fields: Vec<String>,
    filter: Option<String>,
    page: Option<usize>,
    page_size: Option<usize>,
}

const DATASET_FIELDS: &[&str] = &[
    "eeid",
    "firstName",
    "lastName",
    "email",
    "status",
    "terminationDate",
    "hireDate",
    "location",
    "supervisorEid",
];

fn dataset_field(e: &Employee, field: &str) -> Value {
    match field {
        "eeid" => json!(e.id),
        "firstName" => json!(e.first_name),
        "lastName" => json!(e.last_name),
        "email" => json!(e.email),
        "status" => json!(if e.is_inactive_on(plumbing::today()) {
            "Inactive"
        } else {
            "Active"
        }),
        "terminationDate" => json!(e.termination_date().map(|d| d.to_string())),
        "hireDate" => json!(e.hire_date.to_string()),
        "location" => json!(e.location),
        "supervisorEid" => json!(e.manager_id),
        _ => Value::Null,
    }
}

fn unprocessable(code: &str, message: String) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

/// A parsed `field op 'value'` filter (only single comparisons are supported here).
struct Filter {
    field: String,
    op: String,
    value: String,
}

fn parse_filter(text: &str) -> Option<Filter> {
    let mut parts = text.trim().splitn(3, ' ');
    let field = parts.next()?.to_owned();
    let op = parts.next()?.to_owned();
    let value = parts.next()?.trim();
    let value = value.strip_prefix('\'')?.strip_suffix('\'')?.to_owned();
    ["eq", "ne", "lt", "le", "gt", "ge"]
        .contains(&op.as_str())
        .then_some(Filter { field, op, value })
}

fn matches(filter: &Filter, e: &Employee) -> bool {
    let actual = dataset_field(e, &filter.field);
    let Some(actual) = actual.as_str() else {
        // A null never satisfies a comparison.
        return false;
    };
    let ord = actual.cmp(filter.value.as_str());
    match filter.op.as_str() {
        "eq" => ord.is_eq(),
        "ne" => ord.is_ne(),
        "lt" => ord.is_lt(),
        "le" => ord.is_le(),
        "gt" => ord.is_gt(),
        _ => ord.is_ge(),
    }
}

async fn dataset(
    State(app): State<App>,
    Path((company, name)): Path<(String, String)>,
    body: Result<Json<DatasetRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if company != app.config.company_domain {
        return error_with(StatusCode::NOT_FOUND, "Unknown company");
    }
    if name != "employee" {
        return error_with(StatusCode::NOT_FOUND, "Unknown dataset");
    }
    let Ok(Json(request)) = body else {
        return error_with(StatusCode::BAD_REQUEST, "Malformed request body");
    };
    if let Some(bad) = request
        .fields
        .iter()
        .find(|f| !DATASET_FIELDS.contains(&f.as_str()))
    {
        return error_with(StatusCode::BAD_REQUEST, &format!("Unknown field: {bad}"));
    }
    let filter = match request.filter.as_deref() {
        None => None,
        Some(text) => match parse_filter(text) {
            Some(f) if DATASET_FIELDS.contains(&f.field.as_str()) => Some(f),
            _ => {
                return unprocessable("INVALID_FILTER", format!("Cannot parse filter `{text}`"));
            }
        },
    };
    let page_size = request.page_size.unwrap_or(500).clamp(1, MAX_PAGE_SIZE);
    let page = request.page.unwrap_or(1).max(1);
    let rows: Vec<Employee> = app
        .directory
        .all()
        .into_iter()
        .filter(|e| filter.as_ref().is_none_or(|f| matches(f, e)))
        .collect();
    let total_items = rows.len();
    let total_pages = total_items.div_ceil(page_size).max(1);
    let data: Vec<Value> = rows
        .iter()
        .skip((page - 1) * page_size)
        .take(page_size)
        .map(|e| {
            let fields: BTreeMap<&str, Value> = request
                .fields
                .iter()
                .map(|f| (f.as_str(), dataset_field(e, f)))
                .collect();
            json!({ "fields": fields })
        })
        .collect();
    let url = format!("/api/gateway.php/{company}/v2/datasets/employee/data");
    let mut links = Map::new();
    if page < total_pages {
        links.insert("next".into(), json!(format!("{url}?page={}", page + 1)));
    }
    if page > 1 {
        links.insert("prev".into(), json!(format!("{url}?page={}", page - 1)));
    }
    Json(json!({
        "data": data,
        "links": links,
        "meta": {
            "page": page,
            "pageSize": page_size,
            "totalPages": total_pages,
            "totalItems": total_items,
        },
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_covers_body_then_timestamp() {
        let a = sign("k", b"{}", "1700000000");
        assert_eq!(a.len(), 64);
        assert_ne!(a, sign("k", b"{}", "1700000001"));
        assert_ne!(a, sign("k", b"{} ", "1700000000"));
    }

    #[test]
    fn filters_parse_single_comparisons() {
        let f = parse_filter("terminationDate ge '2026-01-01'").unwrap();
        assert_eq!((f.field.as_str(), f.op.as_str()), ("terminationDate", "ge"));
        assert!(parse_filter("terminationDate ge 2026").is_none());
        assert!(parse_filter("terminationDate like '2026'").is_none());
    }
}
