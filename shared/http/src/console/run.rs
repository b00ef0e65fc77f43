//! One run: what it is, what holds it and what resolves it, its live timeline (steps,
//! attempts, calls and their request ids), graded access items, exceptions, the people's
//! checklist, and a form for every action the operator API offers.

use super::layout::{self, Notice};
use super::session::{Session, SessionKey};
use crate::ApiState;
use crate::error::ApiError;
use crate::operator::visible_run;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use passage_core::access::AccessItem;
use passage_core::domain::{AttemptRecord, RunEvent};
use passage_core::engine::EngineError;
use passage_core::{Run, Step, StepState};
use serde::Serialize;

/// Everything the page shows, read once.
pub(crate) struct RunView {
    pub(crate) run: Run,
    pub(crate) steps: Vec<Step>,
    attempts: Vec<AttemptRecord>,
    events: Vec<RunEvent>,
    remedies: Vec<passage_core::remedy::Remedy>,
    pub(crate) access: Vec<AccessItem>,
}

impl RunView {
    pub(crate) async fn read(state: &ApiState, run: Run) -> Result<Self, ApiError> {
        let store = &state.engine.ports().store;
        let steps = store.steps(&run.id).await.map_err(EngineError::from)?;
        let attempts = store.attempts(&run.id).await.map_err(EngineError::from)?;
        let events = store.events(&run.id).await.map_err(EngineError::from)?;
        let remedies = passage_core::remedy::for_run(&run, &steps, state.engine.now());
        let access = passage_core::access::grade(&steps);
        Ok(Self {
            run,
            steps,
            attempts,
            events,
            remedies,
            access,
        })
    }
}

/// A value's serde name (`"not_applicable"`), for enums shown as words.
pub(crate) fn word<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

pub(crate) async fn page(
    State(state): State<ApiState>,
    session: Session,
    Path((tenant, run)): Path<(String, String)>,
) -> Response {
    render(&state, &session, &tenant, &run, None).await
}

/// The run page, with the notice of an action just taken on it. A run the operator cannot see
/// is the not-found page, whatever the reason.
pub(crate) async fn render(
    state: &ApiState,
    session: &Session,
    tenant: &str,
    run_id: &str,
    notice: Option<Notice>,
) -> Response {
    let Some(key) = SessionKey::of(state) else {
        return layout::respond(StatusCode::SERVICE_UNAVAILABLE, html! { "no session key" });
    };
    let csrf = session.csrf(&key);
    let run = match visible_run(state, &session.op, tenant, run_id).await {
        Ok(run) => run,
        Err(e) if e.status() == StatusCode::NOT_FOUND => return layout::not_found(session, &csrf),
        Err(e) => return layout::respond(e.status(), html! { p role="alert" { (e.message()) } }),
    };
    let view = match RunView::read(state, run).await {
        Ok(v) => v,
        Err(e) => return layout::respond(e.status(), html! { p role="alert" { (e.message()) } }),
    };
    let status = match &notice {
        Some(Notice::Refused(_)) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    let title = format!("Run for {}", view.run.subject.email);
    let content = html! {
        (facts(&view.run))
        (resolve(&view))
        (super::actions::forms(&view, &csrf))
        (live(&view))
        (access(&view.access, &view.run.exceptions))
        (events(&view.events))
    };
    layout::respond(
        status,
        layout::page(
            &title,
            "/console/runs",
            Some((session, &csrf)),
            notice.as_ref(),
            content,
        ),
    )
}

/// The timeline alone, for the page's script to swap in while the run moves.
pub(crate) async fn live_fragment(
    State(state): State<ApiState>,
    session: Session,
    Path((tenant, run)): Path<(String, String)>,
) -> Response {
    let run = match visible_run(&state, &session.op, &tenant, &run).await {
        Ok(run) => run,
        Err(e) => return (e.status(), e.message().to_owned()).into_response(),
    };
    match RunView::read(&state, run).await {
        Ok(view) => (StatusCode::OK, live(&view)).into_response(),
        Err(e) => (e.status(), e.message().to_owned()).into_response(),
    }
}

fn facts(run: &Run) -> Markup {
    html! {
        dl.facts {
            dt { "State" } dd { (layout::state_badge(run.shown_state())) }
            dt { "Tenant" } dd { (run.tenant) }
            dt { "Leaver" } dd { (run.subject.email) " (" (run.subject.employee_id) ")" }
            dt { "Run id" } dd { code { (run.id) } }
            dt { "Cutoff" } dd { (layout::at(run.cutoff.at)) " (" (run.cutoff.zone) ")" }
            dt { "Created" } dd { (layout::at(run.created_at)) }
            @if let Some(t) = run.closed_at { dt { "Closed" } dd { (layout::at(t)) } }
            @if let Some(why) = &run.blocked_reason { dt { "Blocked because" } dd { (why) } }
            @if let Some(hold) = run.hold.as_ref().filter(|_| run.is_held()) {
                dt { "Held because" } dd { (hold.reason) }
            }
            @if let Some(c) = &run.cancellation {
                dt { "Cancelled" } dd { "by " (c.actor) ": " (c.reason) }
            }
            @if let Some(b) = &run.bundle {
                dt { "Evidence bundle" } dd { "sequence " (b.sequence) ", manifest " code { (b.manifest_sha256) } }
            }
        }
    }
}

fn resolve(view: &RunView) -> Markup {
    html! {
        @if !view.remedies.is_empty() {
            section aria-labelledby="resolve" {
                h2 #resolve { "What resolves it" }
                ul { @for r in &view.remedies { li { (r.when) br; span.muted { "CLI: " code { (r.command) } } } } }
            }
        }
    }
}

/// Steps with their attempts and calls; marked live while the run is not finished.
fn live(view: &RunView) -> Markup {
    let run = &view.run;
    let url = format!("/console/tenants/{}/runs/{}/live", run.tenant, run.id);
    let open = !run.state.is_terminal();
    html! {
        section #timeline aria-labelledby="timeline-h" data-live=(url) data-open[open] aria-live="polite" {
            h2 #timeline-h { "Timeline" }
            @if open { p.muted { "This run is in progress; the timeline updates by itself." } }
            table {
                caption.muted { "Steps in order, with every attempt and call" }
                thead { tr { th scope="col" { "Step" } th scope="col" { "Provider" } th scope="col" { "State" }
                    th scope="col" { "Attempts and calls" } } }
                tbody { @for s in &view.steps { (step_row(s, &view.attempts)) } }
            }
        }
    }
}

fn step_row(s: &Step, attempts: &[AttemptRecord]) -> Markup {
    html! {
        tr {
            td { code { (s.key) } br; span.muted { (word(&s.action)) @if s.critical { ", critical" } @else { ", not critical" } } }
            td { (s.provider.as_str()) @if let Some(app) = &s.app { " (" (app) ")" } }
            td {
                (layout::state_badge(s.state.as_str()))
                @if let Some(e) = &s.last_error { br; span { (e.message) " (" (e.code) ")" } }
                @if let Some(w) = &s.waiver { br; span { "waived by " (w.actor) ": " (w.reason) } }
            }
            td {
                @for a in attempts.iter().filter(|a| a.step_key == s.key) {
                    details {
                        summary { "Attempt " (a.number) ": " (word(&a.result)) " at " (layout::at(a.started_at)) }
                        @if let Some(m) = &a.message { p { (m) } }
                        ul {
                            @for c in &a.calls {
                                li { code { (c.method) " " (c.path) } " → " (c.status) " in " (c.duration_ms) " ms"
                                    @if let Some(id) = &c.request_id { ", request id " code { (id) } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn access(items: &[AccessItem], exceptions: &[passage_core::access::AccessException]) -> Markup {
    html! {
        section aria-labelledby="access-h" {
            h2 #access-h { "Access, graded" }
            @if items.is_empty() { p { "No access items were recorded for this run yet." } }
            @else {
                table {
                    caption.muted { "Each item of the leaver's access and how its removal is known" }
                    thead { tr { th scope="col" { "Item" } th scope="col" { "Grade" } th scope="col" { "Why" } } }
                    tbody {
                        @for i in items {
                            tr {
                                td { (i.name) br; code.muted { (i.key) } }
                                td { (layout::state_badge(&word(&i.grade))) }
                                td { (i.reason.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
            h3 { "Exceptions" }
            @if exceptions.is_empty() { p { "No exceptions were accepted." } }
            @else {
                ul { @for e in exceptions { li { code { (e.item) } " accepted by " (e.operator) ": " (e.reason) } } }
            }
        }
    }
}

fn events(events: &[RunEvent]) -> Markup {
    html! {
        section aria-labelledby="events-h" {
            h2 #events-h { "Record" }
            details {
                summary { (events.len()) " events, oldest first" }
                ol { @for e in events { li { (layout::at(e.at)) " " code { (e.kind) } " by " (e.actor) } } }
            }
        }
    }
}

/// Steps that wait for people, with their outstanding items.
pub(crate) fn awaiting(steps: &[Step]) -> impl Iterator<Item = &Step> {
    steps.iter().filter(|s| s.state == StepState::Awaiting)
}
