//! Home: the runs that need a person now, across every tenant the operator sees, each with
//! why and the one action that resolves it.

use super::layout::{self, Notice};
use super::scope;
use super::session::{Session, SessionKey};
use crate::ApiState;
use crate::error::ApiError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use passage_core::engine::EngineError;
use passage_core::remedy::Remedy;
use passage_core::{Run, RunState, StepState};

/// One run that needs someone, and why.
pub(crate) struct Attention {
    pub(crate) run: Run,
    /// What holds it, in words, most pressing first.
    pub(crate) reasons: Vec<String>,
    pub(crate) remedies: Vec<Remedy>,
    pub(crate) past_sla: bool,
    pub(crate) awaiting_people: bool,
}

/// Whether `run` needs a person, read as the API's `resolve` and the SLA alerts read it.
pub(crate) async fn attention(state: &ApiState, run: Run) -> Result<Option<Attention>, ApiError> {
    if run.state.is_terminal() {
        return Ok(None);
    }
    let store = &state.engine.ports().store;
    let steps = store.steps(&run.id).await.map_err(EngineError::from)?;
    let now = state.engine.now();
    let remedies = passage_core::remedy::for_run(&run, &steps, now);
    let past_sla = run.state.is_open() && past_sla(state, &run, now).await;
    let awaiting_people = steps.iter().any(|s| s.state == StepState::Awaiting);
    let mut reasons = Vec::new();
    if let Some(hold) = run.hold.as_ref().filter(|_| run.is_held()) {
        reasons.push(format!("Held by the go-live guard: {}", hold.reason));
    }
    if run.state == RunState::Blocked {
        let why = run
            .blocked_reason
            .as_deref()
            .unwrap_or("a critical step failed");
        reasons.push(format!("Blocked: {why}"));
    }
    if awaiting_people {
        reasons.push("Awaiting confirmation from people (devices or attestations)".into());
    }
    if past_sla {
        reasons.push("Past the tenant's access-removal SLA".into());
    }
    if reasons.is_empty() && remedies.is_empty() {
        return Ok(None);
    }
    Ok(Some(Attention {
        run,
        reasons,
        remedies,
        past_sla,
        awaiting_people,
    }))
}

async fn past_sla(state: &ApiState, run: &Run, now: jiff::Timestamp) -> bool {
    match state.engine.ports().tenants.tenant(&run.tenant).await {
        Ok(Some(policy)) => now >= passage_core::engine::sla_due(run, &policy),
        _ => false,
    }
}

/// Every run of the operator's tenants that needs a person.
pub(crate) async fn needing_attention(
    state: &ApiState,
    session: &Session,
) -> Result<Vec<Attention>, ApiError> {
    let mut out = Vec::new();
    for run in scope::runs(state, &session.op, None, None).await? {
        if let Some(a) = attention(state, run).await? {
            out.push(a);
        }
    }
    Ok(out)
}

pub(crate) async fn page(State(state): State<ApiState>, session: Session) -> Response {
    render(&state, &session, None).await
}

/// The home page, with the notice of an action taken from it.
pub(crate) async fn render(
    state: &ApiState,
    session: &Session,
    notice: Option<Notice>,
) -> Response {
    let Some(key) = SessionKey::of(state) else {
        return layout::respond(StatusCode::SERVICE_UNAVAILABLE, html! { "no session key" });
    };
    let csrf = session.csrf(&key);
    let content = match needing_attention(state, session).await {
        Ok(list) => list_markup(&list, &csrf),
        Err(e) => html! { p role="alert" { "The runs could not be read: " (e.message()) } },
    };
    layout::respond(
        StatusCode::OK,
        layout::page(
            "Needs attention",
            "/console",
            Some((session, &csrf)),
            notice.as_ref(),
            content,
        ),
    )
}

fn list_markup(list: &[Attention], csrf: &str) -> Markup {
    html! {
        @if list.is_empty() {
            p { "Nothing needs a person now. Every open run is moving on its own." }
        } @else {
            p { (list.len()) " runs need a person now." }
            table {
                caption.muted { "Runs that need a person, newest first" }
                thead { tr { th scope="col" { "Leaver" } th scope="col" { "Tenant" } th scope="col" { "State" }
                    th scope="col" { "Why" } th scope="col" { "What resolves it" } } }
                tbody {
                    @for a in list { (row(a, csrf)) }
                }
            }
        }
    }
}

fn row(a: &Attention, csrf: &str) -> Markup {
    let run = &a.run;
    let href = format!("/console/tenants/{}/runs/{}", run.tenant, run.id);
    html! {
        tr {
            td { a href=(href) { (run.subject.email) } br; span.muted { (run.id) } }
            td { (run.tenant) }
            td {
                (layout::state_badge(run.shown_state()))
                @if a.past_sla { " " (layout::state_badge("past SLA")) }
            }
            td { ul { @for r in &a.reasons { li { (r) } } } }
            td { (resolve(a, &href, csrf)) }
        }
    }
}

/// The one action that resolves the run: approving a held run right here; anything else on
/// the run page, where the form asks for what the action needs.
fn resolve(a: &Attention, href: &str, csrf: &str) -> Markup {
    let run = &a.run;
    let first = a.remedies.first();
    html! {
        @if run.is_held() {
            form.inline method="post" action={"/console/tenants/" (run.tenant) "/approve"} {
                (layout::hidden_csrf(csrf))
                input type="hidden" name="run_id" value=(run.id);
                button type="submit" { "Approve " (run.subject.email) }
            }
        } @else if let Some(r) = first {
            p { (r.when) }
            a href=(href) { "Resolve on the run page" }
        } @else if a.awaiting_people {
            a href={(href) "#people"} { "Confirm on the run page" }
        } @else {
            a href=(href) { "Open the run" }
        }
    }
}
