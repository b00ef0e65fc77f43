//! The leaver's GitHub seat: SAML credential authorizations revoked, the Copilot seat
//! cancelled, then the organisation left — membership, outside-collaborator access and pending
//! invitations — or, for a managed user, suspended (and, after the grace period, deleted).

use super::Org;
use super::api::Api;
use super::snapshot;
use crate::http::{mismatch, permanent};
use crate::scim::protocol::{ScimUser, patch_active};
use passage_core::ports::{ActionDone, ActionFailure, ActionRequest};
use passage_core::{Action, CallRecord, Provider, SeatOutcome, step_key};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

type Calls = Vec<CallRecord>;

/// How often, and how far apart, the revocation job is checked on within one attempt before
/// the attempt is given back to the engine as not yet done.
const REVOKE_CHECKS: u32 = 5;
const REVOKE_INTERVAL: Duration = Duration::from_millis(100);

pub async fn run(
    api: &Api,
    org: &Org,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    match req.action {
        Action::Snapshot => {
            let output = snapshot::take(api, org, &req.subject.email, calls).await?;
            Ok(ActionDone {
                repeat: false,
                summary: summary_of(&output),
                readback: output.clone(),
                output,
            })
        }
        Action::RevokeGrants => revoke_credentials(api, org, req, calls).await,
        Action::RemoveLicenses => cancel_copilot(api, org, req, calls).await,
        Action::DeactivateSeat if org.policy.emu => set_managed_active(api, org, req, calls).await,
        Action::DeactivateSeat => leave_organization(api, org, req, calls).await,
        Action::RemoveSeat if org.policy.emu => delete_managed(api, org, req, calls).await,
        other => Err(permanent(
            "action_not_supported",
            format!("the GitHub connector cannot {other} for this organization"),
        )),
    }
}

fn summary_of(s: &Value) -> String {
    format!(
        "recorded GitHub {} ({}): membership {}, outside collaborator {}, {} invitation(s), {} credential authorization(s), Copilot {}",
        s["login"].as_str().unwrap_or("(no login)"),
        s["found_by"].as_str().unwrap_or("by invitation"),
        s["membership"]["state"].as_str().unwrap_or("none"),
        s["outside_collaborator"],
        s["invitations"].as_array().map_or(0, Vec::len),
        s["credentials"].as_array().map_or(0, Vec::len),
        if s["copilot"].is_null() {
            "none"
        } else {
            "seat"
        },
    )
}

/// The snapshot's record of the leaver.
fn snap(req: &ActionRequest) -> &Value {
    req.prior
        .get(&step_key(Provider::Github, Action::Snapshot))
        .unwrap_or(&Value::Null)
}

fn login(req: &ActionRequest) -> Option<&str> {
    snap(req)["login"].as_str()
}

/// Revokes every SAML SSO credential authorization of the login. GitHub does this in a
/// background job (202), so the list is checked until it is empty; still-listed credentials
/// after that make the attempt retryable, never verified.
async fn revoke_credentials(
    api: &Api,
    org: &Org,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let Some(login) = login(req) else {
        return Ok(nothing("no GitHub login, so no credential authorizations"));
    };
    let before = snapshot::credentials(api, org, login, calls).await?;
    if !before.is_empty() {
        let url = api.url(&[
            "orgs",
            &org.name,
            "credential-authorizations",
            login,
            "revoke",
        ]);
        api.call(Method::POST, url, None, &[StatusCode::NOT_FOUND], calls)
            .await?;
    }
    let mut left = before.clone();
    for check in 0..REVOKE_CHECKS {
        if left.is_empty() {
            break;
        }
        if check > 0 {
            tokio::time::sleep(REVOKE_INTERVAL).await;
        }
        left = snapshot::credentials(api, org, login, calls).await?;
    }
    if !left.is_empty() {
        return Err(mismatch(format!(
            "{} credential authorization(s) of {login} are still listed; GitHub revokes them in a background job",
            left.len()
        )));
    }
    Ok(ActionDone {
        repeat: before.is_empty(),
        summary: format!(
            "revoked {} SAML SSO credential authorization(s) of {login}",
            before.len()
        ),
        readback: json!({"login": login, "credentials": left}),
        output: json!({"revoked": before}),
    })
}

fn nothing(summary: &str) -> ActionDone {
    ActionDone {
        repeat: true,
        summary: summary.into(),
        readback: Value::Null,
        output: Value::Null,
    }
}

/// Sets the Copilot seat to pending cancellation: it stays until the end of the billing cycle,
/// and the read-back is GitHub's `pending_cancellation_date`. A seat that comes through a team
/// cannot be cancelled directly; it goes with the membership.
async fn cancel_copilot(
    api: &Api,
    org: &Org,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let Some(login) = login(req) else {
        return Ok(nothing("no GitHub login, so no Copilot seat"));
    };
    let seat = snapshot::copilot(api, org, login, calls).await?;
    if seat.is_null() {
        return Ok(nothing(&format!("{login} has no Copilot seat")));
    }
    if let Some(team) = seat["assigning_team"].as_str() {
        let outcome = copilot_outcome(login, None, Some(team));
        return Ok(ActionDone {
            repeat: true,
            summary: format!(
                "{login}'s Copilot seat comes through the team {team}; it ends with the membership"
            ),
            readback: seat,
            output: json!({"seat": outcome.to_value()}),
        });
    }
    let repeat = !seat["pending_cancellation_date"].is_null();
    if !repeat {
        let url = api.url(&["orgs", &org.name, "copilot", "billing", "selected_users"]);
        let body = json!({"selected_usernames": [login]});
        api.call(Method::DELETE, url, Some(&body), &[], calls)
            .await?;
    }
    let after = snapshot::copilot(api, org, login, calls).await?;
    let Some(date) = after["pending_cancellation_date"].as_str() else {
        return Err(mismatch(format!(
            "{login}'s Copilot seat shows no pending cancellation"
        )));
    };
    let outcome = copilot_outcome(login, Some(date), None);
    Ok(ActionDone {
        repeat,
        summary: format!("{login}'s Copilot seat is cancelled; it is released on {date}"),
        readback: after.clone(),
        output: json!({"seat": outcome.to_value()}),
    })
}

fn copilot_outcome(login: &str, date: Option<&str>, team: Option<&str>) -> SeatOutcome {
    let licence = match (date, team) {
        (Some(d), _) => format!("Copilot Business: released at the end of the billing cycle ({d})"),
        (_, Some(t)) => format!("Copilot Business through team {t}: released with the membership"),
        _ => "Copilot Business".into(),
    };
    SeatOutcome {
        outcome: "pending_cancellation".into(),
        seat_freed: "at_cycle_end".into(),
        restorable: "yes: assign the seat again".into(),
        account: Some(login.to_owned()),
        licences: vec![licence],
    }
}

/// Leaves the organisation: the membership (or the invitation to the login), the
/// outside-collaborator access and every invitation to the work address; proven by GitHub
/// answering 404 for the membership and listing neither the collaborator nor an invitation.
async fn leave_organization(
    api: &Api,
    org: &Org,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let snap = snap(req);
    let login = login(req);
    let email = &req.subject.email;
    let mut done = Vec::new();
    if let Some(login) = login {
        let url = api.url(&["orgs", &org.name, "memberships", login]);
        let answer = api
            .call(Method::DELETE, url, None, &[StatusCode::NOT_FOUND], calls)
            .await?;
        if answer.status.is_success() {
            done.push(format!("membership of {login}"));
        }
        if snap["outside_collaborator"] == true {
            let url = api.url(&["orgs", &org.name, "outside_collaborators", login]);
            api.call(Method::DELETE, url, None, &[], calls).await?;
            done.push("outside-collaborator access".into());
        }
    }
    for invitation in snapshot::invitations(api, org, login, email, calls).await? {
        let id = invitation["id"].to_string();
        let url = api.url(&["orgs", &org.name, "invitations", &id]);
        api.call(Method::DELETE, url, None, &[StatusCode::NOT_FOUND], calls)
            .await?;
        done.push(format!("invitation {id}"));
    }
    let readback = read_back_removal(api, org, login, email, calls).await?;
    let seat = SeatOutcome {
        outcome: "removed_from_organization".into(),
        seat_freed: "yes".into(),
        restorable:
            "yes: re-inviting within three months restores the former member's access and settings"
                .into(),
        account: login.map(str::to_owned),
        licences: Vec::new(),
    };
    Ok(ActionDone {
        repeat: done.is_empty(),
        summary: if done.is_empty() {
            format!(
                "{} already holds nothing in {}",
                login.unwrap_or(email),
                org.name
            )
        } else {
            format!("removed from {}: {}", org.name, done.join(", "))
        },
        readback,
        output: json!({"seat": seat.to_value(), "removed": done}),
    })
}

async fn read_back_removal(
    api: &Api,
    org: &Org,
    login: Option<&str>,
    email: &str,
    calls: &mut Calls,
) -> Result<Value, ActionFailure> {
    let invitations = snapshot::invitations(api, org, login, email, calls).await?;
    let (membership, outside) = match login {
        Some(l) => {
            let url = api.url(&["orgs", &org.name, "memberships", l]);
            let answer = api
                .call(Method::GET, url, None, &[StatusCode::NOT_FOUND], calls)
                .await?;
            let outside = api
                .list(
                    api.url(&["orgs", &org.name, "outside_collaborators"]),
                    calls,
                )
                .await?;
            let listed = outside.iter().any(|u| {
                u["login"]
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(l))
            });
            (answer.status.as_u16(), listed)
        }
        None => (404, false),
    };
    if membership != 404 || outside || !invitations.is_empty() {
        return Err(mismatch(format!(
            "GitHub still shows {} in {} (membership {membership}, outside collaborator {outside}, {} invitation(s))",
            login.unwrap_or(email),
            org.name,
            invitations.len()
        )));
    }
    Ok(
        json!({"login": login, "membership_status": membership, "outside_collaborator": outside, "invitations": invitations}),
    )
}

fn managed_id(req: &ActionRequest) -> Option<&str> {
    snap(req)["managed_user"]["scim_id"].as_str()
}

async fn managed(
    api: &Api,
    org: &Org,
    id: &str,
    calls: &mut Calls,
) -> Result<Option<ScimUser>, ActionFailure> {
    let enterprise = org.enterprise.as_deref().unwrap_or_default();
    let url = api.url(&["scim", "v2", "enterprises", enterprise, "Users", id]);
    let answer = api
        .call(Method::GET, url, None, &[StatusCode::NOT_FOUND], calls)
        .await?;
    Ok((answer.status != StatusCode::NOT_FOUND)
        .then(|| ScimUser::parse(&answer.body))
        .flatten())
}

/// Suspends a managed user (SCIM `active: false`): reversible, the seat freed.
async fn set_managed_active(
    api: &Api,
    org: &Org,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let Some(id) = managed_id(req) else {
        return Ok(nothing("no managed user for the leaver in the enterprise"));
    };
    let before = managed(api, org, id, calls).await?;
    let repeat = before.as_ref().is_none_or(|u| !u.active);
    if !repeat {
        let enterprise = org.enterprise.as_deref().unwrap_or_default();
        let url = api.url(&["scim", "v2", "enterprises", enterprise, "Users", id]);
        api.call(
            Method::PATCH,
            url,
            Some(&patch_active(false, true)),
            &[],
            calls,
        )
        .await?;
    }
    let after = managed(api, org, id, calls).await?;
    if after.as_ref().is_some_and(|u| u.active) {
        return Err(mismatch(format!(
            "managed user {id} is still active after suspension"
        )));
    }
    let seat = SeatOutcome {
        outcome: "suspended".into(),
        seat_freed: "yes".into(),
        restorable: "yes: SCIM active=true reactivates the managed user".into(),
        account: Some(id.to_owned()),
        licences: Vec::new(),
    };
    Ok(ActionDone {
        repeat,
        summary: format!("managed user {id} suspended"),
        readback: after.map_or(Value::Null, |u| u.view()),
        output: json!({"seat": seat.to_value()}),
    })
}

/// Deletes a managed user for good (GitHub anonymises it), after the grace period; proven by
/// GitHub answering 404 for it.
async fn delete_managed(
    api: &Api,
    org: &Org,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let Some(id) = managed_id(req) else {
        return Ok(nothing("no managed user for the leaver in the enterprise"));
    };
    let enterprise = org.enterprise.as_deref().unwrap_or_default();
    let url = api.url(&["scim", "v2", "enterprises", enterprise, "Users", id]);
    let answer = api
        .call(Method::DELETE, url, None, &[StatusCode::NOT_FOUND], calls)
        .await?;
    if managed(api, org, id, calls).await?.is_some() {
        return Err(mismatch(format!(
            "managed user {id} is still there after DELETE"
        )));
    }
    let seat = SeatOutcome {
        outcome: "removed".into(),
        seat_freed: "yes".into(),
        restorable: "no: GitHub anonymises a deleted managed user for good".into(),
        account: Some(id.to_owned()),
        licences: Vec::new(),
    };
    Ok(ActionDone {
        repeat: answer.status == StatusCode::NOT_FOUND,
        summary: format!("managed user {id} deleted; GitHub answers 404 for it"),
        readback: json!({"scim_id": id, "status": 404}),
        output: json!({"seat": seat.to_value()}),
    })
}
