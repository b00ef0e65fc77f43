//! The leaver's Okta administrator roles: recorded in the snapshot and removed before any
//! other lockout step (`RemoveAdminRoles`), read back from `GET /api/v1/users/{userId}/roles`
//! (`listAssignedRolesForUser`; `DELETE …/roles/{roleAssignmentId}` is
//! `unassignRoleFromUser`, scopes `okta.roles.read` / `okta.roles.manage`).
//!
//! # The record a restore reverses
//!
//! The snapshot's `admin_roles` lists each assignment as
//! `{"id": roleAssignmentId, "type": "APP_ADMIN" | … | "CUSTOM", "label", "assignmentType",
//! "role"?, "resource-set"?}`: a standard role is given back with
//! `POST /api/v1/users/{userId}/roles {"type": type}`, a custom one with
//! `{"type": "CUSTOM", "role": role, "resource-set": resource-set}`. Its `access` lists each as
//! `{"kind": "admin_role", "id": roleAssignmentId, "name": label}`.

use super::actions::User;
use super::api::Api;
use crate::http::mismatch;
use passage_core::CallRecord;
use passage_core::ports::{ActionDone, ActionFailure};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

type Calls = Vec<CallRecord>;

fn roles_url(api: &Api, user: &str, rest: &[&str]) -> url::Url {
    let mut url = api.url("/");
    {
        let mut segs = url.path_segments_mut().expect("http urls have paths");
        segs.clear()
            .extend(["api", "v1", "users", user, "roles"])
            .extend(rest);
    }
    url
}

/// Every role assigned to the user directly (Okta does not page this list).
pub(super) async fn assigned(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<Vec<Value>, ActionFailure> {
    let roles: Vec<Value> = api.list(roles_url(api, &user.id, &[]), calls).await?;
    Ok(roles
        .into_iter()
        .filter(|r| r["assignmentType"].as_str().is_none_or(|t| t == "USER"))
        .collect())
}

/// The snapshot's record of one assignment (see the module's doc for the shape).
pub(super) fn recorded(role: &Value) -> Value {
    let mut out = json!({
        "id": role["id"],
        "type": role["type"],
        "label": role["label"],
        "assignmentType": role["assignmentType"],
    });
    for key in ["role", "resource-set"] {
        if let Some(v) = role.get(key) {
            out[key] = v.clone();
        }
    }
    out
}

pub(super) fn access_entry(role: &Value) -> Value {
    let name = role["label"].as_str().or(role["type"].as_str());
    json!({"kind": "admin_role", "id": role["id"], "name": name})
}

/// Unassigns every role the user holds now (404: gone meanwhile), then reads the list back: an
/// empty list is the proof. A role Okta refuses to unassign (the org's last super
/// administrator) is reported as remaining, with who must act.
pub(super) async fn remove(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let before = assigned(api, user, calls).await?;
    let mut refused = Vec::new();
    for role in &before {
        let id = role["id"].as_str().unwrap_or_default();
        let accept = [StatusCode::NOT_FOUND, StatusCode::FORBIDDEN];
        let answer = api
            .call(
                Method::DELETE,
                roles_url(api, &user.id, &[id]),
                &accept,
                calls,
            )
            .await?;
        if answer.status == StatusCode::FORBIDDEN {
            refused.push(role);
        }
    }
    let after = assigned(api, user, calls).await?;
    let unexpected: Vec<&Value> = after
        .iter()
        .filter(|r| !refused.iter().any(|f| f["id"] == r["id"]))
        .collect();
    if !unexpected.is_empty() {
        return Err(mismatch(format!(
            "{} admin roles still assigned after removal",
            unexpected.len()
        )));
    }
    let why = "Okta refused to unassign it (an org keeps at least one super administrator): another super administrator must be made first, then the role removed in the Admin Console";
    let said: Vec<Value> = refused
        .iter()
        .map(|r| json!({"kind": "admin_role", "id": r["id"], "state": "remains", "reason": why}))
        .collect();
    let removed = before.len() - refused.len();
    Ok(ActionDone {
        repeat: before.is_empty(),
        summary: format!(
            "removed {removed} admin roles; {} refused by Okta (reported)",
            refused.len()
        ),
        readback: json!({"user_id": user.id, "admin_roles": after.iter().map(recorded).collect::<Vec<_>>()}),
        output: json!({
            "removed": before.iter().filter(|r| !refused.iter().any(|f| f["id"] == r["id"])).map(recorded).collect::<Vec<_>>(),
            "access": said,
        }),
    })
}
