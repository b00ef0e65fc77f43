//! Tenants, the MSP view: each client's health at a glance (last run, open runs, held, blocked,
//! past SLA), its policy, approval of its held runs, and a `plan` preview for a leaver.

use super::csrf;
use super::home::attention;
use super::layout::{self, Notice};
use super::run::word;
use super::scope;
use super::session::{Session, SessionKey};
use crate::ApiState;
use crate::error::ApiError;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use passage_core::engine::{Approval, PlanPreview, PlanRequest};
use passage_core::{RunState, TenantId, TenantPolicy};
use serde::Deserialize;

/// One client's health.
struct Health {
    tenant: String,
    policy: Option<TenantPolicy>,
    last_run: Option<jiff::Timestamp>,
    open: usize,
    held: usize,
    blocked: usize,
    past_sla: usize,
}

async fn health(state: &ApiState, session: &Session, tenant: &str) -> Result<Health, ApiError> {
    let runs = scope::runs(state, &session.op, Some(tenant), None).await?;
    let policy = state
        .engine
        .ports()
        .tenants
        .tenant(&TenantId::new(tenant))
        .await
        .ok()
        .flatten();
    let mut h = Health {
        tenant: tenant.to_owned(),
        policy,
        last_run: runs.iter().map(|r| r.created_at).max(),
        open: runs.iter().filter(|r| r.state.is_open()).count(),
        held: runs.iter().filter(|r| r.is_held()).count(),
        blocked: runs.iter().filter(|r| r.state == RunState::Blocked).count(),
        past_sla: 0,
    };
    for run in runs.into_iter().filter(|r| r.state.is_open()) {
        if attention(state, run).await?.is_some_and(|a| a.past_sla) {
            h.past_sla += 1;
        }
    }
    Ok(h)
}

pub(crate) async fn page(State(state): State<ApiState>, session: Session) -> Response {
    render(&state, &session, None, None).await
}

async fn render(
    state: &ApiState,
    session: &Session,
    notice: Option<Notice>,
    preview: Option<PlanPreview>,
) -> Response {
    let Some(key) = SessionKey::of(state) else {
        return layout::respond(StatusCode::SERVICE_UNAVAILABLE, html! { "no session key" });
    };
    let csrf = session.csrf(&key);
    let mut cards = Vec::new();
    for t in scope::tenants(state, &session.op).await.unwrap_or_default() {
        match health(state, session, &t).await {
            Ok(h) => cards.push(card(&h, &csrf)),
            Err(e) => cards.push(html! { p role="alert" { (t) ": " (e.message()) } }),
        }
    }
    let status = match &notice {
        Some(Notice::Refused(_)) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    let content = html! {
        @if let Some(p) = &preview { (preview_markup(p)) }
        @if cards.is_empty() { p { "No tenant is visible to you yet." } }
        @for c in &cards { (c) }
    };
    layout::respond(
        status,
        layout::page(
            "Tenants",
            "/console/tenants",
            Some((session, &csrf)),
            notice.as_ref(),
            content,
        ),
    )
}

fn card(h: &Health, csrf: &str) -> Markup {
    let t = &h.tenant;
    html! {
        section.card aria-labelledby={"t-" (t)} {
            h2 #{"t-" (t)} { (t) @if let Some(p) = &h.policy { " · " (p.name) } }
            dl.facts {
                dt { "Last run" } dd { @if let Some(at) = h.last_run { (layout::at(at)) } @else { "none yet" } }
                dt { "Open runs" } dd { (h.open) }
                dt { "Held by the go-live guard" } dd { (h.held) }
                dt { "Blocked" } dd { (h.blocked) @if h.blocked > 0 { " " (layout::state_badge("blocked")) } }
                dt { "Past SLA" } dd { (h.past_sla) @if h.past_sla > 0 { " " (layout::state_badge("past SLA")) } }
                @if let Some(p) = &h.policy { (policy(p)) }
            }
            p { a href={"/console/runs?tenant=" (t)} { "Runs of " (t) } }
            @if h.held > 0 {
                form.inline method="post" action={"/console/tenants/" (t) "/approve"} {
                    (layout::hidden_csrf(csrf))
                    input type="hidden" name="all" value="yes";
                    button type="submit" { "Approve all " (h.held) " held runs of " (t) }
                }
            }
            form.inline method="post" action={"/console/tenants/" (t) "/plan"} {
                (layout::hidden_csrf(csrf))
                label for={"plan-" (t)} { "Preview a leaver (email)" input #{"plan-" (t)} type="email" name="email" required; }
                button.secondary type="submit" { "Plan" }
            }
        }
    }
}

/// The policy at a glance: which providers, the SLA, the guard, the day's end.
fn policy(p: &TenantPolicy) -> Markup {
    let providers: Vec<&str> = [
        ("okta", p.okta.is_some()),
        ("microsoft", p.microsoft.is_some()),
        ("google", p.google.is_some()),
        ("jumpcloud", p.jumpcloud.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect();
    let sla_hours = p.sla.within.as_secs() / 3600;
    html! {
        dt { "Providers" } dd { (providers.join(", ")) }
        dt { "SLA" } dd { (sla_hours) " hours from the " (word(&p.sla.from).replace('_', " ")) }
        dt { "Go-live guard" } dd {
            @if let Some(g) = &p.guard { "holds past " (g.max_terminations) " terminations in " (g.window.as_secs() / 60) " minutes" }
            @else { "off" }
        }
        dt { "End of day" } dd { (p.end_of_day) " " (p.default_time_zone) }
    }
}

fn preview_markup(p: &PlanPreview) -> Markup {
    html! {
        section.card aria-labelledby="preview-h" {
            h2 #preview-h { "Plan for " (p.email) " in " (p.tenant) }
            p.muted { "Read live at " (layout::at(p.read_at)) "; nothing was changed." }
            ul { @for r in &p.reads {
                li { (r.provider.as_str()) ": "
                    @if let Some(e) = &r.error { (layout::state_badge("failed")) " " (e) }
                    @else { (r.found.as_deref().unwrap_or("read")) } }
            } }
            table {
                caption.muted { "What a run would do, step by step" }
                thead { tr { th scope="col" { "Step" } th scope="col" { "Provider" } th scope="col" { "Would" } } }
                tbody { @for s in &p.steps {
                    tr { td { code { (s.step) } } td { (s.provider.as_str()) }
                         td { code { (serde_json::to_string(&s.preview).unwrap_or_default()) } } }
                } }
            }
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct TenantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    run_id: String,
    #[serde(default)]
    all: String,
    #[serde(default)]
    email: String,
}

/// Checks the form, then that the tenant is visible: one outside the scope is not found.
async fn checked(
    state: &ApiState,
    session: &Session,
    headers: &HeaderMap,
    tenant: &str,
    f: &TenantForm,
) -> Result<(), Response> {
    let key = SessionKey::of(state).ok_or_else(|| {
        layout::respond(StatusCode::SERVICE_UNAVAILABLE, html! { "no session key" })
    })?;
    if let Err(refusal) = csrf::check(headers, &key, session, &f.csrf) {
        let mut page = render(
            state,
            session,
            Some(Notice::Refused(refusal.message().into())),
            None,
        )
        .await;
        *page.status_mut() = StatusCode::FORBIDDEN;
        return Err(page);
    }
    if crate::operator::visible(state, &session.op, tenant)
        .await
        .is_err()
    {
        return Err(layout::not_found(session, &session.csrf(&key)));
    }
    Ok(())
}

/// Releases held runs: one (from the home page) or all of the tenant's.
pub(crate) async fn approve(
    State(state): State<ApiState>,
    session: Session,
    headers: HeaderMap,
    Path(tenant): Path<String>,
    Form(f): Form<TenantForm>,
) -> Response {
    if let Err(refused) = checked(&state, &session, &headers, &tenant, &f).await {
        return refused;
    }
    let which = if f.all == "yes" {
        Approval::All
    } else {
        Approval::One(passage_core::RunId::new(f.run_id.as_str()))
    };
    let result = state
        .engine
        .approve(&TenantId::new(tenant.as_str()), which, &session.op.name)
        .await
        .map(|runs| {
            format!(
                "{} held runs of {tenant} approved; they start now",
                runs.len()
            )
        })
        .map_err(ApiError::from);
    super::home::render(&state, &session, Some(Notice::from_result(result))).await
}

/// `plan` for a leaver: read live from every provider, nothing changed.
pub(crate) async fn plan(
    State(state): State<ApiState>,
    session: Session,
    headers: HeaderMap,
    Path(tenant): Path<String>,
    Form(f): Form<TenantForm>,
) -> Response {
    if let Err(refused) = checked(&state, &session, &headers, &tenant, &f).await {
        return refused;
    }
    let request = PlanRequest {
        email: f.email.trim().to_owned(),
        employee_id: None,
        manager: None,
    };
    match state
        .engine
        .preview(&TenantId::new(tenant.as_str()), request)
        .await
    {
        Ok(p) => render(&state, &session, None, Some(p)).await,
        Err(e) => {
            render(
                &state,
                &session,
                Some(Notice::Refused(ApiError::from(e).message().into())),
                None,
            )
            .await
        }
    }
}
