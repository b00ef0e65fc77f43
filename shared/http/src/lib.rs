//! Passage's HTTP endpoints: webhook intake, auditor links, published key sets, health, the
//! event schema.
//!
//! One axum router serves the embedded host and (through lambda_http) the Lambda functions,
//! so the webhook contract, its checks and its error bodies are the same on both. Every error
//! is answered through [`error`], the one mapping from error kinds to statuses.

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use passage_core::engine::{Engine, ErrorKind, IntakeError, reopened_slot, run_of_slot};
use passage_core::link::{self, LinkScope};
use passage_core::ports::EvidenceError;
use passage_core::secret::Secret;
use passage_core::{RunId, TenantId};
use passage_hris::Vendor;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

mod body;
pub use body::DRAIN_LIMIT;
mod confirm;
mod console;
mod deadline;
pub use deadline::body_deadline;
mod error;
use error::ApiError;
mod headers;
use headers::Headers;
mod keys;
pub mod metrics;
pub mod openapi;
mod operator;
mod operator_links;
mod operator_restore;
mod principal;
pub use operator::{IamCaller, Operator, Operators};
mod period;
mod report;
pub use principal::principal_matches;
pub use report::sample_body;

/// An Argon2id PHC string for an operator's console password (`password_hash` in the config).
pub use console::hash_password;
pub use console::oidc::{CALLBACK_PATH as OIDC_CALLBACK_PATH, OidcIdentity, OidcProvider};

/// Hands out a short-lived direct URL to one bundle file (an S3 presigned GET), so large
/// files need not pass through the function.
#[async_trait]
pub trait Presigner: Send + Sync {
    async fn presign(
        &self,
        tenant: &TenantId,
        run: &RunId,
        path: &str,
    ) -> Result<String, EvidenceError>;
}

/// How bundle files reach the auditor once their link is checked.
#[derive(Clone)]
pub enum FileDelivery {
    /// Read through the evidence store and return the bytes.
    Inline,
    /// Redirect (302) to a presigned URL.
    Redirect(Arc<dyn Presigner>),
}

#[derive(Clone)]
pub struct ApiState {
    pub engine: Engine,
    /// HMAC key of auditor links.
    pub link_key: Secret,
    /// HMAC key of the managers' confirmation links (the link key, embedded; its own secret on
    /// AWS).
    pub confirm_key: Secret,
    pub files: FileDelivery,
    /// Who may use the operator API, and for which tenants.
    pub operators: Operators,
}

/// `ok` while the store can be read; 503 with the store's error otherwise, so a load balancer
/// or supervisor stops sending work to (or restarts) a host that cannot keep it.
async fn healthz(State(state): State<ApiState>) -> Response {
    match state.engine.ports().store.check().await {
        Ok(()) => "ok".into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unavailable: the store cannot be read: {e}"),
        )
            .into_response(),
    }
}

pub fn router(state: ApiState) -> Router {
    let (operator_routes, doc) = openapi::routes().split_for_parts();
    let doc = axum::Json(openapi::finish(doc));
    Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/v1/schema/leaver-event.v1.json",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/schema+json")],
                    passage_hris::LEAVER_EVENT_V1_SCHEMA,
                )
            }),
        )
        .route("/metrics", get(metrics::scrape))
        .merge(webhook_routes())
        .merge(operator_routes)
        .route(openapi::PATH, get(move || async move { doc }))
        .merge(console::routes())
        .merge(confirm::routes())
        .merge(period::routes())
        .merge(keys::routes())
        .route("/v1/bundles/{tenant}/{run}", get(bundle_index))
        .route("/v1/bundles/{tenant}/{run}/{*path}", get(bundle_file))
        // Webhook bodies are read by `body::read_limited`; this limit keeps every other route
        // from buffering an unbounded body.
        .layer(DefaultBodyLimit::max(passage_hris::MAX_BODY_BYTES + 1))
        .with_state(state)
}

/// The webhook intake routes, their refusals counted for `/metrics`.
fn webhook_routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/tenants/{tenant}/webhooks/leaver", post(intake))
        .route("/v1/tenants/{tenant}/webhooks/{vendor}", post(hr_intake))
        .route_layer(axum::middleware::from_fn(metrics::count_refusals))
}

/// 202 for a new run, 200 otherwise; an intake error as its status and JSON body.
fn intake_answer<T: serde::Serialize>(
    tenant: &str,
    result: Result<(bool, T), IntakeError>,
) -> Response {
    match result {
        Ok((created, accepted)) => {
            let status = if created {
                StatusCode::ACCEPTED
            } else {
                StatusCode::OK
            };
            (status, axum::Json(accepted)).into_response()
        }
        Err(e) => {
            let _tenant = tracing::error_span!("intake", %tenant).entered();
            ApiError::from(e).into_response()
        }
    }
}

async fn intake(
    State(host): State<ApiState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = match body::read_limited(body, passage_hris::MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(refusal) => return *refusal,
    };
    if let Err(refusal) = media_type(Vendor::StandardWebhooks, &headers) {
        return refusal.into_response();
    }
    let result = host
        .engine
        .receive_webhook(&tenant, &Headers(&headers), &body)
        .await;
    intake_answer(&tenant, result.map(|a| (a.created, a)))
}

/// An HR vendor's own webhook (`bamboohr`, `hibob`, …), authenticated with its scheme.
async fn hr_intake(
    State(host): State<ApiState>,
    Path((tenant, vendor)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = match body::read_limited(body, passage_hris::MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(refusal) => return *refusal,
    };
    // An unknown vendor is the engine's to refuse (404), whatever the body's type.
    if let Ok(known) = vendor.parse::<Vendor>()
        && let Err(refusal) = media_type(known, &headers)
    {
        return refusal.into_response();
    }
    let result = host
        .engine
        .receive_hr_webhook(&tenant, &vendor, &Headers(&headers), &body)
        .await;
    intake_answer(
        &tenant,
        result.map(|a| {
            let created = matches!(a.outcome, passage_core::engine::HrOutcome::Created { .. });
            (created, a)
        }),
    )
}

/// Refuses a webhook whose `Content-Type` is not one its sender uses, before the body is
/// verified or parsed.
fn media_type(sender: Vendor, headers: &HeaderMap) -> Result<(), ApiError> {
    let given = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("(not text)"));
    Ok(sender.check_media_type(given)?)
}

#[derive(Deserialize)]
struct LinkQuery {
    expires: Option<String>,
    sig: Option<String>,
}

/// Checks the presented link; any failure is a refusal that reveals nothing about the bundle.
fn authorise(host: &ApiState, tenant: &str, run: &str, q: &LinkQuery) -> Result<(), ApiError> {
    check_link(host, tenant, run, q)
        .map_err(|why| ApiError::new(ErrorKind::Forbidden, "forbidden", why))
}

/// A bundle path outside the bundle is the request's fault; anything else is the store's.
pub(crate) fn evidence_error(e: EvidenceError) -> ApiError {
    match e {
        EvidenceError::BadPath(p) => ApiError::new(
            ErrorKind::Malformed,
            "bad_path",
            format!("{p:?} is not a bundle path"),
        ),
        EvidenceError::Io(_) => ApiError::new(ErrorKind::Internal, "evidence_error", e.to_string()),
    }
}

fn check_link(host: &ApiState, tenant: &str, run: &str, q: &LinkQuery) -> Result<(), String> {
    if host.link_key.expose().is_empty() {
        return Err("auditor links are not served here".into());
    }
    let (Some(expires), Some(sig)) = (&q.expires, &q.sig) else {
        return Err("a signed link is required".into());
    };
    let Ok(expires) = expires.parse::<i64>() else {
        return Err("the link is malformed".into());
    };
    let scope = LinkScope {
        tenant: tenant.to_owned(),
        run_id: run.to_owned(),
        expires,
    };
    link::verify(
        host.link_key.expose().as_bytes(),
        &scope,
        sig,
        jiff::Timestamp::now(),
    )
    .map_err(|e| e.to_string())
}

/// Records a fetch through a run link in the tenant's audit log; a failed record refuses the
/// request, so nothing is served unrecorded.
async fn record_fetch(
    host: &ApiState,
    tenant: &str,
    run: &str,
    q: &LinkQuery,
    what: &str,
) -> Result<(), ApiError> {
    let detail = json!({"scope": "run", "run_id": run, "expires": q.expires, "fetched": what});
    host.engine
        .audit(
            &TenantId::new(tenant),
            "link.fetched",
            &format!("link:run:{run}"),
            detail,
        )
        .await
        .map_err(|e| ApiError::new(ErrorKind::Unavailable, "audit_unavailable", e.to_string()))
}

/// The bundles a run closed with after a late sign-in reopened it (`<run>.reopened-<n>`, from
/// 1 without gaps), each fetched with the run's own link: an auditor holding the link to the
/// first bundle must learn that later ones exist.
async fn reopened_bundles(
    host: &ApiState,
    tenant: &str,
    run: &str,
) -> Result<Vec<String>, ApiError> {
    let mut slots = Vec::new();
    if run_of_slot(run) != run {
        return Ok(slots);
    }
    for n in 1.. {
        let slot = reopened_slot(&RunId::new(run), n);
        let stored = host
            .engine
            .ports()
            .evidence
            .get_file(&TenantId::new(tenant), &slot, "manifest.json")
            .await
            .map_err(evidence_error)?;
        if stored.is_none() {
            break;
        }
        slots.push(slot.to_string());
    }
    Ok(slots)
}

async fn bundle_index(
    State(host): State<ApiState>,
    Path((tenant, run)): Path<(String, String)>,
    Query(q): Query<LinkQuery>,
) -> Result<Response, ApiError> {
    authorise(&host, &tenant, run_of_slot(&run), &q)?;
    record_fetch(&host, &tenant, &run, &q, "index").await?;
    let files = host
        .engine
        .ports()
        .evidence
        .get_bundle(&TenantId::new(tenant.as_str()), &RunId::new(run.as_str()))
        .await
        .map_err(evidence_error)?
        .ok_or_else(|| {
            ApiError::new(
                ErrorKind::NotFound,
                "not_found",
                "no bundle for this run yet",
            )
        })?;
    let list: Vec<_> = files
        .iter()
        .map(|(p, b)| json!({"path": p, "size": b.len()}))
        .collect();
    // What the bundle is checked against travels with it: the tenant's published key set and
    // the latest checkpoint of its chain (kept outside the bundle's own directory, where an
    // extra file would be an added file).
    let key_set = keys::published(&host, &tenant).await?;
    let checkpoint = keys::checkpoint(&host, &TenantId::new(tenant.as_str())).await?;
    let reopened = reopened_bundles(&host, &tenant, &run).await?;
    Ok(axum::Json(json!({
        "tenant": tenant,
        "run_id": run,
        "files": list,
        "reopened_bundles": reopened,
        "key_set_url": format!("/v1/tenants/{tenant}/keys.json"),
        "key_set": key_set,
        "checkpoint": checkpoint,
    }))
    .into_response())
}

async fn bundle_file(
    State(host): State<ApiState>,
    Path((tenant, run, path)): Path<(String, String, String)>,
    Query(q): Query<LinkQuery>,
) -> Result<Response, ApiError> {
    // A run's link serves every bundle the run closed with, reopenings included.
    authorise(&host, &tenant, run_of_slot(&run), &q)?;
    record_fetch(&host, &tenant, &run, &q, &path).await?;
    let bytes = host
        .engine
        .ports()
        .evidence
        .get_file(
            &TenantId::new(tenant.as_str()),
            &RunId::new(run.as_str()),
            &path,
        )
        .await
        .map_err(evidence_error)?
        .ok_or_else(|| {
            ApiError::new(
                ErrorKind::NotFound,
                "not_found",
                "no such file in this bundle",
            )
        })?;
    let kind = if path.ends_with(".json") {
        "application/json"
    } else if path.ends_with(".md") || path.ends_with(".txt") || path.ends_with(".pem") {
        "text/plain; charset=utf-8"
    } else {
        "application/octet-stream"
    };
    Ok(([(header::CONTENT_TYPE, kind)], bytes).into_response())
}
