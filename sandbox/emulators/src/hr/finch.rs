//! A Finch emulator (unified employment API, version `2020-09-17`): `GET /employer/directory`
//! (`limit`/`offset`, `paging: {count, offset}`), and the batch reads
//! `POST /employer/individual` and `POST /employer/employment` (`{"requests": [{"individual_id"}]}`
//! → `{"responses": [{"individual_id", "code", "body"}]}`, a missing person answering a per-item
//! 404), authenticated with `Authorization: Bearer <access token>` and a `Finch-API-Version`
//! header.
//!
//! Webhooks follow Finch's Standard-Webhooks layout: `finch-event-id`, `finch-timestamp`, and
//! `finch-signature: v1,<base64 HMAC-SHA256>` over `{id}.{timestamp}.{body}`, keyed with the
//! base64-decoded webhook secret (`whsec_` prefix removed).

use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::hr::directory::{DemoPeople, Directory, Employee, IdStyle};
use crate::hr::plumbing::{self, HrEmulator};

pub const EVENT_ID_HEADER: &str = "finch-event-id";
pub const TIMESTAMP_HEADER: &str = "finch-timestamp";
pub const SIGNATURE_HEADER: &str = "finch-signature";
/// The API version the emulator serves.
pub const API_VERSION: &str = "2020-09-17";

/// Why a webhook secret cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the Finch webhook secret is not base64 (after an optional `whsec_` prefix)")]
pub struct BadSecret;

/// The `finch-signature` value: `v1,` + base64 HMAC-SHA256 over `{id}.{timestamp}.{body}`,
/// keyed with the base64-decoded secret.
///
/// # Errors
/// If the secret is not base64.
pub fn sign(
    secret: &str,
    event_id: &str,
    timestamp: &str,
    body: &[u8],
) -> Result<String, BadSecret> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| BadSecret)?;
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(event_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// How to start the emulator.
#[derive(Clone, Debug)]
pub struct FinchConfig {
    pub access_token: String,
    /// `whsec_` + base64 of the key bytes.
    pub webhook_secret: String,
    pub company_id: String,
    pub connection_id: String,
    pub seed: u64,
}

impl Default for FinchConfig {
    fn default() -> Self {
        Self {
            access_token: "finch-at-0c7e3a9b1d5f4e2a8c6b".into(),
            webhook_secret: "whsec_cGFzc2FnZS1maW5jaC1kZW1vLXNlY3JldC0wMQ==".into(),
            company_id: "514aa2b7-898f-4ce7-bc05-c2fe993713e0".into(),
            connection_id: "e3b0c442-98fc-4c14-9afb-f4c8996fb924".into(),
            seed: 0xF1C4,
        }
    }
}

#[derive(Clone)]
struct App {
    directory: Arc<Directory>,
    config: Arc<FinchConfig>,
}

/// A running emulator (see [`HrEmulator`]).
pub type FinchEmulator = HrEmulator<FinchConfig>;

impl FinchEmulator {
    /// Starts an empty emulator on a free loopback port.
    ///
    /// # Errors
    /// If no loopback port can be bound.
    pub async fn start(config: FinchConfig) -> std::io::Result<Self> {
        let seed = config.seed;
        HrEmulator::serve(config, IdStyle::Uuid, seed, error, (), |p| {
            let app = App {
                directory: p.directory,
                config: p.config,
            };
            Router::new()
                .route("/employer/directory", get(list_directory))
                .route("/employer/individual", post(individuals))
                .route("/employer/employment", post(employments))
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
        Ok(Self::start(FinchConfig::default()).await?.seeded())
    }

    /// The API origin (stands in for `https://api.tryfinch.com`).
    pub fn base_url(&self) -> &str {
        &self.origin
    }

    pub fn access_token(&self) -> &str {
        &self.config.access_token
    }

    pub fn webhook_secret(&self) -> &str {
        &self.config.webhook_secret
    }

    /// The event body for `event` (e.g. `employment.updated`) about `individual_id`.
    pub fn webhook_body(&self, event: &str, individual_id: &str) -> Vec<u8> {
        json!({
            "company_id": self.config.company_id,
            "connection_id": self.config.connection_id,
            "account_id": self.config.connection_id,
            "event_type": event,
            "data": { "individual_id": individual_id },
        })
        .to_string()
        .into_bytes()
    }

    /// Sends a signed event about `individual_id` to `url`, with a fresh event id, now.
    ///
    /// # Errors
    /// If the receiver cannot be reached.
    ///
    /// # Panics
    /// If the configured webhook secret is not base64.
    pub async fn send_webhook(
        &self,
        url: &str,
        event: &str,
        individual_id: &str,
    ) -> reqwest::Result<reqwest::Response> {
        let body = self.webhook_body(event, individual_id);
        let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
        let timestamp = jiff::Timestamp::now().as_second().to_string();
        let signature = match sign(&self.config.webhook_secret, &id, &timestamp, &body) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        plumbing::deliver(
            url,
            vec![
                (EVENT_ID_HEADER, id),
                (TIMESTAMP_HEADER, timestamp),
                (SIGNATURE_HEADER, signature),
            ],
            body,
        )
        .await
    }
}

fn finch_error(status: StatusCode, name: &str, finch_code: &str, message: &str) -> Value {
    json!({
        "code": status.as_u16(),
        "name": name,
        "finch_code": finch_code,
        "message": message,
    })
}

fn error(status: StatusCode) -> Response {
    let body = match status {
        StatusCode::TOO_MANY_REQUESTS => finch_error(
            status,
            "rate_limit_error",
            "rate_limit_exceeded",
            "Too many requests",
        ),
        _ => finch_error(
            status,
            "server_error",
            "internal_error",
            "An unexpected error occurred",
        ),
    };
    (status, Json(body)).into_response()
}

async fn authenticate(State(app): State<App>, req: Request, next: Next) -> Response {
    let token_ok = plumbing::bearer_token(req.headers())
        .is_some_and(|t| plumbing::same(&t, &app.config.access_token));
    if !token_ok {
        let status = StatusCode::UNAUTHORIZED;
        return (
            status,
            Json(finch_error(
                status,
                "authentication_error",
                "invalid_access_token",
                "The access token is invalid",
            )),
        )
            .into_response();
    }
    if req.headers().get("finch-api-version").is_none() {
        let status = StatusCode::BAD_REQUEST;
        return (
            status,
            Json(finch_error(
                status,
                "invalid_request_error",
                "missing_api_version",
                "The Finch-API-Version header is required",
            )),
        )
            .into_response();
    }
    next.run(req).await
}

#[derive(Deserialize)]
struct Page {
    limit: Option<usize>,
    offset: Option<usize>,
}

async fn list_directory(State(app): State<App>, Query(page): Query<Page>) -> Response {
    let all = app.directory.all();
    let offset = page.offset.unwrap_or(0);
    let limit = page.limit.unwrap_or(all.len());
    let today = plumbing::today();
    let individuals: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(limit)
        .map(|e| {
            json!({
                "id": e.id,
                "first_name": e.first_name,
                "middle_name": null,
                "last_name": e.last_name,
                "manager": e.manager_id.as_ref().map(|m| json!({ "id": m })),
                "department": null,
                "is_active": !e.is_inactive_on(today),
            })
        })
        .collect();
    Json(json!({
        "paging": { "count": all.len(), "offset": offset },
        "individuals": individuals,
    }))
    .into_response()
}

#[derive(Deserialize)]
struct Batch {
    requests: Vec<BatchItem>,
}

#[derive(Deserialize)]
struct BatchItem {
    individual_id: String,
}

fn batch(app: &App, body: Batch, render: fn(&Employee) -> Value) -> Response {
    let responses: Vec<Value> = body
        .requests
        .iter()
        .map(|r| match app.directory.get(&r.individual_id) {
            Some(e) => json!({ "individual_id": r.individual_id, "code": 200, "body": render(&e) }),
            None => json!({
                "individual_id": r.individual_id,
                "code": 404,
                "body": finch_error(StatusCode::NOT_FOUND, "not_found_error", "individual_not_found", "Individual not found"),
            }),
        })
        .collect();
    Json(json!({ "responses": responses })).into_response()
}

fn render_individual(e: &Employee) -> Value {
    json!({
        "id": e.id,
        "first_name": e.first_name,
        "middle_name": null,
        "last_name": e.last_name,
        "preferred_name": null,
        "emails": [{ "data": e.email, "type": "work" }],
        "phone_numbers": [],
    })
}

fn render_employment(e: &Employee) -> Value {
    let today = plumbing::today();
    json!({
        "id": e.id,
        "first_name": e.first_name,
        "last_name": e.last_name,
        "title": null,
        "manager": e.manager_id.as_ref().map(|m| json!({ "id": m })),
        "department": null,
        "is_active": !e.is_inactive_on(today),
        "start_date": e.hire_date.to_string(),
        "end_date": e.termination_date().map(|d| d.to_string()),
        "location": e.location.as_ref().map(|l| json!({
            "line1": null, "line2": null, "city": l, "state": null,
            "postal_code": null, "country": null, "name": l,
        })),
        "employment": { "type": "employee", "subtype": "full_time" },
    })
}

async fn individuals(
    State(app): State<App>,
    body: Result<Json<Batch>, axum::extract::rejection::JsonRejection>,
) -> Response {
    match body {
        Ok(Json(b)) => batch(&app, b, render_individual),
        Err(_) => bad_batch(),
    }
}

async fn employments(
    State(app): State<App>,
    body: Result<Json<Batch>, axum::extract::rejection::JsonRejection>,
) -> Response {
    match body {
        Ok(Json(b)) => batch(&app, b, render_employment),
        Err(_) => bad_batch(),
    }
}

fn bad_batch() -> Response {
    let status = StatusCode::BAD_REQUEST;
    (
        status,
        Json(finch_error(
            status,
            "invalid_request_error",
            "invalid_body",
            "Expected {\"requests\": [{\"individual_id\": ...}]}",
        )),
    )
        .into_response()
}
