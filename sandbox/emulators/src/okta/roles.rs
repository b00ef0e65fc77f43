//! Administrator role assignments of users (`/api/v1/users/{userId}/roles`): listed and
//! unassigned as Okta's management API does (`listAssignedRolesForUser`,
//! `unassignRoleFromUser`, scopes `okta.roles.read` / `okta.roles.manage`). The org's last
//! super administrator cannot be unassigned: Okta keeps an org from locking itself out of its
//! own console, so an offboarding tool meets that refusal for the one admin left.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use jiff::Timestamp;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

use crate::common::ids;
use crate::okta::errors::OktaError;
use crate::okta::gate::RequestCtx;
use crate::okta::service::AppState;
use crate::okta::state::OktaState;

/// Effect name for an unassigned role (see `effects_applied`).
pub const UNASSIGN_ROLE: &str = "unassign_role";

/// One role assigned directly to a user.
#[derive(Clone, Debug)]
pub(crate) struct RoleAssignment {
    pub id: String,
    pub user: usize,
    /// `SUPER_ADMIN`, `ORG_ADMIN`, `APP_ADMIN`, …
    pub kind: String,
    pub created: Timestamp,
}

/// The org's role assignments, with their own id generator so that seeding a role changes no
/// other object's id.
#[derive(Debug)]
pub(crate) struct RoleBook {
    rng: StdRng,
    pub assignments: Vec<RoleAssignment>,
}

impl RoleBook {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed ^ 0x0A11_AD01_0E5E_ED00),
            assignments: Vec::new(),
        }
    }

    pub(crate) fn assign(&mut self, user: usize, kind: &str, now: Timestamp) -> String {
        let id = ids::okta_object_id(&mut self.rng, "irb");
        self.assignments.push(RoleAssignment {
            id: id.clone(),
            user,
            kind: kind.to_owned(),
            created: now,
        });
        id
    }

    pub(crate) fn of(&self, user: usize) -> impl Iterator<Item = &RoleAssignment> {
        self.assignments.iter().filter(move |a| a.user == user)
    }
}

fn label(kind: &str) -> String {
    match kind {
        "SUPER_ADMIN" => "Super Administrator".to_owned(),
        "ORG_ADMIN" => "Organizational Administrator".to_owned(),
        "APP_ADMIN" => "Application Administrator".to_owned(),
        "USER_ADMIN" => "Group Administrator".to_owned(),
        "HELP_DESK_ADMIN" => "Help Desk Administrator".to_owned(),
        "READ_ONLY_ADMIN" => "Read-only Administrator".to_owned(),
        other => other.to_owned(),
    }
}

fn render(org: &OktaState, a: &RoleAssignment) -> Value {
    let user_id = &org.users[a.user].id;
    json!({
        "id": a.id,
        "label": label(&a.kind),
        "type": a.kind,
        "status": "ACTIVE",
        "created": a.created.to_string(),
        "lastUpdated": a.created.to_string(),
        "assignmentType": "USER",
        "_links": {
            "assignee": {"href": format!("{}/api/v1/users/{user_id}", org.base_url())},
        },
    })
}

fn user_by_id(org: &OktaState, id: &str) -> Result<usize, OktaError> {
    org.user_by_id(id)
        .ok_or_else(|| OktaError::not_found(id, "User"))
}

/// `GET /users/{userId}/roles`: every role assigned to the user (not paged in Okta).
pub(crate) async fn list(State(app): State<AppState>, Path(id): Path<String>) -> Response {
    let org = app.org();
    match user_by_id(&org, &id) {
        Ok(user) => {
            let roles: Vec<Value> = org.roles.of(user).map(|a| render(&org, a)).collect();
            Json(roles).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// `DELETE /users/{userId}/roles/{roleAssignmentId}` → 204; an unknown assignment → 404
/// E0000007; the org's last super administrator → 403 E0000006.
pub(crate) async fn unassign(
    State(app): State<AppState>,
    Extension(_ctx): Extension<RequestCtx>,
    Path((id, assignment)): Path<(String, String)>,
) -> Result<Response, OktaError> {
    let mut org = app.org();
    let user = user_by_id(&org, &id)?;
    let Some(position) = org
        .roles
        .assignments
        .iter()
        .position(|a| a.user == user && a.id == assignment)
    else {
        let subject = org.users[user].id.clone();
        org.effects
            .record(UNASSIGN_ROLE, &subject, &assignment, false);
        return Err(OktaError::not_found(&assignment, "RoleAssignment"));
    };
    let kind = org.roles.assignments[position].kind.clone();
    let supers = org
        .roles
        .assignments
        .iter()
        .filter(|a| a.kind == "SUPER_ADMIN")
        .count();
    if kind == "SUPER_ADMIN" && supers == 1 {
        return Err(OktaError::new(
            StatusCode::FORBIDDEN,
            "E0000006",
            "You do not have permission to perform the requested action",
        )
        .with_causes(["The org must keep at least one Super Administrator"]));
    }
    org.roles.assignments.remove(position);
    let subject = org.users[user].id.clone();
    org.effects
        .record(UNASSIGN_ROLE, &subject, &assignment, true);
    Ok(StatusCode::NO_CONTENT.into_response())
}
