//! Issuing a period link: the period's report is built, signed and stored as it stands at
//! issue, so every fetch through the link serves the same signed snapshot; the issue is
//! recorded in the tenant's audit log with who issued it.

use crate::pdf::Chromium;
use crate::signed::{ReportError, SignedReport, signed_period_report};
use passage_core::engine::{Engine, EngineError};
use passage_core::link::{self, PeriodScope};
use passage_core::report::Period;
use passage_core::{RunId, TenantId};
use serde_json::json;

/// Where a link's report snapshot is stored in the evidence store: beside the bundles, under
/// an id no run can have.
pub fn snapshot_id(link_id: &str) -> RunId {
    RunId::new(format!("report-{link_id}"))
}

/// A period link, issued.
pub struct IssuedLink {
    pub scope: PeriodScope,
    /// `/v1/periods/{tenant}/{period}?link=…&expires=…&sig=…`
    pub path: String,
    pub report: SignedReport,
}

/// What an issue asks for.
pub struct LinkRequest<'a> {
    pub tenant: &'a TenantId,
    pub period: Period,
    /// How long the link is valid.
    pub valid_for: std::time::Duration,
    /// Who issues it: `operator:<name>` or `cli:<user>`.
    pub actor: &'a str,
    /// HMAC key of auditor links.
    pub link_key: &'a [u8],
}

pub async fn issue_period_link(
    engine: &Engine,
    request: &LinkRequest<'_>,
    chromium: Option<&Chromium>,
) -> Result<IssuedLink, ReportError> {
    if request.link_key.is_empty() {
        return Err(EngineError::NotAllowed("auditor links are not configured here".into()).into());
    }
    let report = signed_period_report(engine, request.tenant, request.period, chromium).await?;
    let scope = PeriodScope {
        tenant: request.tenant.to_string(),
        period: request.period.id(),
        id: link::new_link_id(),
        expires: report.report.generated_at.as_second()
            + i64::try_from(request.valid_for.as_secs()).unwrap_or(i64::MAX / 2),
    };
    let location = engine
        .ports()
        .evidence
        .put_bundle(request.tenant, &snapshot_id(&scope.id), &report.files)
        .await
        .map_err(EngineError::from)?;
    let manifest = passage_core::evidence::Statement::parse(
        std::str::from_utf8(report.files.get("statement.txt").unwrap_or_default()).unwrap_or(""),
    )
    .map(|s| s.manifest_sha256)
    .unwrap_or_default();
    engine
        .audit(
            request.tenant,
            "link.issued",
            request.actor,
            json!({"link": scope.id, "scope": "period", "period": scope.period,
                "expires": scope.expires, "report_manifest_sha256": manifest,
                "population_sha256": report.report.population.sha256,
                "stored_at": location}),
        )
        .await?;
    Ok(IssuedLink {
        path: link::period_path(request.link_key, &scope),
        scope,
        report,
    })
}
