//! Evidence: the bundles of the operator's closed runs, each checked against the chain (the
//! stored manifest must hash to what the run recorded when it closed), and the links that
//! serve them and the period reports.

use super::csrf;
use super::layout::{self, Notice};
use super::scope;
use super::session::{Session, SessionKey};
use crate::ApiState;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use passage_core::{Run, RunState, TenantId};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Whether a closed run's bundle is as it was sealed.
enum Verified {
    Matches,
    Differs,
    Missing,
    Unreadable(String),
}

async fn verify(state: &ApiState, run: &Run) -> Verified {
    let Some(bundle) = &run.bundle else {
        return Verified::Missing;
    };
    let stored = state
        .engine
        .ports()
        .evidence
        .get_file(&run.tenant, &run.id, "manifest.json")
        .await;
    match stored {
        Ok(Some(bytes)) if hex::encode(Sha256::digest(&bytes)) == bundle.manifest_sha256 => {
            Verified::Matches
        }
        Ok(Some(_)) => Verified::Differs,
        Ok(None) => Verified::Missing,
        Err(e) => Verified::Unreadable(e.to_string()),
    }
}

pub(crate) async fn page(State(state): State<ApiState>, session: Session) -> Response {
    render(&state, &session, None).await
}

async fn render(state: &ApiState, session: &Session, notice: Option<Notice>) -> Response {
    let Some(key) = SessionKey::of(state) else {
        return layout::respond(StatusCode::SERVICE_UNAVAILABLE, html! { "no session key" });
    };
    let csrf = session.csrf(&key);
    let tenants = scope::tenants(state, &session.op).await.unwrap_or_default();
    let content = match scope::runs(state, &session.op, None, Some(RunState::Closed)).await {
        Ok(runs) => {
            let mut rows = Vec::new();
            for run in runs.iter().filter(|r| r.bundle.is_some()) {
                rows.push(row(run, &verify(state, run).await));
            }
            let activity = link_activity(state, &tenants).await;
            html! { (listing(&rows)) (periods(&tenants, &csrf)) (activity) }
        }
        Err(e) => html! { p role="alert" { (e.message()) } },
    };
    let status = match &notice {
        Some(Notice::Refused(_)) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    layout::respond(
        status,
        layout::page(
            "Evidence",
            "/console/evidence",
            Some((session, &csrf)),
            notice.as_ref(),
            content,
        ),
    )
}

fn row(run: &Run, verified: &Verified) -> Markup {
    let href = format!("/console/tenants/{}/runs/{}", run.tenant, run.id);
    let sequence = run.bundle.as_ref().map(|b| b.sequence).unwrap_or_default();
    html! {
        tr {
            td { a href=(href) { (run.subject.email) } }
            td { (run.tenant) }
            td { (sequence) }
            td { @if let Some(t) = run.closed_at { (layout::at(t)) } }
            td { @match verified {
                // Only the manifest's digest is compared here; the signature and every file are
                // `passage verify`'s to check, so the badge does not say "verified".
                Verified::Matches => { (layout::state_badge("sealed")) " the stored manifest matches the chain (signature and files: `passage verify`)" }
                Verified::Differs => { (layout::state_badge("failed")) " the stored manifest differs from the chain" }
                Verified::Missing => { (layout::state_badge("failed")) " no manifest is stored" }
                Verified::Unreadable(e) => { (layout::state_badge("failed")) " unreadable: " (e) }
            } }
            td { a href={(href) "#run-actions-h"} { "Issue an auditor link" } }
        }
    }
}

fn listing(rows: &[Markup]) -> Markup {
    html! {
        h2 { "Bundles of closed runs" }
        @if rows.is_empty() { p { "No run of your tenants has closed with a bundle yet." } }
        @else {
            table {
                caption.muted { "Each bundle, checked against the tenant's evidence chain" }
                thead { tr { th scope="col" { "Leaver" } th scope="col" { "Tenant" } th scope="col" { "Chain sequence" }
                    th scope="col" { "Closed" } th scope="col" { "Verification" } th scope="col" { "Link" } } }
                tbody { @for r in rows { (r) } }
            }
        }
    }
}

/// A period link: the signed report of every leaver of a tenant between two days, its keys,
/// chain checkpoint and every bundle.
fn periods(tenants: &[String], csrf: &str) -> Markup {
    html! {
        h2 #periods-h { "Period reports" }
        p { "A period link serves the signed report of every leaver of a tenant between two days, with its keys, the chain checkpoint and every bundle." }
        form.inline method="post" action="/console/evidence/period-link" aria-labelledby="periods-h" {
            (layout::hidden_csrf(csrf))
            label for="p-tenant" { "Tenant"
                select #p-tenant name="tenant" { @for t in tenants { option value=(t) { (t) } } } }
            label for="p-from" { "From" input #p-from type="date" name="from" required; }
            label for="p-to" { "To" input #p-to type="date" name="to" required; }
            label for="p-hours" { "Valid for (hours)" input #p-hours type="number" name="hours" value="168" min="1" max="2160" required; }
            button type="submit" { "Issue a period link" }
        }
        ul { @for t in tenants { li { a href={"/v1/tenants/" (t) "/keys.json"} { "Published key set of " (t) } } } }
    }
}

#[derive(Deserialize)]
pub(crate) struct PeriodForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    hours: String,
}

/// Issues a period link for a tenant in the operator's scope, recorded with their name.
pub(crate) async fn period_link(
    State(state): State<ApiState>,
    session: Session,
    headers: HeaderMap,
    Form(f): Form<PeriodForm>,
) -> Response {
    let Some(key) = SessionKey::of(&state) else {
        return layout::respond(StatusCode::SERVICE_UNAVAILABLE, html! { "no session key" });
    };
    if let Err(refusal) = csrf::check(&headers, &key, &session, &f.csrf) {
        let mut page = render(
            &state,
            &session,
            Some(Notice::Refused(refusal.message().into())),
        )
        .await;
        *page.status_mut() = StatusCode::FORBIDDEN;
        return page;
    }
    if crate::operator::visible(&state, &session.op, &f.tenant)
        .await
        .is_err()
    {
        return layout::not_found(&session, &session.csrf(&key));
    }
    let notice = match issue_period(&state, &session, &f).await {
        Ok(done) => Notice::Done(done),
        Err(why) => Notice::Refused(why),
    };
    render(&state, &session, Some(notice)).await
}

async fn issue_period(
    state: &ApiState,
    session: &Session,
    f: &PeriodForm,
) -> Result<String, String> {
    let day = |text: &str| {
        text.parse::<jiff::civil::Date>()
            .map_err(|_| format!("{text:?} is not a date such as 2026-03-31"))
    };
    let period =
        passage_core::report::Period::new(day(&f.from)?, day(&f.to)?).map_err(|e| e.to_string())?;
    let hours: u64 = f
        .hours
        .trim()
        .parse()
        .ok()
        .filter(|h| (1..=2160).contains(h))
        .ok_or("hours must be a whole number from 1 to 2160 (90 days)")?;
    let tenant = TenantId::new(f.tenant.as_str());
    let actor = format!("operator:{}", session.op.name);
    let request = passage_report::publish::LinkRequest {
        tenant: &tenant,
        period,
        valid_for: std::time::Duration::from_secs(hours * 3600),
        actor: &actor,
        link_key: state.link_key.expose().as_bytes(),
    };
    let chromium = passage_report::pdf::Chromium::find();
    let issued =
        passage_report::publish::issue_period_link(&state.engine, &request, chromium.as_ref())
            .await
            .map_err(|e| e.to_string())?;
    Ok(format!(
        "period link for {} leavers: {}",
        issued.report.report.population.count, issued.path
    ))
}

/// How many recent link events the page lists.
const ACTIVITY_SHOWN: usize = 50;

/// Auditor links issued and fetched in the last ninety days, newest first, from the audit logs
/// of the operator's tenants.
async fn link_activity(state: &ApiState, tenants: &[String]) -> Markup {
    let since = state
        .engine
        .now()
        .checked_sub(jiff::SignedDuration::from_hours(24 * 90))
        .ok();
    let mut events = Vec::new();
    let mut unreadable = Vec::new();
    for t in tenants {
        let audit = &state.engine.ports().audit;
        match audit.audit_events(&TenantId::new(t.as_str()), since).await {
            Ok(found) => events.extend(found.into_iter().filter(|e| e.kind.starts_with("link."))),
            Err(e) => unreadable.push(format!("{t}: {e}")),
        }
    }
    events.sort_by_key(|e| std::cmp::Reverse(e.at));
    events.truncate(ACTIVITY_SHOWN);
    html! {
        h2 { "Links issued and fetched" }
        @for u in &unreadable { p role="alert" { "The audit log could not be read: " (u) } }
        @if events.is_empty() { p { "No auditor link was issued or fetched in the last 90 days." } }
        @else {
            table {
                caption.muted { "The latest link events of your tenants' audit logs" }
                thead { tr { th scope="col" { "When" } th scope="col" { "Tenant" } th scope="col" { "What" }
                    th scope="col" { "By" } th scope="col" { "Scope" } } }
                tbody { @for e in &events {
                    tr {
                        td { (layout::at(e.at)) }
                        td { (e.tenant) }
                        td { code { (e.kind) } }
                        td { (e.actor) }
                        td { (scope_of(&e.detail)) }
                    }
                } }
            }
        }
    }
}

/// A link's scope in words: the run, or the period.
fn scope_of(detail: &serde_json::Value) -> String {
    let text = |k: &str| detail[k].as_str().unwrap_or("").to_owned();
    match detail["scope"].as_str() {
        Some("run") => format!("run {}", text("run_id")),
        Some("period") => format!("period {}", text("period")),
        _ => String::new(),
    }
}
