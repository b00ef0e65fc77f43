//! The leaver's seat in one SCIM app: snapshot, reversible deactivation, removal. Each reads
//! first, acts only if needed, and reads back; what the app's verbs mean (and whether they free
//! the seat, or can be undone) is the tenant's statement about the app, recorded with the
//! outcome.

use super::api::Api;
use super::lookup;
use super::protocol::{ScimUser, patch_active, put_active};
use crate::http::{mismatch, permanent};
use passage_core::ports::{ActionDone, ActionFailure, ActionRequest};
use passage_core::{
    Action, CallRecord, ScimAppPolicy, ScimDeactivation, SeatOutcome, app_step_key,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

type Calls = Vec<CallRecord>;

pub async fn run(
    api: &Api,
    policy: &ScimAppPolicy,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    match req.action {
        Action::Snapshot => snapshot(api, req, calls).await,
        Action::DeactivateSeat => deactivate(api, policy, req, calls).await,
        Action::RemoveSeat => remove(api, policy, req, calls).await,
        Action::ReactivateSeat => reactivate(api, policy, req, calls).await,
        other => Err(permanent(
            "action_not_supported",
            format!("the SCIM connector cannot {other}"),
        )),
    }
}

/// The account id the app's snapshot recorded, if it found one.
fn known_id<'a>(policy: &ScimAppPolicy, req: &'a ActionRequest) -> Option<&'a str> {
    let key = app_step_key(
        passage_core::Provider::Scim,
        Some(&policy.app),
        Action::Snapshot,
    );
    req.prior.get(&key)?.get("user_id")?.as_str()
}

/// Records the account before anything changes: its id, state, e-mails and groups, and how it
/// was found; or that the app has no account for the leaver, after reading every user.
async fn snapshot(
    api: &Api,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let features = api.features(calls).await?;
    let found = lookup::by_email(api, &req.subject.email, calls).await?;
    let support =
        json!({"patch": features.patch, "filter": features.filter, "etag": features.etag});
    let Some(user) = found.user else {
        return Ok(ActionDone {
            repeat: false,
            summary: format!(
                "no {} account for {} ({})",
                api.app, req.subject.email, found.how
            ),
            readback: json!({"account": null, "found_by": found.how}),
            output: json!({"user_id": null, "found_by": found.how, "server": support}),
        });
    };
    let mut output = user.view();
    output["found_by"] = found.how.clone().into();
    output["server"] = support;
    Ok(ActionDone {
        repeat: false,
        summary: format!(
            "recorded {} account {} ({}, {} groups; found by {})",
            api.app,
            user.id,
            if user.active { "active" } else { "inactive" },
            user.groups.len(),
            found.how
        ),
        readback: user.view(),
        output,
    })
}

/// The account's current state, by the snapshot's id; `None` when there is no account (the
/// snapshot found none, or the app no longer has it).
async fn current(
    api: &Api,
    policy: &ScimAppPolicy,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<Option<(ScimUser, Option<String>)>, ActionFailure> {
    match known_id(policy, req) {
        Some(id) => api.user(id, calls).await,
        None => Ok(None),
    }
}

fn no_account(api: &Api, req: &ActionRequest) -> ActionDone {
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
            "{} has no account for {}; nothing to do",
            api.app, req.subject.email
        ),
        readback: json!({"account": null}),
        output: json!({"seat": seat.to_value()}),
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

/// Switches the account off reversibly, as the app does it: `active=false` (PATCH, or a whole
/// PUT where the server takes no PATCH), or a DELETE the app treats as deactivation.
async fn deactivate(
    api: &Api,
    policy: &ScimAppPolicy,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let Some((user, etag)) = current(api, policy, req, calls).await? else {
        return Ok(no_account(api, req));
    };
    let repeat = !user.active;
    let how = match (repeat, policy.deactivate_by) {
        (true, _) => "already inactive".to_owned(),
        (false, ScimDeactivation::PatchActive) => set_inactive(api, &user, etag, calls).await?,
        (false, ScimDeactivation::Delete) => {
            delete(api, &user.id, etag.as_deref(), calls).await?;
            "DELETE (the app's deactivation)".to_owned()
        }
    };
    let after = api.user(&user.id, calls).await?;
    if let Some((u, _)) = &after
        && u.active
    {
        return Err(mismatch(format!(
            "{} still shows account {} active after deactivation",
            api.app, user.id
        )));
    }
    let restorable = match policy.deactivate_by {
        ScimDeactivation::PatchActive => "yes: set active=true again".to_owned(),
        ScimDeactivation::Delete if policy.delete_reversible => {
            "yes: the app reactivates a deleted account with active=true".to_owned()
        }
        ScimDeactivation::Delete => "no: the app's DELETE cannot be undone".to_owned(),
    };
    let seat = SeatOutcome {
        outcome: "deactivated".into(),
        seat_freed: yes_no(policy.deactivation_frees_seat),
        restorable,
        account: Some(user.id.clone()),
        licences: Vec::new(),
    };
    Ok(ActionDone {
        repeat,
        summary: format!("{} account {} deactivated ({how})", api.app, user.id),
        readback: after.map_or(json!({"user_id": user.id, "found": false}), |(u, _)| {
            u.view()
        }),
        output: json!({"seat": seat.to_value(), "how": how}),
    })
}

/// Switches a deactivated account back on (`active=true`), as the deactivation went; an
/// account the app no longer has cannot be (the restore plan lists an irreversible DELETE).
async fn reactivate(
    api: &Api,
    policy: &ScimAppPolicy,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let Some((user, etag)) = current(api, policy, req, calls).await? else {
        return Err(permanent(
            "account_gone",
            format!(
                "{} no longer has the account the leaver run recorded; it cannot be reactivated",
                api.app
            ),
        ));
    };
    let repeat = user.active;
    let how = if repeat {
        "already active".to_owned()
    } else {
        set_active(api, &user, etag, true, calls).await?
    };
    let after = api.user(&user.id, calls).await?;
    if !after.as_ref().is_some_and(|(u, _)| u.active) {
        return Err(mismatch(format!(
            "{} does not show account {} active after reactivation",
            api.app, user.id
        )));
    }
    Ok(ActionDone {
        repeat,
        summary: format!("{} account {} reactivated ({how})", api.app, user.id),
        readback: after.map_or(Value::Null, |(u, _)| u.view()),
        output: Value::Null,
    })
}

/// `active=false` by PATCH — once more with a fresh version if another change got in first
/// (412), once more without `path` if the server refuses that shape — or by PUT of the whole
/// resource where the server has no PATCH. Returns how it was done.
async fn set_inactive(
    api: &Api,
    user: &ScimUser,
    etag: Option<String>,
    calls: &mut Calls,
) -> Result<String, ActionFailure> {
    set_active(api, user, etag, false, calls).await
}

/// Sets `active` as [`set_inactive`] describes.
async fn set_active(
    api: &Api,
    user: &ScimUser,
    etag: Option<String>,
    active: bool,
    calls: &mut Calls,
) -> Result<String, ActionFailure> {
    let features = api.features(calls).await?;
    let url = api.url(&["Users", &user.id]);
    let fallbacks = [
        StatusCode::BAD_REQUEST,
        StatusCode::PRECONDITION_FAILED,
        StatusCode::METHOD_NOT_ALLOWED,
        StatusCode::NOT_IMPLEMENTED,
    ];
    let mut etag = etag.filter(|_| features.etag);
    let (mut with_path, mut refreshed) = (true, false);
    for _ in 0..if features.patch { 3 } else { 0 } {
        let body = patch_active(active, with_path);
        let answer = api
            .call(
                Method::PATCH,
                url.clone(),
                Some(&body),
                etag.as_deref(),
                &fallbacks,
                calls,
            )
            .await?;
        match answer.status {
            s if s.is_success() => {
                let shape = if with_path { "path" } else { "value object" };
                return Ok(format!("PATCH active={active} ({shape})"));
            }
            StatusCode::PRECONDITION_FAILED if !refreshed => {
                refreshed = true;
                etag = api.user(&user.id, calls).await?.and_then(|(_, e)| e);
            }
            StatusCode::BAD_REQUEST if with_path => with_path = false,
            StatusCode::METHOD_NOT_ALLOWED | StatusCode::NOT_IMPLEMENTED => break,
            s => return Err(refused_write(api, s, answer.error_code.as_deref())),
        }
    }
    let fresh = api.user(&user.id, calls).await?;
    let Some((resource, fresh_tag)) = fresh else {
        return Ok("gone before PUT".into());
    };
    let body = put_active(&resource.raw, active);
    let tag = fresh_tag.filter(|_| features.etag);
    api.call(Method::PUT, url, Some(&body), tag.as_deref(), &[], calls)
        .await?;
    Ok(format!(
        "PUT with active={active} (no PATCH on this server)"
    ))
}

fn refused_write(api: &Api, status: StatusCode, scim_type: Option<&str>) -> ActionFailure {
    permanent(
        &format!(
            "scim_{}",
            scim_type.filter(|t| !t.is_empty()).unwrap_or("refused")
        ),
        format!(
            "{}'s SCIM server refused to set active=false ({status}); deactivate the account by hand and retry the step",
            api.app
        ),
    )
}

/// `DELETE`, where a 404 means the account is already gone (our own earlier DELETE whose
/// answer was lost, or someone else's): the read-back decides.
async fn delete(
    api: &Api,
    id: &str,
    etag: Option<&str>,
    calls: &mut Calls,
) -> Result<bool, ActionFailure> {
    let features = api.features(calls).await?;
    let etag = etag.filter(|_| features.etag);
    let answer = api
        .call(
            Method::DELETE,
            api.url(&["Users", id]),
            None,
            etag,
            &[StatusCode::NOT_FOUND, StatusCode::PRECONDITION_FAILED],
            calls,
        )
        .await?;
    if answer.status == StatusCode::PRECONDITION_FAILED {
        let fresh = api.user(id, calls).await?.and_then(|(_, e)| e);
        api.call(
            Method::DELETE,
            api.url(&["Users", id]),
            None,
            fresh.as_deref(),
            &[StatusCode::NOT_FOUND],
            calls,
        )
        .await?;
    }
    Ok(answer.status != StatusCode::NOT_FOUND)
}

/// Removes the account for good; proven by the app answering 404 for it afterwards.
async fn remove(
    api: &Api,
    policy: &ScimAppPolicy,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let Some(id) = known_id(policy, req) else {
        return Ok(no_account(api, req));
    };
    let before = api.user(id, calls).await?;
    let deleted = match &before {
        Some((_, etag)) => delete(api, id, etag.as_deref(), calls).await?,
        None => false,
    };
    if let Some((u, _)) = api.user(id, calls).await? {
        return Err(mismatch(format!(
            "{} still has account {} (active: {}) after DELETE",
            api.app, u.id, u.active
        )));
    }
    let seat = SeatOutcome {
        outcome: "removed".into(),
        seat_freed: yes_no(policy.removal_frees_seat),
        restorable: if policy.delete_reversible {
            "yes: the app restores a deleted account".into()
        } else {
            format!(
                "no: removal cannot be undone in {}; a rehire needs a new account",
                api.app
            )
        },
        account: Some(id.to_owned()),
        licences: Vec::new(),
    };
    Ok(ActionDone {
        repeat: !deleted,
        summary: if deleted {
            format!(
                "{} account {id} removed; the app answers 404 for it",
                api.app
            )
        } else {
            format!("{} account {id} was already gone", api.app)
        },
        readback: json!({"user_id": id, "status": 404}),
        output: json!({"seat": seat.to_value(), "before": before.map_or(Value::Null, |(u, _)| u.view())}),
    })
}
