//! Who the leaver is in GitHub, and everything they hold there before anything changes.
//!
//! GitHub shows an account's e-mail only when its owner made it public, so the work address
//! alone rarely finds a login. Passage takes the tenant's mapping first (the login the HR
//! system or the IdP records), then a public address; an invitation sent to the work address
//! is found by that address, and a managed user (EMU) by its SCIM `userName`.

use super::Org;
use super::api::{Api, unexpected};
use crate::http::permanent;
use crate::scim::protocol::{ScimUser, eq_filter};
use passage_core::CallRecord;
use passage_core::ports::ActionFailure;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

type Calls = Vec<CallRecord>;

/// The login for `email`, and how it was found.
async fn login_of(
    api: &Api,
    org: &Org,
    email: &str,
    calls: &mut Calls,
) -> Result<Option<(String, &'static str)>, ActionFailure> {
    if let Some(login) = org.logins.get(&email.to_ascii_lowercase()) {
        return Ok(Some((login.clone(), "tenant mapping")));
    }
    let mut url = api.url(&["search", "users"]);
    url.query_pairs_mut()
        .append_pair("q", &format!("{email} in:email"));
    let found = api.call(Method::GET, url, None, &[], calls).await?;
    let items = found.body["items"]
        .as_array()
        .ok_or_else(|| unexpected("a search result"))?;
    Ok(match items.as_slice() {
        [one] => one["login"]
            .as_str()
            .map(|l| (l.to_owned(), "public e-mail")),
        _ => None,
    })
}

async fn membership(
    api: &Api,
    org: &Org,
    login: &str,
    calls: &mut Calls,
) -> Result<Value, ActionFailure> {
    let url = api.url(&["orgs", &org.name, "memberships", login]);
    let answer = api
        .call(Method::GET, url, None, &[StatusCode::NOT_FOUND], calls)
        .await?;
    Ok(if answer.status == StatusCode::NOT_FOUND {
        Value::Null
    } else {
        json!({"state": answer.body["state"], "role": answer.body["role"]})
    })
}

async fn is_outside(
    api: &Api,
    org: &Org,
    login: &str,
    calls: &mut Calls,
) -> Result<bool, ActionFailure> {
    let all = api
        .list(
            api.url(&["orgs", &org.name, "outside_collaborators"]),
            calls,
        )
        .await?;
    Ok(all.iter().any(|u| {
        u["login"]
            .as_str()
            .is_some_and(|l| l.eq_ignore_ascii_case(login))
    }))
}

/// Pending invitations to the login or to the work address.
pub async fn invitations(
    api: &Api,
    org: &Org,
    login: Option<&str>,
    email: &str,
    calls: &mut Calls,
) -> Result<Vec<Value>, ActionFailure> {
    let all = api
        .list(api.url(&["orgs", &org.name, "invitations"]), calls)
        .await?;
    let is = |v: &Value, want: Option<&str>| {
        v.as_str()
            .zip(want)
            .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b))
    };
    Ok(all
        .into_iter()
        .filter(|i| is(&i["email"], Some(email)) || is(&i["login"], login))
        .map(
            |i| json!({"id": i["id"], "login": i["login"], "email": i["email"], "role": i["role"]}),
        )
        .collect())
}

/// The login's SAML SSO credential authorizations (tokens, SSH keys).
pub async fn credentials(
    api: &Api,
    org: &Org,
    login: &str,
    calls: &mut Calls,
) -> Result<Vec<Value>, ActionFailure> {
    let mut url = api.url(&["orgs", &org.name, "credential-authorizations"]);
    url.query_pairs_mut().append_pair("login", login);
    let all = api.list(url, calls).await?;
    Ok(all
        .into_iter()
        .filter(|c| c["login"].as_str().is_some_and(|l| l.eq_ignore_ascii_case(login)))
        .map(|c| json!({"credential_id": c["credential_id"], "type": c["credential_type"], "last_eight": c["token_last_eight"]}))
        .collect())
}

/// The login's Copilot seat; `Null` when there is none (404) or Copilot is not set up (422).
pub async fn copilot(
    api: &Api,
    org: &Org,
    login: &str,
    calls: &mut Calls,
) -> Result<Value, ActionFailure> {
    let url = api.url(&["orgs", &org.name, "members", login, "copilot"]);
    let none = [StatusCode::NOT_FOUND, StatusCode::UNPROCESSABLE_ENTITY];
    let answer = api.call(Method::GET, url, None, &none, calls).await?;
    if none.contains(&answer.status) {
        return Ok(Value::Null);
    }
    Ok(json!({
        "assigning_team": answer.body["assigning_team"]["name"],
        "pending_cancellation_date": answer.body["pending_cancellation_date"],
        "plan_type": answer.body["plan_type"],
    }))
}

/// The enterprise's managed user with `userName` `email`.
pub async fn managed_user(
    api: &Api,
    enterprise: &str,
    email: &str,
    calls: &mut Calls,
) -> Result<Option<ScimUser>, ActionFailure> {
    let mut url = api.url(&["scim", "v2", "enterprises", enterprise, "Users"]);
    url.query_pairs_mut()
        .append_pair("filter", &eq_filter("userName", email));
    let answer = api.call(Method::GET, url, None, &[], calls).await?;
    let page = crate::scim::protocol::Page::parse(&answer.body)
        .ok_or_else(|| unexpected("a SCIM list"))?;
    Ok(page.users.into_iter().find(|u| u.is(email)))
}

/// Everything the leaver holds in the organisation (and enterprise), recorded before any
/// change. Fails, saying how to fix it, when the leaver cannot be found at all.
pub async fn take(
    api: &Api,
    org: &Org,
    email: &str,
    calls: &mut Calls,
) -> Result<Value, ActionFailure> {
    let found = login_of(api, org, email, calls).await?;
    let login = found.as_ref().map(|(l, _)| l.as_str());
    let managed = match (&org.enterprise, org.policy.emu) {
        (Some(e), true) => managed_user(api, e, email, calls).await?,
        _ => None,
    };
    let invitations = invitations(api, org, login, email, calls).await?;
    let mut out = json!({
        "login": login,
        "found_by": found.as_ref().map(|(_, how)| *how),
        "membership": Value::Null,
        "outside_collaborator": false,
        "invitations": invitations,
        "credentials": [],
        "copilot": Value::Null,
        "managed_user": managed.as_ref().map(|u| json!({"scim_id": u.id, "active": u.active, "userName": u.user_name})),
    });
    let Some(login) = login else {
        if invitations.is_empty() && managed.is_none() {
            return Err(permanent(
                "user_not_found",
                format!(
                    "GitHub shows no login for {email} (its e-mail is private, and no invitation or managed user has it); map the address to a login in [tenants.github] logins, or waive the GitHub steps if they never had an account"
                ),
            ));
        }
        return Ok(out);
    };
    out["membership"] = membership(api, org, login, calls).await?;
    out["outside_collaborator"] = is_outside(api, org, login, calls).await?.into();
    let member = out["membership"]["state"] == "active";
    if org.policy.saml_sso && member {
        out["credentials"] = credentials(api, org, login, calls).await?.into();
    }
    if org.policy.copilot && member {
        out["copilot"] = copilot(api, org, login, calls).await?;
    }
    Ok(out)
}
