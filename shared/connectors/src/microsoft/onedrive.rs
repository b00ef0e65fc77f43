//! The OneDrive hand-over (`HandOverOneDrive`), the way CIPP's `OnedriveAccess` and
//! `DisableOneDriveSharing` do it, through Graph alone: the manager is invited to the drive's
//! root with the `write` role (`POST /users/{id}/drives/{drive-id}/items/root/invite`, the
//! `driveItem: invite` action, `user.drive.item_invite` in Graph's v1.0 description, with
//! `requireSignIn` and no e-mail), and every sharing-link permission on the root
//! (`GET …/items/root/permissions`, those with a `link`) is deleted
//! (`DELETE …/permissions/{id}`). Both are read back. It runs before `RemoveLicenses`: once
//! the licence goes, the drive is kept only for the tenant's retention window, which the
//! output records.
//!
//! # The record a restore reverses
//!
//! When the tenant hands OneDrive over, the snapshot's output carries `onedrive`:
//! `{"drive_id", "permissions": [{"id", "roles", "link"?: {"scope", "type", "webUrl"},
//! "grantedTo"?}]}` (or `{"unreadable": why}`), and its `access` lists each sharing link as
//! `{"kind": "drive", "id": "link:<permission id>"}`. A removed link cannot be recreated with
//! its old URL: a restore makes a new link of the same scope and type (`createLink`). The
//! manager's grant is in the step's output (`granted.permission_id`), to be deleted on restore.

use super::actions::User;
use super::api::{Api, Calls};
use crate::http::{mismatch, permanent};
use passage_core::ports::{ActionDone, ActionFailure, ActionRequest};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn drive_id(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<Option<String>, ActionFailure> {
    let url = api.graph_url(&["users", &user.id, "drive"], &[]);
    let answer = api
        .graph(Method::GET, url, None, &[StatusCode::NOT_FOUND], calls)
        .await?;
    if answer.status == StatusCode::NOT_FOUND {
        return Ok(None);
    }
    Ok(answer.body["id"].as_str().map(str::to_owned))
}

fn root(api: &Api, user: &User, drive: &str, rest: &[&str]) -> url::Url {
    let mut segs = vec!["users", &user.id, "drives", drive, "items", "root"];
    segs.extend(rest);
    api.graph_url(&segs, &[])
}

async fn permissions(
    api: &Api,
    user: &User,
    drive: &str,
    calls: &mut Calls,
) -> Result<Vec<Value>, ActionFailure> {
    api.list(root(api, user, drive, &["permissions"]), calls)
        .await
}

fn is_link(p: &Value) -> bool {
    p.get("link").is_some_and(Value::is_object)
}

fn granted_to(p: &Value, email: &str) -> bool {
    p["grantedToV2"]["user"]["email"]
        .as_str()
        .or(p["grantedTo"]["user"]["email"].as_str())
        .is_some_and(|e| e.eq_ignore_ascii_case(email))
}

/// Adds the drive's record to the snapshot's output (see the module's doc).
pub(super) async fn record(api: &Api, user: &User, output: &mut Value, calls: &mut Calls) {
    let read = async {
        let Some(drive) = drive_id(api, user, calls).await? else {
            return Ok(json!({"drive_id": null, "permissions": []}));
        };
        let perms = permissions(api, user, &drive, calls).await?;
        Ok::<_, ActionFailure>(json!({"drive_id": drive, "permissions": perms}))
    };
    let record = read
        .await
        .unwrap_or_else(|e| json!({"unreadable": format!("{}: {}", e.code, e.message)}));
    let links: Vec<Value> = record["permissions"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter(|p| is_link(p))
                .map(|p| json!({"kind": "drive", "id": format!("link:{}", p["id"].as_str().unwrap_or_default()), "name": format!("OneDrive sharing link ({} {})", p["link"]["scope"].as_str().unwrap_or_default(), p["link"]["type"].as_str().unwrap_or_default())}))
                .collect()
        })
        .unwrap_or_default();
    output["onedrive"] = record;
    if let Some(list) = output["access"].as_array_mut() {
        list.extend(links);
    }
}

/// `HandOverOneDrive`: the manager can write to the drive, no sharing link is left.
pub(super) async fn hand_over(
    api: &Api,
    req: &ActionRequest,
    user: &User,
    retention_days: u32,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let Some(manager) = req.delegate.clone() else {
        return Err(permanent(
            "no_delegate",
            "the leaver has no manager on record to hand the OneDrive to; set one (or the tenant's fallback delegate) and retry".into(),
        ));
    };
    let Some(drive) = drive_id(api, user, calls).await? else {
        return Ok(ActionDone {
            repeat: true,
            summary: "the leaver has no OneDrive; nothing to hand over".into(),
            readback: json!({"user_id": user.id, "drive_id": null}),
            output: json!({"drive_id": null}),
        });
    };
    let before = permissions(api, user, &drive, calls).await?;
    let already = before.iter().any(|p| granted_to(p, &manager));
    if !already {
        let body = json!({
            "recipients": [{"email": manager}],
            "roles": ["write"],
            "requireSignIn": true,
            "sendInvitation": false,
        });
        api.graph(
            Method::POST,
            root(api, user, &drive, &["invite"]),
            Some(&body),
            &[],
            calls,
        )
        .await?;
    }
    let links: Vec<&Value> = before.iter().filter(|p| is_link(p)).collect();
    for link in &links {
        let id = link["id"].as_str().unwrap_or_default();
        let url = root(api, user, &drive, &["permissions", id]);
        api.graph(Method::DELETE, url, None, &[StatusCode::NOT_FOUND], calls)
            .await?;
    }
    let after = permissions(api, user, &drive, calls).await?;
    let grant = after.iter().find(|p| granted_to(p, &manager));
    let writes = grant.is_some_and(|p| {
        p["roles"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x == "write" || x == "owner"))
    });
    if !writes || after.iter().any(is_link) {
        return Err(mismatch(format!(
            "after the hand-over {manager} can write: {writes}; sharing links left: {}",
            after.iter().filter(|p| is_link(p)).count()
        )));
    }
    Ok(ActionDone {
        repeat: already && links.is_empty(),
        summary: format!(
            "{manager} can edit the OneDrive; {} sharing links removed; kept {retention_days} days after the licence goes",
            links.len()
        ),
        readback: json!({"user_id": user.id, "drive_id": drive, "permissions": after}),
        output: json!({
            "drive_id": drive,
            "granted": {"to": manager, "roles": ["write"], "permission_id": grant.map(|p| p["id"].clone())},
            "removed_links": links,
            "retention_days": retention_days,
        }),
    })
}
