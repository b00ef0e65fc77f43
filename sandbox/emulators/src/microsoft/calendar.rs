//! Calendar sharing and delegation on Graph: `/users/{id}/calendar/calendarPermissions`
//! (list, get, delete), as the `calendarPermission` resource describes it.
//!
//! Every calendar lists a "My Organization" entry (`isRemovable: false`, the default free/busy
//! share); Graph does not let it be removed, and the emulator answers its deletion with
//! `400 ErrorInvalidRequest`. Like inbox rules, the calendar needs a reachable mailbox
//! (`404 MailboxNotEnabledForRESTAPI` once the owner has no Exchange licence), the caller
//! `Calendars.Read`/`Calendars.ReadWrite` (else `403 ErrorAccessDenied`), and an unknown
//! permission id answers `404 ErrorItemNotFound`. Lists are paged ([`mail::mail_page`]).

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use crate::microsoft::errors::GraphError;
use crate::microsoft::gate::Caller;
use crate::microsoft::mail;
use crate::microsoft::odata::Query;
use crate::microsoft::routes::{ApiResult, collection};
use crate::microsoft::service::AppState;
use crate::microsoft::state::TenantState;

/// One person's permission on a user's calendar.
#[derive(Clone, Debug)]
pub(crate) struct CalendarGrant {
    /// The calendar's owner (user index).
    pub owner: usize,
    pub id: String,
    /// The grantee's address and name.
    pub address: String,
    pub name: String,
    /// A `calendarRoleType`: `read`, `write`, `delegateWithPrivateEventAccess`, …
    pub role: String,
}

/// The id Graph gives the "My Organization" entry.
pub(crate) const MY_ORGANIZATION: &str = "TXlPcmdhbml6YXRpb24=";

/// The page size of a calendar-permission list when the caller names none.
const PAGE: usize = 10;

const CAL_READ: &[&str] = &["Calendars.Read", "Calendars.ReadWrite"];
const CAL_WRITE: &[&str] = &["Calendars.ReadWrite"];

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1.0/users/{id}/calendar/calendarPermissions",
            get(list_permissions),
        )
        .route(
            "/v1.0/users/{id}/calendar/calendarPermissions/{perm}",
            get(get_permission).delete(delete_permission),
        )
}

fn need(caller: &Caller, roles: &[&str]) -> Result<(), GraphError> {
    if caller.has_any(roles) {
        Ok(())
    } else {
        Err(GraphError::outlook_denied())
    }
}

/// The calendar's owner, with a reachable mailbox.
fn calendar_owner(state: &TenantState, id: &str) -> Result<usize, GraphError> {
    let user = state
        .find_user(id)
        .ok_or_else(|| GraphError::outlook_invalid_user(id))?;
    if !state.mailbox_accessible(user) {
        return Err(GraphError::mailbox_not_enabled());
    }
    Ok(user)
}

fn my_organization() -> Value {
    json!({
        "id": MY_ORGANIZATION,
        "isRemovable": false,
        "isInsideOrganization": true,
        "role": "freeBusyRead",
        "allowedRoles": ["none", "freeBusyRead", "limitedRead", "read", "write"],
        "emailAddress": {"name": "My Organization"},
    })
}

fn grant_json(state: &TenantState, g: &CalendarGrant) -> Value {
    let inside = state.find_user(&g.address).is_some();
    json!({
        "id": g.id,
        "isRemovable": true,
        "isInsideOrganization": inside,
        "role": g.role,
        "allowedRoles": ["none", "freeBusyRead", "limitedRead", "read", "write", "delegateWithoutPrivateEventAccess", "delegateWithPrivateEventAccess"],
        "emailAddress": {"name": g.name, "address": g.address},
    })
}

/// Every permission on `owner`'s calendar, "My Organization" first.
fn all_of(state: &TenantState, owner: usize) -> Vec<Value> {
    let grants = state
        .sweep
        .calendar
        .iter()
        .filter(|g| g.owner == owner)
        .map(|g| grant_json(state, g));
    std::iter::once(my_organization()).chain(grants).collect()
}

fn context(base: &str, user_id: &str) -> String {
    format!("{base}/v1.0/$metadata#users('{user_id}')/calendar/calendarPermissions")
}

async fn list_permissions(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    need(&caller, CAL_READ)?;
    let q = Query::parse(raw);
    let state = app.tenant();
    let owner = calendar_owner(&state, &id)?;
    let base = &app.shared.base_url;
    let path = format!("/v1.0/users/{id}/calendar/calendarPermissions");
    let (next, page) = mail::mail_page(&state, &q, base, &path, all_of(&state, owner), PAGE)?;
    Ok(collection(
        context(base, &state.users[owner].id),
        next,
        page,
    ))
}

async fn get_permission(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, perm)): Path<(String, String)>,
) -> ApiResult {
    need(&caller, CAL_READ)?;
    let state = app.tenant();
    let owner = calendar_owner(&state, &id)?;
    let found = all_of(&state, owner)
        .into_iter()
        .find(|p| p["id"] == json!(perm))
        .ok_or_else(GraphError::outlook_item_not_found)?;
    Ok(Json(found).into_response())
}

/// `DELETE …/calendarPermissions/{id}`: 204; "My Organization" cannot be removed.
async fn delete_permission(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, perm)): Path<(String, String)>,
) -> ApiResult {
    need(&caller, CAL_WRITE)?;
    let mut state = app.tenant();
    let owner = calendar_owner(&state, &id)?;
    if perm == MY_ORGANIZATION {
        return Err(GraphError::outlook_invalid(
            "The 'My Organization' permission is not removable.",
        ));
    }
    let at = state
        .sweep
        .calendar
        .iter()
        .position(|g| g.owner == owner && g.id == perm)
        .ok_or_else(GraphError::outlook_item_not_found)?;
    let removed = state.sweep.calendar.remove(at);
    let subject = state.users[owner].id.clone();
    state.effects.record(
        "remove_calendar_permission",
        &subject,
        &removed.address,
        true,
    );
    Ok(StatusCode::NO_CONTENT.into_response())
}
