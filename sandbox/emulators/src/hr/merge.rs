//! A Merge HRIS emulator: `GET /api/hris/v1/employees/{id}` and `GET /api/hris/v1/employees`
//! (cursor pagination: `{"next", "previous", "results"}` with opaque cursors passed back as
//! `cursor=`; filters `employment_status` and `modified_after`; `expand=manager,work_location`),
//! authenticated with `Authorization: Bearer <production API key>` plus
//! `X-Account-Token: <linked account token>`. Errors use Merge's `{"detail": …}` bodies.
//!
//! "Changed data" webhooks carry `hook`, `linked_account` and the employee model in `data`,
//! signed with `X-Merge-Webhook-Signature` = base64url HMAC-SHA256 over the raw body.

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::clock;
use crate::hr::directory::{DemoPeople, Directory, Employee, IdStyle};
use crate::hr::plumbing::{self, HrEmulator};

/// Header carrying the base64url signature.
pub const SIGNATURE_HEADER: &str = "X-Merge-Webhook-Signature";
/// Header naming the linked account on API calls.
pub const ACCOUNT_TOKEN_HEADER: &str = "X-Account-Token";
/// Default and largest page of the employee list.
pub const MAX_PAGE_SIZE: usize = 100;

/// The `X-Merge-Webhook-Signature` value: URL-safe base64 (padded) of HMAC-SHA256 keyed with
/// the organisation's webhook signature key over the raw body.
pub fn sign(signature_key: &str, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(signature_key.as_bytes()) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(body);
    URL_SAFE.encode(mac.finalize().into_bytes())
}

/// How to start the emulator.
#[derive(Clone, Debug)]
pub struct MergeConfig {
    pub api_key: String,
    pub account_token: String,
    pub webhook_signature_key: String,
    /// The upstream HR system the linked account mirrors.
    pub integration: String,
    pub seed: u64,
}

impl Default for MergeConfig {
    fn default() -> Self {
        Self {
            api_key: "merge-prod-key-2b7e1c9d4a6f8e0b3d5c7a9f".into(),
            account_token: "merge-acct-tok-6d0a8c2e4f1b3d5a".into(),
            webhook_signature_key: "merge-webhook-signature-key-a1c3".into(),
            integration: "BambooHR".into(),
            seed: 0x3E26,
        }
    }
}

#[derive(Clone)]
struct App {
    directory: Arc<Directory>,
    config: Arc<MergeConfig>,
}

/// A running emulator (see [`HrEmulator`]).
pub type MergeEmulator = HrEmulator<MergeConfig>;

impl MergeEmulator {
    /// Starts an empty emulator on a free loopback port.
    ///
    /// # Errors
    /// If no loopback port can be bound.
    pub async fn start(config: MergeConfig) -> std::io::Result<Self> {
        let seed = config.seed;
        HrEmulator::serve(config, IdStyle::Uuid, seed, error, (), |p| {
            let app = App {
                directory: p.directory,
                config: p.config,
            };
            Router::new()
                .route("/api/hris/v1/employees", get(list))
                .route("/api/hris/v1/employees/{id}", get(retrieve))
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
        Ok(Self::start(MergeConfig::default()).await?.seeded())
    }

    /// The API origin (stands in for `https://api.merge.dev`).
    pub fn base_url(&self) -> &str {
        &self.origin
    }

    pub fn api_key(&self) -> &str {
        &self.config.api_key
    }

    pub fn account_token(&self) -> &str {
        &self.config.account_token
    }

    pub fn webhook_signature_key(&self) -> &str {
        &self.config.webhook_signature_key
    }

    /// The webhook body for `event` (e.g. `Employee.changed`) carrying the employee model.
    pub fn webhook_body(&self, url: &str, event: &str, employee_id: &str) -> Vec<u8> {
        let data = self
            .directory
            .get(employee_id)
            .map_or(Value::Null, |e| render(&self.directory, &e, &[]));
        json!({
            "hook": {
                "id": pseudo_uuid(&format!("hook:{url}:{event}")),
                "event": event,
                "target": url,
            },
            "linked_account": {
                "id": pseudo_uuid(&format!("linked:{}", self.config.account_token)),
                "integration": self.config.integration,
                "integration_slug": self.config.integration.to_ascii_lowercase(),
                "category": "hris",
                "end_user_origin_id": "passage-demo",
                "end_user_organization_name": "Passage Demo Ltd",
                "end_user_email_address": "it@example.com",
                "status": "COMPLETE",
                "is_duplicate": false,
            },
            "data": data,
        })
        .to_string()
        .into_bytes()
    }

    /// Sends a signed webhook about `employee_id` to `url`.
    ///
    /// # Errors
    /// If the receiver cannot be reached.
    pub async fn send_webhook(
        &self,
        url: &str,
        event: &str,
        employee_id: &str,
    ) -> reqwest::Result<reqwest::Response> {
        let body = self.webhook_body(url, event, employee_id);
        let signature = sign(&self.config.webhook_signature_key, &body);
        plumbing::deliver(url, vec![(SIGNATURE_HEADER, signature)], body).await
    }
}

fn detail(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "detail": message }))).into_response()
}

fn error(status: StatusCode) -> Response {
    match status {
        StatusCode::TOO_MANY_REQUESTS => detail(
            status,
            "Request was throttled. Expected available in 1 second.",
        ),
        _ => detail(status, "A server error occurred."),
    }
}

async fn authenticate(State(app): State<App>, req: Request, next: Next) -> Response {
    let key_ok = plumbing::bearer_token(req.headers())
        .is_some_and(|k| plumbing::same(&k, &app.config.api_key));
    if !key_ok {
        return detail(StatusCode::UNAUTHORIZED, "Invalid API key.");
    }
    let account_ok = req
        .headers()
        .get(ACCOUNT_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| plumbing::same(t, &app.config.account_token));
    if !account_ok {
        return detail(StatusCode::UNAUTHORIZED, "Invalid account token.");
    }
    next.run(req).await
}

/// A stable UUID-shaped id derived from `seed` (locations and hooks have no state of their own).
fn pseudo_uuid(seed: &str) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

fn render_location(name: &str) -> Value {
    json!({
        "id": pseudo_uuid(&format!("location:{name}")),
        "remote_id": name.to_ascii_lowercase().replace(' ', "-"),
        "name": name,
        "phone_number": null,
        "street_1": null,
        "street_2": null,
        "city": name,
        "state": null,
        "zip_code": null,
        "country": null,
        "location_type": "WORK",
        "remote_was_deleted": false,
    })
}

/// The Employee common model; `expand` names the relations to inline.
fn render(dir: &Directory, e: &Employee, expand: &[&str]) -> Value {
    let today = plumbing::today();
    let manager = match (&e.manager_id, expand.contains(&"manager")) {
        (Some(m), true) => dir.get(m).map_or(Value::Null, |m| render(dir, &m, &[])),
        (Some(m), false) => json!(m),
        (None, _) => Value::Null,
    };
    let work_location = match (&e.location, expand.contains(&"work_location")) {
        (Some(l), true) => render_location(l),
        (Some(l), false) => json!(pseudo_uuid(&format!("location:{l}"))),
        (None, _) => Value::Null,
    };
    json!({
        "id": e.id,
        "remote_id": e.secondary_id,
        "employee_number": e.secondary_id,
        "first_name": e.first_name,
        "last_name": e.last_name,
        "preferred_name": null,
        "display_full_name": e.display_name(),
        "username": e.email.split('@').next(),
        "work_email": e.email,
        "personal_email": null,
        "manager": manager,
        "work_location": work_location,
        "employment_status": if e.is_inactive_on(today) { "INACTIVE" } else { "ACTIVE" },
        "hire_date": format!("{}T00:00:00Z", e.hire_date),
        "start_date": format!("{}T00:00:00Z", e.hire_date),
        "termination_date": e.termination_date().map(|d| format!("{d}T00:00:00Z")),
        "remote_was_deleted": false,
        "modified_at": clock::format_millis(e.modified_at),
        "field_mappings": { "organization_defined_targets": {}, "linked_account_defined_targets": {} },
    })
}

#[derive(Deserialize)]
struct RetrieveQuery {
    expand: Option<String>,
}

fn expansions(expand: Option<&str>) -> Vec<&str> {
    expand
        .map(|e| e.split(',').map(str::trim).collect())
        .unwrap_or_default()
}

async fn retrieve(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(query): Query<RetrieveQuery>,
) -> Response {
    match app.directory.get(&id) {
        Some(e) => Json(render(
            &app.directory,
            &e,
            &expansions(query.expand.as_deref()),
        ))
        .into_response(),
        None => detail(StatusCode::NOT_FOUND, "Not found."),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    cursor: Option<String>,
    page_size: Option<String>,
    expand: Option<String>,
    employment_status: Option<String>,
    modified_after: Option<String>,
}

fn encode_cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("o={offset}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    raw.strip_prefix("o=")?.parse().ok()
}

async fn list(State(app): State<App>, Query(query): Query<ListQuery>) -> Response {
    let page_size = match query.page_size.as_deref().map(str::parse::<usize>) {
        None => MAX_PAGE_SIZE,
        Some(Ok(n)) if n >= 1 => n.min(MAX_PAGE_SIZE),
        Some(_) => return detail(StatusCode::BAD_REQUEST, "Invalid page_size."),
    };
    let offset = match query.cursor.as_deref().map(decode_cursor) {
        None => 0,
        Some(Some(o)) => o,
        Some(None) => return detail(StatusCode::NOT_FOUND, "Invalid cursor"),
    };
    let modified_after = match query.modified_after.as_deref().map(clock::parse) {
        None => None,
        Some(Some(t)) => Some(t),
        Some(None) => {
            return detail(
                StatusCode::BAD_REQUEST,
                "modified_after must be an ISO 8601 datetime.",
            );
        }
    };
    let status = query.employment_status.as_deref();
    if status.is_some_and(|s| !["ACTIVE", "PENDING", "INACTIVE"].contains(&s)) {
        return detail(
            StatusCode::BAD_REQUEST,
            "employment_status must be ACTIVE, PENDING or INACTIVE.",
        );
    }
    let today = plumbing::today();
    let matching: Vec<Employee> = app
        .directory
        .all()
        .into_iter()
        .filter(|e| {
            status.is_none_or(|s| {
                let inactive = e.is_inactive_on(today);
                (s == "INACTIVE") == inactive && s != "PENDING"
            })
        })
        .filter(|e| modified_after.is_none_or(|t| e.modified_at > t))
        .collect();
    let expand = expansions(query.expand.as_deref());
    let results: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(page_size)
        .map(|e| render(&app.directory, e, &expand))
        .collect();
    let next = (offset + page_size < matching.len()).then(|| encode_cursor(offset + page_size));
    let previous = (offset > 0).then(|| encode_cursor(offset.saturating_sub(page_size)));
    Json(json!({ "next": next, "previous": previous, "results": results })).into_response()
}
