//! Microsoft 365: fresh Graph and Exchange tokens (their `roles` and `wids` are the grants),
//! one read per resource, and the `memberOf` limited-information trap.

use super::{Evidence, Probe, Verdict, strings, token_claims};
use crate::microsoft::MicrosoftSettings;
use crate::microsoft::api::{Api, Calls};
use crate::microsoft::auth::Resource;
use crate::permissions::{self, Kind, entra_roles};
use passage_core::ports::ActionFailure;
use passage_core::{Provider, Step};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Users looked at for one with a group membership, to read a membership back.
const USERS_SAMPLED: &str = "20";

pub(super) async fn check(
    settings: MicrosoftSettings,
    plan: &[Step],
    http: &reqwest::Client,
) -> Evidence {
    let api = Api::new(settings, http.clone());
    let mut calls = Calls::new();
    let graph = match api.fresh_token(Resource::Graph, &mut calls).await {
        Ok(token) => token,
        Err(f) => return Evidence::new(Err(refused("Graph", &f)), calls),
    };
    let claims = token_claims(&graph).unwrap_or(Value::Null);
    let roles = strings(&claims, "roles");
    let wids = strings(&claims, "wids");
    let mut evidence = Evidence::new(
        Ok(format!(
            "a Graph token was issued; it carries {} application permission(s) and {} directory role(s)",
            roles.len(),
            wids.len()
        )),
        Vec::new(),
    );
    graph_grants(&mut evidence, &roles);
    privileged_role(&mut evidence, &wids);
    graph_reads(&api, plan, &mut evidence, &mut calls).await;
    if needs_exchange(plan) {
        exchange(&api, &mut evidence, &mut calls).await;
    }
    evidence.calls = calls;
    evidence
}

fn refused(resource: &str, f: &ActionFailure) -> String {
    format!(
        "no {resource} token: {} ({}); check tenant_id, client_id and the secret or certificate",
        f.message, f.code
    )
}

/// Held when the token's `roles` list the permission or one that includes it.
fn graph_grants(evidence: &mut Evidence, roles: &[String]) {
    for p in permissions::table(Provider::Microsoft)
        .iter()
        .filter(|p| p.kind == Kind::GraphAppRole)
    {
        let verdict = match roles.iter().find(|r| p.satisfied_by(r)) {
            Some(r) if r.eq_ignore_ascii_case(p.name) => {
                Verdict::Held("in the token's roles".into())
            }
            Some(r) => Verdict::Held(format!("covered by {r} in the token's roles")),
            None => Verdict::Missing("not in the Graph token's roles".into()),
        };
        evidence.grant(p.name, verdict);
    }
}

fn role_names(wids: &[String]) -> Vec<&'static str> {
    wids.iter()
        .filter_map(|w| entra_roles::name_of(w))
        .collect()
}

/// Whether the app may act on leavers who are administrators, from its directory roles.
fn privileged_role(evidence: &mut Evidence, wids: &[String]) {
    let names = role_names(wids);
    let verdict = if let Some(n) = names
        .iter()
        .find(|n| **n == "Privileged Authentication Administrator" || **n == "Global Administrator")
    {
        Verdict::Held(format!("the token's wids include {n}"))
    } else if names.contains(&"User Administrator") {
        Verdict::Partial(
            "the app is a User Administrator: leavers with lesser admin roles are covered, a \
             Global or Privileged Authentication Administrator leaver would be refused"
                .into(),
        )
    } else {
        Verdict::Missing(
            "no directory role in the token's wids covers administrator leavers".into(),
        )
    };
    evidence.grant("Privileged Authentication Administrator", verdict);
}

fn needs(plan: &[Step], name: &str) -> bool {
    permissions::needed(Provider::Microsoft, plan)
        .iter()
        .any(|(p, _)| p.name == name)
}

fn needs_exchange(plan: &[Step]) -> bool {
    needs(plan, "Exchange.ManageAsApp")
}

/// One user, one membership read back whole, the Intune device list, a mailbox setting.
async fn graph_reads(api: &Api, plan: &[Step], evidence: &mut Evidence, calls: &mut Calls) {
    let url = api.graph_url(&["users"], &[("$top", USERS_SAMPLED), ("$select", "id")]);
    let users = api.graph(Method::GET, url, None, &[], calls).await;
    let ids: Vec<String> = users
        .as_ref()
        .ok()
        .and_then(|a| a.body["value"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|u| u["id"].as_str().map(str::to_owned))
        .collect();
    evidence.reads.push(
        Probe::new("one user", &["User.Read.All"]).from(&users, |_| {
            format!("GET /users answered with {} user(s)", ids.len())
        }),
    );
    if ids.is_empty() {
        return;
    }
    evidence.reads.push(membership(api, &ids, calls).await);
    if needs(plan, "DeviceManagementManagedDevices.Read.All") {
        let url = api.graph_url(
            &["deviceManagement", "managedDevices"],
            &[("$top", "1"), ("$select", "id")],
        );
        let answer = api.graph(Method::GET, url, None, &[], calls).await;
        evidence.reads.push(
            Probe::new(
                "the Intune device list",
                &["DeviceManagementManagedDevices.Read.All"],
            )
            .from(&answer, |_| {
                "GET /deviceManagement/managedDevices answered".into()
            }),
        );
    }
    if needs(plan, "MailboxSettings.Read") {
        evidence
            .reads
            .push(mailbox_setting(api, &ids[0], calls).await);
    }
}

/// Reads memberships until one is found, and fails when its group's name comes back empty:
/// Graph's answer to an app without a group permission ("limited information").
async fn membership(api: &Api, ids: &[String], calls: &mut Calls) -> Probe {
    let probe = Probe::new("a group membership, whole", &["GroupMember.Read.All"]);
    for id in ids {
        let url = api.graph_url(
            &["users", id, "memberOf", "microsoft.graph.group"],
            &[("$top", "1"), ("$select", "id,displayName")],
        );
        let answer = match api.graph(Method::GET, url, None, &[], calls).await {
            Ok(a) => a,
            Err(f) => return probe.failed(format!("{} ({})", f.message, f.code)),
        };
        let Some(group) = answer.body["value"].as_array().and_then(|v| v.first()) else {
            continue;
        };
        return if group["displayName"].is_null() {
            probe.failed(
                "Graph answered memberOf with limited information (the group's displayName is \
                 empty): GroupMember.Read.All is missing, and Passage could not tell \
                 distribution lists and dynamic groups apart",
            )
        } else {
            probe.ok("memberOf answered with the group's name")
        };
    }
    probe.ok(format!(
        "none of the first {USERS_SAMPLED} users has a group, so no membership could be read back"
    ))
}

async fn mailbox_setting(api: &Api, user: &str, calls: &mut Calls) -> Probe {
    let url = api.graph_url(
        &["users", user, "mailboxSettings"],
        &[("$select", "userPurpose")],
    );
    let answer = api
        .graph(Method::GET, url, None, &[StatusCode::NOT_FOUND], calls)
        .await;
    Probe::new("a mailbox setting", &["MailboxSettings.Read"]).from(&answer, |a| {
        if a.status == StatusCode::NOT_FOUND {
            "allowed; the user read has no mailbox".into()
        } else {
            format!("userPurpose {}", a.body["userPurpose"])
        }
    })
}

/// A fresh Exchange token (`Exchange.ManageAsApp` in its roles, the Exchange role in its
/// wids) and one `Get-Mailbox`, a read the admin endpoint takes as a POST.
async fn exchange(api: &Api, evidence: &mut Evidence, calls: &mut Calls) {
    let token = match api.fresh_token(Resource::Exchange, calls).await {
        Ok(t) => t,
        Err(f) => {
            evidence.reads.push(
                Probe::new(
                    "an Exchange Online token",
                    &["Exchange.ManageAsApp", "Exchange Administrator"],
                )
                .failed(refused("Exchange Online", &f)),
            );
            return;
        }
    };
    let claims = token_claims(&token).unwrap_or(Value::Null);
    let roles = strings(&claims, "roles");
    let manage = if roles
        .iter()
        .any(|r| r.eq_ignore_ascii_case("Exchange.ManageAsApp"))
    {
        Verdict::Held("in the Exchange token's roles".into())
    } else {
        Verdict::Missing("not in the Exchange Online token's roles".into())
    };
    evidence.grant("Exchange.ManageAsApp", manage);
    let read = api
        .cmdlet("Get-Mailbox", json!({"ResultSize": 1}), calls)
        .await;
    let names = role_names(&strings(&claims, "wids"));
    evidence.grant(
        "Exchange Administrator",
        exchange_role(&names, read.is_ok()),
    );
    evidence.reads.push(
        Probe::new(
            "Get-Mailbox through Exchange Online",
            &["Exchange.ManageAsApp", "Exchange Administrator"],
        )
        .from(&read, |_| "the admin endpoint answered".into()),
    );
}

/// The Exchange role from the token's directory roles; a role group would not show there, so
/// an Exchange that answers without a directory role is unproven rather than missing.
fn exchange_role(names: &[&str], answered: bool) -> Verdict {
    if let Some(n) = names
        .iter()
        .find(|n| **n == "Exchange Administrator" || **n == "Global Administrator")
    {
        return Verdict::Held(format!("the Exchange token's wids include {n}"));
    }
    if names.contains(&"Exchange Recipient Administrator") {
        return Verdict::Unproven(
            "the app is an Exchange Recipient Administrator: enough to convert mailboxes, not to \
             remove distribution-list members unless an Exchange role group adds Security Group \
             Creation and Membership"
                .into(),
        );
    }
    if answered {
        return Verdict::Unproven(
            "no Exchange directory role in the token, yet Exchange answered: its rights come from \
             an Exchange role group, which a token does not show"
                .into(),
        );
    }
    Verdict::Missing("no Exchange role in the Exchange token's wids".into())
}
