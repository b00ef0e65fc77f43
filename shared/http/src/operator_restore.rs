//! `POST /v1/operator/tenants/{tenant}/runs/{run}/restore`: give a returning person back what a
//! closed leaver run took. `"dry_run": true` answers the plan and changes nothing; otherwise
//! the restore starts as its own run, recorded in the calling operator's name.

use crate::ApiState;
use crate::error::ApiError;
use crate::operator::{RunCall, body};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use passage_core::engine::RestoreRequest;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The restore route, documented as the other operator routes are (see `openapi::routes`).
pub(crate) fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(restore))
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
struct RestoreBody {
    /// Item keys or prefixes to restrict the restore to.
    #[serde(default)]
    items: Vec<String>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    note: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/operator/tenants/{tenant}/runs/{run}/restore",
    tag = "operator",
    params(
        ("tenant" = String, Path, description = "Tenant id"),
        ("run" = String, Path, description = "The closed leaver run to reverse")
    ),
    request_body = RestoreBody,
    responses(
        (status = 200, description = "The plan (dry run): what would come back, and what cannot, with why", body = serde_json::Value),
        (status = 202, description = "The restore run started, in the operator's name", body = serde_json::Value),
        crate::openapi::Refusals,
    ),
    security(("operator_token" = []))
)]
/// Plans, or starts, the restore of a closed leaver run.
async fn restore(
    State(state): State<ApiState>,
    RunCall { op, run }: RunCall,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let b: RestoreBody = if bytes.is_empty() {
        RestoreBody::default()
    } else {
        body(&bytes)?
    };
    let request = RestoreRequest {
        original: run.id.clone(),
        only: b.items,
        note: b.note,
    };
    if b.dry_run {
        let (_, plan) = state.engine.plan_restore(&run.tenant, &request).await?;
        let answer = json!({"original_run": run.id, "dry_run": true, "plan": plan});
        return Ok(Json(answer).into_response());
    }
    let answer = state
        .engine
        .start_restore(&run.tenant, request, &op.name)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}
