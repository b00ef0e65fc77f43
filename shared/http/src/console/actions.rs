//! The run page's actions: a form for each, and the one handler that checks the session, the
//! CSRF token and the run's tenant, then calls the engine method the operator API's handler
//! calls, with the signed-in operator as actor. The result is shown in place, above the page.

use super::csrf;
use super::layout::{self, Notice};
use super::run::{RunView, awaiting, word};
use super::session::{Session, SessionKey};
use crate::ApiState;
use crate::error::ApiError;
use crate::operator::visible_run;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use passage_core::access::Grade;
use passage_core::cutoff::CutoffRequest;
use passage_core::engine::{Approval, ConfirmRequest, ErrorKind};
use passage_core::{ItemOutcome, Run, StepKey, StepState};
use serde::Deserialize;

/// Every field any action's form sends; each action reads the ones it needs.
#[derive(Deserialize, Default)]
pub(crate) struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    step: String,
    #[serde(default)]
    item: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    condition: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    hours: String,
    #[serde(default)]
    last_working_day: String,
    #[serde(default)]
    immediate: String,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::Unprocessable, "invalid", message)
}

fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

pub(crate) async fn submit(
    State(state): State<ApiState>,
    session: Session,
    headers: HeaderMap,
    Path((tenant, run_id, action)): Path<(String, String, String)>,
    Form(f): Form<ActionForm>,
) -> Response {
    let Some(key) = SessionKey::of(&state) else {
        return layout::respond(StatusCode::SERVICE_UNAVAILABLE, html! { "no session key" });
    };
    if let Err(refusal) = csrf::check(&headers, &key, &session, &f.csrf) {
        let notice = Notice::Refused(refusal.message().into());
        let mut page = super::run::render(&state, &session, &tenant, &run_id, Some(notice)).await;
        if page.status() != StatusCode::NOT_FOUND {
            *page.status_mut() = StatusCode::FORBIDDEN;
        }
        return page;
    }
    let run = match visible_run(&state, &session.op, &tenant, &run_id).await {
        Ok(run) => run,
        Err(_) => return layout::not_found(&session, &session.csrf(&key)),
    };
    let result = act(&state, &session, &run, &action, &f).await;
    if let Err(e) = &result {
        tracing::info!(operator = %session.op.name, %action, run = %run.id, error = %e.message(), "console action refused");
    }
    super::run::render(
        &state,
        &session,
        &tenant,
        &run_id,
        Some(Notice::from_result(result)),
    )
    .await
}

/// Performs one action; what it did, in words.
async fn act(
    state: &ApiState,
    session: &Session,
    run: &Run,
    action: &str,
    f: &ActionForm,
) -> Result<String, ApiError> {
    let engine = &state.engine;
    let actor = session.op.name.as_str();
    let step = StepKey::new(f.step.as_str());
    match action {
        "retry" => {
            let s = engine.retry(&run.id, &step, actor).await?;
            Ok(format!("step {} is {} again", s.key, s.state.as_str()))
        }
        "waive" => {
            let s = engine.waive(&run.id, &step, actor, &f.reason).await?;
            Ok(format!("step {} is waived by {actor}", s.key))
        }
        "not-applicable" => {
            let closed = engine
                .not_applicable(&run.id, &step, actor, &f.reason)
                .await?;
            Ok(format!("{} steps closed as not applicable", closed.len()))
        }
        "confirm" => confirm(state, session, run, f).await,
        "except" => {
            engine
                .except(&run.id, &f.item, actor, &f.reason, None)
                .await?;
            Ok(format!("{} is accepted as an exception", f.item))
        }
        "cancel" => {
            let r = engine.cancel(&run.id, actor, &f.reason).await?;
            Ok(format!("the run is {}", r.state.as_str()))
        }
        "reschedule" => {
            let r = engine
                .reschedule(&run.id, &when(f)?, actor, &f.reason)
                .await?;
            Ok(format!("the cutoff is now {}", r.cutoff.at))
        }
        "approve" => {
            let runs = engine
                .approve(&run.tenant, Approval::One(run.id.clone()), actor)
                .await?;
            Ok(format!("{} held run approved", runs.len()))
        }
        "link" => {
            let hours = f
                .hours
                .trim()
                .parse()
                .map_err(|_| invalid("hours must be a whole number"))?;
            let issuer = format!("operator:{actor}");
            let issued = crate::operator_links::issue(state, run, &issuer, hours).await?;
            Ok(format!(
                "auditor link (valid until {}): {}",
                jiff::Timestamp::from_second(issued.expires)
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
                issued.path
            ))
        }
        _ => Err(ApiError::new(
            ErrorKind::NotFound,
            "not_found",
            format!("there is no action {action:?}"),
        )),
    }
}

async fn confirm(
    state: &ApiState,
    session: &Session,
    run: &Run,
    f: &ActionForm,
) -> Result<String, ApiError> {
    let outcome: ItemOutcome = serde_json::from_value(serde_json::Value::String(f.outcome.clone()))
        .map_err(|_| invalid("choose what happened to the item"))?;
    let request = ConfirmRequest {
        item: f.item.clone(),
        outcome,
        actor: format!("operator:{}", session.op.name),
        condition: optional(&f.condition),
        note: optional(&f.note),
    };
    let s = state
        .engine
        .confirm(&run.id, &StepKey::new(f.step.as_str()), &request)
        .await?;
    Ok(format!(
        "{} is confirmed as {}; step {} is {}",
        f.item,
        f.outcome,
        s.key,
        s.state.as_str()
    ))
}

fn when(f: &ActionForm) -> Result<CutoffRequest, ApiError> {
    match (f.last_working_day.trim(), f.immediate.as_str()) {
        ("", "yes") => Ok(CutoffRequest::Immediate),
        (day, "") if !day.is_empty() => day
            .parse()
            .map(CutoffRequest::LastWorkingDay)
            .map_err(|_| invalid("the last working day must be a date such as 2026-03-31")),
        _ => Err(invalid(
            "give a new last working day, or tick \"cut off now\", not both",
        )),
    }
}

/// The forms that fit the run as it stands.
pub(crate) fn forms(view: &RunView, csrf: &str) -> Markup {
    let run = &view.run;
    let base = format!("/console/tenants/{}/runs/{}/actions", run.tenant, run.id);
    html! {
        (people(view, &base, csrf))
        (failed(view, &base, csrf))
        (waivable(view, &base, csrf))
        (remaining(view, &base, csrf))
        (run_actions(run, &base, csrf))
    }
}

const OUTCOMES: [ItemOutcome; 5] = [
    ItemOutcome::Received,
    ItemOutcome::HandedOver,
    ItemOutcome::WrittenOff,
    ItemOutcome::Attested,
    ItemOutcome::NoAccount,
];

/// The checklist of what people confirm: devices returned, data handed over.
fn people(view: &RunView, base: &str, csrf: &str) -> Markup {
    let steps: Vec<_> = view.steps.iter().filter(|s| s.human.is_some()).collect();
    html! {
        @if !steps.is_empty() {
            section #people aria-labelledby="people-h" {
                h2 #people-h { "Devices and confirmations" }
                @for s in steps {
                    h3 { code { (s.key) } " " (layout::state_badge(s.state.as_str())) }
                    ul {
                        @for item in s.human.iter().flat_map(|h| h.items.iter()) {
                            li.card {
                                strong { (item.label) }
                                @if let Some(d) = &item.device {
                                    br; span.muted { (d.source) " device " (d.device_id)
                                        @if let Some(sn) = &d.serial_number { ", serial " (sn) } ", MDM " (d.mdm_state) }
                                }
                                @if let Some(c) = &item.confirmation {
                                    p { "Confirmed " (layout::state_badge(&word(&c.outcome))) " by " (c.actor) " at " (layout::at(c.at)) }
                                } @else if awaiting(std::slice::from_ref(s)).next().is_some() {
                                    (confirm_form(s, item, base, csrf))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn confirm_form(
    s: &passage_core::Step,
    item: &passage_core::domain::HumanItem,
    base: &str,
    csrf: &str,
) -> Markup {
    let id = format!("{}-{}", s.key, item.id).replace(|c: char| !c.is_ascii_alphanumeric(), "-");
    html! {
        form.inline method="post" action={(base) "/confirm"} aria-label={"Confirm " (item.label)} {
            (layout::hidden_csrf(csrf))
            input type="hidden" name="step" value=(s.key);
            input type="hidden" name="item" value=(item.id);
            label for={"o-" (id)} { "What happened"
                select #{"o-" (id)} name="outcome" {
                    @for o in OUTCOMES.iter().filter(|o| o.fits(s.action)) { option value=(word(o)) { (word(o).replace('_', " ")) } }
                }
            }
            label for={"c-" (id)} { "Condition (optional)" input #{"c-" (id)} type="text" name="condition"; }
            label for={"n-" (id)} { "Note (optional)" input #{"n-" (id)} type="text" name="note"; }
            button type="submit" { "Confirm " (item.label) }
        }
    }
}

/// Retry, waive or close as not applicable, for each failed step.
fn failed(view: &RunView, base: &str, csrf: &str) -> Markup {
    let steps: Vec<_> = view
        .steps
        .iter()
        .filter(|s| s.state == StepState::Failed)
        .collect();
    html! {
        @if !steps.is_empty() {
            section aria-labelledby="failed-h" {
                h2 #failed-h { "Failed steps" }
                @for s in steps {
                    div.card {
                        h3 { code { (s.key) } " " (layout::state_badge("failed"))
                            @if s.critical { " critical: it blocks the run" } @else { " not critical" } }
                        @if let Some(e) = &s.last_error { p { (e.message) } }
                        form.inline method="post" action={(base) "/retry"} {
                            (layout::hidden_csrf(csrf))
                            input type="hidden" name="step" value=(s.key);
                            button type="submit" { "Retry " (s.key) }
                        }
                        (reason_form(base, "waive", &s.key.to_string(), &format!("Waive {}", s.key), csrf))
                        (reason_form(base, "not-applicable", &s.key.to_string(), &format!("Not applicable: {}", s.key), csrf))
                    }
                }
            }
        }
    }
}

/// Non-critical steps not yet done: each may be waived with a reason, as the API allows.
fn waivable(view: &RunView, base: &str, csrf: &str) -> Markup {
    let open = |s: &&passage_core::Step| {
        !s.critical
            && matches!(
                s.state,
                StepState::Pending
                    | StepState::Ready
                    | StepState::RetryWait
                    | StepState::AwaitingCompletion
                    | StepState::Awaiting
            )
    };
    let steps: Vec<_> = view.steps.iter().filter(open).collect();
    html! {
        @if !steps.is_empty() && !view.run.state.is_terminal() {
            section aria-labelledby="waivable-h" {
                h2 #waivable-h { "Non-critical steps not yet done" }
                p.muted { "Waiving one records who decided it need not be done, and why." }
                @for s in steps {
                    (reason_form(base, "waive", s.key.as_str(), &format!("Waive {}", s.key), csrf))
                }
            }
        }
    }
}

fn reason_form(base: &str, action: &str, step: &str, button: &str, csrf: &str) -> Markup {
    let id = format!("{action}-{step}").replace(|c: char| !c.is_ascii_alphanumeric(), "-");
    html! {
        form.inline method="post" action={(base) "/" (action)} {
            (layout::hidden_csrf(csrf))
            input type="hidden" name="step" value=(step);
            label for=(id) { "Reason" input #(id) type="text" name="reason" required; }
            button.secondary type="submit" { (button) }
        }
    }
}

/// Access items that remain: accept each as an exception once it is dealt with elsewhere.
fn remaining(view: &RunView, base: &str, csrf: &str) -> Markup {
    let now = jiff::Timestamp::now();
    let items: Vec<_> = view
        .access
        .iter()
        .filter(|i| matches!(i.grade, Grade::Remains))
        .filter(|i| !view.run.exceptions.iter().any(|e| e.covers(i, now)))
        .collect();
    html! {
        @if !items.is_empty() {
            section aria-labelledby="remaining-h" {
                h2 #remaining-h { "Access that remains" }
                @for (n, i) in items.iter().enumerate() {
                    form.inline method="post" action={(base) "/except"} {
                        (layout::hidden_csrf(csrf))
                        input type="hidden" name="item" value=(i.key);
                        label for={"ex-" (n)} { "Reason to accept " (i.name) input #{"ex-" (n)} type="text" name="reason" required; }
                        button.secondary type="submit" { "Accept " (i.name) }
                    }
                }
            }
        }
    }
}

fn run_actions(run: &Run, base: &str, csrf: &str) -> Markup {
    html! {
        section aria-labelledby="run-actions-h" {
            h2 #run-actions-h { "Run actions" }
            @if run.is_held() {
                form.inline method="post" action={(base) "/approve"} {
                    (layout::hidden_csrf(csrf))
                    button type="submit" { "Approve this held run" }
                }
            }
            @if run.bundle.is_some() {
                form.inline method="post" action={(base) "/link"} {
                    (layout::hidden_csrf(csrf))
                    label for="link-hours" { "Valid for (hours)" input #link-hours type="number" name="hours" value="168" min="1" max="2160" required; }
                    button type="submit" { "Issue an auditor link" }
                }
            }
            @if !run.state.is_terminal() {
                form.inline method="post" action={(base) "/reschedule"} {
                    (layout::hidden_csrf(csrf))
                    label for="rs-day" { "New last working day" input #rs-day type="date" name="last_working_day"; }
                    label for="rs-now" { "Cut off now" input #rs-now type="checkbox" name="immediate" value="yes"; }
                    label for="rs-reason" { "Reason" input #rs-reason type="text" name="reason" required; }
                    button.secondary type="submit" { "Reschedule" }
                }
                form.inline method="post" action={(base) "/cancel"} {
                    (layout::hidden_csrf(csrf))
                    label for="cancel-reason" { "Reason" input #cancel-reason type="text" name="reason" required; }
                    button.secondary type="submit" { "Cancel this run" }
                }
            }
        }
    }
}
