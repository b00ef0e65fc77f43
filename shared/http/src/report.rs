//! The operator API's period view: the report in any format, a reproducible sample, period
//! links for auditors, and the tenant's audit log.

use crate::ApiState;
use crate::error::ApiError;
use crate::operator::{TenantCall, body};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use passage_core::TenantId;
use passage_core::engine::{EngineError, ErrorKind};
use passage_core::report::{Period, PeriodReport, oscal, sample};
use passage_report::publish::{LinkRequest, issue_period_link};
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The period routes, documented as the other operator routes are (see `operator::routes`).
pub(crate) fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(report))
        .routes(routes!(sample_runs))
        .routes(routes!(period_link))
        .routes(routes!(audit_log))
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::Malformed, "invalid_query", message)
}

fn period(from: Option<Date>, to: Option<Date>) -> Result<Period, ApiError> {
    let (Some(from), Some(to)) = (from, to) else {
        return Err(invalid("give the period as from=YYYY-MM-DD&to=YYYY-MM-DD"));
    };
    Period::new(from, to).map_err(|e| invalid(e.to_string()))
}

fn report_error(e: passage_report::ReportError) -> ApiError {
    match e {
        passage_report::ReportError::Engine(e) => e.into(),
        other => EngineError::Bundle(other.to_string()).into(),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    #[param(value_type = Option<String>, format = Date)]
    from: Option<Date>,
    #[param(value_type = Option<String>, format = Date)]
    to: Option<Date>,
    /// `json` (default), `csv`, `html`, `oscal`, or `signed` (the signed directory as a tar).
    format: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/operator/tenants/{tenant}/report",
    tag = "period",
    params(("tenant" = String, Path, description = "Tenant id"), ReportQuery),
    responses(
        (status = 200, description = "The period report: JSON (default), CSV, HTML, OSCAL assessment results, or the signed report as a tar", body = serde_json::Value),
        crate::openapi::Refusals,
    ),
    security(("operator_token" = []))
)]
async fn report(
    State(state): State<ApiState>,
    call: TenantCall,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Ok(Query(q)) = query else {
        return Err(invalid("query parameters are from, to and format"));
    };
    let period = period(q.from, q.to)?;
    let tenant = TenantId::new(call.tenant.as_str());
    let format = q.format.as_deref().unwrap_or("json");
    if format == "signed" {
        let signed = passage_report::signed_period_report(&state.engine, &tenant, period, None)
            .await
            .map_err(report_error)?;
        let prefix = format!("report-{}", period.id());
        let mtime = u64::try_from(signed.report.generated_at.as_second()).unwrap_or(0);
        let tar = passage_report::tar_archive(&[(prefix, &signed.files)], mtime)
            .map_err(|e| EngineError::Bundle(e.to_string()))?;
        return Ok(([(header::CONTENT_TYPE, "application/x-tar")], tar).into_response());
    }
    let r = state.engine.period_report(&tenant, period).await?;
    render(&r, format)
}

fn render(r: &PeriodReport, format: &str) -> Result<Response, ApiError> {
    let text =
        |kind: &'static str, body: Vec<u8>| ([(header::CONTENT_TYPE, kind)], body).into_response();
    Ok(match format {
        "json" => axum::Json(r).into_response(),
        "oscal" => axum::Json(oscal::assessment_results(r)).into_response(),
        "html" => text(
            "text/html; charset=utf-8",
            passage_report::html::period_page(r).into_bytes(),
        ),
        "csv" => text(
            "text/csv; charset=utf-8",
            passage_report::csv::period_csv(r).map_err(|e| EngineError::Bundle(e.to_string()))?,
        ),
        other => {
            return Err(ApiError::new(
                ErrorKind::Unprocessable,
                "unsupported_format",
                format!(
                    "format {other:?}: use json, csv, html, oscal or signed (PDF is made by `passage report --format pdf`)"
                ),
            ));
        }
    })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct SampleQuery {
    #[param(value_type = Option<String>, format = Date)]
    from: Option<Date>,
    #[param(value_type = Option<String>, format = Date)]
    to: Option<Date>,
    seed: Option<String>,
    size: Option<usize>,
}

#[utoipa::path(
    get,
    path = "/v1/operator/tenants/{tenant}/sample",
    tag = "period",
    params(("tenant" = String, Path, description = "Tenant id"), SampleQuery),
    responses(
        (status = 200, description = "A reproducible sample of the period's leavers, drawn from the seed", body = serde_json::Value),
        crate::openapi::Refusals,
    ),
    security(("operator_token" = []))
)]
async fn sample_runs(
    State(state): State<ApiState>,
    call: TenantCall,
    query: Result<Query<SampleQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Ok(Query(q)) = query else {
        return Err(invalid("query parameters are from, to, seed and size"));
    };
    let period = period(q.from, q.to)?;
    let (Some(seed), Some(size)) = (q.seed, q.size) else {
        return Err(invalid("give seed and size"));
    };
    let r = state
        .engine
        .period_report(&TenantId::new(call.tenant.as_str()), period)
        .await?;
    let drawn =
        sample::draw(&r.population.run_ids, &seed, size).map_err(|e| invalid(e.to_string()))?;
    Ok(axum::Json(sample_body(&r, &seed, &drawn)).into_response())
}

/// The sample as the API and `passage sample --json` show it.
pub fn sample_body(r: &PeriodReport, seed: &str, drawn: &[sample::Drawn]) -> serde_json::Value {
    let rows: Vec<_> = drawn
        .iter()
        .map(|d| {
            let l = r.leavers.iter().find(|l| l.run_id == d.run_id);
            json!({"run_id": d.run_id, "key": d.key,
                "employee_id": l.map(|l| &l.employee_id), "email": l.map(|l| &l.email),
                "termination_date": l.map(|l| l.termination_date),
                "bundle": l.and_then(|l| l.bundle.as_ref())})
        })
        .collect();
    json!({
        "tenant": r.tenant, "period": r.period, "seed": seed, "size": drawn.len(),
        "population": {"count": r.population.count, "sha256": r.population.sha256},
        "sample": rows,
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LinkBody {
    #[schema(value_type = String, format = Date)]
    from: Date,
    #[schema(value_type = String, format = Date)]
    to: Date,
    /// How long the link is valid, in hours (1 to 2160; default 168).
    hours: Option<u64>,
}

#[utoipa::path(
    post,
    path = "/v1/operator/tenants/{tenant}/period-links",
    tag = "period",
    params(("tenant" = String, Path, description = "Tenant id")),
    request_body = LinkBody,
    responses(
        (status = 201, description = "A signed link for auditors to the period's report and bundles", body = serde_json::Value),
        crate::openapi::Refusals,
    ),
    security(("operator_token" = []))
)]
async fn period_link(
    State(state): State<ApiState>,
    TenantCall { op, tenant }: TenantCall,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let b: LinkBody = body(&bytes)?;
    let hours = b.hours.unwrap_or(168);
    if !(1..=2160).contains(&hours) {
        return Err(ApiError::new(
            ErrorKind::Unprocessable,
            "invalid",
            "hours must be 1 to 2160 (90 days)",
        ));
    }
    let period = Period::new(b.from, b.to)
        .map_err(|e| ApiError::new(ErrorKind::Unprocessable, "invalid", e.to_string()))?;
    let issued = issue_period_link(
        &state.engine,
        &LinkRequest {
            tenant: &TenantId::new(tenant.as_str()),
            period,
            valid_for: std::time::Duration::from_secs(hours * 3600),
            actor: &format!("operator:{}", op.name),
            link_key: state.link_key.expose().as_bytes(),
        },
        None,
    )
    .await
    .map_err(report_error)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({
            "path": issued.path,
            "link": issued.scope.id,
            "expires": issued.scope.expires,
            "population": {"count": issued.report.report.population.count,
                "sha256": issued.report.report.population.sha256},
        })),
    )
        .into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<jiff::Timestamp>,
}

#[utoipa::path(
    get,
    path = "/v1/operator/tenants/{tenant}/audit",
    tag = "period",
    params(("tenant" = String, Path, description = "Tenant id"), AuditQuery),
    responses(
        (status = 200, description = "The tenant's audit log: auditor links issued and fetched", body = serde_json::Value),
        crate::openapi::Refusals,
    ),
    security(("operator_token" = []))
)]
async fn audit_log(
    State(state): State<ApiState>,
    call: TenantCall,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Ok(Query(q)) = query else {
        return Err(invalid(
            "the query parameter is since (an RFC 3339 instant)",
        ));
    };
    let events = state
        .engine
        .ports()
        .audit
        .audit_events(&TenantId::new(call.tenant.as_str()), q.since)
        .await
        .map_err(EngineError::from)?;
    Ok(axum::Json(json!({"tenant": call.tenant, "events": events})).into_response())
}
