//! The leaver's administrator rights on JumpCloud-managed devices, recorded in the snapshot
//! and removed before any other lockout step (`RemoveAdminRoles`, the sweep's first rule).
//!
//! Two grants make a system user an administrator of a device: the account-wide `sudo` flag
//! (`systemuserreturn.sudo`, with `passwordless_sudo`), which applies on every device the user
//! is bound to, and the `sudo` attribute of a direct user→system association
//! (`GraphAttribute-Sudo`: `{"enabled", "withoutPassword"}`), read from
//! `GET /api/v2/users/{id}/associations?targets=system` to its last page. The flag is cleared
//! with `PUT /api/systemusers/{id} {"sudo": false}`, a binding's with
//! `POST /api/v2/users/{id}/associations {"op": "update", "type": "system", "id",
//! "attributes": {"sudo": {"enabled": false, "withoutPassword": false}}}`.
//!
//! # The record a restore reverses
//!
//! The snapshot's `admin_access` is `{"sudo", "passwordless_sudo", "systems": [{"id",
//! "withoutPassword"}]}`; its `access` lists `{"kind": "admin_role", "id": "sudo"}` for the
//! flag and `{"kind": "admin_role", "id": "system:<id>"}` for each binding.
//!
//! A console administrator account with the leaver's address is not covered: the published
//! API lists an organisation's administrators only as ids
//! (`GET /api/v2/organizations/{id}/administratorlinks`), with no documented read of an
//! administrator's address outside an MSP's provider list.

use super::{Calls, User, get_user};
use crate::http::mismatch;
use crate::jumpcloud::api::{Api, Sort};
use passage_core::ports::{ActionDone, ActionFailure};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The account-wide grant's item id.
const ACCOUNT_WIDE: &str = "sudo";

/// Who acts when JumpCloud refuses Passage's credential the change.
const WHO_MUST_ACT: &str = "a JumpCloud administrator with the Administrator or Manager role \
     removes it in the Admin Portal (Users → the user → User Security Settings and \
     Permissions for the account-wide flag; Device Bindings for a device)";

fn system_item(id: &str) -> String {
    format!("system:{id}")
}

/// Whether the account-wide flag makes the user an administrator.
fn account_wide(user: &User) -> bool {
    user.raw["sudo"].as_bool() == Some(true)
}

/// The direct system bindings that grant sudo: `(system id, withoutPassword)`.
async fn device_sudo(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<Vec<(String, bool)>, ActionFailure> {
    let mut url = api.url(&["api", "v2", "users", &user.id, "associations"]);
    url.query_pairs_mut().append_pair("targets", "system");
    let items = api.list_v2(url, Sort::Undeclared, calls).await?;
    Ok(items
        .iter()
        .filter(|a| a["attributes"]["sudo"]["enabled"].as_bool() == Some(true))
        .filter_map(|a| {
            let id = a["to"]["id"].as_str()?.to_owned();
            let without = a["attributes"]["sudo"]["withoutPassword"].as_bool();
            Some((id, without == Some(true)))
        })
        .collect())
}

/// The snapshot's `admin_access` record and its graded entries; `names` gives a system's
/// display name where the snapshot read one.
pub(super) async fn recorded(
    api: &Api,
    user: &User,
    names: &[Value],
    calls: &mut Calls,
) -> Result<(Value, Vec<Value>), ActionFailure> {
    let systems = device_sudo(api, user, calls).await?;
    let name_of = |id: &str| {
        names
            .iter()
            .find(|s| s["id"].as_str() == Some(id))
            .and_then(|s| s["display_name"].as_str())
            .unwrap_or(id)
            .to_owned()
    };
    let mut access = Vec::new();
    if account_wide(user) {
        access.push(json!({"kind": "admin_role", "id": ACCOUNT_WIDE,
            "name": "sudo on every bound device (account-wide)"}));
    }
    access.extend(systems.iter().map(|(id, _)| {
        json!({"kind": "admin_role", "id": system_item(id), "name": format!("sudo on {}", name_of(id))})
    }));
    let record = json!({
        "sudo": account_wide(user),
        "passwordless_sudo": user.raw["passwordless_sudo"].as_bool() == Some(true),
        "systems": systems.iter().map(|(id, without)| json!({"id": id, "withoutPassword": without})).collect::<Vec<_>>(),
    });
    Ok((record, access))
}

/// What JumpCloud said to one removal.
fn refused(item: &str, status: StatusCode) -> Value {
    json!({
        "kind": "admin_role",
        "id": item,
        "state": "remains",
        "reason": format!("JumpCloud refused the removal ({status}); {WHO_MUST_ACT}"),
    })
}

/// Clears the account-wide flag and each binding's sudo, then reads both back. A removal
/// JumpCloud refuses is graded `remains` with who must act; anything else still granting
/// sudo after the removals is a mismatch.
pub(super) async fn remove(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let accept = [StatusCode::FORBIDDEN, StatusCode::NOT_FOUND];
    let mut removed = Vec::new();
    let mut stays = Vec::new();
    if account_wide(user) {
        let url = api.url(&["api", "systemusers", &user.id]);
        let body = json!({"sudo": false});
        let answer = api
            .call(Method::PUT, url, Some(&body), &accept, calls)
            .await?;
        match answer.status {
            StatusCode::FORBIDDEN => stays.push(refused(ACCOUNT_WIDE, answer.status)),
            _ => removed.push(ACCOUNT_WIDE.to_owned()),
        }
    }
    for (system, _) in device_sudo(api, user, calls).await? {
        let url = api.url(&["api", "v2", "users", &user.id, "associations"]);
        let body = json!({"op": "update", "type": "system", "id": system,
            "attributes": {"sudo": {"enabled": false, "withoutPassword": false}}});
        let answer = api
            .call(Method::POST, url, Some(&body), &accept, calls)
            .await?;
        // A 404 is a binding removed meanwhile: the read-back decides.
        match answer.status {
            StatusCode::FORBIDDEN => stays.push(refused(&system_item(&system), answer.status)),
            _ => removed.push(system_item(&system)),
        }
    }
    let after = get_user(api, &user.id, calls).await?;
    let still: Vec<String> = device_sudo(api, user, calls)
        .await?
        .into_iter()
        .map(|(id, _)| system_item(&id))
        .chain(account_wide(&after).then(|| ACCOUNT_WIDE.to_owned()))
        .filter(|item| !stays.iter().any(|s| s["id"] == item.as_str()))
        .collect();
    if !still.is_empty() {
        return Err(mismatch(format!(
            "sudo still granted after removal: {}",
            still.join(", ")
        )));
    }
    Ok(ActionDone {
        repeat: removed.is_empty() && stays.is_empty(),
        summary: format!(
            "removed {} sudo grants; {} refused by JumpCloud (reported with who must act)",
            removed.len(),
            stays.len()
        ),
        readback: json!({
            "user_id": after.id,
            "sudo": account_wide(&after),
            "sudo_systems": stays.iter().map(|s| &s["id"]).collect::<Vec<_>>(),
        }),
        output: json!({"removed": removed, "access": stays}),
    })
}
