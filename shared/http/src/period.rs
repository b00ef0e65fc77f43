//! Period links: an auditor's expiring, signed access to one tenant's report for one period,
//! the keys, the chain checkpoint and every bundle of the period, one file at a time, as a
//! browsable index or as one archive. The link serves the signed report stored when it was
//! issued, and every fetch through it is recorded in the tenant's audit log before anything is
//! served; if the record cannot be written, nothing is.

use crate::error::ApiError;
use crate::{ApiState, FileDelivery, evidence_error};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use passage_core::engine::{EngineError, ErrorKind};
use passage_core::evidence::{BundleFiles, public_key_fingerprint};
use passage_core::link::{self, LinkError, PeriodScope};
use passage_core::report::{Period, PeriodReport};
use passage_core::{RunId, TenantId};
use passage_report::html::{IndexEntry, IndexInput, period_index};
use passage_report::publish::snapshot_id;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/periods/{tenant}/{period}", get(index))
        .route("/v1/periods/{tenant}/{period}/keys.json", get(keys))
        .route(
            "/v1/periods/{tenant}/{period}/checkpoint.json",
            get(checkpoint),
        )
        .route("/v1/periods/{tenant}/{period}/report.tar", get(report_tar))
        .route("/v1/periods/{tenant}/{period}/archive.tar", get(archive))
        .route(
            "/v1/periods/{tenant}/{period}/report/{*path}",
            get(report_file),
        )
        .route(
            "/v1/periods/{tenant}/{period}/bundles/{run}/{*path}",
            get(bundle_file),
        )
}

#[derive(Deserialize)]
struct LinkQuery {
    link: Option<String>,
    expires: Option<String>,
    sig: Option<String>,
}

/// A checked period link: its scope and the signed report it serves.
struct Opened {
    scope: PeriodScope,
    tenant: TenantId,
    files: BundleFiles,
    report: PeriodReport,
    query: String,
}

fn forbidden(why: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::Forbidden, "forbidden", why)
}

/// The scope the query claims, once its signature holds and it has not expired. An expired
/// link whose signature holds is recorded as refused.
async fn checked(
    host: &ApiState,
    tenant: &str,
    period: &str,
    q: &LinkQuery,
) -> Result<PeriodScope, ApiError> {
    if host.link_key.expose().is_empty() {
        return Err(forbidden("auditor links are not served here"));
    }
    let (Some(id), Some(expires), Some(sig)) = (&q.link, &q.expires, &q.sig) else {
        return Err(forbidden("a signed link is required"));
    };
    let expires = expires
        .parse::<i64>()
        .map_err(|_| forbidden("the link is malformed"))?;
    let scope = PeriodScope {
        tenant: tenant.to_owned(),
        period: period.to_owned(),
        id: id.clone(),
        expires,
    };
    let key = host.link_key.expose().as_bytes();
    match link::verify_period(key, &scope, sig, host.engine.ports().clock.now()) {
        Ok(()) => Ok(scope),
        Err(LinkError::Expired) => {
            let detail = json!({"link": scope.id, "period": scope.period, "reason": "expired"});
            record(host, &scope, "link.refused", detail).await?;
            Err(forbidden(LinkError::Expired.to_string()))
        }
        Err(e) => Err(forbidden(e.to_string())),
    }
}

/// Records an event for the link; a failed record refuses the request.
async fn record(
    host: &ApiState,
    scope: &PeriodScope,
    kind: &str,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    host.engine
        .audit(
            &TenantId::new(scope.tenant.as_str()),
            kind,
            &format!("link:{}", scope.id),
            detail,
        )
        .await
        .map_err(|e| {
            ApiError::new(
                ErrorKind::Unavailable,
                "audit_unavailable",
                format!("the fetch could not be recorded, so nothing is served: {e}"),
            )
        })
}

/// Checks the link, records the fetch of `what`, and loads the report snapshot it serves.
async fn open(
    host: &ApiState,
    (tenant, period): (&str, &str),
    q: &LinkQuery,
    what: &str,
) -> Result<Opened, ApiError> {
    let scope = checked(host, tenant, period, q).await?;
    let tenant = TenantId::new(tenant);
    let files = host
        .engine
        .ports()
        .evidence
        .get_bundle(&tenant, &snapshot_id(&scope.id))
        .await
        .map_err(evidence_error)?
        .ok_or_else(|| {
            ApiError::new(ErrorKind::NotFound, "not_found", "no report for this link")
        })?;
    let report: PeriodReport = files
        .get("report.json")
        .and_then(|b| serde_json::from_slice(b).ok())
        .ok_or_else(|| {
            ApiError::new(
                ErrorKind::Internal,
                "evidence_error",
                "the stored report is unreadable",
            )
        })?;
    if Period::parse(&scope.period) != Some(report.period) {
        return Err(forbidden("the link does not match its report"));
    }
    record(
        host,
        &scope,
        "link.fetched",
        json!({"link": scope.id, "period": scope.period, "fetched": what}),
    )
    .await?;
    let query = link::period_query(host.link_key.expose().as_bytes(), &scope);
    Ok(Opened {
        scope,
        tenant,
        files,
        report,
        query,
    })
}

/// The runs whose bundles the period holds: its leavers' and its cancelled runs', with a bundle.
fn period_runs(report: &PeriodReport) -> Vec<String> {
    let leavers = report
        .leavers
        .iter()
        .filter(|l| l.bundle.is_some())
        .map(|l| l.run_id.clone());
    let cancelled = report
        .cancelled
        .iter()
        .filter(|c| c.bundle.is_some())
        .map(|c| c.run_id.clone());
    leavers.chain(cancelled).collect()
}

/// Whether `slot` holds a bundle of one of the period's runs: a run's first bundle, or one it
/// closed with after a late sign-in reopened it.
fn in_period(report: &PeriodReport, slot: &str) -> bool {
    let run = passage_core::engine::run_of_slot(slot);
    period_runs(report).iter().any(|r| r == run)
}

/// Every bundle of the period, by slot: each run's first bundle, then those it closed with
/// after each reopening, in order. Leaving the later ones out would show the auditor a gap
/// in the chain.
async fn period_bundles(
    host: &ApiState,
    tenant: &TenantId,
    report: &PeriodReport,
) -> Result<Vec<(String, BundleFiles)>, ApiError> {
    let mut bundles = Vec::new();
    for run in period_runs(report) {
        bundles.push((run.clone(), bundle_of(host, tenant, &run).await?));
        for n in 1.. {
            let slot = passage_core::engine::reopened_slot(&RunId::new(run.as_str()), n);
            match stored(host, tenant, slot.as_str()).await? {
                Some(files) => bundles.push((slot.to_string(), files)),
                None => break,
            }
        }
    }
    Ok(bundles)
}

async fn stored(
    host: &ApiState,
    tenant: &TenantId,
    slot: &str,
) -> Result<Option<BundleFiles>, ApiError> {
    host.engine
        .ports()
        .evidence
        .get_bundle(tenant, &RunId::new(slot))
        .await
        .map_err(evidence_error)
}

async fn bundle_of(host: &ApiState, tenant: &TenantId, run: &str) -> Result<BundleFiles, ApiError> {
    stored(host, tenant, run).await?.ok_or_else(|| {
        ApiError::new(
            ErrorKind::NotFound,
            "not_found",
            format!("no bundle for run {run}"),
        )
    })
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("json") => "application/json",
        Some("html") => "text/html; charset=utf-8",
        Some("csv") => "text/csv; charset=utf-8",
        Some("pdf") => "application/pdf",
        Some("tar") => "application/x-tar",
        Some("md" | "txt" | "pem") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn bytes_response(path: &str, bytes: Vec<u8>) -> Response {
    let name = path.rsplit('/').next().unwrap_or("file");
    (
        [
            (header::CONTENT_TYPE, content_type(path).to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// One stored file, inline or by redirect to a short-lived URL.
async fn deliver(
    host: &ApiState,
    tenant: &TenantId,
    run: &RunId,
    path: &str,
    inline: impl FnOnce() -> Option<Vec<u8>>,
) -> Result<Response, ApiError> {
    let missing = || ApiError::new(ErrorKind::NotFound, "not_found", "no such file");
    match &host.files {
        FileDelivery::Redirect(p) => {
            inline().ok_or_else(missing)?;
            let url = p.presign(tenant, run, path).await.map_err(evidence_error)?;
            Ok(Redirect::to(&url).into_response())
        }
        FileDelivery::Inline => Ok(bytes_response(path, inline().ok_or_else(missing)?)),
    }
}

async fn report_file(
    State(host): State<ApiState>,
    Path((tenant, period, path)): Path<(String, String, String)>,
    Query(q): Query<LinkQuery>,
) -> Result<Response, ApiError> {
    let o = open(&host, (&tenant, &period), &q, &format!("report/{path}")).await?;
    let run = snapshot_id(&o.scope.id);
    deliver(&host, &o.tenant, &run, &path, || {
        o.files.get(&path).map(<[u8]>::to_vec)
    })
    .await
}

async fn bundle_file(
    State(host): State<ApiState>,
    Path((tenant, period, run, path)): Path<(String, String, String, String)>,
    Query(q): Query<LinkQuery>,
) -> Result<Response, ApiError> {
    let what = format!("bundles/{run}/{path}");
    let o = open(&host, (&tenant, &period), &q, &what).await?;
    if !in_period(&o.report, &run) {
        return Err(ApiError::new(
            ErrorKind::NotFound,
            "not_found",
            format!("run {run} is not a run of this period"),
        ));
    }
    let files = bundle_of(&host, &o.tenant, &run).await?;
    deliver(&host, &o.tenant, &RunId::new(run.as_str()), &path, || {
        files.get(&path).map(<[u8]>::to_vec)
    })
    .await
}

fn tar_error(e: std::io::Error) -> ApiError {
    EngineError::Bundle(format!("building the archive: {e}")).into()
}

fn mtime(report: &PeriodReport) -> u64 {
    u64::try_from(report.generated_at.as_second()).unwrap_or(0)
}

async fn report_tar(
    State(host): State<ApiState>,
    Path((tenant, period)): Path<(String, String)>,
    Query(q): Query<LinkQuery>,
) -> Result<Response, ApiError> {
    let o = open(&host, (&tenant, &period), &q, "report.tar").await?;
    let prefix = format!("report-{}", o.scope.period);
    let tar =
        passage_report::tar_archive(&[(prefix, &o.files)], mtime(&o.report)).map_err(tar_error)?;
    Ok(bytes_response("report.tar", tar))
}

async fn archive(
    State(host): State<ApiState>,
    Path((tenant, period)): Path<(String, String)>,
    Query(q): Query<LinkQuery>,
) -> Result<Response, ApiError> {
    let o = open(&host, (&tenant, &period), &q, "archive.tar").await?;
    let bundles: Vec<_> = period_bundles(&host, &o.tenant, &o.report)
        .await?
        .into_iter()
        .map(|(slot, files)| (format!("bundles/{slot}"), files))
        .collect();
    let mut dirs: Vec<(String, &BundleFiles)> = vec![("report".into(), &o.files)];
    dirs.extend(bundles.iter().map(|(p, f)| (p.clone(), f)));
    let tar = passage_report::tar_archive(&dirs, mtime(&o.report)).map_err(tar_error)?;
    Ok(bytes_response("archive.tar", tar))
}

/// Every public key the report and the period's bundles were signed with, by fingerprint.
async fn keys(
    State(host): State<ApiState>,
    Path((tenant, period)): Path<(String, String)>,
    Query(q): Query<LinkQuery>,
) -> Result<Response, ApiError> {
    let o = open(&host, (&tenant, &period), &q, "keys.json").await?;
    let mut by_fingerprint: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    let mut add = |pem: Option<&[u8]>, who: String| {
        let Some(pem) = pem.and_then(|p| std::str::from_utf8(p).ok()) else {
            return;
        };
        if let Ok(fp) = public_key_fingerprint(pem) {
            by_fingerprint
                .entry(fp)
                .or_insert_with(|| (pem.to_owned(), Vec::new()))
                .1
                .push(who);
        }
    };
    add(o.files.get("signing-key.pem"), "report".into());
    for (slot, files) in period_bundles(&host, &o.tenant, &o.report).await? {
        add(files.get("signing-key.pem"), slot);
    }
    let keys: Vec<_> = by_fingerprint
        .into_iter()
        .map(|(fp, (pem, used_by))| json!({"public_key_sha256": fp, "pem": pem, "signed": used_by}))
        .collect();
    Ok(axum::Json(json!({"tenant": tenant, "period": period, "keys": keys})).into_response())
}

/// The chain head the report covers, and the tenant's head now.
async fn checkpoint(
    State(host): State<ApiState>,
    Path((tenant, period)): Path<(String, String)>,
    Query(q): Query<LinkQuery>,
) -> Result<Response, ApiError> {
    let o = open(&host, (&tenant, &period), &q, "checkpoint.json").await?;
    let now = host
        .engine
        .ports()
        .store
        .chain_head(&o.tenant)
        .await
        .map_err(EngineError::from)?;
    Ok(axum::Json(json!({
        "tenant": tenant,
        "covered": {"sequence": o.report.chain_head.sequence,
            "manifest_sha256": o.report.chain_head.manifest_sha256,
            "as_of": o.report.generated_at},
        "current": {"sequence": now.sequence, "manifest_sha256": now.manifest_sha256},
    }))
    .into_response())
}

fn entry(base: &str, query: &str, path: &str, note: impl Into<String>) -> IndexEntry {
    IndexEntry {
        label: path.to_owned(),
        href: format!("{base}/{path}?{query}"),
        note: note.into(),
    }
}

async fn index(
    State(host): State<ApiState>,
    Path((tenant, period)): Path<(String, String)>,
    Query(q): Query<LinkQuery>,
) -> Result<Response, ApiError> {
    let o = open(&host, (&tenant, &period), &q, "index").await?;
    let base = format!("/v1/periods/{tenant}/{period}");
    let mut report: Vec<IndexEntry> = o
        .files
        .paths()
        .map(|p| entry(&base, &o.query, &format!("report/{p}"), "signed report"))
        .collect();
    report.push(entry(
        &base,
        &o.query,
        "report.tar",
        "the signed report as one archive",
    ));
    report.push(entry(
        &base,
        &o.query,
        "archive.tar",
        "the signed report and every bundle of the period",
    ));
    report.push(entry(
        &base,
        &o.query,
        "keys.json",
        "public keys of the report and the bundles",
    ));
    report.push(entry(
        &base,
        &o.query,
        "checkpoint.json",
        "the evidence chain head the report covers, and now",
    ));
    let mut bundles = Vec::new();
    for (run, files) in period_bundles(&host, &o.tenant, &o.report).await? {
        let list = files
            .paths()
            .map(|p| entry(&base, &o.query, &format!("bundles/{run}/{p}"), ""))
            .collect();
        bundles.push((run, list));
    }
    let page = period_index(&IndexInput {
        tenant: &tenant,
        period: &period,
        expires: jiff::Timestamp::from_second(o.scope.expires).unwrap_or_default(),
        report: &report,
        bundles: &bundles,
    });
    Ok(Html(page).into_response())
}
