//! Evidence: the bundles of the operator's closed runs, each checked against the chain (the
//! stored manifest must hash to what the run recorded when it closed), and the links that
//! serve them and the period reports.

use super::layout;
use super::scope;
use super::session::{Session, SessionKey};
use crate::ApiState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use passage_core::{Run, RunState};
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
    let Some(key) = SessionKey::of(&state) else {
        return layout::respond(StatusCode::SERVICE_UNAVAILABLE, html! { "no session key" });
    };
    let csrf = session.csrf(&key);
    let content = match scope::runs(&state, &session.op, None, Some(RunState::Closed)).await {
        Ok(runs) => {
            let mut rows = Vec::new();
            for run in runs.iter().filter(|r| r.bundle.is_some()) {
                rows.push(row(run, &verify(&state, run).await));
            }
            listing(
                &rows,
                &scope::tenants(&state, &session.op)
                    .await
                    .unwrap_or_default(),
            )
        }
        Err(e) => html! { p role="alert" { (e.message()) } },
    };
    layout::respond(
        StatusCode::OK,
        layout::page(
            "Evidence",
            "/console/evidence",
            Some((&session, &csrf)),
            None,
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
                Verified::Matches => { (layout::state_badge("verified")) " the stored manifest matches the chain" }
                Verified::Differs => { (layout::state_badge("failed")) " the stored manifest differs from the chain" }
                Verified::Missing => { (layout::state_badge("failed")) " no manifest is stored" }
                Verified::Unreadable(e) => { (layout::state_badge("failed")) " unreadable: " (e) }
            } }
            td { a href={(href) "#run-actions-h"} { "Issue an auditor link" } }
        }
    }
}

fn listing(rows: &[Markup], tenants: &[String]) -> Markup {
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
        h2 { "Period reports" }
        p { "A period report covers every leaver of a tenant between two dates, signed, with its keys and every bundle. Issue its link with "
            code { "passage link --tenant <tenant> --from <date> --to <date>" } "; the published key sets:" }
        ul { @for t in tenants { li { a href={"/v1/tenants/" (t) "/keys.json"} { "Key set of " (t) } } } }
    }
}
