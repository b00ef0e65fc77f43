//! The leaver actions on JumpCloud. Each reads, acts only if needed, and reads back.

use super::api::{Api, Sort, unexpected};
use crate::http::{mismatch, permanent};
use passage_core::ports::{ActionDone, ActionFailure, ActionOutcome, ActionRequest};
use passage_core::{Action, CallRecord, JumpCloudPolicy, StepKey};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

mod admin_access;
mod devices;
mod restore;

type Calls = Vec<CallRecord>;

pub async fn run(
    api: &Api,
    policy: &JumpCloudPolicy,
    req: &ActionRequest,
    calls: &mut Calls,
) -> ActionOutcome {
    act(api, policy, req, calls)
        .await
        .unwrap_or_else(Into::into)
}

async fn act(
    api: &Api,
    policy: &JumpCloudPolicy,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<ActionOutcome, ActionFailure> {
    if !super::LEAVER.contains(&req.action) && !super::RESTORES.contains(&req.action) {
        return Err(permanent(
            "action_not_supported",
            format!("the JumpCloud connector cannot {}", req.action),
        ));
    }
    let user = find_user(api, req, calls).await?;
    let done = match req.action {
        Action::Snapshot => snapshot(api, &user, calls).await,
        Action::RemoveAdminRoles => admin_access::remove(api, &user, calls).await,
        Action::Suspend => suspend(api, &user, calls).await,
        Action::RemoveGroups => remove_groups(api, &user, calls).await,
        Action::Reactivate => restore::reactivate(api, &user, calls).await,
        Action::RestoreGroups => restore::restore_groups(api, req, &user, calls).await,
        // Device commands complete when the device connects: the step may await them.
        _ => return devices::secure_devices(api, policy, req, &user, calls).await,
    };
    done.map(Into::into)
}

/// A system user (`systemuserreturn`), the fields Passage uses.
#[derive(Clone, Debug)]
pub(crate) struct User {
    pub(crate) id: String,
    email: String,
    state: String,
    suspended: bool,
    raw: Value,
}

impl User {
    fn parse(body: Value) -> Result<Self, ActionFailure> {
        let id = body["_id"]
            .as_str()
            .or(body["id"].as_str())
            .ok_or_else(|| unexpected("a user", "no `_id`"))?
            .to_owned();
        Ok(Self {
            id,
            email: body["email"].as_str().unwrap_or_default().to_owned(),
            state: body["state"].as_str().unwrap_or_default().to_owned(),
            suspended: body["suspended"].as_bool().unwrap_or(false),
            raw: body,
        })
    }

    fn is_suspended(&self) -> bool {
        self.state == "SUSPENDED" || self.suspended
    }

    fn view(&self) -> Value {
        json!({
            "user_id": self.id,
            "email": self.email,
            "username": self.raw["username"],
            "state": self.state,
            "suspended": self.suspended,
            "account_locked": self.raw["account_locked"],
            "activated": self.raw["activated"],
        })
    }
}

/// Finds the leaver: by the id the snapshot recorded, else by an exact e-mail filter.
async fn find_user(
    api: &Api,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<User, ActionFailure> {
    let known_id = req
        .prior
        .get(&StepKey::new("jumpcloud.snapshot"))
        .and_then(|v| v.get("user_id"))
        .and_then(Value::as_str);
    if let Some(id) = known_id {
        let answer = api
            .call(
                Method::GET,
                api.url(&["api", "systemusers", id]),
                None,
                &[StatusCode::NOT_FOUND],
                calls,
            )
            .await?;
        if answer.status != StatusCode::NOT_FOUND {
            return User::parse(answer.body);
        }
    }
    find_by_email(api, req.subject.email.trim(), calls).await
}

/// The one user whose e-mail (or, failing that, alternate e-mail) is `email`.
pub(crate) async fn find_by_email(
    api: &Api,
    email: &str,
    calls: &mut Calls,
) -> Result<User, ActionFailure> {
    let mut found = users_with(api, "email", email, calls).await?;
    if found.is_empty() {
        // HR often knows the address JumpCloud keeps as the second one.
        found = users_with(api, "alternateEmail", email, calls).await?;
    }
    match found.len() {
        1 => User::parse(found.into_iter().next().expect("one user")),
        0 => Err(permanent(
            "user_not_found",
            format!(
                "no JumpCloud user has email or alternateEmail {email}; check the address (and, for an MSP credential, the organisation id), or, if they never had an account, close its steps with `passage not-applicable` (a fresh read must find none)"
            ),
        )),
        n => Err(permanent(
            "user_ambiguous",
            format!(
                "{n} JumpCloud users have the address {email}; resolve the duplicate accounts first"
            ),
        )),
    }
}

/// The users whose `field` is `email`. JumpCloud's `$eq` is an exact match, so the address
/// is sent lower-cased (the form addresses are usually stored in) and the answer compared
/// without case.
async fn users_with(
    api: &Api,
    field: &str,
    email: &str,
    calls: &mut Calls,
) -> Result<Vec<Value>, ActionFailure> {
    let mut url = api.url(&["api", "systemusers"]);
    let wanted = email.to_ascii_lowercase();
    url.query_pairs_mut()
        .append_pair("filter", &format!("{field}:$eq:{wanted}"));
    Ok(api
        .list_v1(url, Sort::ById, calls)
        .await?
        .into_iter()
        .filter(|u| {
            u[field]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
        .collect())
}

async fn get_user(api: &Api, id: &str, calls: &mut Calls) -> Result<User, ActionFailure> {
    let answer = api
        .call(
            Method::GET,
            api.url(&["api", "systemusers", id]),
            None,
            &[],
            calls,
        )
        .await?;
    User::parse(answer.body)
}

/// Ids of the user groups the user is a member of (v2 graph `memberof`).
async fn group_ids(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<Vec<String>, ActionFailure> {
    let items = api
        .list_v2(
            api.url(&["api", "v2", "users", &user.id, "memberof"]),
            Sort::ById,
            calls,
        )
        .await?;
    Ok(items
        .iter()
        .filter(|g| g["type"].as_str().is_none_or(|t| t == "user_group"))
        .filter_map(|g| g["id"].as_str().map(str::to_owned))
        .collect())
}

/// Ids of the systems bound to the user, directly or through groups (v2 graph).
async fn system_ids(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<Vec<String>, ActionFailure> {
    let items = api
        .list_v2(
            api.url(&["api", "v2", "users", &user.id, "systems"]),
            Sort::Undeclared,
            calls,
        )
        .await?;
    Ok(items
        .iter()
        .filter_map(|s| s["id"].as_str().map(str::to_owned))
        .collect())
}

/// A system's details (v1 `JcSystem`).
async fn system(api: &Api, id: &str, calls: &mut Calls) -> Result<Value, ActionFailure> {
    Ok(api
        .call(
            Method::GET,
            api.url(&["api", "systems", id]),
            None,
            &[],
            calls,
        )
        .await?
        .body)
}

fn system_view(s: &Value) -> Value {
    json!({
        "id": s["_id"],
        "display_name": s["displayName"],
        "hostname": s["hostname"],
        "os": s["os"],
        "os_family": s["osFamily"],
        "version": s["version"],
        "serial_number": s["serialNumber"],
        "active": s["active"],
        "last_contact": s["lastContact"],
        "mdm_vendor": s["mdm"]["vendor"],
    })
}

/// Records what the leaver has before anything changes: the pre-state for evidence and for
/// restoring access to a rehire.
async fn snapshot(api: &Api, user: &User, calls: &mut Calls) -> Result<ActionDone, ActionFailure> {
    let mut groups = Vec::new();
    for id in group_ids(api, user, calls).await? {
        // An unread name must fail the snapshot, but a group deleted meanwhile is just gone.
        let answer = api
            .call(
                Method::GET,
                api.url(&["api", "v2", "usergroups", &id]),
                None,
                &[StatusCode::NOT_FOUND],
                calls,
            )
            .await?;
        groups.push(json!({"id": id, "name": answer.body["name"]}));
    }
    let mut systems = Vec::new();
    for id in system_ids(api, user, calls).await? {
        systems.push(system_view(&system(api, &id, calls).await?));
    }
    let mut output = user.view();
    output["groups"] = Value::Array(groups.clone());
    output["systems"] = Value::Array(systems.clone());
    // The grading's vocabulary (`passage_core::access`); both lists are read to their end.
    let access = groups
        .iter()
        .map(|g| json!({"kind": "group", "id": g["id"], "name": g["name"]}))
        .chain(
            systems
                .iter()
                .map(|s| json!({"kind": "device", "id": s["id"], "name": s["display_name"]})),
        );
    output["access"] = Value::Array(access.collect());
    if api.admin_access {
        let (record, entries) = admin_access::recorded(api, user, &systems, calls).await?;
        output["admin_access"] = record;
        if let Some(listed) = output["access"].as_array_mut() {
            listed.extend(entries);
        }
    }
    Ok(ActionDone {
        repeat: false,
        summary: format!(
            "recorded state {}, {} user groups, {} bound systems",
            user.state,
            groups.len(),
            systems.len()
        ),
        readback: user.view(),
        output,
    })
}

/// Suspends the account: JumpCloud logs the user out of their devices and resources.
async fn suspend(api: &Api, user: &User, calls: &mut Calls) -> Result<ActionDone, ActionFailure> {
    let repeat = user.is_suspended();
    if !repeat {
        api.call(
            Method::PUT,
            api.url(&["api", "systemusers", &user.id]),
            Some(&json!({"suspended": true})),
            &[],
            calls,
        )
        .await?;
    }
    let after = get_user(api, &user.id, calls).await?;
    if !(after.state == "SUSPENDED" && after.suspended) {
        return Err(mismatch(format!(
            "user {} reads back as state {} (suspended {}) after suspension",
            after.id, after.state, after.suspended
        )));
    }
    Ok(ActionDone {
        repeat,
        summary: if repeat {
            "the account was already suspended".into()
        } else {
            format!("suspended the account (was {})", user.state)
        },
        readback: after.view(),
        output: json!({"previous_state": user.state}),
    })
}

async fn remove_groups(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let before = group_ids(api, user, calls).await?;
    let mut removed = Vec::new();
    let mut already_gone = Vec::new();
    for gid in &before {
        let answer = api
            .call(
                Method::POST,
                api.url(&["api", "v2", "usergroups", gid, "members"]),
                Some(&json!({"op": "remove", "type": "user", "id": user.id})),
                &[StatusCode::NOT_FOUND],
                calls,
            )
            .await?;
        if answer.status == StatusCode::NOT_FOUND {
            already_gone.push(gid.clone());
        } else {
            removed.push(gid.clone());
        }
    }
    let after = group_ids(api, user, calls).await?;
    if !after.is_empty() {
        return Err(mismatch(format!(
            "{} user groups still list the user after removal (a dynamic group may have re-added them): {}",
            after.len(),
            after.join(", ")
        )));
    }
    Ok(ActionDone {
        repeat: before.is_empty(),
        summary: if before.is_empty() {
            "the user was in no user groups".into()
        } else {
            format!("removed the user from {} user groups", removed.len())
        },
        readback: json!({"user_id": user.id, "memberof": after}),
        output: json!({"removed": removed, "already_gone": already_gone}),
    })
}
