//! A Personio v2 emulator: OAuth 2.0 client credentials at `POST /v2/auth/token`, then
//! `GET /v2/persons` (cursor pagination through `_meta.links.next.href`), `GET /v2/persons/{id}`
//! and `GET /v2/persons/{id}/employments` with `Authorization: Bearer <access token>`. The
//! termination lives on the employment (`termination.termination_date`,
//! `termination.last_working_date`, `termination.type`). Errors use Personio's v2 envelope
//! (`personio_trace_id`, `timestamp`, `errors[]`).
//!
//! Personio does not sign webhooks: a v2 webhook carries the static token configured on the
//! subscription in its `Authorization` header, and a dataless payload naming the employment.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::common::clock;
use crate::common::lock;
use crate::hr::directory::{DemoPeople, Directory, Employee, IdStyle};
use crate::hr::plumbing::{self, HrEmulator};

/// Where access tokens are issued.
pub const TOKEN_PATH: &str = "/v2/auth/token";
/// Default and largest page of `GET /v2/persons`.
pub const DEFAULT_LIMIT: usize = 10;
pub const MAX_LIMIT: usize = 50;

/// How to start the emulator.
#[derive(Clone, Debug)]
pub struct PersonioConfig {
    pub client_id: String,
    pub client_secret: String,
    /// The static token Personio sends in `Authorization` with each webhook.
    pub webhook_token: String,
    pub company_id: String,
    pub seed: u64,
}

impl Default for PersonioConfig {
    fn default() -> Self {
        Self {
            client_id: "papi-5c1e0b7a-demo".into(),
            client_secret: "papi-secret-9d4f2a6c8e0b1d3f5a7c9e1b".into(),
            webhook_token: "personio-webhook-token-3f8a".into(),
            company_id: "181406".into(),
            seed: 0x9E25,
        }
    }
}

/// The access tokens the emulator has issued (read through [`PersonioEmulator`]'s accessors).
#[derive(Debug, Default)]
pub struct Tokens {
    issued: Vec<String>,
    counter: u64,
}

#[derive(Clone)]
struct App {
    directory: Arc<Directory>,
    config: Arc<PersonioConfig>,
    tokens: Arc<Mutex<Tokens>>,
    origin: Arc<str>,
}

impl App {
    fn tokens(&self) -> std::sync::MutexGuard<'_, Tokens> {
        lock(&self.tokens)
    }
}

/// A running emulator (see [`HrEmulator`]); it also keeps the access tokens it issued.
pub type PersonioEmulator = HrEmulator<PersonioConfig, Arc<Mutex<Tokens>>>;

impl PersonioEmulator {
    /// Starts an empty emulator on a free loopback port.
    ///
    /// # Errors
    /// If no loopback port can be bound.
    pub async fn start(config: PersonioConfig) -> std::io::Result<Self> {
        let seed = config.seed;
        let ids = IdStyle::Sequential(4_120_001);
        let tokens = Arc::new(Mutex::new(Tokens::default()));
        HrEmulator::serve(config, ids, seed, error, tokens, |p| {
            let app = App {
                directory: p.directory,
                config: p.config,
                tokens: p.extra,
                origin: p.origin.into(),
            };
            let api = Router::new()
                .route("/v2/persons", get(list_persons))
                .route("/v2/persons/{id}", get(get_person))
                .route("/v2/persons/{id}/employments", get(list_employments))
                .layer(middleware::from_fn_with_state(
                    p.faults,
                    plumbing::fault_gate,
                ))
                .layer(middleware::from_fn_with_state(app.clone(), authenticate));
            Router::new()
                .route(TOKEN_PATH, post(token))
                .merge(api)
                .with_state(app)
        })
        .await
    }

    /// Starts an emulator seeded with the demo company.
    ///
    /// # Errors
    /// If no loopback port can be bound.
    pub async fn start_demo() -> std::io::Result<(Self, DemoPeople)> {
        Ok(Self::start(PersonioConfig::default()).await?.seeded())
    }

    /// The API origin (stands in for `https://api.personio.de`).
    pub fn base_url(&self) -> &str {
        &self.origin
    }

    pub fn client_id(&self) -> &str {
        &self.config.client_id
    }

    pub fn client_secret(&self) -> &str {
        &self.config.client_secret
    }

    pub fn webhook_token(&self) -> &str {
        &self.config.webhook_token
    }

    /// How many access tokens have been issued (clients should reuse theirs).
    pub fn tokens_issued(&self) -> u64 {
        lock(&self.extra).counter
    }

    /// Revokes every access token issued so far, as if they had expired.
    pub fn expire_tokens(&self) {
        lock(&self.extra).issued.clear();
    }

    /// The v2 webhook body for `event` (`employment.terminated`, `employment.updated`,
    /// `person.updated`, …) about `person_id`'s employment. An unknown person yields an
    /// employment id of `null`, as a forged delivery would.
    pub fn webhook_body(&self, event: &str, person_id: &str) -> Vec<u8> {
        let employment_id = self.directory.get(person_id).map(|e| e.secondary_id);
        let payload = if event.starts_with("employment.") {
            json!({ "id": employment_id, "person": { "id": person_id } })
        } else {
            json!({ "id": person_id })
        };
        json!({
            "company_id": self.config.company_id,
            "event_name": event,
            "occurred_at": clock::format_millis(clock::now()),
            "payload": payload,
            "meta": {},
        })
        .to_string()
        .into_bytes()
    }

    /// Sends a webhook for `person_id` to `url` with the static token in `Authorization`.
    ///
    /// # Errors
    /// If the receiver cannot be reached.
    pub async fn send_webhook(
        &self,
        url: &str,
        event: &str,
        person_id: &str,
    ) -> reqwest::Result<reqwest::Response> {
        let body = self.webhook_body(event, person_id);
        plumbing::deliver(
            url,
            vec![("Authorization", self.config.webhook_token.clone())],
            body,
        )
        .await
    }
}

/// Personio's v2 error envelope.
fn error_body(status: StatusCode, title: &str, detail: &str) -> Response {
    (
        status,
        Json(json!({
            "personio_trace_id": uuid::Uuid::new_v4().to_string(),
            "timestamp": clock::format_millis(clock::now()),
            "errors": [{ "title": title, "detail": detail }],
        })),
    )
        .into_response()
}

fn error(status: StatusCode) -> Response {
    match status {
        StatusCode::TOO_MANY_REQUESTS => error_body(
            status,
            "Too Many Requests",
            "Rate limit exceeded, please retry later.",
        ),
        _ => error_body(
            status,
            status.canonical_reason().unwrap_or("Error"),
            "An unexpected error occurred.",
        ),
    }
}

#[derive(Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

async fn token(State(app): State<App>, Form(form): Form<TokenRequest>) -> Response {
    if form.grant_type.as_deref() != Some("client_credentials") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "unsupported_grant_type" })),
        )
            .into_response();
    }
    let ok = form
        .client_id
        .as_deref()
        .is_some_and(|id| plumbing::same(id, &app.config.client_id))
        && form
            .client_secret
            .as_deref()
            .is_some_and(|s| plumbing::same(s, &app.config.client_secret));
    if !ok {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({
                "error": "invalid_client",
                "error_description": "Client authentication failed",
            })),
        )
            .into_response();
    }
    let mut tokens = app.tokens();
    tokens.counter += 1;
    let access = format!(
        "papi-at-{}-{}",
        tokens.counter,
        uuid::Uuid::new_v4().simple()
    );
    tokens.issued.push(access.clone());
    Json(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": 86_400,
        "scope": "personio:persons:read",
    }))
    .into_response()
}

async fn authenticate(State(app): State<App>, req: Request, next: Next) -> Response {
    let ok = plumbing::bearer_token(req.headers())
        .is_some_and(|t| app.tokens().issued.iter().any(|i| plumbing::same(i, &t)));
    if !ok {
        return error_body(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "The access token is missing, invalid or expired.",
        );
    }
    next.run(req).await
}

fn status_of(e: &Employee) -> &'static str {
    if e.is_inactive_on(plumbing::today()) {
        "INACTIVE"
    } else {
        "ACTIVE"
    }
}

fn render_person(e: &Employee) -> Value {
    json!({
        "id": e.id,
        "email": e.email,
        "first_name": e.first_name,
        "last_name": e.last_name,
        "preferred_name": e.first_name,
        "status": status_of(e),
        "created_at": "2021-03-01T09:00:00Z",
        "updated_at": clock::format_millis(e.modified_at),
        "employments": [{ "id": e.secondary_id }],
    })
}

fn render_employment(e: &Employee) -> Value {
    let termination = e.termination.as_ref();
    json!({
        "id": e.secondary_id,
        "person": { "id": e.id },
        "status": status_of(e),
        "type": "INTERNAL",
        "start_date": e.hire_date.to_string(),
        "supervisor": e.manager_id.as_ref().map(|m| json!({ "id": m })),
        "termination": {
            "termination_date": termination.map(|t| t.date.to_string()),
            "last_working_date": termination.and_then(|t| t.last_day_worked).map(|d| d.to_string()),
            "type": termination.and_then(|t| t.involuntary).map(|i| if i { "FIRED" } else { "QUIT" }),
            "reason": null,
            "terminated_at": termination.map(|_| clock::format_millis(e.modified_at)),
        },
        "created_at": "2021-03-01T09:00:00Z",
        "updated_at": clock::format_millis(e.modified_at),
    })
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

fn encode_cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("offset:{offset}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    raw.strip_prefix("offset:")?.parse().ok()
}

async fn list_persons(State(app): State<App>, Query(query): Query<ListQuery>) -> Response {
    let limit = match query.limit.as_deref().map(str::parse::<usize>) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => {
            return error_body(
                StatusCode::BAD_REQUEST,
                "Bad Request",
                &format!("limit must be between 1 and {MAX_LIMIT}"),
            );
        }
    };
    let offset = match query.cursor.as_deref().map(decode_cursor) {
        None => 0,
        Some(Some(o)) => o,
        Some(None) => {
            return error_body(StatusCode::BAD_REQUEST, "Bad Request", "Invalid cursor");
        }
    };
    let all = app.directory.all();
    let page: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(limit)
        .map(render_person)
        .collect();
    let base = format!("{}/v2/persons?limit={limit}", app.origin);
    let mut links = serde_json::Map::new();
    links.insert("self".into(), json!({ "href": base }));
    if offset + limit < all.len() {
        links.insert(
            "next".into(),
            json!({ "href": format!("{base}&cursor={}", encode_cursor(offset + limit)) }),
        );
    }
    Json(json!({ "_data": page, "_meta": { "links": links } })).into_response()
}

async fn get_person(State(app): State<App>, Path(id): Path<String>) -> Response {
    match app.directory.get(&id) {
        Some(e) => Json(render_person(&e)).into_response(),
        None => error_body(
            StatusCode::NOT_FOUND,
            "Not Found",
            &format!("Person {id} not found"),
        ),
    }
}

async fn list_employments(State(app): State<App>, Path(id): Path<String>) -> Response {
    match app.directory.get(&id) {
        Some(e) => Json(json!({
            "_data": [render_employment(&e)],
            "_meta": { "links": { "self": { "href": format!("{}/v2/persons/{id}/employments", app.origin) } } },
        }))
        .into_response(),
        None => error_body(
            StatusCode::NOT_FOUND,
            "Not Found",
            &format!("Person {id} not found"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        assert_eq!(decode_cursor(&encode_cursor(30)), Some(30));
        assert_eq!(decode_cursor("not-a-cursor"), None);
    }
}
