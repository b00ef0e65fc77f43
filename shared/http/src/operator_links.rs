//! Auditor links issued through the operator API and the console: a signed, expiring URL to
//! one closed run's bundle, recorded in the tenant's audit log with who issued it, as
//! `passage link` records it.

use crate::ApiState;
use crate::error::ApiError;
use crate::operator::RunCall;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use passage_core::engine::ErrorKind;
use passage_core::link::{self, LinkScope};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The longest a link may live: ninety days, as on the command line.
const MAX_HOURS: i64 = 24 * 90;
const DEFAULT_HOURS: i64 = 168;

/// The run link route, documented as the other operator routes are (see `openapi::routes`).
pub(crate) fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(issue_route))
}

/// A link issued: the path and query to append to the deployment's address, and its expiry.
pub(crate) struct Issued {
    pub(crate) path: String,
    pub(crate) expires: i64,
}

/// Signs a link to `run`'s bundle for `hours` and records the issue; refuses a run without a
/// bundle, a deployment that serves no links, and a lifetime outside 1 hour to 90 days.
/// `actor` is as the audit log names issuers: `operator:<name>`.
pub(crate) async fn issue(
    state: &ApiState,
    run: &passage_core::Run,
    actor: &str,
    hours: i64,
) -> Result<Issued, ApiError> {
    if !(1..=MAX_HOURS).contains(&hours) {
        return Err(ApiError::new(
            ErrorKind::Unprocessable,
            "invalid",
            format!("hours must be between 1 and {MAX_HOURS} (90 days)"),
        ));
    }
    if state.link_key.expose().is_empty() {
        return Err(ApiError::new(
            ErrorKind::Unavailable,
            "links_not_served",
            "this deployment serves no auditor links (it has no link key)",
        ));
    }
    if run.bundle.is_none() {
        return Err(ApiError::new(
            ErrorKind::Conflict,
            "no_bundle",
            format!(
                "run {} is {} and has no bundle yet: a link can be issued once it closes",
                run.id,
                run.shown_state()
            ),
        ));
    }
    let scope = LinkScope {
        tenant: run.tenant.to_string(),
        run_id: run.id.to_string(),
        expires: state.engine.now().as_second() + hours * 3600,
    };
    state
        .engine
        .audit(
            &run.tenant,
            "link.issued",
            actor,
            json!({"scope": "run", "run_id": run.id, "expires": scope.expires}),
        )
        .await?;
    Ok(Issued {
        path: link::path(state.link_key.expose().as_bytes(), &scope),
        expires: scope.expires,
    })
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
struct RunLinkBody {
    /// How long the link is valid, in hours (1 to 2160; default 168).
    hours: Option<i64>,
}

#[utoipa::path(
    post,
    path = "/v1/operator/tenants/{tenant}/runs/{run}/link",
    tag = "operator",
    params(
        ("tenant" = String, Path, description = "Tenant id"),
        ("run" = String, Path, description = "Run id")
    ),
    request_body = RunLinkBody,
    responses(
        (status = 200, description = "A signed link to the closed run's bundle, recorded in the audit log", body = serde_json::Value),
        crate::openapi::Refusals,
    ),
    security(("operator_token" = []))
)]
/// Issues an auditor link to a closed run's bundle.
async fn issue_route(
    State(state): State<ApiState>,
    RunCall { op, run }: RunCall,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let b: RunLinkBody = crate::operator::body(&bytes)?;
    let actor = format!("operator:{}", op.name);
    let issued = issue(&state, &run, &actor, b.hours.unwrap_or(DEFAULT_HOURS)).await?;
    Ok(axum::Json(json!({
        "run_id": run.id,
        "path": issued.path,
        "expires": issued.expires,
    }))
    .into_response())
}
