//! A HiBob emulator: `POST /v1/people/{identifier}` (one employee by backend id or email) and
//! `POST /v1/people/search` (all matches in one response — HiBob does not paginate people reads;
//! inactive employees only with `showInactive: true`), HTTP Basic with the service user's id and
//! token, and v2 webhooks signed with `Bob-Signature` = base64 HMAC-SHA512 over the raw body.
//!
//! Employees come back in HiBob's nested machine format (`work.site`, `work.reportsTo`,
//! `internal.terminationDate`, `internal.status`, `internal.lifecycleStatus`). A termination
//! dated in the future leaves the employee `Active`/`employed` until the date is reached.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha512;

use crate::hr::directory::{DemoPeople, Directory, Employee, IdStyle};
use crate::hr::plumbing::{self, HrEmulator};

/// Header carrying the base64 signature.
pub const SIGNATURE_HEADER: &str = "Bob-Signature";

/// The `Bob-Signature` value: standard base64 of HMAC-SHA512 keyed with the webhook secret over
/// the raw request body.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha512>::new_from_slice(secret.as_bytes()) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// How to start the emulator.
#[derive(Clone, Debug)]
pub struct HiBobConfig {
    pub service_user_id: String,
    pub service_user_token: String,
    pub webhook_secret: String,
    pub company_id: u64,
    pub seed: u64,
}

impl Default for HiBobConfig {
    fn default() -> Self {
        Self {
            service_user_id: "SERVICE-20811".into(),
            service_user_token: "hb-tok-8a1f6c0e4b2d9a7c5e3f1b0d2a4c6e8f".into(),
            webhook_secret: "hb-webhook-secret-71c2".into(),
            company_id: 640_201,
            seed: 0xB0B,
        }
    }
}

#[derive(Clone)]
struct App {
    directory: Arc<Directory>,
    config: Arc<HiBobConfig>,
}

/// A running emulator (see [`HrEmulator`]).
pub type HiBobEmulator = HrEmulator<HiBobConfig>;

impl HiBobEmulator {
    /// Starts an empty emulator on a free loopback port.
    ///
    /// # Errors
    /// If no loopback port can be bound.
    pub async fn start(config: HiBobConfig) -> std::io::Result<Self> {
        let seed = config.seed;
        HrEmulator::serve(config, IdStyle::LongNumeric, seed, error, (), |p| {
            let app = App {
                directory: p.directory,
                config: p.config,
            };
            Router::new()
                .route("/v1/people/search", post(search))
                .route("/v1/people/{identifier}", post(read_one))
                .layer(middleware::from_fn_with_state(
                    p.faults,
                    plumbing::fault_gate,
                ))
                .layer(middleware::from_fn_with_state(app.clone(), authenticate))
                .with_state(app)
        })
        .await
    }

    /// Starts an emulator seeded with the demo company.
    ///
    /// # Errors
    /// If no loopback port can be bound.
    pub async fn start_demo() -> std::io::Result<(Self, DemoPeople)> {
        Ok(Self::start(HiBobConfig::default()).await?.seeded())
    }

    /// The API origin (stands in for `https://api.hibob.com`).
    pub fn base_url(&self) -> &str {
        &self.origin
    }

    pub fn service_user_id(&self) -> &str {
        &self.config.service_user_id
    }

    pub fn service_user_token(&self) -> &str {
        &self.config.service_user_token
    }

    pub fn webhook_secret(&self) -> &str {
        &self.config.webhook_secret
    }

    /// The v2 webhook body for `event` (e.g. `employee.left`, `employee.updated`).
    pub fn webhook_body(&self, event: &str, employee_id: &str) -> Vec<u8> {
        json!({
            "companyId": self.config.company_id,
            "type": event,
            "triggeredBy": self.config.service_user_id,
            "triggeredAt": jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.3f").to_string(),
            "version": "v2",
            "data": { "employeeId": employee_id },
        })
        .to_string()
        .into_bytes()
    }

    /// Sends a signed webhook for `employee_id` to `url`.
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
        let signature = sign(&self.config.webhook_secret, &body);
        plumbing::deliver(url, vec![(SIGNATURE_HEADER, signature)], body).await
    }
}

fn error_body(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({
            "key": status.canonical_reason().unwrap_or("error").to_ascii_lowercase().replace(' ', "_"),
            "error": message,
        })),
    )
        .into_response()
}

fn error(status: StatusCode) -> Response {
    let message = match status {
        StatusCode::TOO_MANY_REQUESTS => "Too many requests, please try again later",
        _ => "Something went wrong",
    };
    error_body(status, message)
}

async fn authenticate(State(app): State<App>, req: Request, next: Next) -> Response {
    let ok = plumbing::basic_credentials(req.headers()).is_some_and(|(user, token)| {
        plumbing::same(&user, &app.config.service_user_id)
            && plumbing::same(&token, &app.config.service_user_token)
    });
    if !ok {
        return error_body(
            StatusCode::UNAUTHORIZED,
            "Unauthorized: invalid service user credentials",
        );
    }
    next.run(req).await
}

/// The employee in HiBob's nested machine format.
fn render(dir: &Directory, e: &Employee) -> Value {
    let inactive = e.is_inactive_on(plumbing::today());
    let reports_to = e.manager_id.as_deref().and_then(|m| dir.get(m)).map(|m| {
        json!({
            "id": m.id,
            "email": m.email,
            "displayName": m.display_name(),
            "firstName": m.first_name,
            "surname": m.last_name,
        })
    });
    let site_id = e
        .location
        .as_ref()
        .map(|l| 100_000 + l.bytes().map(u64::from).sum::<u64>());
    json!({
        "id": e.id,
        "email": e.email,
        "firstName": e.first_name,
        "surname": e.last_name,
        "displayName": e.display_name(),
        "work": {
            "site": e.location,
            "siteId": site_id,
            "reportsTo": reports_to,
            "startDate": e.hire_date.to_string(),
        },
        "internal": {
            "status": if inactive { "Inactive" } else { "Active" },
            "lifecycleStatus": if inactive { "terminated" } else { "employed" },
            "terminationDate": e.termination_date().map(|d| d.to_string()),
        },
    })
}

/// The body of both people reads; `fields` and `humanReadable` are accepted and ignored (the
/// emulator always answers the machine format with every field it models).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ReadRequest {
    #[serde(default)]
    show_inactive: bool,
    #[serde(default)]
    filters: Vec<SearchFilter>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchFilter {
    field_path: String,
    operator: String,
    values: Vec<String>,
}

async fn read_one(State(app): State<App>, Path(identifier): Path<String>) -> Response {
    let found = if identifier.contains('@') {
        app.directory.by_email(&identifier)
    } else {
        app.directory.get(&identifier)
    };
    match found {
        Some(e) => Json(render(&app.directory, &e)).into_response(),
        None => error_body(
            StatusCode::NOT_FOUND,
            &format!("Employee {identifier} not found"),
        ),
    }
}

async fn search(
    State(app): State<App>,
    body: Result<Json<ReadRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(request)) = body else {
        return error_body(StatusCode::BAD_REQUEST, "Invalid request body");
    };
    if request.filters.len() > 1 {
        return error_body(StatusCode::BAD_REQUEST, "At most one filter is supported");
    }
    let filter = request.filters.first();
    if let Some(f) = filter
        && (f.operator != "equals" || !["root.id", "root.email"].contains(&f.field_path.as_str()))
    {
        return error_body(
            StatusCode::BAD_REQUEST,
            "Filters support root.id or root.email with operator equals",
        );
    }
    let today = plumbing::today();
    let employees: Vec<Value> = app
        .directory
        .all()
        .into_iter()
        .filter(|e| request.show_inactive || !e.is_inactive_on(today))
        .filter(|e| {
            filter.is_none_or(|f| {
                let value = if f.field_path == "root.id" {
                    &e.id
                } else {
                    &e.email
                };
                f.values.iter().any(|v| v.eq_ignore_ascii_case(value))
            })
        })
        .map(|e| render(&app.directory, &e))
        .collect();
    Json(json!({ "employees": employees })).into_response()
}
