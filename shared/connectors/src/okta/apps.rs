//! The leaver's Okta app assignments, recorded in full when the tenant unassigns apps, and
//! given back by a restore (`RestoreApps`).
//!
//! # The record a restore reverses
//!
//! The snapshot's `app_assignments` lists each app the leaver held as
//! `{"id": appId, "label", "scope": "USER" | "GROUP", "group"?: {"id", "name"}, "userName"?,
//! "profile"?}`, read from `GET /api/v1/apps/{appId}/users/{userId}` (`getApplicationUser`).
//! Its `access` lists the direct (`USER`) ones as `{"kind": "app", "id": appId, "name": label}`:
//! those are what `unassign_apps` removes. A `GROUP` one belongs to the group membership,
//! which `remove_groups` takes and `restore_groups` gives back with the app.
//!
//! A restore re-assigns each direct one with
//! `POST /api/v1/apps/{appId}/users {"id", "scope": "USER", "credentials": {"userName"},
//! "profile"}` (`assignUserToApplication`, scope `okta.apps.manage`) and reads it back.

use super::actions::User;
use super::api::Api;
use crate::http::mismatch;
use passage_core::ports::{ActionDone, ActionFailure, ActionRequest};
use passage_core::{CallRecord, StepKey};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

type Calls = Vec<CallRecord>;

fn app_user_url(api: &Api, app: &str, rest: &[&str]) -> url::Url {
    let mut url = api.url("/");
    url.path_segments_mut()
        .expect("http urls have paths")
        .clear()
        .extend(["api", "v1", "apps", app, "users"])
        .extend(rest);
    url
}

/// The user's assignment to `app`, `None` when Okta answers 404 (not assigned, or no app).
async fn assignment(
    api: &Api,
    app: &str,
    user: &User,
    calls: &mut Calls,
) -> Result<Option<Value>, ActionFailure> {
    let url = app_user_url(api, app, &[&user.id]);
    let answer = api
        .call(Method::GET, url, &[StatusCode::NOT_FOUND], calls)
        .await?;
    Ok((answer.status != StatusCode::NOT_FOUND).then_some(answer.body))
}

/// Each app of `links` the user still holds, as the module's doc records it.
pub(super) async fn recorded(
    api: &Api,
    user: &User,
    links: &[Value],
    calls: &mut Calls,
) -> Result<Vec<Value>, ActionFailure> {
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for link in links {
        let Some(app) = link["appInstanceId"].as_str() else {
            continue;
        };
        if seen.contains(&app) {
            continue;
        }
        seen.push(app);
        let Some(held) = assignment(api, app, user, calls).await? else {
            continue;
        };
        out.push(record(app, link["label"].as_str().unwrap_or(app), &held));
    }
    Ok(out)
}

fn record(app: &str, label: &str, held: &Value) -> Value {
    let mut out = json!({"id": app, "label": label, "scope": held["scope"]});
    let group = &held["_links"]["group"];
    if let Some(href) = group["href"].as_str() {
        let id = href.rsplit('/').next().unwrap_or(href);
        out["group"] = json!({"id": id, "name": group["name"]});
    }
    if let Some(name) = held["credentials"]["userName"].as_str() {
        out["userName"] = name.into();
    }
    if held["profile"].is_object() {
        out["profile"] = held["profile"].clone();
    }
    out
}

/// The graded entry of a recorded assignment: only a direct one is the app's own access.
pub(super) fn access_entry(recorded: &Value) -> Option<Value> {
    (recorded["scope"] == "USER")
        .then(|| json!({"kind": "app", "id": recorded["id"], "name": recorded["label"]}))
}

/// The assignment request that gives `recorded` back to `user`.
fn request(user: &User, recorded: &Value) -> Value {
    let mut body = json!({"id": user.id, "scope": "USER"});
    if let Some(name) = recorded["userName"].as_str() {
        body["credentials"] = json!({"userName": name});
    }
    if recorded["profile"].is_object() {
        body["profile"] = recorded["profile"].clone();
    }
    body
}

/// What one wanted app came to.
enum Outcome {
    Assigned,
    AlreadyBack,
    Gone,
}

/// Re-assigns each app the restore names, with what the snapshot recorded, and reads each
/// back. An app already held again (through a group restored first) is not assigned twice;
/// an app Okta no longer has is listed with why; the apps the leaver held through a group are
/// named as coming back with that group.
pub(super) async fn restore(
    api: &Api,
    req: &ActionRequest,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let snapshot = req.prior.get(&StepKey::new("okta.snapshot"));
    let recorded: &[Value] = snapshot
        .and_then(|s| s["app_assignments"].as_array())
        .map_or(&[], Vec::as_slice);
    let find = |id: &str| recorded.iter().find(|r| r["id"].as_str() == Some(id));
    let wanted = req.restore_items();
    let (mut assigned, mut already, mut gone) = (Vec::new(), Vec::new(), Vec::new());
    for item in &wanted {
        let rec = find(&item.id).cloned().unwrap_or(json!({"id": item.id}));
        let entry = json!({"id": item.id, "name": item.name});
        match give_back(api, user, &item.id, &rec, calls).await? {
            Outcome::Assigned => assigned.push(entry),
            Outcome::AlreadyBack => already.push(entry),
            Outcome::Gone => gone.push(json!({
                "id": item.id,
                "name": item.name,
                "why": "Okta answers 404 for the app: it was deleted after the leaver run, so \
                        there is nothing to assign again",
            })),
        }
    }
    let mut readback = Vec::new();
    for entry in assigned.iter().chain(&already) {
        let id = entry["id"].as_str().unwrap_or_default();
        match assignment(api, id, user, calls).await? {
            Some(held) => readback.push(json!({"id": id, "scope": held["scope"]})),
            None => {
                return Err(mismatch(format!(
                    "{} is not assigned after re-assigning",
                    entry["name"]
                )));
            }
        }
    }
    let via_group = with_groups(api, user, recorded, calls).await?;
    Ok(ActionDone {
        repeat: assigned.is_empty() && gone.is_empty(),
        summary: format!(
            "re-assigned {} of {} Okta apps ({} were already back, {} no longer exist and are \
             listed); {} held through a group come back with it",
            assigned.len(),
            wanted.len(),
            already.len(),
            gone.len(),
            via_group.len()
        ),
        readback: json!({"user_id": user.id, "apps": readback}),
        output: json!({
            "restored": assigned,
            "already_back": already,
            "not_restored": gone,
            "via_group": via_group,
        }),
    })
}

async fn give_back(
    api: &Api,
    user: &User,
    app: &str,
    recorded: &Value,
    calls: &mut Calls,
) -> Result<Outcome, ActionFailure> {
    if assignment(api, app, user, calls).await?.is_some() {
        return Ok(Outcome::AlreadyBack);
    }
    // The user was just read by id, so a 404 here is the app's.
    let answer = api
        .send(
            Method::POST,
            app_user_url(api, app, &[]),
            &request(user, recorded),
            &[StatusCode::NOT_FOUND],
            calls,
        )
        .await?;
    Ok(if answer.status == StatusCode::NOT_FOUND {
        Outcome::Gone
    } else {
        Outcome::Assigned
    })
}

/// The recorded apps the leaver held through a group: not assigned directly (the group's
/// restore gives them back), each with whether it is held again now.
async fn with_groups(
    api: &Api,
    user: &User,
    recorded: &[Value],
    calls: &mut Calls,
) -> Result<Vec<Value>, ActionFailure> {
    let mut out = Vec::new();
    for rec in recorded.iter().filter(|r| r["scope"] == "GROUP") {
        let id = rec["id"].as_str().unwrap_or_default();
        let back = assignment(api, id, user, calls).await?.is_some();
        out.push(json!({
            "id": id,
            "name": rec["label"],
            "group": rec["group"],
            "held_again": back,
            "why": "assigned through the group: it comes back with the group membership \
                    (restore_groups), not as a direct assignment",
        }));
    }
    Ok(out)
}
