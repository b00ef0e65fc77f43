//! Runs: every run of the operator's tenants, filtered by tenant, state, provider and the day
//! it was created.

use super::layout;
use super::scope;
use super::session::{Session, SessionKey};
use crate::ApiState;
use crate::error::ApiError;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use passage_core::engine::EngineError;
use passage_core::{Run, RunState};
use serde::Deserialize;

const PROVIDERS: [&str; 8] = [
    "okta",
    "microsoft",
    "google",
    "jumpcloud",
    "scim",
    "slack",
    "github",
    "human",
];

/// The filters, as the form sends them (an empty field is no filter).
#[derive(Deserialize, Default)]
pub(crate) struct Filters {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    provider: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

impl Filters {
    fn day(text: &str, field: &str) -> Result<Option<jiff::civil::Date>, String> {
        if text.is_empty() {
            return Ok(None);
        }
        text.parse()
            .map(Some)
            .map_err(|_| format!("{field} must be a date such as 2026-03-31"))
    }
}

pub(crate) async fn page(
    State(state): State<ApiState>,
    session: Session,
    Query(f): Query<Filters>,
) -> Response {
    let Some(key) = SessionKey::of(&state) else {
        return layout::respond(StatusCode::SERVICE_UNAVAILABLE, html! { "no session key" });
    };
    let csrf = session.csrf(&key);
    let tenants = scope::tenants(&state, &session.op)
        .await
        .unwrap_or_default();
    let (status, listing) = match matching(&state, &session, &f).await {
        Ok(runs) => (StatusCode::OK, table(&runs)),
        Err(Refused::Input(why)) => (StatusCode::BAD_REQUEST, html! { p role="alert" { (why) } }),
        Err(Refused::Api(e)) => (e.status(), html! { p role="alert" { (e.message()) } }),
    };
    let content = html! {
        (filter_form(&f, &tenants))
        (listing)
    };
    layout::respond(
        status,
        layout::page(
            "Runs",
            "/console/runs",
            Some((&session, &csrf)),
            None,
            content,
        ),
    )
}

enum Refused {
    Input(String),
    Api(ApiError),
}

impl From<ApiError> for Refused {
    fn from(e: ApiError) -> Self {
        Refused::Api(e)
    }
}

async fn matching(state: &ApiState, session: &Session, f: &Filters) -> Result<Vec<Run>, Refused> {
    let run_state = match f.state.as_str() {
        "" | "held" => None,
        s => Some(s.parse::<RunState>().map_err(Refused::Input)?),
    };
    let from = Filters::day(&f.from, "From").map_err(Refused::Input)?;
    let to = Filters::day(&f.to, "To").map_err(Refused::Input)?;
    let tenant = Some(f.tenant.as_str()).filter(|t| !t.is_empty());
    let mut runs = scope::runs(state, &session.op, tenant, run_state).await?;
    if f.state == "held" {
        runs.retain(Run::is_held);
    }
    let day = |r: &Run| r.created_at.to_zoned(jiff::tz::TimeZone::UTC).date();
    runs.retain(|r| from.is_none_or(|d| day(r) >= d) && to.is_none_or(|d| day(r) <= d));
    if !f.provider.is_empty() {
        let mut kept = Vec::new();
        for r in runs {
            let steps = state
                .engine
                .ports()
                .store
                .steps(&r.id)
                .await
                .map_err(|e| Refused::Api(EngineError::from(e).into()))?;
            if steps.iter().any(|s| s.provider.as_str() == f.provider) {
                kept.push(r);
            }
        }
        runs = kept;
    }
    Ok(runs)
}

fn filter_form(f: &Filters, tenants: &[String]) -> Markup {
    let states = [
        "scheduled",
        "held",
        "running",
        "blocked",
        "closed",
        "cancelled",
    ];
    html! {
        form.inline method="get" action="/console/runs" aria-label="Filter runs" {
            label for="f-tenant" { "Tenant"
                select #f-tenant name="tenant" {
                    option value="" { "All my tenants" }
                    @for t in tenants { option value=(t) selected[*t == f.tenant] { (t) } }
                }
            }
            label for="f-state" { "State"
                select #f-state name="state" {
                    option value="" { "Any state" }
                    @for s in states { option value=(s) selected[s == f.state] { (s) } }
                }
            }
            label for="f-provider" { "Provider"
                select #f-provider name="provider" {
                    option value="" { "Any provider" }
                    @for p in PROVIDERS { option value=(p) selected[p == f.provider] { (p) } }
                }
            }
            label for="f-from" { "Created from" input #f-from type="date" name="from" value=(f.from); }
            label for="f-to" { "Created to" input #f-to type="date" name="to" value=(f.to); }
            button type="submit" { "Filter" }
        }
    }
}

fn table(runs: &[Run]) -> Markup {
    html! {
        p { (runs.len()) " runs." }
        @if !runs.is_empty() {
            table {
                caption.muted { "Runs, newest first" }
                thead { tr { th scope="col" { "Leaver" } th scope="col" { "Tenant" } th scope="col" { "State" }
                    th scope="col" { "Cutoff" } th scope="col" { "Created" } } }
                tbody {
                    @for r in runs {
                        tr {
                            td { a href={"/console/tenants/" (r.tenant) "/runs/" (r.id)} { (r.subject.email) }
                                br; span.muted { (r.subject.employee_id) } }
                            td { (r.tenant) }
                            td { (layout::state_badge(r.shown_state())) }
                            td { (layout::at(r.cutoff.at)) }
                            td { (layout::at(r.created_at)) }
                        }
                    }
                }
            }
        }
    }
}
