//! Confirmation links: the manager confirms a data hand-over from the reminder itself, without
//! an operator account. The link is signed for one item, one person and a time window; opening
//! it (GET) only shows what would be confirmed — mail scanners prefetch links — and the button
//! on that page (POST) records the confirmation as `manager:<email>` (or, for an app without
//! an API, the owner's attestation as `owner:<email>`).

use crate::{ApiState, error};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use passage_core::engine::{Classified, ConfirmRequest, EngineError, ErrorKind};
use passage_core::link::{self, ConfirmScope};
use passage_core::{Action, ItemOutcome, RunId, StepKey};
use serde::Deserialize;

pub(crate) fn routes() -> Router<ApiState> {
    Router::new().route(
        "/v1/confirm/{tenant}/{run}/{step}/{item}",
        get(show).post(confirm),
    )
}

#[derive(Deserialize)]
struct LinkQuery {
    by: Option<String>,
    expires: Option<String>,
    sig: Option<String>,
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    (
        status,
        Html(format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
             <body><h1>{t}</h1>{body}</body></html>",
            t = escape(title)
        )),
    )
        .into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The scope the presented link claims, if its signature holds; a 403 page otherwise that says
/// nothing about the run.
fn checked(
    state: &ApiState,
    (tenant, run, step, item): &(String, String, String, String),
    q: &LinkQuery,
) -> Result<ConfirmScope, Box<Response>> {
    let forbidden = |why: &str| {
        Box::new(page(
            error::status(ErrorKind::Forbidden),
            "Link not valid",
            &format!("<p>{}</p>", escape(why)),
        ))
    };
    if state.confirm_key.expose().is_empty() {
        return Err(forbidden("confirmation links are not served here"));
    }
    let (Some(by), Some(expires), Some(sig)) = (&q.by, &q.expires, &q.sig) else {
        return Err(forbidden("the link is incomplete"));
    };
    let Ok(expires) = expires.parse::<i64>() else {
        return Err(forbidden("the link is malformed"));
    };
    let scope = ConfirmScope {
        tenant: tenant.clone(),
        run_id: run.clone(),
        step: step.clone(),
        item: item.clone(),
        by: by.clone(),
        expires,
    };
    link::verify_confirm(
        state.confirm_key.expose().as_bytes(),
        &scope,
        sig,
        jiff::Timestamp::now(),
    )
    .map_err(|e| forbidden(&e.to_string()))?;
    Ok(scope)
}

async fn show(
    State(state): State<ApiState>,
    Path(p): Path<(String, String, String, String)>,
    Query(q): Query<LinkQuery>,
) -> Response {
    let scope = match checked(&state, &p, &q) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let label = match state
        .engine
        .ports()
        .store
        .steps(&RunId::new(scope.run_id.as_str()))
        .await
    {
        Ok(steps) => steps
            .iter()
            .find(|s| s.key.as_str() == scope.step)
            .and_then(|s| s.human.as_ref())
            .and_then(|h| h.items.iter().find(|i| i.id == scope.item))
            .map(|i| i.label.clone())
            .unwrap_or_else(|| scope.item.clone()),
        Err(_) => scope.item.clone(),
    };
    page(
        StatusCode::OK,
        "Confirm the hand-over",
        &format!(
            "<p>{}</p><p>Confirming as {}.</p><form method=\"post\">\
             <label>Note (optional) <input name=\"note\"></label> \
             <button type=\"submit\">I confirm</button></form>",
            escape(&label),
            escape(&scope.by)
        ),
    )
}

#[derive(Deserialize, Default)]
struct ConfirmForm {
    note: Option<String>,
}

async fn confirm(
    State(state): State<ApiState>,
    Path(p): Path<(String, String, String, String)>,
    Query(q): Query<LinkQuery>,
    form: Result<axum::Form<ConfirmForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let scope = match checked(&state, &p, &q) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let run_id = RunId::new(scope.run_id.as_str());
    // The link names its tenant; a run of another tenant is not this link's to confirm.
    match state.engine.ports().store.run(&run_id).await {
        Ok(Some(r)) if r.tenant.as_str() == scope.tenant => {}
        _ => {
            return page(
                error::status(ErrorKind::NotFound),
                "Not found",
                "<p>No such run.</p>",
            );
        }
    }
    // The step decides what a click confirms: a hand-over by the manager, or an app account's
    // removal attested by the app's owner.
    let action = match state.engine.ports().store.steps(&run_id).await {
        Ok(steps) => steps
            .iter()
            .find(|s| s.key.as_str() == scope.step)
            .map_or(Action::ConfirmHandover, |s| s.action),
        Err(_) => Action::ConfirmHandover,
    };
    let role = match action {
        Action::ConfirmAppRemoval => "owner",
        _ => "manager",
    };
    let request = ConfirmRequest {
        item: scope.item.clone(),
        outcome: ItemOutcome::by_link(action),
        actor: format!("{role}:{}", scope.by),
        condition: None,
        // A missing or unreadable form just means no note.
        note: form.ok().and_then(|axum::Form(f)| f.note),
    };
    match state
        .engine
        .confirm(&run_id, &StepKey::new(scope.step.as_str()), &request)
        .await
    {
        Ok(_) => page(
            StatusCode::OK,
            "Thank you",
            "<p>Your confirmation is recorded.</p>",
        ),
        Err(e) => refusal_page(&e),
    }
}

/// The page for a confirmation the engine refused, with the status of its kind. The manager
/// reads the engine's reason only where it concerns the item; a failure of Passage itself is
/// logged and the page just asks to try again.
fn refusal_page(e: &EngineError) -> Response {
    let status = error::status(e.kind());
    let reason = format!("<p>{}</p>", escape(&e.to_string()));
    match e.kind() {
        ErrorKind::Conflict => page(status, "Already done", &reason),
        ErrorKind::NotFound => page(status, "Not found", &reason),
        ErrorKind::Malformed | ErrorKind::Unprocessable => page(status, "Cannot confirm", &reason),
        _ => {
            tracing::error!(error = %e, "confirmation failed");
            page(
                status,
                "Try again",
                "<p>The confirmation could not be recorded just now; please try again.</p>",
            )
        }
    }
}
