//! The shared-resource sweep on Microsoft 365 (`SweepSharedAccess`): the leaver's rights on
//! shared mailboxes (FullAccess, SendAs, SendOnBehalf, through the Exchange Online admin
//! endpoint as `ConvertMailbox` uses it) are removed; the groups the leaver owns are handed to
//! the manager first (`POST /groups/{id}/owners/$ref`) and only then is the leaver taken off
//! (`DELETE /groups/{id}/owners/{id}/$ref`), so nothing is left ownerless; app registrations
//! the leaver owns (`/users/{id}/ownedObjects`) are reported, not changed.
//!
//! # The record a restore reverses
//!
//! When the tenant sweeps, the snapshot's output carries
//! - `shared_access`: `[{"mailbox": primary SMTP address, "mailbox_id": object id,
//!   "right": "FullAccess" | "SendAs" | "SendOnBehalf"}]` — given back with
//!   `Add-MailboxPermission -AccessRights FullAccess`, `Add-RecipientPermission -AccessRights
//!   SendAs`, `Set-Mailbox -GrantSendOnBehalfTo @{add=…}`;
//! - `owned`: `[{"type": "group" | "application", "id", "displayName", "appId"?}]` — a group
//!   is given back with `POST /groups/{id}/owners/$ref`;
//! - or `shared_unreadable` / `owned_unreadable` with why, when a list could not be read to its
//!   end (then nothing unrecorded is graded absent);
//!
//! and its `access` lists `{"kind": "shared_access", "id": "<mailbox>/<right>"}` and
//! `{"kind": "ownership", "id": "<type>:<id>"}` items.

use super::actions::User;
use super::api::{Api, Calls};
use crate::handover::{Handed, Handovers};
use crate::http::{mismatch, permanent};
use passage_core::ports::{ActionDone, ActionFailure, ActionRequest};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Whether an Exchange row's principal is the leaver (by UPN, address or alias).
fn is_leaver(principal: &str, user: &User) -> bool {
    let alias = user.upn.split('@').next().unwrap_or_default();
    same(principal, &user.upn) || same(principal, alias) || same(principal, &user.id)
}

/// Every shared mailbox, every page read (`Get-Mailbox -RecipientTypeDetails SharedMailbox`).
async fn shared_mailboxes(api: &Api, calls: &mut Calls) -> Result<Vec<Value>, ActionFailure> {
    let params = json!({"RecipientTypeDetails": "SharedMailbox", "ResultSize": "Unlimited"});
    api.cmdlet_rows("Get-Mailbox", params, calls).await
}

/// The rights the leaver holds on one mailbox now.
async fn rights_on(
    api: &Api,
    mailbox: &Value,
    user: &User,
    calls: &mut Calls,
) -> Result<Vec<Value>, ActionFailure> {
    let identity = mailbox["PrimarySmtpAddress"].as_str().unwrap_or_default();
    let entry = |right: &str| json!({"mailbox": identity, "mailbox_id": mailbox["ExternalDirectoryObjectId"], "right": right});
    let mut out = Vec::new();
    let full = api
        .cmdlet_rows(
            "Get-MailboxPermission",
            json!({"Identity": identity}),
            calls,
        )
        .await?;
    if full.iter().any(|p| {
        p["IsInherited"] != json!(true) && p["User"].as_str().is_some_and(|u| is_leaver(u, user))
    }) {
        out.push(entry("FullAccess"));
    }
    let send_as = api
        .cmdlet_rows(
            "Get-RecipientPermission",
            json!({"Identity": identity}),
            calls,
        )
        .await?;
    if send_as
        .iter()
        .any(|p| p["Trustee"].as_str().is_some_and(|t| is_leaver(t, user)))
    {
        out.push(entry("SendAs"));
    }
    let on_behalf = mailbox["GrantSendOnBehalfTo"].as_array();
    if on_behalf.is_some_and(|l| {
        l.iter()
            .filter_map(Value::as_str)
            .any(|t| is_leaver(t, user))
    }) {
        out.push(entry("SendOnBehalf"));
    }
    Ok(out)
}

/// Every right the leaver holds on any shared mailbox.
async fn shared_rights(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<Vec<Value>, ActionFailure> {
    let mut out = Vec::new();
    for mailbox in shared_mailboxes(api, calls).await? {
        out.extend(rights_on(api, &mailbox, user, calls).await?);
    }
    Ok(out)
}

/// The groups and app registrations the leaver owns, every page read.
async fn owned(api: &Api, user: &User, calls: &mut Calls) -> Result<Vec<Value>, ActionFailure> {
    let url = api.graph_url(&["users", &user.id, "ownedObjects"], &[("$top", "100")]);
    let objects = api.list(url, calls).await?;
    Ok(objects
        .iter()
        .filter_map(|o| {
            let kind = match o["@odata.type"].as_str()? {
                "#microsoft.graph.group" => "group",
                "#microsoft.graph.application" => "application",
                _ => return None,
            };
            let mut v = json!({"type": kind, "id": o["id"], "displayName": o["displayName"]});
            if kind == "application" {
                v["appId"] = o["appId"].clone();
            }
            Some(v)
        })
        .collect())
}

fn access_id(grant: &Value) -> String {
    format!(
        "{}/{}",
        grant["mailbox"].as_str().unwrap_or_default(),
        grant["right"].as_str().unwrap_or_default()
    )
}

fn owned_id(o: &Value) -> String {
    format!(
        "{}:{}",
        o["type"].as_str().unwrap_or_default(),
        o["id"].as_str().unwrap_or_default()
    )
}

/// Adds the sweep's record to the snapshot's output (see the module's doc). A list that fails
/// is recorded as unreadable rather than failing the whole snapshot: the account lockout must
/// not wait on a shared mailbox list, and the sweep step re-reads and holds the run instead.
pub(super) async fn record(api: &Api, user: &User, output: &mut Value, calls: &mut Calls) {
    let mut access = Vec::new();
    match shared_rights(api, user, calls).await {
        Ok(grants) => {
            access.extend(grants.iter().map(|g| {
                json!({"kind": "shared_access", "id": access_id(g), "name": format!("{} on {}", g["right"].as_str().unwrap_or_default(), g["mailbox"].as_str().unwrap_or_default())})
            }));
            output["shared_access"] = Value::Array(grants);
        }
        Err(e) => output["shared_unreadable"] = json!(format!("{}: {}", e.code, e.message)),
    }
    match owned(api, user, calls).await {
        Ok(objects) => {
            access.extend(objects.iter().map(|o| {
                json!({"kind": "ownership", "id": owned_id(o), "name": format!("owner of {} {}", o["type"].as_str().unwrap_or_default(), o["displayName"].as_str().unwrap_or_default())})
            }));
            output["owned"] = Value::Array(objects);
        }
        Err(e) => output["owned_unreadable"] = json!(format!("{}: {}", e.code, e.message)),
    }
    if let Some(list) = output["access"].as_array_mut() {
        list.extend(access);
    }
}

/// Removes one right; Exchange answers a right already gone with a warning, not an error.
async fn remove_right(
    api: &Api,
    grant: &Value,
    user: &User,
    calls: &mut Calls,
) -> Result<(), ActionFailure> {
    let mailbox = grant["mailbox"].as_str().unwrap_or_default();
    let (name, params) = match grant["right"].as_str() {
        Some("FullAccess") => (
            "Remove-MailboxPermission",
            json!({"Identity": mailbox, "User": user.upn, "AccessRights": ["FullAccess"], "Confirm": false}),
        ),
        Some("SendAs") => (
            "Remove-RecipientPermission",
            json!({"Identity": mailbox, "Trustee": user.upn, "AccessRights": ["SendAs"], "Confirm": false}),
        ),
        _ => (
            "Set-Mailbox",
            json!({"Identity": mailbox, "GrantSendOnBehalfTo": {"remove": [user.upn]}}),
        ),
    };
    api.cmdlet(name, params, calls).await.map(|_| ())
}

/// `SweepSharedAccess`: every right removed and read back gone (the full list re-read), every
/// owned group handed over, every owned app reported.
pub(super) async fn sweep(
    api: &Api,
    req: &ActionRequest,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let before = shared_rights(api, user, calls).await?;
    for grant in &before {
        remove_right(api, grant, user, calls).await?;
    }
    let after = shared_rights(api, user, calls).await?;
    if !after.is_empty() {
        return Err(mismatch(format!(
            "{} shared mailbox rights still held after removal",
            after.len()
        )));
    }
    let objects = owned(api, user, calls).await?;
    let manager = match &req.delegate {
        Some(address) => Some(super::actions::find_by_address(api, address, address, calls).await?),
        None => None,
    };
    let mut done = Handovers::default();
    for o in &objects {
        let id = owned_id(o);
        let outcome = if o["type"] == "application" {
            Handed::Stuck(APP_REASON.to_owned())
        } else {
            hand_over_group(api, o, user, manager.as_ref(), calls).await?
        };
        done.file(&id, outcome);
    }
    let Handovers { handed, said } = done;
    Ok(ActionDone {
        repeat: before.is_empty() && handed.is_empty(),
        summary: format!(
            "removed {} shared mailbox rights; handed {} owned groups to {}; {} reported (who must act named)",
            before.len(),
            handed.len(),
            req.delegate
                .as_deref()
                .unwrap_or("nobody (no manager on record)"),
            said.len()
        ),
        readback: json!({"user_id": user.id, "shared_access": after}),
        output: json!({
            "removed_rights": before,
            "handed_over": handed,
            "access": said,
        }),
    })
}

const APP_REASON: &str = "an app registration the leaver owns is reported, not changed: an Entra administrator must name a new owner (Entra admin centre → App registrations → Owners), then remove the leaver";

/// The manager is made an owner first, then the leaver is taken off; the owners are read
/// back. Without a manager, the leaver is taken off only where another owner remains
/// (Graph refuses the last owner's removal); otherwise who must act is named.
async fn hand_over_group(
    api: &Api,
    group: &Value,
    user: &User,
    manager: Option<&User>,
    calls: &mut Calls,
) -> Result<Handed, ActionFailure> {
    let id = group["id"].as_str().unwrap_or_default();
    let name = group["displayName"].as_str().unwrap_or(id);
    if let Some(m) = manager {
        let url = api.graph_url(&["groups", id, "owners", "$ref"], &[]);
        let body =
            json!({"@odata.id": api.graph_url(&["directoryObjects", &m.id], &[]).to_string()});
        // 400 "already exist": the manager owns it already.
        api.graph(
            Method::POST,
            url,
            Some(&body),
            &[StatusCode::BAD_REQUEST],
            calls,
        )
        .await?;
    }
    let url = api.graph_url(&["groups", id, "owners", &user.id, "$ref"], &[]);
    let accept = [StatusCode::NOT_FOUND, StatusCode::BAD_REQUEST];
    let answer = api.graph(Method::DELETE, url, None, &accept, calls).await?;
    let owners = api
        .list(api.graph_url(&["groups", id, "owners"], &[]), calls)
        .await?;
    let leaver_owns = owners.iter().any(|o| o["id"] == json!(user.id));
    if answer.status == StatusCode::BAD_REQUEST && leaver_owns {
        return Ok(Handed::Stuck(format!(
            "the leaver is the last owner of {name} and no manager is on record: an administrator must name a new owner (Microsoft 365 admin centre → Teams & groups → {name} → Owners), then remove the leaver"
        )));
    }
    if leaver_owns {
        return Err(mismatch(format!(
            "the leaver still owns {name} after removal"
        )));
    }
    let manager_owns = manager.is_none_or(|m| owners.iter().any(|o| o["id"] == json!(m.id)));
    if !manager_owns {
        return Err(permanent(
            "owner_not_added",
            format!("{name}: the manager is not listed among its owners after being added"),
        ));
    }
    Ok(Handed::Done(json!({
        "group": group,
        "new_owner": manager.map(|m| m.upn.clone()),
        "owners_after": owners.iter().map(|o| o["userPrincipalName"].clone()).collect::<Vec<_>>(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_ids_name_the_mailbox_and_right_and_the_owned_object() {
        let g = json!({"mailbox": "support@example.com", "right": "SendAs"});
        assert_eq!(access_id(&g), "support@example.com/SendAs");
        let o = json!({"type": "group", "id": "g1"});
        assert_eq!(owned_id(&o), "group:g1");
    }
}
