//! The leaver's Slack seat: snapshot, deactivation through SCIM, and (Enterprise Grid) every
//! session reset. Slack's SCIM `DELETE` deactivates — it never erases — so the member stays
//! readable with `active: false`, and a rehire is restored with `active: true`.

use super::api::Api;
use crate::http::{mismatch, permanent};
use crate::scim::protocol::ScimUser;
use passage_core::ports::{ActionDone, ActionFailure, ActionRequest};
use passage_core::{Action, CallRecord, Provider, SeatOutcome, SlackPolicy, step_key};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

type Calls = Vec<CallRecord>;

pub async fn run(
    api: &Api,
    policy: &SlackPolicy,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    match req.action {
        Action::Snapshot => snapshot(api, policy, req, calls).await,
        Action::DeactivateSeat => deactivate(api, req, calls).await,
        Action::RevokeSessions => reset_sessions(api, req, calls).await,
        Action::ReactivateSeat => reactivate(api, req, calls).await,
        other => Err(permanent(
            "action_not_supported",
            format!("the Slack connector cannot {other}"),
        )),
    }
}

/// The member id and guest kind the snapshot recorded.
fn known(req: &ActionRequest) -> Option<&Value> {
    req.prior
        .get(&step_key(Provider::Slack, Action::Snapshot))
        .filter(|v| v["user_id"].is_string())
}

/// What a Web API user object says about the member's seat.
fn member_view(user: &Value) -> Value {
    let guest = match (
        user["is_restricted"].as_bool(),
        user["is_ultra_restricted"].as_bool(),
    ) {
        (_, Some(true)) => "single_channel_guest",
        (Some(true), _) => "multi_channel_guest",
        _ => "member",
    };
    json!({
        "user_id": user["id"],
        "name": user["name"],
        "deleted": user["deleted"],
        "kind": guest,
        "is_admin": user["is_admin"],
        "is_owner": user["is_owner"],
        "is_primary_owner": user["is_primary_owner"],
        "enterprise_id": user["enterprise_user"]["enterprise_id"],
    })
}

async fn lookup(api: &Api, email: &str, calls: &mut Calls) -> Result<Option<Value>, ActionFailure> {
    let found = api
        .method(
            "users.lookupByEmail",
            Method::GET,
            &json!({"email": email}),
            &["users_not_found"],
            calls,
        )
        .await?;
    Ok(found.ok().map(|body| body["user"].clone()))
}

async fn scim_user(
    api: &Api,
    id: &str,
    calls: &mut Calls,
) -> Result<Option<ScimUser>, ActionFailure> {
    let answer = api
        .scim(
            Method::GET,
            api.scim_url(&["Users", id]),
            None,
            &[StatusCode::NOT_FOUND],
            calls,
        )
        .await?;
    if answer.status == StatusCode::NOT_FOUND {
        return Ok(None);
    }
    Ok(ScimUser::parse(&answer.body))
}

/// Records the member before anything changes: id, role, guest kind, SCIM state and groups;
/// on Enterprise Grid, the sessions open.
async fn snapshot(
    api: &Api,
    policy: &SlackPolicy,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let Some(user) = lookup(api, &req.subject.email, calls).await? else {
        return Ok(ActionDone {
            repeat: false,
            summary: format!("no Slack member has the address {}", req.subject.email),
            readback: json!({"member": null}),
            output: json!({"user_id": null}),
        });
    };
    let mut output = member_view(&user);
    let id = output["user_id"].as_str().unwrap_or_default().to_owned();
    let scim = scim_user(api, &id, calls).await?;
    output["scim"] = scim.as_ref().map_or(Value::Null, ScimUser::view);
    if policy.plan.has_admin_api() {
        output["sessions"] = sessions(api, &id, calls).await?.len().into();
    }
    Ok(ActionDone {
        repeat: false,
        summary: format!(
            "recorded Slack {} {id} ({})",
            output["kind"].as_str().unwrap_or("member"),
            if user["deleted"] == true {
                "deactivated"
            } else {
                "active"
            }
        ),
        readback: output.clone(),
        output,
    })
}

fn no_member(req: &ActionRequest) -> ActionDone {
    let seat = SeatOutcome {
        outcome: "no_account".into(),
        seat_freed: "no".into(),
        restorable: "nothing to restore".into(),
        account: None,
        licences: Vec::new(),
    };
    ActionDone {
        repeat: true,
        summary: format!(
            "no Slack member has the address {}; nothing to do",
            req.subject.email
        ),
        readback: json!({"member": null}),
        output: json!({"seat": seat.to_value()}),
    }
}

/// Deactivates the member with SCIM `DELETE` (Slack's deactivation: signed out everywhere, no
/// longer billed), proven by SCIM `active: false` and the Web API's `deleted: true`.
async fn deactivate(
    api: &Api,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let Some(known) = known(req) else {
        return Ok(no_member(req));
    };
    let id = known["user_id"].as_str().unwrap_or_default();
    let before = scim_user(api, id, calls).await?;
    let repeat = before.as_ref().is_none_or(|u| !u.active);
    if !repeat {
        let url = api.scim_url(&["Users", id]);
        api.scim(Method::DELETE, url, None, &[StatusCode::NOT_FOUND], calls)
            .await?;
    }
    let after = scim_user(api, id, calls).await?;
    let info = api
        .ok("users.info", Method::GET, &json!({"user": id}), calls)
        .await?;
    let deleted = info["user"]["deleted"].as_bool() == Some(true);
    if after.as_ref().is_some_and(|u| u.active) || !deleted {
        return Err(mismatch(format!(
            "Slack still shows member {id} active after deactivation"
        )));
    }
    let single_guest = known["kind"] == "single_channel_guest";
    let seat = SeatOutcome {
        outcome: "deactivated".into(),
        seat_freed: if single_guest {
            "no: single-channel guests hold no paid seat".into()
        } else {
            "yes: deactivated members are not billed (Slack's fair billing)".into()
        },
        restorable: "yes: SCIM active=true reactivates the member with their history".into(),
        account: Some(id.to_owned()),
        licences: Vec::new(),
    };
    Ok(ActionDone {
        repeat,
        summary: if repeat {
            format!("Slack member {id} was already deactivated")
        } else {
            format!("Slack member {id} deactivated and signed out of every session")
        },
        readback: json!({"scim": after.as_ref().map(ScimUser::view), "web_api": member_view(&info["user"])}),
        output: json!({"seat": seat.to_value()}),
    })
}

/// Reactivates a member the leaver run deactivated: SCIM `PATCH active=true`, proven by SCIM
/// `active: true` and the Web API's `deleted: false`.
async fn reactivate(
    api: &Api,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let Some(known) = known(req) else {
        return Err(permanent(
            "no_member",
            "the leaver run recorded no Slack member to reactivate".into(),
        ));
    };
    let id = known["user_id"].as_str().unwrap_or_default();
    let before = scim_user(api, id, calls).await?;
    let repeat = before.as_ref().is_some_and(|u| u.active);
    if !repeat {
        let body = crate::scim::protocol::patch_active(true, true);
        let url = api.scim_url(&["Users", id]);
        api.scim(Method::PATCH, url, Some(&body), &[], calls)
            .await?;
    }
    let after = scim_user(api, id, calls).await?;
    let info = api
        .ok("users.info", Method::GET, &json!({"user": id}), calls)
        .await?;
    let deleted = info["user"]["deleted"].as_bool() == Some(true);
    if !after.as_ref().is_some_and(|u| u.active) || deleted {
        return Err(mismatch(format!(
            "Slack does not show member {id} active after reactivation"
        )));
    }
    Ok(ActionDone {
        repeat,
        summary: if repeat {
            format!("Slack member {id} was already active")
        } else {
            format!("Slack member {id} reactivated")
        },
        readback: json!({"scim": after.as_ref().map(ScimUser::view), "web_api": member_view(&info["user"])}),
        output: Value::Null,
    })
}

async fn sessions(api: &Api, id: &str, calls: &mut Calls) -> Result<Vec<Value>, ActionFailure> {
    let listed = api
        .ok(
            "admin.users.session.list",
            Method::POST,
            &json!({"user_id": id}),
            calls,
        )
        .await?;
    Ok(listed["active_sessions"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

/// Ends every session on every device (`admin.users.session.reset`), proven by
/// `admin.users.session.list` listing none. Slack answers a reset with nothing to reset as it
/// does any other, so the call is always made.
async fn reset_sessions(
    api: &Api,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let Some(known) = known(req) else {
        return Ok(no_member(req));
    };
    let id = known["user_id"].as_str().unwrap_or_default();
    let open = sessions(api, id, calls).await?.len();
    api.ok(
        "admin.users.session.reset",
        Method::POST,
        &json!({"user_id": id}),
        calls,
    )
    .await?;
    let left = sessions(api, id, calls).await?;
    if !left.is_empty() {
        return Err(mismatch(format!(
            "{} Slack sessions remain for {id} after the reset",
            left.len()
        )));
    }
    Ok(ActionDone {
        repeat: open == 0,
        summary: format!("reset every Slack session of {id} ({open} were open)"),
        readback: json!({"user_id": id, "active_sessions": left}),
        output: json!({"sessions_ended": open}),
    })
}
