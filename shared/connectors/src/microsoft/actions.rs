//! The leaver actions on Microsoft 365. Each reads, acts only if needed, and reads back.

use super::api::{Api, Calls, unexpected};
use crate::http::{Polling, mismatch, permanent};
use crate::skew::Reading;
use passage_core::ports::{ActionDone, ActionFailure, ActionOutcome, ActionRequest};
use passage_core::{Action, DeviceAction, MicrosoftPolicy, StepKey};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

/// The inbox rule ForwardMail owns; found and updated by this name, never duplicated.
pub const FORWARD_RULE_NAME: &str = "Passage offboarding forward";

mod restore;

const USER_SELECT: &str = "id,userPrincipalName,mail,displayName,accountEnabled,onPremisesSyncEnabled,assignedLicenses,licenseAssignmentStates,signInSessionsValidFromDateTime";
const GROUP_SELECT: &str = "id,displayName,mail,groupTypes,mailEnabled,securityEnabled,onPremisesSyncEnabled,membershipRule";
const DEVICE_SELECT: &str =
    "id,deviceName,operatingSystem,managedDeviceOwnerType,deviceActionResults,serialNumber,model";

pub async fn run(
    api: &Api,
    policy: &MicrosoftPolicy,
    req: &ActionRequest,
    calls: &mut Calls,
) -> ActionOutcome {
    act(api, policy, req, calls)
        .await
        .unwrap_or_else(Into::into)
}

async fn act(
    api: &Api,
    policy: &MicrosoftPolicy,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<ActionOutcome, ActionFailure> {
    if !matches!(
        req.action,
        Action::Snapshot
            | Action::Suspend
            | Action::RevokeSessions
            | Action::ResetFactors
            | Action::RemoveGroups
            | Action::SetAutoReply
            | Action::ForwardMail
            | Action::SecureDevices
            | Action::ConvertMailbox
            | Action::RemoveLicenses
            | Action::SweepSharedAccess
            | Action::SweepMailAccess
            | Action::HandOverOneDrive
    ) && !super::RESTORES.contains(&req.action)
    {
        return Err(permanent(
            "action_not_supported",
            format!("the Microsoft connector cannot {}", req.action),
        ));
    }
    let user = find_user(api, req, calls).await?;
    let done = match req.action {
        Action::Snapshot => snapshot(api, &user, req.delegate.as_deref(), calls).await,
        Action::Suspend => suspend(api, &user, calls).await,
        Action::RevokeSessions => revoke_sessions(api, &user, calls).await,
        Action::ResetFactors => reset_factors(api, &user, calls).await,
        Action::RemoveGroups => {
            let snapshot = req.prior.get(&StepKey::new("microsoft.snapshot"));
            remove_groups(api, &user, snapshot, calls).await
        }
        Action::SetAutoReply => set_auto_reply(api, policy, &user, calls).await,
        Action::ForwardMail => forward_mail(api, req, &user, calls).await,
        // Actions the provider completes later answer for themselves.
        Action::SecureDevices => return secure_devices(api, policy, req, &user, calls).await,
        Action::ConvertMailbox => return convert_mailbox(api, req, &user, calls).await,
        Action::Reactivate => restore::reactivate(api, &user, calls).await,
        Action::RestoreGroups => restore::restore_groups(api, req, &user, calls).await,
        Action::RestoreLicences => restore::restore_licences(api, req, &user, calls).await,
        Action::RestoreMailbox => return restore::restore_mailbox(api, req, &user, calls).await,
        Action::SweepSharedAccess => super::sweep::sweep(api, req, &user, calls).await,
        Action::SweepMailAccess => super::mail_sweep::sweep(api, req, &user, calls).await,
        Action::HandOverOneDrive => {
            let days = api.sweep.onedrive_retention_days;
            super::onedrive::hand_over(api, req, &user, days, calls).await
        }
        _ => remove_licenses(api, policy, &user, calls).await,
    };
    done.map(Into::into)
}

fn done(repeat: bool, summary: String, readback: Value, output: Value) -> ActionDone {
    ActionDone {
        repeat,
        summary,
        readback,
        output,
    }
}

// ----- the user ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub(crate) struct User {
    pub(crate) id: String,
    pub(crate) upn: String,
    raw: Value,
}

impl User {
    fn from(raw: Value) -> Result<Self, ActionFailure> {
        let id = raw["id"]
            .as_str()
            .ok_or_else(|| unexpected("a user without an id"))?;
        Ok(Self {
            id: id.to_owned(),
            upn: raw["userPrincipalName"].as_str().unwrap_or(id).to_owned(),
            raw,
        })
    }

    /// A user with only an id and a UPN, for unit tests.
    #[cfg(test)]
    pub(crate) fn for_tests(id: &str, upn: &str) -> Self {
        Self {
            id: id.to_owned(),
            upn: upn.to_owned(),
            raw: serde_json::json!({"id": id, "userPrincipalName": upn}),
        }
    }

    /// The addresses other people's rules and calendars may name the user by: the UPN and
    /// the primary SMTP address.
    pub(crate) fn addresses(&self) -> Vec<&str> {
        let mut out = vec![self.upn.as_str()];
        out.extend(self.raw["mail"].as_str());
        out
    }

    fn enabled(&self) -> bool {
        self.raw["accountEnabled"].as_bool().unwrap_or(true)
    }

    fn synced(&self) -> bool {
        self.raw["onPremisesSyncEnabled"].as_bool().unwrap_or(false)
    }

    fn view(&self) -> Value {
        json!({
            "user_id": self.id,
            "userPrincipalName": self.upn,
            "accountEnabled": self.raw["accountEnabled"],
            "onPremisesSyncEnabled": self.raw["onPremisesSyncEnabled"],
        })
    }
}

/// Finds the leaver: by the id the snapshot recorded, else by address ([`find_by_address`]).
async fn find_user(
    api: &Api,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<User, ActionFailure> {
    let known = req
        .prior
        .get(&StepKey::new("microsoft.snapshot"))
        .and_then(|v| v["user_id"].as_str());
    find_by_address(
        api,
        known.unwrap_or(&req.subject.email),
        &req.subject.email,
        calls,
    )
    .await
}

/// The one user whose id or UPN is `key`, else whose `mail`, else whose proxyAddresses hold
/// `email`: how every Microsoft read finds the leaver.
pub(crate) async fn find_by_address(
    api: &Api,
    key: &str,
    email: &str,
    calls: &mut Calls,
) -> Result<User, ActionFailure> {
    let url = api.graph_url(&["users", key], &[("$select", USER_SELECT)]);
    let answer = api
        .graph(Method::GET, url, None, &[StatusCode::NOT_FOUND], calls)
        .await?;
    if answer.status != StatusCode::NOT_FOUND {
        return User::from(answer.body);
    }
    let quoted = email.replace('\'', "''");
    let mut found = users_where(api, &format!("mail eq '{quoted}'"), &[], calls).await?;
    if found.is_empty() {
        // An alias (secondary SMTP address) is only in proxyAddresses, which Graph filters
        // on as an advanced query alone.
        let filter = format!("proxyAddresses/any(x:x eq 'smtp:{quoted}')");
        found = users_where(api, &filter, &[("$count", "true")], calls).await?;
    }
    match found.len() {
        1 => User::from(found.into_iter().next().unwrap_or_default()),
        0 => Err(permanent(
            "user_not_found",
            format!(
                "no Entra ID user has UPN, mail or proxyAddresses {email}; check the address, or, if they never had an account, close its steps with `passage not-applicable` (a fresh read must find none)"
            ),
        )),
        n => Err(permanent(
            "user_ambiguous",
            format!("{n} Entra ID users have the address {email}; resolve the duplicates first"),
        )),
    }
}

/// Every user matching `filter`, with the snapshot's fields.
async fn users_where(
    api: &Api,
    filter: &str,
    extra: &[(&str, &str)],
    calls: &mut Calls,
) -> Result<Vec<Value>, ActionFailure> {
    let mut query = vec![("$filter", filter), ("$select", USER_SELECT)];
    query.extend_from_slice(extra);
    api.list(api.graph_url(&["users"], &query), calls).await
}

async fn get_user(api: &Api, id: &str, calls: &mut Calls) -> Result<User, ActionFailure> {
    let url = api.graph_url(&["users", id], &[("$select", USER_SELECT)]);
    User::from(api.graph(Method::GET, url, None, &[], calls).await?.body)
}

// ----- reads shared by several actions ---------------------------------------------------------

/// The user's groups, cast to `microsoft.graph.group` with the fields routing needs selected.
/// Without a group permission Graph answers 200 with "limited information": the id, every
/// other field null. A group always has a displayName, so a null one means the fields were
/// withheld, and routing on them would take the wrong path; that is a failure, not an answer.
async fn groups(api: &Api, user: &User, calls: &mut Calls) -> Result<Vec<Value>, ActionFailure> {
    let url = api.graph_url(
        &["users", &user.id, "memberOf", "microsoft.graph.group"],
        &[("$select", GROUP_SELECT), ("$top", "999")],
    );
    let groups = api.list(url, calls).await?;
    if groups.iter().any(|g| g["displayName"].is_null()) {
        let needed = crate::permissions::for_graph_call(&Method::GET, "/memberOf");
        return Err(permanent(
            "group_details_withheld",
            format!(
                "Graph listed the leaver's groups with limited information (ids only): the app \
                 lacks {} (or {}), so Passage cannot tell distribution lists, dynamic and synced \
                 groups apart; grant it with admin consent",
                needed.name,
                needed.also_satisfied_by.join(" or ")
            ),
        ));
    }
    Ok(groups)
}

fn group_view(g: &Value) -> Value {
    json!({
        "id": g["id"],
        "displayName": g["displayName"],
        "mail": g["mail"],
        "groupTypes": g["groupTypes"],
        "mailEnabled": g["mailEnabled"],
        "securityEnabled": g["securityEnabled"],
        "onPremisesSyncEnabled": g["onPremisesSyncEnabled"],
    })
}

/// Where a membership can be removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    /// `DELETE /groups/{id}/members/{user}/$ref`: assigned security and Microsoft 365 groups.
    Graph,
    /// `Remove-DistributionGroupMember`: distribution lists and mail-enabled security groups,
    /// which Exchange masters and Graph only reads.
    Exchange,
    /// Neither service can change it; the reason says where to.
    Reported(&'static str),
}

fn route(g: &Value) -> Route {
    let types: Vec<&str> = g["groupTypes"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if types.contains(&"DynamicMembership") || g["membershipRule"].is_string() {
        Route::Reported(
            "dynamic group: its membership rule re-adds the user; change the user's attributes or the rule",
        )
    } else if g["onPremisesSyncEnabled"].as_bool() == Some(true) {
        Route::Reported("synced from on-premises AD; remove the membership there")
    } else if g["mailEnabled"].as_bool() == Some(true) && !types.contains(&"Unified") {
        Route::Exchange
    } else {
        Route::Graph
    }
}

fn reported_reason(g: &Value) -> Option<&'static str> {
    match route(g) {
        Route::Reported(reason) => Some(reason),
        _ => None,
    }
}

async fn methods(api: &Api, user: &User, calls: &mut Calls) -> Result<Vec<Value>, ActionFailure> {
    let url = api.graph_url(&["users", &user.id, "authentication", "methods"], &[]);
    api.list(url, calls).await
}

fn method_kind(m: &Value) -> &str {
    m["@odata.type"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches("#microsoft.graph.")
}

/// The type-specific collection a method is deleted through.
fn method_segment(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "phoneAuthenticationMethod" => "phoneMethods",
        "microsoftAuthenticatorAuthenticationMethod" => "microsoftAuthenticatorMethods",
        "fido2AuthenticationMethod" => "fido2Methods",
        "softwareOathAuthenticationMethod" => "softwareOathMethods",
        "emailAuthenticationMethod" => "emailMethods",
        "windowsHelloForBusinessAuthenticationMethod" => "windowsHelloForBusinessMethods",
        "temporaryAccessPassAuthenticationMethod" => "temporaryAccessPassMethods",
        "platformCredentialAuthenticationMethod" => "platformCredentialMethods",
        _ => return None,
    })
}

fn method_view(m: &Value) -> Value {
    json!({"id": m["id"], "type": method_kind(m)})
}

/// `mailboxSettings` (selected), or the Graph error code when the mailbox is unreachable.
async fn mailbox_settings(
    api: &Api,
    user: &User,
    select: &str,
    calls: &mut Calls,
) -> Result<Result<Value, String>, ActionFailure> {
    let url = api.graph_url(
        &["users", &user.id, "mailboxSettings"],
        &[("$select", select)],
    );
    let answer = api
        .graph(Method::GET, url, None, &[StatusCode::NOT_FOUND], calls)
        .await?;
    Ok(match answer.error_code {
        None => Ok(answer.body),
        Some(code) => Err(code),
    })
}

fn mailbox_unreachable(code: &str) -> ActionFailure {
    permanent(
        "mailbox_unavailable",
        format!(
            "the leaver's mailbox cannot be reached through Graph ({code}): it may have no Exchange licence, be soft-deleted or hosted on-premises"
        ),
    )
}

async fn devices(api: &Api, user: &User, calls: &mut Calls) -> Result<Vec<Value>, ActionFailure> {
    let url = api.graph_url(
        &["users", &user.id, "managedDevices"],
        &[("$select", DEVICE_SELECT)],
    );
    api.list(url, calls).await
}

// ----- actions ----------------------------------------------------------------------------------

async fn snapshot(
    api: &Api,
    user: &User,
    delegate: Option<&str>,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let groups = groups(api, user, calls).await?;
    let methods = methods(api, user, calls).await?;
    let mailbox = mailbox_settings(api, user, "userPurpose,automaticRepliesSetting", calls).await?;
    let devices = devices(api, user, calls).await?;
    let mut output = user.view();
    output["mail"] = user.raw["mail"].clone();
    output["displayName"] = user.raw["displayName"].clone();
    output["signInSessionsValidFromDateTime"] = user.raw["signInSessionsValidFromDateTime"].clone();
    output["assignedLicenses"] = user.raw["assignedLicenses"].clone();
    output["licenseAssignmentStates"] = user.raw["licenseAssignmentStates"].clone();
    output["groups"] = groups.iter().map(group_view).collect();
    output["auth_methods"] = methods.iter().map(method_view).collect();
    output["mailbox"] = match &mailbox {
        Ok(m) => json!({
            "userPurpose": m["userPurpose"],
            "automaticRepliesSetting": m["automaticRepliesSetting"],
        }),
        Err(code) => json!({"unreachable": code}),
    };
    output["access"] = super::access::recorded(
        &groups,
        &license_states(user),
        &methods.iter().map(method_view).collect::<Vec<_>>(),
        &devices,
    );
    if api.sweep.shared_access {
        super::sweep::record(api, user, &mut output, calls).await;
    }
    if api.sweep.onedrive_handover {
        super::onedrive::record(api, user, &mut output, calls).await;
    }
    if api.sweep.mail_access {
        super::mail_sweep::record(api, user, delegate, &mut output, calls).await;
    }
    output["devices"] = devices
        .iter()
        .map(|d| {
            json!({
                "id": d["id"],
                "deviceName": d["deviceName"],
                "operatingSystem": d["operatingSystem"],
                "managedDeviceOwnerType": d["managedDeviceOwnerType"],
                "deviceActionResults": d["deviceActionResults"],
                "serialNumber": d["serialNumber"],
                "model": d["model"],
            })
        })
        .collect();
    Ok(done(
        false,
        format!(
            "recorded {} (enabled {}), {} groups, {} auth methods, {} licence assignments, mailbox {}, {} managed devices",
            user.upn,
            user.enabled(),
            groups.len(),
            methods.len(),
            user.raw["licenseAssignmentStates"]
                .as_array()
                .map_or(0, Vec::len),
            match &mailbox {
                Ok(m) => m["userPurpose"].as_str().unwrap_or("unknown").to_owned(),
                Err(code) => format!("unreachable ({code})"),
            },
            devices.len()
        ),
        user.view(),
        output,
    ))
}

/// Blocks sign-in (`accountEnabled: false`).
async fn suspend(api: &Api, user: &User, calls: &mut Calls) -> Result<ActionDone, ActionFailure> {
    if !user.enabled() {
        return Ok(done(
            true,
            "sign-in already blocked; nothing changed".into(),
            user.view(),
            Value::Null,
        ));
    }
    if user.synced() {
        return Err(permanent(
            "on_prem_synced",
            format!(
                "{} is synced from on-premises AD, so Graph cannot block sign-in: disable the account in on-premises AD",
                user.upn
            ),
        ));
    }
    let url = api.graph_url(&["users", &user.id], &[]);
    api.graph(
        Method::PATCH,
        url,
        Some(&json!({"accountEnabled": false})),
        &[],
        calls,
    )
    .await?;
    let after = get_user(api, &user.id, calls).await?;
    if after.enabled() {
        return Err(mismatch(
            "accountEnabled still reads true after blocking sign-in".into(),
        ));
    }
    Ok(done(
        false,
        "blocked sign-in (accountEnabled is false)".into(),
        after.view(),
        Value::Null,
    ))
}

/// Invalidates refresh tokens and session cookies. Each call is a real reset, so it is always
/// made; any 2xx is success (Graph documents 204 and answers 200).
async fn revoke_sessions(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let url = api.graph_url(&["users", &user.id, "revokeSignInSessions"], &[]);
    let sent = jiff::Timestamp::now();
    let answer = api.graph(Method::POST, url, None, &[], calls).await?;
    let clock = Reading::of(&answer.headers, sent, jiff::Timestamp::now());
    let after = get_user(api, &user.id, calls).await?;
    let valid_from = after.raw["signInSessionsValidFromDateTime"].clone();
    let parsed = valid_from
        .as_str()
        .and_then(|s| s.parse::<jiff::Timestamp>().ok());
    let proof = clock.evidence();
    if !parsed.is_some_and(|t| clock.not_before_sending(t)) {
        return Err(mismatch(format!(
            "signInSessionsValidFromDateTime is {valid_from} after revoking at {sent} (Graph's clock measured against ours: {proof})"
        )));
    }
    let mut readback = json!({
        "user_id": user.id,
        "signInSessionsValidFromDateTime": valid_from,
        "revoked_at": sent.to_string(),
    });
    readback["clock"] = proof;
    Ok(done(
        false,
        format!("revoked sign-in sessions; sessions valid only from {valid_from}"),
        readback,
        Value::Null,
    ))
}

/// Deletes every authentication method but the password, the default one last.
async fn reset_factors(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let before = methods(api, user, calls).await?;
    let (pending, unknown): (Vec<&Value>, Vec<&Value>) = before
        .iter()
        .filter(|m| method_kind(m) != "passwordAuthenticationMethod")
        .partition(|m| method_segment(method_kind(m)).is_some());
    let unknown: Vec<Value> = unknown.into_iter().map(method_view).collect();
    let removed = delete_methods(api, user, pending, calls).await?;
    let after = methods(api, user, calls).await?;
    let left: Vec<Value> = after
        .iter()
        .filter(|m| method_kind(m) != "passwordAuthenticationMethod")
        .map(method_view)
        .collect();
    if !left.is_empty() && left.len() > unknown.len() {
        return Err(mismatch(format!(
            "{} authentication methods remain after the reset",
            left.len()
        )));
    }
    let repeat = removed.is_empty() && unknown.is_empty();
    Ok(done(
        repeat,
        if repeat {
            "only the password remains; nothing to remove".into()
        } else {
            format!(
                "removed {} authentication methods; {} of unknown type reported",
                removed.len(),
                unknown.len()
            )
        },
        json!({"user_id": user.id, "methods": after.iter().map(method_view).collect::<Vec<_>>()}),
        json!({"removed": removed, "not_attempted": unknown.iter().map(|m| json!({"method": m, "reason": "no known delete path for this method type"})).collect::<Vec<_>>()}),
    ))
}

/// Deletes `pending` methods and returns the views of those removed. The default method cannot
/// go while others remain (400): it is tried again after the rest, for as long as each round
/// removes something.
async fn delete_methods(
    api: &Api,
    user: &User,
    mut pending: Vec<&Value>,
    calls: &mut Calls,
) -> Result<Vec<Value>, ActionFailure> {
    let mut removed = Vec::new();
    while !pending.is_empty() {
        let mut refused = Vec::new();
        let mut last_refusal = String::new();
        let removed_before = removed.len();
        for m in pending {
            match delete_method(api, user, m, calls).await? {
                Some(refusal) => {
                    last_refusal = refusal;
                    refused.push(m);
                }
                None => removed.push(method_view(m)),
            }
        }
        if !refused.is_empty() && removed.len() == removed_before {
            return Err(permanent(
                "method_not_removable",
                format!(
                    "Graph refused to delete {} authentication methods: {last_refusal}",
                    refused.len()
                ),
            ));
        }
        pending = refused;
    }
    Ok(removed)
}

/// Deletes one method (404: already gone); `Some(Graph's message)` when Graph refused (400).
async fn delete_method(
    api: &Api,
    user: &User,
    method: &Value,
    calls: &mut Calls,
) -> Result<Option<String>, ActionFailure> {
    let segment = method_segment(method_kind(method)).unwrap_or_default();
    let id = method["id"].as_str().unwrap_or_default();
    let url = api.graph_url(&["users", &user.id, "authentication", segment, id], &[]);
    let accept = [StatusCode::BAD_REQUEST, StatusCode::NOT_FOUND];
    let answer = api.graph(Method::DELETE, url, None, &accept, calls).await?;
    if answer.status != StatusCode::BAD_REQUEST {
        return Ok(None);
    }
    let message = answer.body["error"]["message"].as_str().unwrap_or_default();
    Ok(Some(message.to_owned()))
}

/// The Exchange identity of a group: its primary SMTP address, else its object id.
fn exchange_identity(g: &Value) -> &str {
    g["mail"]
        .as_str()
        .filter(|m| !m.is_empty())
        .or_else(|| g["id"].as_str())
        .unwrap_or_default()
}

/// Removes assigned memberships through Graph and distribution-list / mail-enabled security
/// group memberships through Exchange Online; reports dynamic and on-premises-synced groups.
async fn remove_groups(
    api: &Api,
    user: &User,
    prior: Option<&Value>,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let before = groups(api, user, calls).await?;
    let via_graph: Vec<&Value> = before.iter().filter(|g| route(g) == Route::Graph).collect();
    for g in &via_graph {
        let id = g["id"].as_str().unwrap_or_default();
        let url = api.graph_url(&["groups", id, "members", &user.id, "$ref"], &[]);
        // 404: already gone (a concurrent removal); the read-back decides.
        api.graph(Method::DELETE, url, None, &[StatusCode::NOT_FOUND], calls)
            .await?;
    }
    let exchange = exchange_groups(&before, prior);
    let outcome = remove_in_exchange(api, user, &exchange, calls).await?;
    let after = groups(api, user, calls).await?;
    // Graph's view of Exchange-mastered groups lags; Exchange's own read-back proves those.
    let left: Vec<&Value> = after.iter().filter(|g| route(g) == Route::Graph).collect();
    if !left.is_empty() {
        return Err(mismatch(format!(
            "still a member of {} groups after removal: {}",
            left.len(),
            left.iter()
                .filter_map(|g| g["displayName"].as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(groups_removed(user, &before, &via_graph, &outcome, &after))
}

/// The evidence of a group removal: what went through each API, what was already gone, and
/// the groups no API call can change (reported, with why).
fn groups_removed(
    user: &User,
    before: &[Value],
    via_graph: &[&Value],
    outcome: &ExchangeOutcome<'_>,
    after: &[Value],
) -> ActionDone {
    let reported: Vec<&Value> = before
        .iter()
        .filter(|g| reported_reason(g).is_some())
        .collect();
    let not_attempted: Vec<Value> = reported
        .iter()
        .map(|g| json!({"group": group_view(g), "reason": reported_reason(g)}))
        .collect();
    let removed: Vec<Value> = via_graph
        .iter()
        .chain(outcome.removed.iter())
        .map(|g| group_view(g))
        .collect();
    let reasons: Vec<String> = reported
        .iter()
        .map(|g| {
            format!(
                "{} ({})",
                g["displayName"].as_str().unwrap_or_default(),
                reported_reason(g).unwrap_or_default()
            )
        })
        .collect();
    done(
        removed.is_empty(),
        format!(
            "removed {} group memberships ({} through Graph, {} through Exchange Online); {} already gone in Exchange Online; {} not changeable (reported){}",
            removed.len(),
            via_graph.len(),
            outcome.removed.len(),
            outcome.already.len(),
            reported.len(),
            if reasons.is_empty() {
                String::new()
            } else {
                format!(": {}", reasons.join("; "))
            }
        ),
        json!({
            "user_id": user.id,
            "remaining_groups": after.iter().map(group_view).collect::<Vec<_>>(),
            "exchange_members_checked": outcome.checked,
            "not_attempted": not_attempted,
        }),
        json!({
            "removed": removed,
            "already_removed": outcome.already.iter().map(|g| group_view(g)).collect::<Vec<_>>(),
            "not_attempted": not_attempted,
            "access": groups_said(&reported, outcome),
        }),
    )
}

/// Per group, for the grading: the ones no API can change remain (with why, and who must
/// act); the ones Exchange found gone were absent.
fn groups_said(reported: &[&Value], outcome: &ExchangeOutcome<'_>) -> Vec<Value> {
    let remains = reported
        .iter()
        .map(|g| super::access::said("group", &g["id"], "remains", reported_reason(g)));
    let absent = outcome
        .already
        .iter()
        .map(|g| super::access::said("group", &g["id"], "absent", None));
    remains.chain(absent).collect()
}

/// The Exchange-mastered groups to leave: those Graph lists now, plus those the snapshot
/// recorded (Graph learns of Exchange's changes late, so a repeat may no longer see a list
/// Exchange still holds the user in). The flag says whether Graph lists it now.
fn exchange_groups<'a>(now: &'a [Value], prior: Option<&'a Value>) -> Vec<(&'a Value, bool)> {
    let mut out: Vec<(&Value, bool)> = now
        .iter()
        .filter(|g| route(g) == Route::Exchange)
        .map(|g| (g, true))
        .collect();
    let recorded = prior
        .and_then(|p| p["groups"].as_array())
        .map(|a| a.iter().filter(|g| route(g) == Route::Exchange))
        .into_iter()
        .flatten();
    for g in recorded {
        if !out.iter().any(|(o, _)| o["id"] == g["id"]) {
            out.push((g, false));
        }
    }
    out
}

/// What happened in Exchange Online, group by group.
struct ExchangeOutcome<'a> {
    removed: Vec<&'a Value>,
    already: Vec<&'a Value>,
    /// Per group: the member count Exchange read back after the removals.
    checked: Vec<Value>,
}

/// `Remove-DistributionGroupMember` for each group (not a member any more = already done),
/// then `Get-DistributionGroupMember` proves the user is gone from each.
async fn remove_in_exchange<'a>(
    api: &Api,
    user: &User,
    exchange: &[(&'a Value, bool)],
    calls: &mut Calls,
) -> Result<ExchangeOutcome<'a>, ActionFailure> {
    let mut outcome = ExchangeOutcome {
        removed: Vec::new(),
        already: Vec::new(),
        checked: Vec::new(),
    };
    let mut present = Vec::new();
    for &(g, listed_now) in exchange {
        // A group only the snapshot knows may have been deleted since: gone is done.
        let tolerated: &[&str] = if listed_now {
            &["MemberNotFoundException"]
        } else {
            &[
                "MemberNotFoundException",
                "ManagementObjectNotFoundException",
            ]
        };
        let answer = api
            .cmdlet_unless(
                "Remove-DistributionGroupMember",
                json!({
                    "Identity": exchange_identity(g),
                    "Member": user.upn,
                    "BypassSecurityGroupManagerCheck": true,
                }),
                tolerated,
                calls,
            )
            .await?;
        match answer.error_code.as_deref() {
            Some("ManagementObjectNotFoundException") => {
                outcome.already.push(g);
                continue;
            }
            Some(_) => outcome.already.push(g),
            None => outcome.removed.push(g),
        }
        present.push(g);
    }
    for g in present {
        let identity = exchange_identity(g);
        let members = api
            .cmdlet_rows(
                "Get-DistributionGroupMember",
                json!({"Identity": identity, "ResultSize": "Unlimited"}),
                calls,
            )
            .await?;
        let still = members.iter().any(|m| {
            m["ExternalDirectoryObjectId"]
                .as_str()
                .is_some_and(|id| id.eq_ignore_ascii_case(&user.id))
                || m["PrimarySmtpAddress"]
                    .as_str()
                    .is_some_and(|a| a.eq_ignore_ascii_case(&user.upn))
        });
        if still {
            return Err(mismatch(format!(
                "Exchange Online still lists the user in {} after removing them",
                g["displayName"]
            )));
        }
        outcome.checked.push(json!({
            "group": identity,
            "displayName": g["displayName"],
            "members": members.len(),
            "user_listed": false,
        }));
    }
    Ok(outcome)
}

fn auto_reply_holds(setting: &Value, text: &str) -> bool {
    setting["status"] == "alwaysEnabled"
        && setting["externalAudience"] == "all"
        && setting["internalReplyMessage"].as_str().map(str::trim) == Some(text.trim())
        && setting["externalReplyMessage"].as_str().map(str::trim) == Some(text.trim())
}

async fn set_auto_reply(
    api: &Api,
    policy: &MicrosoftPolicy,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let Some(text) = policy.auto_reply.as_deref() else {
        return Err(permanent(
            "no_auto_reply_text",
            "the tenant's Microsoft policy has no auto-reply text".into(),
        ));
    };
    let before = mailbox_settings(api, user, "automaticRepliesSetting", calls)
        .await?
        .map_err(|c| mailbox_unreachable(&c))?;
    let repeat = auto_reply_holds(&before["automaticRepliesSetting"], text);
    if !repeat {
        let url = api.graph_url(&["users", &user.id, "mailboxSettings"], &[]);
        let body = json!({"automaticRepliesSetting": {
            "status": "alwaysEnabled",
            "externalAudience": "all",
            "internalReplyMessage": text,
            "externalReplyMessage": text,
        }});
        api.graph(Method::PATCH, url, Some(&body), &[], calls)
            .await?;
    }
    let after = mailbox_settings(api, user, "automaticRepliesSetting", calls)
        .await?
        .map_err(|c| mailbox_unreachable(&c))?;
    let setting = after["automaticRepliesSetting"].clone();
    if !auto_reply_holds(&setting, text) {
        return Err(mismatch(format!(
            "the auto-reply reads {setting} after setting it"
        )));
    }
    Ok(done(
        repeat,
        if repeat {
            "auto-reply already on with the policy text; nothing changed".into()
        } else {
            "turned on the auto-reply (internal and external) with the policy text".into()
        },
        json!({"user_id": user.id, "automaticRepliesSetting": setting}),
        Value::Null,
    ))
}

async fn rules(api: &Api, user: &User, calls: &mut Calls) -> Result<Vec<Value>, ActionFailure> {
    api.list(rules_url(api, user, &[]), calls).await
}

/// The leaver's inbox rules, or (with `rest`) one of them.
fn rules_url(api: &Api, user: &User, rest: &[&str]) -> url::Url {
    let mut path = vec![
        "users",
        user.id.as_str(),
        "mailFolders",
        "inbox",
        "messageRules",
    ];
    path.extend_from_slice(rest);
    api.graph_url(&path, &[])
}

/// The rules Passage made, known by their display name.
fn our_rules(rules: &[Value]) -> Vec<&Value> {
    rules
        .iter()
        .filter(|r| r["displayName"] == FORWARD_RULE_NAME)
        .collect()
}

fn rule_redirects_to(rule: &Value, delegate: &str) -> bool {
    let targets: Vec<&str> = rule["actions"]["redirectTo"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["emailAddress"]["address"].as_str())
                .collect()
        })
        .unwrap_or_default();
    rule["isEnabled"].as_bool() == Some(true)
        && targets.len() == 1
        && targets[0].eq_ignore_ascii_case(delegate)
}

/// Upserts the forwarding inbox rule by its display name; deletes duplicates.
async fn forward_mail(
    api: &Api,
    req: &ActionRequest,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let Some(delegate) = req.delegate.clone() else {
        return Err(permanent(
            "no_delegate",
            "the leaver has no manager on record to forward mail to; set one (or the tenant's fallback delegate) and retry".into(),
        ));
    };
    let before = rules(api, user, calls).await?;
    let changes = upsert_forward_rule(api, user, &our_rules(&before), &delegate, calls).await?;
    let after = rules(api, user, calls).await?;
    let ours_after = our_rules(&after);
    if ours_after.len() != 1 || !rule_redirects_to(ours_after[0], &delegate) {
        return Err(mismatch(format!(
            "expected one enabled rule \"{FORWARD_RULE_NAME}\" redirecting to {delegate}, read {}",
            ours_after.len()
        )));
    }
    let rule = ours_after[0];
    let repeat = changes.is_empty();
    Ok(done(
        repeat,
        if repeat {
            format!("new mail already redirects to {delegate}; nothing changed")
        } else {
            format!(
                "new mail now redirects to {delegate} ({})",
                changes.join(", ")
            )
        },
        json!({"user_id": user.id, "rule": {"id": rule["id"], "displayName": rule["displayName"], "isEnabled": rule["isEnabled"], "redirectTo": rule["actions"]["redirectTo"]}}),
        json!({"delegate": delegate, "rule_id": rule["id"]}),
    ))
}

/// Makes the first of `ours` redirect to the delegate (creating it when there is none) and
/// deletes the others; says what it changed.
async fn upsert_forward_rule(
    api: &Api,
    user: &User,
    ours: &[&Value],
    delegate: &str,
    calls: &mut Calls,
) -> Result<Vec<&'static str>, ActionFailure> {
    let body = json!({
        "displayName": FORWARD_RULE_NAME,
        "sequence": 1,
        "isEnabled": true,
        "actions": {"redirectTo": [{"emailAddress": {"address": delegate}}]},
    });
    let mut changes = Vec::new();
    match ours.first() {
        None => {
            let url = rules_url(api, user, &[]);
            api.graph(Method::POST, url, Some(&body), &[], calls)
                .await?;
            changes.push("created the rule");
        }
        Some(rule) if !rule_redirects_to(rule, delegate) => {
            let url = rules_url(api, user, &[rule["id"].as_str().unwrap_or_default()]);
            api.graph(Method::PATCH, url, Some(&body), &[], calls)
                .await?;
            changes.push("updated the rule");
        }
        Some(_) => {}
    }
    for duplicate in ours.iter().skip(1) {
        let url = rules_url(api, user, &[duplicate["id"].as_str().unwrap_or_default()]);
        api.graph(Method::DELETE, url, None, &[StatusCode::NOT_FOUND], calls)
            .await?;
        changes.push("deleted a duplicate rule");
    }
    Ok(changes)
}

fn device_action_name(action: DeviceAction) -> Option<&'static str> {
    match action {
        DeviceAction::None => None,
        DeviceAction::Lock => Some("remoteLock"),
        DeviceAction::Retire => Some("retire"),
        DeviceAction::Wipe => Some("wipe"),
    }
}

/// Device actions Intune has not completed: it carries them out when the device checks in,
/// within minutes for a device that is on, and days later for a laptop left off.
const DEVICE_ACTION: Polling = Polling {
    first: Duration::from_secs(5),
    most: Duration::from_secs(900),
    deadline: Duration::from_secs(72 * 3600),
};

/// The state of `action` on a device (a wipe also satisfies retire and lock), if issued.
fn action_state(device: &Value, action: &str) -> Option<String> {
    let results = device["deviceActionResults"].as_array()?;
    let states = ["pending", "active", "done"];
    let find = |name: &str| {
        results
            .iter()
            .filter(|r| {
                r["actionName"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .filter_map(|r| r["actionState"].as_str())
            .find(|s| states.contains(s))
            .map(str::to_owned)
    };
    find(action).or_else(|| find("wipe"))
}

/// Issues the tenant's device action on every Intune-managed device of the leaver (unless one
/// is already issued), then reads each back. Intune carries an action out when the device
/// checks in: until every device reports it done (or has left Intune), the step awaits
/// completion.
async fn secure_devices(
    api: &Api,
    policy: &MicrosoftPolicy,
    req: &ActionRequest,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionOutcome, ActionFailure> {
    let Some(action) = device_action_name(policy.devices) else {
        return Ok(done(
            true,
            "the tenant's policy leaves devices alone".into(),
            Value::Null,
            Value::Null,
        )
        .into());
    };
    let before = devices(api, user, calls).await?;
    let (issued, already) = issue_device_action(api, &before, action, calls).await?;
    let readback = read_device_actions(api, &before, action, calls).await?;
    let waiting: Vec<&str> = readback
        .iter()
        .filter(|d| d["state"] != "done" && d["state"] != "removed")
        .filter_map(|d| d["deviceName"].as_str())
        .collect();
    if !waiting.is_empty() {
        let what = format!(
            "{action} is issued and waits for {} to check in with Intune: {}",
            if waiting.len() == 1 {
                "the device"
            } else {
                "the devices"
            },
            waiting.join(", ")
        );
        let pending = DEVICE_ACTION.pending("device_action_pending", what, req.operation.as_ref());
        return Ok(pending.into());
    }
    // Seen pending by an earlier attempt of this step: this step saw the action through.
    let repeat = issued.is_empty() && req.operation.is_none();
    Ok(done(
        repeat,
        if before.is_empty() {
            "no Intune-managed devices".into()
        } else if repeat {
            format!(
                "{action} already done on all {} devices; nothing changed",
                before.len()
            )
        } else {
            format!(
                "{action} done on {} devices ({} issued by this attempt, {} earlier)",
                before.len(),
                issued.len(),
                already.len()
            )
        },
        json!({"user_id": user.id, "devices": readback}),
        json!({"action": action, "issued": issued, "already": already}),
    )
    .into())
}

/// Issues `action` on each device that has it neither pending, active nor done. Returns the
/// ids issued now and those that already had it.
async fn issue_device_action(
    api: &Api,
    devices: &[Value],
    action: &str,
    calls: &mut Calls,
) -> Result<(Vec<String>, Vec<String>), ActionFailure> {
    let mut issued = Vec::new();
    let mut already = Vec::new();
    for d in devices {
        let id = d["id"].as_str().unwrap_or_default();
        if action_state(d, action).is_some() {
            already.push(id.to_owned());
            continue;
        }
        let url = api.graph_url(&["deviceManagement", "managedDevices", id, action], &[]);
        let body =
            (action == "wipe").then(|| json!({"keepEnrollmentData": false, "keepUserData": false}));
        api.graph(Method::POST, url, body.as_ref(), &[], calls)
            .await?;
        issued.push(id.to_owned());
    }
    Ok((issued, already))
}

/// Reads each device's action back: its state, or `removed` for a device that left Intune
/// (retired and wiped devices do: gone is the strongest proof).
async fn read_device_actions(
    api: &Api,
    devices: &[Value],
    action: &str,
    calls: &mut Calls,
) -> Result<Vec<Value>, ActionFailure> {
    let mut readback = Vec::new();
    for d in devices {
        let id = d["id"].as_str().unwrap_or_default();
        let url = api.graph_url(
            &["deviceManagement", "managedDevices", id],
            &[("$select", "id,deviceName,deviceActionResults")],
        );
        let answer = api
            .graph(Method::GET, url, None, &[StatusCode::NOT_FOUND], calls)
            .await?;
        if answer.status == StatusCode::NOT_FOUND {
            readback.push(json!({"id": id, "deviceName": d["deviceName"], "state": "removed"}));
            continue;
        }
        let Some(state) = action_state(&answer.body, action) else {
            return Err(mismatch(format!(
                "device {} shows no {action} pending or done after issuing it: {}",
                d["deviceName"], answer.body["deviceActionResults"]
            )));
        };
        readback.push(json!({
            "id": id,
            "deviceName": d["deviceName"],
            "action": action,
            "state": state,
            "deviceActionResults": answer.body["deviceActionResults"],
        }));
    }
    Ok(readback)
}

/// A conversion Exchange accepted and Graph does not show yet: it reaches Graph's
/// `userPurpose` later, by no documented bound.
const CONVERSION: Polling = Polling {
    first: Duration::from_secs(5),
    most: Duration::from_secs(300),
    deadline: Duration::from_secs(6 * 3600),
};

/// Converts the mailbox to shared through Exchange Online, so it survives losing its licence.
/// Exchange accepts the change at once; Graph shows it later, so until `userPurpose` reads
/// `shared` the step awaits completion, reading Graph again without converting twice.
async fn convert_mailbox(
    api: &Api,
    req: &ActionRequest,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionOutcome, ActionFailure> {
    let before = mailbox_settings(api, user, "userPurpose", calls)
        .await?
        .map_err(|c| mailbox_unreachable(&c))?;
    let converted_earlier = req.operation.is_some();
    let repeat = before["userPurpose"] == "shared" && !converted_earlier;
    let mut warnings = Value::Null;
    if before["userPurpose"] != "shared" && !converted_earlier {
        let answer = api
            .cmdlet(
                "Set-Mailbox",
                json!({"Identity": user.upn, "Type": "Shared"}),
                calls,
            )
            .await?;
        warnings = answer.body["@adminapi.warnings"].clone();
    }
    let after = mailbox_settings(api, user, "userPurpose", calls)
        .await?
        .map_err(|c| mailbox_unreachable(&c))?;
    if after["userPurpose"] != "shared" {
        let what = format!(
            "Exchange Online accepted the conversion to a shared mailbox; Graph still reads userPurpose {}",
            after["userPurpose"]
        );
        let seen = req.operation.as_ref();
        return Ok(CONVERSION
            .pending("mailbox_conversion_propagating", what, seen)
            .into());
    }
    Ok(done(
        repeat,
        if repeat {
            "mailbox already shared; nothing changed".into()
        } else if converted_earlier {
            "converted the mailbox to shared; Graph now reads userPurpose shared".into()
        } else {
            format!(
                "converted the mailbox from {} to shared",
                before["userPurpose"]
            )
        },
        json!({"user_id": user.id, "userPurpose": after["userPurpose"]}),
        json!({"exchange_warnings": warnings}),
    )
    .into())
}

fn license_states(user: &User) -> Vec<Value> {
    user.raw["licenseAssignmentStates"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn direct_skus(user: &User) -> Vec<String> {
    let set: BTreeSet<String> = license_states(user)
        .iter()
        .filter(|s| s["assignedByGroup"].is_null())
        .filter_map(|s| s["skuId"].as_str().map(str::to_owned))
        .collect();
    set.into_iter().collect()
}

/// Removes directly assigned licences; reports group-inherited ones.
async fn remove_licenses(
    api: &Api,
    policy: &MicrosoftPolicy,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let direct = direct_skus(user);
    let inherited: Vec<Value> = license_states(user)
        .iter()
        .filter(|s| !s["assignedByGroup"].is_null())
        .map(|s| {
            json!({
                "skuId": s["skuId"],
                "assignedByGroup": s["assignedByGroup"],
                "reason": "inherited from a group; remove the group membership or the group's licence",
            })
        })
        .collect();
    if !direct.is_empty() && policy.convert_mailbox {
        // Removing the Exchange licence from a user mailbox disconnects it before conversion.
        if let Ok(m) = mailbox_settings(api, user, "userPurpose", calls).await?
            && m["userPurpose"] == "user"
        {
            return Err(permanent(
                "mailbox_not_converted",
                "the mailbox is still a user mailbox: convert it to shared before removing licences, or its contents are lost".into(),
            ));
        }
    }
    if !direct.is_empty() {
        let url = api.graph_url(&["users", &user.id, "assignLicense"], &[]);
        api.graph(
            Method::POST,
            url,
            Some(&json!({"addLicenses": [], "removeLicenses": direct})),
            &[],
            calls,
        )
        .await?;
    }
    let after = get_user(api, &user.id, calls).await?;
    let left = direct_skus(&after);
    if !left.is_empty() {
        return Err(mismatch(format!(
            "{} directly assigned licences remain",
            left.len()
        )));
    }
    let repeat = direct.is_empty();
    Ok(done(
        repeat,
        if repeat {
            format!(
                "no directly assigned licences; {} inherited (reported)",
                inherited.len()
            )
        } else {
            format!(
                "removed {} directly assigned licences; {} inherited from groups (reported)",
                direct.len(),
                inherited.len()
            )
        },
        json!({
            "user_id": user.id,
            "assignedLicenses": after.raw["assignedLicenses"],
            "licenseAssignmentStates": after.raw["licenseAssignmentStates"],
        }),
        json!({
            "removed": direct,
            "not_attempted": inherited,
            "access": licences_said(&after),
        }),
    ))
}

/// Per licence, for the grading: one still inherited from a group after the removal remains
/// (the group, or its licence, must go first).
fn licences_said(after: &User) -> Vec<Value> {
    license_states(after)
        .iter()
        .filter(|s| !s["assignedByGroup"].is_null())
        .map(|s| {
            super::access::said(
                "licence",
                &s["skuId"],
                "remains",
                Some("inherited from a group; remove the group membership or the group's licence"),
            )
        })
        .collect()
}
