//! Admin SDK Reports API, `activities.list`: the emulator's audit log as
//! `Activity` resources, newest first, so evidence collection can be
//! exercised end to end (`eventName`, `filters=NAME==value,…`,
//! `startTime`/`endTime`, `maxResults` ≤ 1000, `pageToken`).

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use jiff::Timestamp;

use crate::google::errors::GoogleError;
use crate::google::query::{Query, list_response, page};
use crate::google::service::AppState;

type ApiResult = Result<Response, GoogleError>;

/// `applicationName` values the discovery document allows.
const APPLICATIONS: [&str; 22] = [
    "access_transparency",
    "admin",
    "calendar",
    "chat",
    "drive",
    "gcp",
    "gplus",
    "groups",
    "groups_enterprise",
    "jamboard",
    "login",
    "meet",
    "mobile",
    "rules",
    "saml",
    "token",
    "user_accounts",
    "context_aware_access",
    "chrome",
    "data_studio",
    "keep",
    "vault",
];

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route(
        "/admin/reports/v1/activity/users/{userKey}/applications/{applicationName}",
        get(list_activities),
    )
}

fn time_bound(query: &Query, name: &str) -> Result<Option<Timestamp>, GoogleError> {
    query
        .get(name)
        .map(|raw| {
            raw.parse::<Timestamp>()
                .map_err(|_| GoogleError::invalid_input(name))
        })
        .transpose()
}

async fn list_activities(
    State(app): State<AppState>,
    Path((user_key, application)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    if !APPLICATIONS.contains(&application.as_str()) {
        return Err(GoogleError::invalid_input("applicationName"));
    }
    let query = Query::parse(raw);
    let max = query.max_results(1000, 1000, false)?;
    let start = time_bound(&query, "startTime")?;
    let end = time_bound(&query, "endTime")?;
    let event_names: Vec<String> = query
        .get("eventName")
        .map(|n| n.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let mut filters = Vec::new();
    if let Some(raw) = query.get("filters") {
        for clause in raw.split(',') {
            let (name, value) = clause
                .split_once("==")
                .ok_or_else(|| GoogleError::invalid_input("filters"))?;
            filters.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let state = app.domain();
    let now = app.shared.knobs.timeline().now();
    let actor = if user_key == "all" {
        None
    } else {
        let user = state.resolve_user_key(&user_key, "userKey")?;
        Some(state.users[user].primary_email.clone())
    };
    let mut keyed: Vec<(u64, usize)> = state
        .audit
        .iter()
        .enumerate()
        .filter(|(_, e)| e.application == application)
        .filter(|(_, e)| e.visible_from.is_none_or(|v| v <= now))
        .filter(|(_, e)| {
            actor
                .as_deref()
                .is_none_or(|a| e.actor.eq_ignore_ascii_case(a))
        })
        .filter(|(_, e)| event_names.is_empty() || event_names.contains(&e.name))
        .filter(|(_, e)| {
            filters.iter().all(|(name, value)| {
                e.parameter(name)
                    .is_some_and(|v| v.eq_ignore_ascii_case(value))
            })
        })
        .filter(|(_, e)| {
            let at = e.time.parse::<Timestamp>().ok();
            start.is_none_or(|s| at.is_some_and(|t| t >= s))
                && end.is_none_or(|s| at.is_some_and(|t| t < s))
        })
        // Newest first; page keys must increase, so invert the sequence.
        .map(|(i, e)| (u64::MAX - e.seq, i))
        .collect();
    keyed.sort_by_key(|(k, _)| *k);
    let context = format!(
        "activities/{user_key}/{application}/{}/{}",
        query.get("eventName").unwrap_or("*"),
        query.get("filters").unwrap_or("*")
    );
    let (items, next) = page(&keyed, query.get("pageToken"), &context, max)?;
    let items = items
        .into_iter()
        .map(|i| state.audit[i].to_activity(&state.customer_id))
        .collect();
    Ok(Json(list_response(
        "admin#reports#activities",
        "items",
        items,
        next,
    ))
    .into_response())
}
