//! The leaver actions on Okta. Each reads, acts only if needed, and reads back.

use super::api::Api;
use crate::http::{Polling, mismatch, permanent};
use passage_core::ports::{ActionDone, ActionFailure, ActionOutcome, ActionRequest, FailureClass};
use passage_core::{Action, CallRecord, StepKey};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct User {
    pub(crate) id: String,
    status: String,
    /// The status a lifecycle change is moving the user to (deactivation deprovisions every
    /// app first, which can take a while).
    #[serde(default, rename = "transitioningToStatus")]
    transitioning_to: Option<String>,
    #[serde(default, rename = "statusChanged")]
    status_changed: Option<String>,
    profile: Profile,
}

#[derive(Debug, Clone, Deserialize)]
struct Profile {
    login: String,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Group {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    profile: GroupProfile,
}

#[derive(Debug, Clone, Deserialize)]
struct GroupProfile {
    name: String,
}

/// Only these memberships can be changed through the API; APP_GROUP memberships belong to the
/// source directory (AD, LDAP) and BUILT_IN (Everyone) to Okta itself.
const MANAGEABLE_GROUP: &str = "OKTA_GROUP";

type Calls = Vec<CallRecord>;

mod restore;

pub async fn run(api: &Api, req: &ActionRequest, calls: &mut Calls) -> ActionOutcome {
    let user = match find_user(api, req, calls).await {
        Ok(user) => user,
        Err(failure) => return failure.into(),
    };
    match req.action {
        Action::Snapshot => snapshot(api, &user, calls).await.into(),
        Action::RevokeSessions => revoke_sessions(api, &user, calls).await.into(),
        Action::RevokeGrants => revoke_grants(api, &user, calls).await.into(),
        Action::RemoveGroups => remove_groups(api, &user, calls).await.into(),
        Action::Suspend => suspend(api, &user, calls).await.into(),
        Action::Deactivate => deactivate(api, req, &user, calls).await.into(),
        Action::ResetFactors => reset_factors(api, &user, calls).await.into(),
        Action::UnassignApps => unassign_apps(api, &user, calls).await.into(),
        Action::Reactivate => restore::reactivate(api, &user, calls).await.into(),
        Action::RestoreGroups => restore::restore_groups(api, req, &user, calls).await.into(),
        Action::RestoreApps => super::apps::restore(api, req, &user, calls).await.into(),
        Action::RemoveAdminRoles => super::admin_roles::remove(api, &user, calls).await.into(),
        other => permanent(
            "action_not_supported",
            format!("the Okta connector cannot {other}"),
        )
        .into(),
    }
}

fn users_url(api: &Api, rest: &[&str]) -> url::Url {
    let mut url = api.url("/");
    {
        let mut segs = url.path_segments_mut().expect("http urls have paths");
        segs.clear().extend(["api", "v1", "users"]).extend(rest);
    }
    url
}

/// Finds the leaver: by the id the snapshot recorded, else by login, else by email search
/// (which, unlike the plain list, also finds deprovisioned users).
async fn find_user(
    api: &Api,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<User, ActionFailure> {
    let known_id = req
        .prior
        .get(&StepKey::new("okta.snapshot"))
        .and_then(|v| v.get("user_id"))
        .and_then(Value::as_str);
    find_by_key(
        api,
        known_id.unwrap_or(&req.subject.email),
        &req.subject.email,
        calls,
    )
    .await
}

/// The one user whose id or login is `key`, else whose profile e-mail is `email`: how every
/// Okta read finds the leaver.
pub(crate) async fn find_by_key(
    api: &Api,
    key: &str,
    email: &str,
    calls: &mut Calls,
) -> Result<User, ActionFailure> {
    let answer = api
        .call(
            Method::GET,
            users_url(api, &[key]),
            &[StatusCode::NOT_FOUND],
            calls,
        )
        .await?;
    if answer.status != StatusCode::NOT_FOUND {
        return parse_user(answer.body);
    }
    let mut url = users_url(api, &[]);
    url.query_pairs_mut().append_pair(
        "search",
        &format!("profile.email eq \"{}\"", email.replace('"', "")),
    );
    let found: Vec<User> = api.list(url, calls).await?;
    match found.len() {
        1 => Ok(found.into_iter().next().expect("one user")),
        0 => Err(permanent(
            "user_not_found",
            format!(
                "no Okta user has login or email {email}; check the address, or, if they never had an account, close its steps with `passage not-applicable` (a fresh read must find none)"
            ),
        )),
        n => Err(permanent(
            "user_ambiguous",
            format!("{n} Okta users have email {email}; resolve the duplicate accounts first"),
        )),
    }
}

fn parse_user(body: Value) -> Result<User, ActionFailure> {
    serde_json::from_value(body).map_err(|e| ActionFailure {
        class: FailureClass::Retryable { retry_after: None },
        code: "unexpected_body".into(),
        message: format!("Okta returned a user Passage could not read: {e}"),
    })
}

async fn get_user(api: &Api, id: &str, calls: &mut Calls) -> Result<User, ActionFailure> {
    parse_user(
        api.call(Method::GET, users_url(api, &[id]), &[], calls)
            .await?
            .body,
    )
}

/// `listUserGroups` declares no paging parameters and answers every group at once, so no
/// `limit` is sent (a `Link: next`, should Okta ever add one, is still followed).
async fn groups(api: &Api, user: &User, calls: &mut Calls) -> Result<Vec<Group>, ActionFailure> {
    api.list(users_url(api, &[&user.id, "groups"]), calls).await
}

/// `listUserGrants` pages (default 20, at most 200): the largest page keeps the calls few.
async fn grants(api: &Api, user: &User, calls: &mut Calls) -> Result<Vec<Value>, ActionFailure> {
    let mut url = users_url(api, &[&user.id, "grants"]);
    url.query_pairs_mut().append_pair("limit", "200");
    api.list(url, calls).await
}

fn user_view(user: &User) -> Value {
    json!({
        "user_id": user.id,
        "login": user.profile.login,
        "email": user.profile.email,
        "status": user.status,
        "status_changed": user.status_changed,
    })
}

fn group_view(g: &Group) -> Value {
    json!({"id": g.id, "name": g.profile.name, "type": g.kind})
}

/// Records what the leaver has before anything changes: the pre-state for evidence and for
/// restoring access to a rehire.
async fn snapshot(api: &Api, user: &User, calls: &mut Calls) -> Result<ActionDone, ActionFailure> {
    let groups = groups(api, user, calls).await?;
    let grants = grants(api, user, calls).await?;
    // `listAppLinks` declares no paging parameters either.
    let url = users_url(api, &[&user.id, "appLinks"]);
    // An unread list must fail the snapshot, never be recorded (and signed) as empty.
    let app_links: Vec<Value> = api.list(url, calls).await?;
    let mut output = user_view(user);
    output["groups"] = groups.iter().map(group_view).collect();
    // The grading's vocabulary (`passage_core::access`). The built-in Everyone group is left
    // out: every user is in it and it grants nothing a suspended account can use.
    output["access"] = groups
        .iter()
        .filter(|g| g.kind != "BUILT_IN")
        .map(|g| json!({"kind": "group", "id": g.id, "name": g.profile.name}))
        .collect();
    output["grants"] = grants
        .iter()
        .map(|g| json!({"id": g["id"], "clientId": g["clientId"], "scopeId": g["scopeId"]}))
        .collect();
    output["app_links"] = app_links
        .iter()
        .map(|a| json!({"appInstanceId": a["appInstanceId"], "appName": a["appName"], "label": a["label"]}))
        .collect();
    if api.app_assignments {
        let assignments = super::apps::recorded(api, user, &app_links, calls).await?;
        if let Some(access) = output["access"].as_array_mut() {
            access.extend(assignments.iter().filter_map(super::apps::access_entry));
        }
        output["app_assignments"] = assignments.into();
    }
    if api.admin_roles {
        let roles = super::admin_roles::assigned(api, user, calls).await?;
        output["admin_roles"] = roles.iter().map(super::admin_roles::recorded).collect();
        if let Some(access) = output["access"].as_array_mut() {
            access.extend(roles.iter().map(super::admin_roles::access_entry));
        }
    }
    Ok(ActionDone {
        repeat: false,
        summary: format!(
            "recorded status {}, {} group memberships, {} grants, {} app links",
            user.status,
            groups.len(),
            grants.len(),
            app_links.len()
        ),
        readback: user_view(user),
        output,
    })
}

/// Clears every IdP session and revokes the OAuth/OIDC tokens Okta issued. Okta answers 204 to a
/// repeat, so the call itself is always made; the proof is that no client holds a refresh token
/// for the user afterwards (consent grants are the separate `revoke_grants` step).
async fn revoke_sessions(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let mut url = users_url(api, &[&user.id, "sessions"]);
    url.query_pairs_mut()
        .append_pair("oauthTokens", "true")
        .append_pair("forgetDevices", "true");
    api.call(Method::DELETE, url, &[], calls).await?;
    let clients: Vec<Value> = api
        .list(users_url(api, &[&user.id, "clients"]), calls)
        .await?;
    let mut remaining = Vec::new();
    for client in &clients {
        let Some(client_id) = client["client_id"].as_str().or(client["id"].as_str()) else {
            continue;
        };
        let tokens: Vec<Value> = api
            .list(
                users_url(api, &[&user.id, "clients", client_id, "tokens"]),
                calls,
            )
            .await?;
        remaining.extend(tokens);
    }
    if !remaining.is_empty() {
        return Err(mismatch(format!(
            "{} refresh tokens are still active after revocation",
            remaining.len()
        )));
    }
    Ok(ActionDone {
        repeat: false,
        summary: format!(
            "cleared all sessions and revoked OAuth tokens; none active across {} client apps",
            clients.len()
        ),
        readback: json!({"user_id": user.id, "clients_checked": clients.len(), "active_refresh_tokens": remaining}),
        output: Value::Null,
    })
}

async fn revoke_grants(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let before = grants(api, user, calls).await?;
    if !before.is_empty() {
        api.call(
            Method::DELETE,
            users_url(api, &[&user.id, "grants"]),
            &[],
            calls,
        )
        .await?;
    }
    let after = grants(api, user, calls).await?;
    if !after.is_empty() {
        return Err(mismatch(format!(
            "{} grants remain after revocation",
            after.len()
        )));
    }
    Ok(ActionDone {
        repeat: before.is_empty(),
        summary: if before.is_empty() {
            "no consent grants to revoke".into()
        } else {
            format!("revoked {} consent grants", before.len())
        },
        readback: json!({"user_id": user.id, "grants": after}),
        output: json!({"revoked": before.len()}),
    })
}

async fn remove_groups(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let before = groups(api, user, calls).await?;
    let (manageable, fixed): (Vec<&Group>, Vec<&Group>) =
        before.iter().partition(|g| g.kind == MANAGEABLE_GROUP);
    for g in &manageable {
        let mut url = api.url("/");
        url.path_segments_mut()
            .expect("http urls have paths")
            .clear()
            .extend(["api", "v1", "groups", &g.id, "users", &user.id]);
        api.call(Method::DELETE, url, &[StatusCode::NOT_FOUND], calls)
            .await?;
    }
    let after = groups(api, user, calls).await?;
    let left: Vec<&Group> = after
        .iter()
        .filter(|g| g.kind == MANAGEABLE_GROUP)
        .collect();
    if !left.is_empty() {
        return Err(mismatch(format!(
            "still a member of {} Okta groups after removal (a group rule may re-add them): {}",
            left.len(),
            left.iter()
                .map(|g| g.profile.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let not_attempted: Vec<Value> = fixed
        .iter()
        .map(|g| {
            let why = if g.kind == "BUILT_IN" {
                "built-in group; every user is a member"
            } else {
                "membership is managed by the source directory; remove it there"
            };
            json!({"group": group_view(g), "reason": why})
        })
        .collect();
    Ok(ActionDone {
        repeat: manageable.is_empty(),
        summary: format!(
            "removed {} Okta group memberships; {} not changeable through Okta (reported)",
            manageable.len(),
            fixed.len()
        ),
        readback: json!({
            "user_id": user.id,
            "remaining_groups": after.iter().map(group_view).collect::<Vec<_>>(),
        }),
        output: json!({
            "removed": manageable.iter().map(|g| group_view(g)).collect::<Vec<_>>(),
            "access": not_attempted.iter().map(|n| json!({
                "kind": "group",
                "id": n["group"]["id"],
                "state": "remains",
                "reason": n["reason"],
            })).collect::<Vec<_>>(),
            "not_attempted": not_attempted,
        }),
    })
}

async fn suspend(api: &Api, user: &User, calls: &mut Calls) -> Result<ActionDone, ActionFailure> {
    match user.status.as_str() {
        "SUSPENDED" | "DEPROVISIONED" => {
            return Ok(ActionDone {
                repeat: true,
                summary: format!("already {}; nothing changed", user.status),
                readback: user_view(user),
                output: Value::Null,
            });
        }
        "ACTIVE" => {}
        other => {
            return Err(permanent(
                "cannot_suspend",
                format!(
                    "Okta only suspends ACTIVE users and this one is {other}; set the tenant's Okta policy to deactivate, or handle the account by hand"
                ),
            ));
        }
    }
    let url = users_url(api, &[&user.id, "lifecycle", "suspend"]);
    api.call(Method::POST, url, &[], calls).await?;
    let after = get_user(api, &user.id, calls).await?;
    if after.status != "SUSPENDED" {
        return Err(mismatch(format!(
            "status is {} after suspension",
            after.status
        )));
    }
    Ok(ActionDone {
        repeat: false,
        summary: format!("suspended (was {})", user.status),
        readback: user_view(&after),
        output: Value::Null,
    })
}

/// A deactivation Okta is still carrying out: it deprovisions every app first, which takes
/// seconds to minutes.
const DEACTIVATION: Polling = Polling {
    first: Duration::from_secs(2),
    most: Duration::from_secs(60),
    deadline: Duration::from_secs(3600),
};

/// Deactivates the user, which deprovisions every assigned app. Okta may do it asynchronously
/// (`transitioningToStatus: DEPROVISIONED`): the step then awaits completion rather than
/// asking again, since a second deactivation of a transitioning user changes nothing.
async fn deactivate(
    api: &Api,
    req: &ActionRequest,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionOutcome, ActionFailure> {
    if user.status == "DEPROVISIONED" {
        return Ok(ActionDone {
            repeat: req.operation.is_none(),
            summary: if req.operation.is_none() {
                "already DEPROVISIONED; nothing changed".into()
            } else {
                "deactivated; Okta finished deprovisioning every app".into()
            },
            readback: user_view(user),
            output: Value::Null,
        }
        .into());
    }
    if !deprovisioning(user) {
        let mut url = users_url(api, &[&user.id, "lifecycle", "deactivate"]);
        url.query_pairs_mut().append_pair("sendEmail", "false");
        // A 404 here means a concurrent deactivation won the race: the read-back decides.
        api.call(Method::POST, url, &[StatusCode::NOT_FOUND], calls)
            .await?;
    }
    let after = get_user(api, &user.id, calls).await?;
    if deprovisioning(&after) {
        let what = format!(
            "Okta is deactivating the user (status {}, transitioning to DEPROVISIONED)",
            after.status
        );
        let pending =
            DEACTIVATION.pending("deactivation_in_progress", what, req.operation.as_ref());
        return Ok(pending.into());
    }
    if after.status != "DEPROVISIONED" {
        return Err(mismatch(format!(
            "status is {} after deactivation",
            after.status
        )));
    }
    Ok(ActionDone {
        repeat: false,
        summary: format!(
            "deactivated (was {}); all app assignments deprovisioned",
            user.status
        ),
        readback: user_view(&after),
        output: Value::Null,
    }
    .into())
}

/// Okta is carrying out a deactivation of this user.
fn deprovisioning(user: &User) -> bool {
    user.status != "DEPROVISIONED" && user.transitioning_to.as_deref() == Some("DEPROVISIONED")
}

async fn factors(api: &Api, user: &User, calls: &mut Calls) -> Result<Vec<Value>, ActionFailure> {
    api.list(users_url(api, &[&user.id, "factors"]), calls)
        .await
}

/// Removes every enrolled factor (they cannot be removed once the user is deactivated).
async fn reset_factors(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let before = factors(api, user, calls).await?;
    if !before.is_empty() {
        let url = users_url(api, &[&user.id, "lifecycle", "reset_factors"]);
        api.call(Method::POST, url, &[], calls).await?;
    }
    let after = factors(api, user, calls).await?;
    if !after.is_empty() {
        return Err(mismatch(format!(
            "{} factors remain after the reset",
            after.len()
        )));
    }
    let kinds: Vec<Value> = before
        .iter()
        .map(|f| json!({"id": f["id"], "factorType": f["factorType"], "provider": f["provider"]}))
        .collect();
    Ok(ActionDone {
        repeat: before.is_empty(),
        summary: if before.is_empty() {
            "no factors enrolled".into()
        } else {
            format!("removed {} factors", before.len())
        },
        readback: json!({"user_id": user.id, "factors": after}),
        output: json!({"removed": kinds}),
    })
}

/// Removes direct app assignments. Assignments that come through a group belong to that group
/// and are reported, not attempted.
async fn unassign_apps(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let links: Vec<Value> = api
        .list(users_url(api, &[&user.id, "appLinks"]), calls)
        .await?;
    let mut app_ids: Vec<&str> = links
        .iter()
        .filter_map(|l| l["appInstanceId"].as_str())
        .collect();
    app_ids.sort_unstable();
    app_ids.dedup();
    let app_user_url = |app: &str| {
        let mut url = api.url("/");
        url.path_segments_mut()
            .expect("http urls have paths")
            .clear()
            .extend(["api", "v1", "apps", app, "users", &user.id]);
        url
    };
    let mut removed = Vec::new();
    let mut via_group = Vec::new();
    for app in app_ids {
        let assignment = api
            .call(
                Method::GET,
                app_user_url(app),
                &[StatusCode::NOT_FOUND],
                calls,
            )
            .await?;
        if assignment.status == StatusCode::NOT_FOUND {
            continue;
        }
        if assignment.body["scope"].as_str() == Some("GROUP") {
            via_group.push(json!({"app": app, "reason": "assigned through a group; removed with the group membership"}));
            continue;
        }
        let mut url = app_user_url(app);
        url.query_pairs_mut().append_pair("sendEmail", "false");
        api.call(Method::DELETE, url, &[StatusCode::NOT_FOUND], calls)
            .await?;
        removed.push(app.to_owned());
    }
    let after: Vec<Value> = api
        .list(users_url(api, &[&user.id, "appLinks"]), calls)
        .await?;
    let still_direct: Vec<&str> = after
        .iter()
        .filter_map(|l| l["appInstanceId"].as_str())
        .filter(|a| removed.iter().any(|r| r == a))
        .collect();
    if !still_direct.is_empty() {
        return Err(mismatch(format!(
            "{} apps are still assigned after removal",
            still_direct.len()
        )));
    }
    Ok(ActionDone {
        repeat: removed.is_empty(),
        summary: format!(
            "removed {} direct app assignments; {} come through groups (reported)",
            removed.len(),
            via_group.len()
        ),
        readback: json!({"user_id": user.id, "app_links": after}),
        output: json!({"removed": removed, "not_attempted": via_group}),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(status: &str, transitioning: Option<&str>) -> User {
        serde_json::from_value(json!({
            "id": "00u1",
            "status": status,
            "transitioningToStatus": transitioning,
            "profile": {"login": "jane@example.com"},
        }))
        .unwrap()
    }

    #[test]
    fn a_deactivation_okta_is_still_carrying_out_is_told_from_one_done_or_not_begun() {
        assert!(deprovisioning(&user("ACTIVE", Some("DEPROVISIONED"))));
        assert!(deprovisioning(&user("SUSPENDED", Some("DEPROVISIONED"))));
        assert!(!deprovisioning(&user("DEPROVISIONED", None)));
        assert!(!deprovisioning(&user("ACTIVE", None)));
        assert!(!deprovisioning(&user("ACTIVE", Some("ACTIVE"))));
    }
}
