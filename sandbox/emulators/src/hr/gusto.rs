//! A Gusto emulator: `GET /v1/employees/{employee_uuid}`,
//! `GET /v1/employees/{employee_uuid}/terminations` and
//! `GET /v1/companies/{company_uuid}/employees?terminated=true&page=&per=` (page-numbered, with
//! `X-Total-Count`/`X-Total-Pages` headers), authenticated with `Authorization: Bearer <token>`.
//! Errors use Gusto's `{"errors": [{"error_key", "category", "message"}]}` body.
//!
//! A termination's `effective_date` is the employee's last day of work; `terminated` turns true
//! once it has passed. Webhooks carry `X-Gusto-Signature` = hex HMAC-SHA256 over the raw body,
//! keyed with the subscription's `verification_token`.
//!
//! Webhook subscriptions go through Gusto's handshake: a new subscription gets its own
//! `verification_token`, posted unsigned to the subscription's URL as
//! `{"verification_token": "..."}`; `PUT /v1/webhook_subscriptions/{uuid}/verify` with that
//! token (and the organisation's system token) verifies the subscription, and only a verified
//! subscription is sent events, signed with its token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::common::lock;
use crate::hr::directory::{DemoPeople, Directory, Employee, IdStyle};
use crate::hr::plumbing::{self, HrEmulator};

/// Header carrying the hex signature.
pub const SIGNATURE_HEADER: &str = "X-Gusto-Signature";
/// Largest page Gusto serves.
pub const MAX_PER: usize = 100;

/// The `X-Gusto-Signature` value: lowercase hex HMAC-SHA256 keyed with the verification token
/// over the raw body.
pub fn sign(verification_token: &str, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(verification_token.as_bytes()) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// How to start the emulator.
#[derive(Clone, Debug)]
pub struct GustoConfig {
    pub access_token: String,
    pub company_uuid: String,
    pub verification_token: String,
    /// The organisation-level token webhook subscriptions are managed with.
    pub system_token: String,
    pub seed: u64,
}

impl Default for GustoConfig {
    fn default() -> Self {
        Self {
            access_token: "gusto-at-4f2c8e1a6b9d3f5e7a0c2e4b".into(),
            company_uuid: "c5f3a1e2-7b44-4d0e-9f3a-2a6c1d8e0b57".into(),
            verification_token: "gusto-verification-token-9b1e".into(),
            system_token: "gusto-system-token-5d0a7c3e9f1b".into(),
            seed: 0x6057,
        }
    }
}

/// One webhook subscription and where its handshake stands.
#[derive(Clone, Debug)]
pub struct Subscription {
    url: String,
    token: String,
    verified: bool,
}

/// The emulator's webhook subscriptions by uuid.
pub type Subscriptions = Arc<Mutex<HashMap<String, Subscription>>>;

#[derive(Clone)]
struct App {
    directory: Arc<Directory>,
    config: Arc<GustoConfig>,
    subscriptions: Subscriptions,
}

/// A running emulator (see [`HrEmulator`]); it also keeps its webhook subscriptions.
pub type GustoEmulator = HrEmulator<GustoConfig, Subscriptions>;

impl GustoEmulator {
    /// Starts an empty emulator on a free loopback port.
    ///
    /// # Errors
    /// If no loopback port can be bound.
    pub async fn start(config: GustoConfig) -> std::io::Result<Self> {
        let seed = config.seed;
        HrEmulator::serve(
            config,
            IdStyle::Uuid,
            seed,
            error,
            Subscriptions::default(),
            |p| {
                let app = App {
                    directory: p.directory,
                    config: p.config,
                    subscriptions: p.extra,
                };
                let company_api = Router::new()
                    .route("/v1/employees/{uuid}", get(employee))
                    .route("/v1/employees/{uuid}/terminations", get(terminations))
                    .route("/v1/companies/{company}/employees", get(company_employees))
                    .layer(middleware::from_fn_with_state(app.clone(), authenticate));
                Router::new()
                    .route(
                        "/v1/webhook_subscriptions/{uuid}/verify",
                        put(verify_subscription),
                    )
                    .merge(company_api)
                    .layer(middleware::from_fn_with_state(
                        p.faults,
                        plumbing::fault_gate,
                    ))
                    .with_state(app)
            },
        )
        .await
    }

    /// Starts an emulator seeded with the demo company.
    ///
    /// # Errors
    /// If no loopback port can be bound.
    pub async fn start_demo() -> std::io::Result<(Self, DemoPeople)> {
        Ok(Self::start(GustoConfig::default()).await?.seeded())
    }

    /// The API origin (stands in for `https://api.gusto.com`).
    pub fn base_url(&self) -> &str {
        &self.origin
    }

    pub fn access_token(&self) -> &str {
        &self.config.access_token
    }

    pub fn company_uuid(&self) -> &str {
        &self.config.company_uuid
    }

    pub fn verification_token(&self) -> &str {
        &self.config.verification_token
    }

    /// The event body for `event` (e.g. `employee.terminated`) about `employee_uuid`.
    pub fn webhook_body(&self, event: &str, employee_uuid: &str) -> Vec<u8> {
        json!({
            "uuid": uuid::Uuid::new_v4().to_string(),
            "event_type": event,
            "resource_type": "Company",
            "resource_uuid": self.config.company_uuid,
            "entity_type": "Employee",
            "entity_uuid": employee_uuid,
            "timestamp": jiff::Timestamp::now().as_second(),
        })
        .to_string()
        .into_bytes()
    }

    /// Sends a signed event about `employee_uuid` to `url`.
    ///
    /// # Errors
    /// If the receiver cannot be reached.
    pub async fn send_webhook(
        &self,
        url: &str,
        event: &str,
        employee_uuid: &str,
    ) -> reqwest::Result<reqwest::Response> {
        let body = self.webhook_body(event, employee_uuid);
        let signature = sign(&self.config.verification_token, &body);
        plumbing::deliver(url, vec![(SIGNATURE_HEADER, signature)], body).await
    }

    pub fn system_token(&self) -> &str {
        &self.config.system_token
    }

    /// Registers a webhook subscription for `url` with a fresh verification token (as
    /// `POST /v1/webhook_subscriptions` does); the handshake is sent separately.
    pub fn create_subscription(&self, url: &str) -> String {
        let uuid = uuid::Uuid::new_v4().to_string();
        let token = uuid::Uuid::new_v4().to_string();
        self.subs().insert(
            uuid.clone(),
            Subscription {
                url: url.to_owned(),
                token,
                verified: false,
            },
        );
        uuid
    }

    /// Points a subscription at another URL (`PUT /v1/webhook_subscriptions/{uuid}`).
    pub fn update_subscription_url(&self, uuid: &str, url: &str) {
        if let Some(sub) = self.subs().get_mut(uuid) {
            sub.url = url.to_owned();
        }
    }

    /// Posts the subscription's verification token to its URL, unsigned, as Gusto does after
    /// creating it (and on `request_verification_token`).
    ///
    /// # Panics
    /// If there is no such subscription.
    ///
    /// # Errors
    /// If the receiver cannot be reached.
    pub async fn send_verification_token(&self, uuid: &str) -> reqwest::Result<reqwest::Response> {
        let sub = self
            .subs()
            .get(uuid)
            .cloned()
            .expect("a known subscription");
        let body = json!({"verification_token": sub.token})
            .to_string()
            .into_bytes();
        plumbing::deliver(&sub.url, Vec::new(), body).await
    }

    /// Whether the subscription has been verified.
    pub fn subscription_verified(&self, uuid: &str) -> bool {
        self.subs().get(uuid).is_some_and(|s| s.verified)
    }

    /// Sends a signed event about `employee_uuid` to a subscription, as Gusto does only once it
    /// is verified. `None` for an unverified subscription (nothing is sent).
    ///
    /// # Errors
    /// If the receiver cannot be reached.
    pub async fn send_subscription_event(
        &self,
        uuid: &str,
        event: &str,
        employee_uuid: &str,
    ) -> Option<reqwest::Result<reqwest::Response>> {
        let sub = self.subs().get(uuid).cloned().filter(|s| s.verified)?;
        let body = self.webhook_body(event, employee_uuid);
        let signature = sign(&sub.token, &body);
        Some(plumbing::deliver(&sub.url, vec![(SIGNATURE_HEADER, signature)], body).await)
    }

    fn subs(&self) -> std::sync::MutexGuard<'_, HashMap<String, Subscription>> {
        lock(&self.extra)
    }
}

fn errors(status: StatusCode, category: &str, message: &str) -> Response {
    (
        status,
        Json(json!({
            "errors": [{ "error_key": "base", "category": category, "message": message }],
        })),
    )
        .into_response()
}

fn error(status: StatusCode) -> Response {
    match status {
        StatusCode::TOO_MANY_REQUESTS => errors(status, "rate_limit_exceeded", "Too many requests"),
        _ => errors(status, "internal_server_error", "Something went wrong"),
    }
}

async fn authenticate(State(app): State<App>, req: Request, next: Next) -> Response {
    let ok = plumbing::bearer_token(req.headers())
        .is_some_and(|t| plumbing::same(&t, &app.config.access_token));
    if !ok {
        return errors(
            StatusCode::UNAUTHORIZED,
            "invalid_authorization",
            "The access token is invalid or has expired",
        );
    }
    next.run(req).await
}

#[derive(Deserialize)]
struct VerifyBody {
    verification_token: Option<String>,
}

/// `PUT /v1/webhook_subscriptions/{uuid}/verify`: the organisation's system token, and the
/// token that was posted to the subscription's URL.
async fn verify_subscription(
    State(app): State<App>,
    Path(uuid): Path<String>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let authorised = plumbing::bearer_token(&headers)
        .is_some_and(|t| plumbing::same(&t, &app.config.system_token));
    if !authorised {
        return errors(
            StatusCode::UNAUTHORIZED,
            "invalid_authorization",
            "The system access token is invalid or has expired",
        );
    }
    let Ok(VerifyBody {
        verification_token: Some(token),
    }) = serde_json::from_slice::<VerifyBody>(&body)
    else {
        return errors(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_attribute_value",
            "verification_token is required",
        );
    };
    let mut subs = lock(&app.subscriptions);
    let Some(sub) = subs.get_mut(&uuid) else {
        return errors(
            StatusCode::NOT_FOUND,
            "not_found",
            "Webhook subscription not found",
        );
    };
    if !plumbing::same(&token, &sub.token) {
        return errors(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_attribute_value",
            "Verification token is invalid",
        );
    }
    sub.verified = true;
    Json(json!({
        "uuid": uuid,
        "url": sub.url,
        "status": "verified",
        "subscription_types": ["Employee"],
    }))
    .into_response()
}

fn render_termination(e: &Employee) -> Option<Value> {
    let t = e.termination.as_ref()?;
    let today = plumbing::today();
    Some(json!({
        "uuid": format!("{}-t", e.id),
        "version": "1",
        "employee_uuid": e.id,
        "active": t.date <= today,
        "cancelable": t.date > today,
        "effective_date": t.date.to_string(),
        "run_termination_payroll": false,
    }))
}

fn render(app: &App, e: &Employee) -> Value {
    json!({
        "uuid": e.id,
        "version": "1",
        "first_name": e.first_name,
        "last_name": e.last_name,
        "email": format!("personal.{}", e.email),
        "work_email": e.email,
        "company_uuid": app.config.company_uuid,
        "manager_uuid": e.manager_id,
        "department": null,
        "terminated": e.is_inactive_on(plumbing::today()),
        "onboarded": true,
        "terminations": render_termination(e).into_iter().collect::<Vec<_>>(),
        "jobs": [],
    })
}

async fn employee(State(app): State<App>, Path(uuid): Path<String>) -> Response {
    match app.directory.get(&uuid) {
        Some(e) => Json(render(&app, &e)).into_response(),
        None => errors(StatusCode::NOT_FOUND, "not_found", "Employee not found"),
    }
}

async fn terminations(State(app): State<App>, Path(uuid): Path<String>) -> Response {
    match app.directory.get(&uuid) {
        Some(e) => Json(render_termination(&e).into_iter().collect::<Vec<_>>()).into_response(),
        None => errors(StatusCode::NOT_FOUND, "not_found", "Employee not found"),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    terminated: Option<bool>,
    page: Option<usize>,
    per: Option<usize>,
}

async fn company_employees(
    State(app): State<App>,
    Path(company): Path<String>,
    Query(query): Query<ListQuery>,
) -> Response {
    if company != app.config.company_uuid {
        return errors(StatusCode::NOT_FOUND, "not_found", "Company not found");
    }
    let per = query.per.unwrap_or(25).clamp(1, MAX_PER);
    let page = query.page.unwrap_or(1).max(1);
    // `terminated=true` lists employees with a termination on record, scheduled or effective.
    let matching: Vec<Employee> = app
        .directory
        .all()
        .into_iter()
        .filter(|e| {
            query
                .terminated
                .is_none_or(|t| t == e.termination.is_some())
        })
        .collect();
    let body: Vec<Value> = matching
        .iter()
        .skip((page - 1) * per)
        .take(per)
        .map(|e| render(&app, e))
        .collect();
    let mut response = Json(body).into_response();
    let total_pages = matching.len().div_ceil(per).max(1);
    for (name, value) in [
        ("x-total-count", matching.len()),
        ("x-total-pages", total_pages),
        ("x-page", page),
        ("x-per-page", per),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
            response.headers_mut().insert(name, v);
        }
    }
    response
}
