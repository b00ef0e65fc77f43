//! What is published about each tenant's signing keys: the key set auditors check bundles
//! against, at a well-known URL anyone may read (public keys are public, and an auditor must
//! be able to fetch them from the server rather than from whoever hands over bundles).
//!
//! Checkpoints are not served here: a chain head counts a tenant's leavers, so it goes only
//! to holders of an auditor link, inside the bundle listing.

use crate::ApiState;
use crate::error::ApiError;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use passage_core::TenantId;
use passage_core::engine::{EngineError, ErrorKind};
use passage_core::evidence::{KeySet, SignedCheckpoint};

pub(crate) fn routes() -> Router<ApiState> {
    Router::new().route("/v1/tenants/{tenant}/keys.json", get(key_set))
}

/// The tenant's published key set, or `None` for a tenant this deployment does not serve or
/// that has no key yet.
pub(crate) async fn published(host: &ApiState, tenant: &str) -> Result<Option<KeySet>, ApiError> {
    if !passage_core::ids::is_valid_tenant_id(tenant) {
        return Ok(None);
    }
    let tenant = TenantId::new(tenant);
    let known = host.engine.ports().tenants.tenant(&tenant).await;
    if known.map_err(EngineError::from)?.is_none() {
        return Ok(None);
    }
    let set = host.engine.ports().keys.key_set(&tenant).await;
    Ok(set.map_err(EngineError::from)?)
}

/// The tenant's latest published checkpoint.
pub(crate) async fn checkpoint(
    host: &ApiState,
    tenant: &TenantId,
) -> Result<Option<SignedCheckpoint>, ApiError> {
    let checkpoint = host.engine.ports().keys.checkpoint(tenant).await;
    Ok(checkpoint.map_err(EngineError::from)?)
}

async fn key_set(
    State(host): State<ApiState>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    let set = published(&host, &tenant).await?.ok_or_else(|| {
        ApiError::new(
            ErrorKind::NotFound,
            "not_found",
            "no key set for this tenant",
        )
    })?;
    let mut body = serde_json::to_vec_pretty(&set)
        .map_err(|e| ApiError::new(ErrorKind::Internal, "internal", e.to_string()))?;
    body.push(b'\n');
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
