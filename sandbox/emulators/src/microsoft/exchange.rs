//! The Exchange Online admin endpoint behind the ExchangeOnlineManagement
//! module: `POST /adminapi/beta/{tenantId}/InvokeCommand` with
//! `{"CmdletInput":{"CmdletName":"…","Parameters":{…}}}` and a token for
//! `https://outlook.office365.com/.default` carrying `Exchange.ManageAsApp`.
//!
//! Cmdlets served: `Get-Mailbox`, `Set-Mailbox` (`-Type`,
//! `-ForwardingSmtpAddress`, `-DeliverToMailboxAndForward`),
//! `Add-MailboxPermission` / `Get-MailboxPermission` (FullAccess),
//! `Get-DistributionGroupMember` and `Remove-DistributionGroupMember`
//! (distribution lists and mail-enabled security groups; groups synced from
//! on-premises AD are refused, as Exchange does). A mailbox whose owner lost every
//! Exchange licence is gone as far as Exchange is concerned
//! (`ManagementObjectNotFoundException`), so converting it to shared fails:
//! the ordering trap of offboarding.
//!
//! Member lists are paged (`exchange_page_size`): the answer carries
//! `@odata.nextLink`, and the client repeats the same command against it.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde_json::{Map, Value, json};

use super::exchange_grants as grants;
use crate::microsoft::errors::GraphError;
use crate::microsoft::gate::{Caller, RequestCtx};
use crate::microsoft::model::{GroupKind, MailboxPurpose};
use crate::microsoft::odata::Query;
use crate::microsoft::service::AppState;
use crate::microsoft::state::TenantState;

/// The server name Exchange quotes in not-found errors.
const DC_NAME: &str = "AM0PR07A001DC01.EURPR07A001.PROD.OUTLOOK.COM";

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/adminapi/beta/{tenant}/InvokeCommand", post(invoke))
}

pub(super) fn not_found(identity: &str) -> GraphError {
    GraphError::cmdlet(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!(
            "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object '{identity}' couldn't be found on '{DC_NAME}'."
        ),
    )
}

fn parameter_error(message: String) -> GraphError {
    GraphError::cmdlet(
        StatusCode::BAD_REQUEST,
        format!("|System.Management.Automation.ParameterBindingException|{message}"),
    )
}

fn ok(
    tenant: &str,
    base: &str,
    value: Vec<Value>,
    warnings: Vec<String>,
    next: Option<String>,
) -> Response {
    let mut body = json!({
        "@odata.context": format!("{base}/adminapi/beta/{tenant}/$metadata#Collection(Exchange.GenericHashTable)"),
        "adminapi.warnings@odata.type": "#Collection(String)",
        "@adminapi.warnings": warnings,
        "value": value,
    });
    if let Some(next) = next {
        body["@odata.nextLink"] = next.into();
    }
    Json(body).into_response()
}

/// One page of a cmdlet's rows: the client repeats the same command against
/// `@odata.nextLink`, whose `$skiptoken` says where the next page starts.
fn page(
    rows: Vec<Value>,
    query: &Query,
    page_size: usize,
    link: impl FnOnce(u64) -> String,
) -> Result<(Vec<Value>, Option<String>), GraphError> {
    let start = usize::try_from(query.skiptoken()?.unwrap_or(0)).unwrap_or(usize::MAX);
    let end = start.saturating_add(page_size).min(rows.len());
    let next = (end < rows.len()).then(|| link(end as u64));
    let rows = rows
        .into_iter()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect();
    Ok((rows, next))
}

async fn invoke(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(ctx): Extension<RequestCtx>,
    Path(tenant): Path<String>,
    RawQuery(raw_query): RawQuery,
    body: Bytes,
) -> Result<Response, GraphError> {
    if !app.shared.is_tenant(&tenant) {
        return Err(GraphError::exchange_unauthorized());
    }
    let Ok(Value::Object(root)) = serde_json::from_slice::<Value>(&body) else {
        return Err(GraphError::exchange_bad_request(
            "The request body is not valid JSON.",
        ));
    };
    let input = root
        .get("CmdletInput")
        .and_then(Value::as_object)
        .ok_or_else(|| GraphError::exchange_bad_request("CmdletInput is required."))?;
    let name = input
        .get("CmdletName")
        .and_then(Value::as_str)
        .ok_or_else(|| GraphError::exchange_bad_request("CmdletName is required."))?;
    let params = input
        .get("Parameters")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let base = &app.shared.base_url;
    let mut state = app.tenant();
    let actor = caller.actor(&ctx);
    let query = Query::parse(raw_query);
    let mut next = None;
    let (value, warnings) = match name.to_ascii_lowercase().as_str() {
        "get-mailbox" => {
            let path = format!("/adminapi/beta/{tenant}/InvokeCommand");
            let shared_only = param(&params, "RecipientTypeDetails").is_some();
            let mut size = app.shared.exchange_page_size;
            if shared_only && state.sweep.fail_shared_mailbox_pages {
                // The knob: a long list whose second page fails.
                crate::microsoft::sweep::shared_page_fault(
                    &state,
                    query.skiptoken()?.unwrap_or(0),
                )?;
                size = 1;
            }
            let (rows, link) = page(get_mailbox(&state, &params)?, &query, size, |after| {
                query.next_link(base, &path, after)
            })?;
            next = link;
            (rows, Vec::new())
        }
        "remove-mailboxpermission" => grants::remove_full_access(&mut state, &params)?,
        "get-recipientpermission" => (grants::get_send_as(&state, &params)?, Vec::new()),
        "remove-recipientpermission" => grants::remove_send_as(&mut state, &params)?,
        "set-mailbox" => set_mailbox(&mut state, &params, &actor)?,
        "add-mailboxpermission" => add_permission(&mut state, &params, &actor)?,
        "get-mailboxpermission" => (get_permission(&state, &params)?, Vec::new()),
        "get-distributiongroupmember" => {
            let path = format!("/adminapi/beta/{tenant}/InvokeCommand");
            let (rows, link) = page(
                get_dl_members(&state, &params)?,
                &query,
                app.shared.exchange_page_size,
                |after| query.next_link(base, &path, after),
            )?;
            next = link;
            (rows, Vec::new())
        }
        "remove-distributiongroupmember" => {
            remove_dl_member(&mut state, &params, &actor)?;
            (Vec::new(), Vec::new())
        }
        "add-distributiongroupmember" => {
            add_dl_member(&mut state, &params, &actor)?;
            (Vec::new(), Vec::new())
        }
        _ => {
            return Err(GraphError::cmdlet(
                StatusCode::BAD_REQUEST,
                format!(
                    "|System.Management.Automation.CommandNotFoundException|The term '{name}' is not recognized as a name of a cmdlet, function, script file, or executable program."
                ),
            ));
        }
    };
    Ok(ok(&tenant, base, value, warnings, next))
}

pub(super) fn allow_only(params: &Map<String, Value>, allowed: &[&str]) -> Result<(), GraphError> {
    for key in params.keys() {
        if !allowed.iter().any(|a| a.eq_ignore_ascii_case(key)) {
            return Err(parameter_error(format!(
                "A parameter cannot be found that matches parameter name '{key}'."
            )));
        }
    }
    Ok(())
}

pub(super) fn param<'a>(params: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

pub(super) fn identity(params: &Map<String, Value>, name: &str) -> Result<String, GraphError> {
    param(params, name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            parameter_error(format!(
                "Cannot bind argument to parameter '{name}' because it is null."
            ))
        })
}

/// A user by UPN, primary SMTP address, alias, display name or object id.
pub(super) fn find_recipient(state: &TenantState, identity: &str) -> Option<usize> {
    state.find_user(identity).or_else(|| {
        state.users.iter().position(|u| {
            u.mail
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case(identity))
                || u.upn
                    .split('@')
                    .next()
                    .is_some_and(|a| a.eq_ignore_ascii_case(identity))
                || u.display_name.eq_ignore_ascii_case(identity)
        })
    })
}

/// A user whose mailbox Exchange can see.
pub(super) fn mailbox_owner(state: &TenantState, identity: &str) -> Result<usize, GraphError> {
    find_recipient(state, identity)
        .filter(|&u| state.mailbox_accessible(u))
        .ok_or_else(|| not_found(identity))
}

fn mailbox_json(state: &TenantState, user: usize) -> Value {
    let u = &state.users[user];
    let mb = u.mailbox.as_ref();
    let alias = u.upn.split('@').next().unwrap_or_default();
    json!({
        "Identity": alias,
        "Name": alias,
        "Alias": alias,
        "DisplayName": u.display_name,
        "UserPrincipalName": u.upn,
        "PrimarySmtpAddress": u.mail,
        "ExternalDirectoryObjectId": u.id,
        "ExchangeGuid": mb.map(|m| m.exchange_guid.clone()),
        "RecipientType": "UserMailbox",
        "RecipientTypeDetails": mb.map_or("UserMailbox", |m| m.purpose.recipient_type_details()),
        "ForwardingSmtpAddress": mb.and_then(|m| m.forwarding_smtp.clone()),
        "DeliverToMailboxAndForward": mb.is_some_and(|m| m.deliver_and_forward),
        "EmailAddresses": [format!("SMTP:{}", u.mail.clone().unwrap_or_default())],
        "IsMailboxEnabled": true,
        "GrantSendOnBehalfTo": grants::send_on_behalf(state, user),
    })
}

fn get_mailbox(state: &TenantState, params: &Map<String, Value>) -> Result<Vec<Value>, GraphError> {
    allow_only(params, &["Identity", "ResultSize", "RecipientTypeDetails"])?;
    match param(params, "Identity").and_then(Value::as_str) {
        Some(id) => Ok(vec![mailbox_json(state, mailbox_owner(state, id)?)]),
        None => {
            let wanted = param(params, "RecipientTypeDetails").and_then(Value::as_str);
            Ok((0..state.users.len())
                .filter(|&u| state.mailbox_accessible(u))
                .map(|u| mailbox_json(state, u))
                .filter(|m| wanted.is_none_or(|w| m["RecipientTypeDetails"].as_str() == Some(w)))
                .collect())
        }
    }
}

fn set_mailbox(
    state: &mut TenantState,
    params: &Map<String, Value>,
    actor: &crate::microsoft::audit::Actor,
) -> Result<(Vec<Value>, Vec<String>), GraphError> {
    allow_only(
        params,
        &[
            "Identity",
            "Type",
            "ForwardingSmtpAddress",
            "DeliverToMailboxAndForward",
            "GrantSendOnBehalfTo",
            "Confirm",
            "Force",
        ],
    )?;
    let id = identity(params, "Identity")?;
    let on_behalf = match param(params, "GrantSendOnBehalfTo") {
        Some(change) => {
            let user = mailbox_owner(state, &id)?;
            Some(grants::apply_send_on_behalf(state, user, change)?)
        }
        None => None,
    };
    let purpose = match param(params, "Type") {
        None => None,
        Some(v) => Some(
            match v.as_str().unwrap_or_default().to_ascii_lowercase().as_str() {
                "shared" => MailboxPurpose::Shared,
                "regular" => MailboxPurpose::User,
                "room" => MailboxPurpose::Room,
                "equipment" => MailboxPurpose::Equipment,
                other => {
                    return Err(parameter_error(format!(
                        "Cannot process argument transformation on parameter 'Type'. Cannot convert value \"{other}\" to type \"Microsoft.Exchange.Management.RecipientTasks.ConvertibleMailboxSubType\". Error: \"Unable to match the identifier name {other} to a valid enumerator name. Specify one of the following enumerator names and try again: Regular, Room, Equipment, Shared\""
                    )));
                }
            },
        ),
    };
    let forwarding = match param(params, "ForwardingSmtpAddress") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) if s.is_empty() => Some(None),
        Some(Value::String(s)) => {
            let address = s
                .strip_prefix("smtp:")
                .or_else(|| s.strip_prefix("SMTP:"))
                .unwrap_or(s);
            Some(Some(address.to_owned()))
        }
        Some(other) => {
            return Err(parameter_error(format!(
                "Cannot convert '{other}' to the type 'Microsoft.Exchange.Data.ProxyAddress'."
            )));
        }
    };
    let deliver = match param(params, "DeliverToMailboxAndForward") {
        None => None,
        Some(v) => Some(v.as_bool().ok_or_else(|| {
            parameter_error(format!(
                "Cannot convert value \"{v}\" to type \"System.Boolean\"."
            ))
        })?),
    };
    let user = mailbox_owner(state, &id)?;
    let changed =
        state.set_mailbox(user, purpose, forwarding, deliver, actor) || on_behalf == Some(true);
    let warnings = if changed {
        Vec::new()
    } else {
        vec![format!(
            "The command completed successfully but no settings of '{}' have been modified.",
            state.users[user].upn.split('@').next().unwrap_or_default()
        )]
    };
    Ok((Vec::new(), warnings))
}

fn permission_json(state: &TenantState, user: usize, delegate: &str) -> Value {
    json!({
        "Identity": state.users[user].upn.split('@').next().unwrap_or_default(),
        "User": delegate,
        "AccessRights": ["FullAccess"],
        "IsInherited": false,
        "Deny": false,
        "InheritanceType": "All",
    })
}

fn add_permission(
    state: &mut TenantState,
    params: &Map<String, Value>,
    actor: &crate::microsoft::audit::Actor,
) -> Result<(Vec<Value>, Vec<String>), GraphError> {
    allow_only(
        params,
        &[
            "Identity",
            "User",
            "AccessRights",
            "AutoMapping",
            "InheritanceType",
            "Confirm",
        ],
    )?;
    let id = identity(params, "Identity")?;
    let delegate = identity(params, "User")?;
    let rights: Vec<String> = match param(params, "AccessRights") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    if !rights.iter().any(|r| r.eq_ignore_ascii_case("FullAccess")) {
        return Err(parameter_error(
            "Only the FullAccess right is supported by this emulator.".to_owned(),
        ));
    }
    let user = mailbox_owner(state, &id)?;
    let delegate_user = find_recipient(state, &delegate).ok_or_else(|| not_found(&delegate))?;
    let delegate_upn = state.users[delegate_user].upn.clone();
    let added = state.grant_full_access(user, &delegate_upn, actor);
    let warnings = if added {
        Vec::new()
    } else {
        vec![format!(
            "The appropriate access control entry is already present on object \"{id}\" for account \"{delegate_upn}\"."
        )]
    };
    Ok((vec![permission_json(state, user, &delegate_upn)], warnings))
}

fn get_permission(
    state: &TenantState,
    params: &Map<String, Value>,
) -> Result<Vec<Value>, GraphError> {
    allow_only(params, &["Identity", "User"])?;
    let id = identity(params, "Identity")?;
    let user = mailbox_owner(state, &id)?;
    let list = state.users[user]
        .mailbox
        .as_ref()
        .map(|mb| mb.full_access.clone())
        .unwrap_or_default();
    Ok(list
        .iter()
        .map(|d| permission_json(state, user, d))
        .collect())
}

/// A distribution list or mail-enabled security group: the groups Exchange
/// knows as distribution groups. Security-only, Microsoft 365 and dynamic
/// groups are not, so Exchange cannot find them under these cmdlets.
fn distribution_group(state: &TenantState, identity: &str) -> Result<usize, GraphError> {
    state
        .find_group_by_identity(identity)
        .filter(|&g| {
            matches!(
                state.groups[g].kind,
                GroupKind::Distribution | GroupKind::MailEnabledSecurity
            )
        })
        .ok_or_else(|| not_found(identity))
}

/// A group member as `Get-DistributionGroupMember` lists it (a ReducedRecipient).
fn member_json(state: &TenantState, user: usize) -> Value {
    let u = &state.users[user];
    let alias = u.upn.split('@').next().unwrap_or_default();
    let has_mailbox = u.mailbox.is_some();
    json!({
        "Identity": alias,
        "Name": alias,
        "Alias": alias,
        "DisplayName": u.display_name,
        "PrimarySmtpAddress": u.mail,
        "ExternalDirectoryObjectId": u.id,
        "RecipientType": if has_mailbox { "UserMailbox" } else { "User" },
        "RecipientTypeDetails": u
            .mailbox
            .as_ref()
            .map_or("User", |m| m.purpose.recipient_type_details()),
    })
}

fn get_dl_members(
    state: &TenantState,
    params: &Map<String, Value>,
) -> Result<Vec<Value>, GraphError> {
    allow_only(params, &["Identity", "ResultSize"])?;
    let id = identity(params, "Identity")?;
    let group = distribution_group(state, &id)?;
    let mut members: Vec<_> = state
        .memberships
        .iter()
        .filter(|m| m.group == group)
        .collect();
    members.sort_by_key(|m| m.seq);
    Ok(members
        .into_iter()
        .map(|m| member_json(state, m.user))
        .collect())
}

/// `Add-DistributionGroupMember`: the same checks as removal, and Exchange's
/// `MemberAlreadyExistsException` for a member already there.
fn add_dl_member(
    state: &mut TenantState,
    params: &Map<String, Value>,
    actor: &crate::microsoft::audit::Actor,
) -> Result<(), GraphError> {
    allow_only(
        params,
        &[
            "Identity",
            "Member",
            "BypassSecurityGroupManagerCheck",
            "Confirm",
        ],
    )?;
    let id = identity(params, "Identity")?;
    let member = identity(params, "Member")?;
    let group = distribution_group(state, &id)?;
    let name = state.groups[group].display_name.clone();
    if state.groups[group].on_prem_synced {
        return Err(GraphError::cmdlet(
            StatusCode::BAD_REQUEST,
            format!(
                "Ex6A4C0D|Microsoft.Exchange.Management.Tasks.RecipientTaskException|The action 'Add-DistributionGroupMember', 'Members', can't be performed on the object '{name}' because the object is being synchronized from your on-premises organization. This action should be performed on the object in your on-premises organization."
            ),
        ));
    }
    if param(params, "BypassSecurityGroupManagerCheck").and_then(Value::as_bool) != Some(true) {
        return Err(GraphError::cmdlet(
            StatusCode::BAD_REQUEST,
            "Ex2D8E21|Microsoft.Exchange.Management.Tasks.RecipientTaskException|You don't have sufficient permissions. This operation can only be performed by a manager of the group.".to_owned(),
        ));
    }
    let user = find_recipient(state, &member).ok_or_else(|| not_found(&member))?;
    if state.is_member(group, user) {
        return Err(GraphError::cmdlet(
            StatusCode::BAD_REQUEST,
            format!(
                "Ex4B1F7E|Microsoft.Exchange.Management.Tasks.MemberAlreadyExistsException|The recipient \"{member}\" is already a member of the group \"{name}\"."
            ),
        ));
    }
    state.join(group, user, actor);
    Ok(())
}

fn remove_dl_member(
    state: &mut TenantState,
    params: &Map<String, Value>,
    actor: &crate::microsoft::audit::Actor,
) -> Result<(), GraphError> {
    allow_only(
        params,
        &[
            "Identity",
            "Member",
            "BypassSecurityGroupManagerCheck",
            "Confirm",
        ],
    )?;
    let id = identity(params, "Identity")?;
    let member = identity(params, "Member")?;
    let group = distribution_group(state, &id)?;
    let name = state.groups[group].display_name.clone();
    if state.groups[group].on_prem_synced {
        return Err(GraphError::cmdlet(
            StatusCode::BAD_REQUEST,
            format!(
                "Ex6A4C0D|Microsoft.Exchange.Management.Tasks.RecipientTaskException|The action 'Remove-DistributionGroupMember', 'Members', can't be performed on the object '{name}' because the object is being synchronized from your on-premises organization. This action should be performed on the object in your on-premises organization."
            ),
        ));
    }
    // Groups here have no owners (ManagedBy), so a caller that is not a
    // manager must say it bypasses the manager check.
    if param(params, "BypassSecurityGroupManagerCheck").and_then(Value::as_bool) != Some(true) {
        return Err(GraphError::cmdlet(
            StatusCode::BAD_REQUEST,
            "Ex2D8E21|Microsoft.Exchange.Management.Tasks.RecipientTaskException|You don't have sufficient permissions. This operation can only be performed by a manager of the group.".to_owned(),
        ));
    }
    let user = find_recipient(state, &member).ok_or_else(|| not_found(&member))?;
    if !state.is_member(group, user) {
        return Err(GraphError::cmdlet(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "Ex3A2B14|Microsoft.Exchange.Management.Tasks.MemberNotFoundException|The recipient \"{member}\" isn't a member of the group \"{name}\"."
            ),
        ));
    }
    state.remove_member(group, user, actor);
    Ok(())
}
