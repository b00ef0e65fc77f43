//! A Rippling emulator (platform API v1): `GET /platform/api/employees/{id}` and
//! `GET /platform/api/employees/include_terminated?limit=&offset=` (a bare JSON array per page),
//! authenticated with `Authorization: Bearer <API token>`. An employee carries `workEmail`,
//! `roleState` (`ACTIVE`, `TERMINATED`), `endDate` and `manager` (the manager's id).
//!
//! Rippling does not sign webhooks: a partner webhook is a form-encoded POST naming the employee
//! (`id`, `company_id`, `event_type`) with, optionally, a static `Authorization: Bearer` token
//! configured by the partner.

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::hr::directory::{DemoPeople, Directory, Employee, IdStyle};
use crate::hr::plumbing::{self, HrEmulator};

/// Largest page Rippling serves.
pub const MAX_LIMIT: usize = 100;

/// How to start the emulator.
#[derive(Clone, Debug)]
pub struct RipplingConfig {
    pub api_token: String,
    /// The static bearer token sent with webhooks (Rippling supports no signature).
    pub webhook_token: String,
    pub company_id: String,
    pub seed: u64,
}

impl Default for RipplingConfig {
    fn default() -> Self {
        Self {
            api_token: "rippling-api-token-7e2d9b4f1a6c3e8d".into(),
            webhook_token: "rippling-webhook-bearer-5c1a".into(),
            company_id: "5f3e8a1c9b2d4e6f7a8b9c0d".into(),
            seed: 0x2199,
        }
    }
}

#[derive(Clone)]
struct App {
    directory: Arc<Directory>,
    config: Arc<RipplingConfig>,
}

/// A running emulator (see [`HrEmulator`]).
pub type RipplingEmulator = HrEmulator<RipplingConfig>;

impl RipplingEmulator {
    /// Starts an empty emulator on a free loopback port.
    ///
    /// # Errors
    /// If no loopback port can be bound.
    pub async fn start(config: RipplingConfig) -> std::io::Result<Self> {
        let seed = config.seed;
        HrEmulator::serve(config, IdStyle::LongNumeric, seed, error, (), |p| {
            let app = App {
                directory: p.directory,
                config: p.config,
            };
            Router::new()
                .route(
                    "/platform/api/employees/include_terminated",
                    get(include_terminated),
                )
                .route("/platform/api/employees/{id}", get(employee))
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
        Ok(Self::start(RipplingConfig::default()).await?.seeded())
    }

    /// The API origin (stands in for `https://api.rippling.com`).
    pub fn base_url(&self) -> &str {
        &self.origin
    }

    pub fn api_token(&self) -> &str {
        &self.config.api_token
    }

    pub fn webhook_token(&self) -> &str {
        &self.config.webhook_token
    }

    /// The form-encoded webhook body for `event` (e.g. `employee.deleted`) about `employee_id`.
    pub fn webhook_body(&self, event: &str, employee_id: &str) -> Vec<u8> {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("id", employee_id)
            .append_pair("company_id", &self.config.company_id)
            .append_pair("event_type", event)
            .finish()
            .into_bytes()
    }

    /// Sends a webhook about `employee_id` to `url` with the static bearer token.
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
        plumbing::deliver(
            url,
            vec![
                ("Content-Type", "application/x-www-form-urlencoded".into()),
                (
                    "Authorization",
                    format!("Bearer {}", self.config.webhook_token),
                ),
            ],
            body,
        )
        .await
    }
}

fn detail(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "detail": message }))).into_response()
}

fn error(status: StatusCode) -> Response {
    match status {
        StatusCode::TOO_MANY_REQUESTS => detail(status, "Request was throttled."),
        _ => detail(status, "Internal server error."),
    }
}

async fn authenticate(State(app): State<App>, req: Request, next: Next) -> Response {
    let ok = plumbing::bearer_token(req.headers())
        .is_some_and(|t| plumbing::same(&t, &app.config.api_token));
    if !ok {
        return detail(StatusCode::UNAUTHORIZED, "Invalid token.");
    }
    next.run(req).await
}

fn render(e: &Employee) -> Value {
    json!({
        "id": e.id,
        "name": e.display_name(),
        "firstName": e.first_name,
        "lastName": e.last_name,
        "workEmail": e.email,
        "personalEmail": null,
        "roleState": if e.is_inactive_on(plumbing::today()) { "TERMINATED" } else { "ACTIVE" },
        "startDate": e.hire_date.to_string(),
        "endDate": e.termination_date().map(|d| d.to_string()),
        "manager": e.manager_id,
        "department": null,
        "title": null,
        "employmentType": "SALARIED_FT",
    })
}

async fn employee(State(app): State<App>, Path(id): Path<String>) -> Response {
    match app.directory.get(&id) {
        Some(e) => Json(render(&e)).into_response(),
        None => detail(StatusCode::NOT_FOUND, "Not found."),
    }
}

#[derive(Deserialize)]
struct Page {
    limit: Option<usize>,
    offset: Option<usize>,
}

async fn include_terminated(State(app): State<App>, Query(page): Query<Page>) -> Response {
    let limit = page.limit.unwrap_or(MAX_LIMIT).clamp(1, MAX_LIMIT);
    let offset = page.offset.unwrap_or(0);
    let rows: Vec<Value> = app
        .directory
        .all()
        .iter()
        .skip(offset)
        .take(limit)
        .map(render)
        .collect();
    Json(rows).into_response()
}
