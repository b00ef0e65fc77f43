//! Grants on mailboxes other than the leaver's own, as Exchange Online's cmdlets serve them:
//! `Remove-MailboxPermission` (FullAccess), `Get-RecipientPermission` /
//! `Remove-RecipientPermission` (SendAs), and `Set-Mailbox -GrantSendOnBehalfTo
//! @{remove=…}` (SendOnBehalf; `Get-Mailbox` lists it). Removing a right the trustee does not
//! hold answers with a warning, as Exchange does, never an error.

use serde_json::{Map, Value, json};

use super::exchange::{allow_only, find_recipient, identity, mailbox_owner, not_found, param};
use crate::microsoft::errors::GraphError;
use crate::microsoft::state::TenantState;

type Rows = (Vec<Value>, Vec<String>);

fn alias(state: &TenantState, user: usize) -> String {
    state.users[user]
        .upn
        .split('@')
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn trustee_upn(state: &TenantState, who: &str) -> Result<String, GraphError> {
    let user = find_recipient(state, who).ok_or_else(|| not_found(who))?;
    Ok(state.users[user].upn.clone())
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// `Remove-MailboxPermission -Identity -User -AccessRights FullAccess`.
pub(super) fn remove_full_access(
    state: &mut TenantState,
    params: &Map<String, Value>,
) -> Result<Rows, GraphError> {
    allow_only(
        params,
        &[
            "Identity",
            "User",
            "AccessRights",
            "InheritanceType",
            "Confirm",
            "BypassMasterAccountSid",
        ],
    )?;
    let mailbox = mailbox_owner(state, &identity(params, "Identity")?)?;
    let upn = trustee_upn(state, &identity(params, "User")?)?;
    let subject = state.users[mailbox].id.clone();
    let Some(mb) = state.users[mailbox].mailbox.as_mut() else {
        return Err(not_found(&subject));
    };
    let before = mb.full_access.len();
    mb.full_access.retain(|d| !same(d, &upn));
    let removed = mb.full_access.len() != before;
    state
        .effects
        .record("remove_full_access", &subject, &upn, removed);
    let warnings = if removed {
        Vec::new()
    } else {
        vec![format!(
            "Can't remove the access control entry on the object \"{}\" for account \"{upn}\" because the ACE doesn't exist on the object.",
            alias(state, mailbox)
        )]
    };
    Ok((Vec::new(), warnings))
}

fn send_as_json(state: &TenantState, mailbox: usize, trustee: &str) -> Value {
    json!({
        "Identity": alias(state, mailbox),
        "Trustee": trustee,
        "AccessControlType": "Allow",
        "AccessRights": ["SendAs"],
        "IsInherited": false,
    })
}

/// `Get-RecipientPermission -Identity [-Trustee]`: the SendAs rights on a mailbox.
pub(super) fn get_send_as(
    state: &TenantState,
    params: &Map<String, Value>,
) -> Result<Vec<Value>, GraphError> {
    allow_only(
        params,
        &["Identity", "Trustee", "AccessRights", "ResultSize"],
    )?;
    let mailbox = mailbox_owner(state, &identity(params, "Identity")?)?;
    let trustee = match param(params, "Trustee").and_then(Value::as_str) {
        Some(t) => Some(trustee_upn(state, t)?),
        None => None,
    };
    Ok(state
        .sweep
        .send_as
        .iter()
        .filter(|(m, t)| *m == mailbox && trustee.as_deref().is_none_or(|want| same(t, want)))
        .map(|(_, t)| send_as_json(state, mailbox, t))
        .collect())
}

/// `Remove-RecipientPermission -Identity -Trustee -AccessRights SendAs`.
pub(super) fn remove_send_as(
    state: &mut TenantState,
    params: &Map<String, Value>,
) -> Result<Rows, GraphError> {
    allow_only(params, &["Identity", "Trustee", "AccessRights", "Confirm"])?;
    let mailbox = mailbox_owner(state, &identity(params, "Identity")?)?;
    let upn = trustee_upn(state, &identity(params, "Trustee")?)?;
    let before = state.sweep.send_as.len();
    state
        .sweep
        .send_as
        .retain(|(m, t)| !(*m == mailbox && same(t, &upn)));
    let removed = state.sweep.send_as.len() != before;
    let subject = state.users[mailbox].id.clone();
    state
        .effects
        .record("remove_send_as", &subject, &upn, removed);
    let warnings = if removed {
        Vec::new()
    } else {
        vec![format!(
            "The appropriate access control entry for \"{upn}\" isn't present on object \"{}\".",
            alias(state, mailbox)
        )]
    };
    Ok((Vec::new(), warnings))
}

/// Who may send on behalf of a mailbox (`GrantSendOnBehalfTo`).
pub(super) fn send_on_behalf(state: &TenantState, mailbox: usize) -> Vec<String> {
    state
        .sweep
        .send_on_behalf
        .iter()
        .filter(|(m, _)| *m == mailbox)
        .map(|(_, t)| t.clone())
        .collect()
}

/// `Set-Mailbox -GrantSendOnBehalfTo @{remove="…"}` (or `@{add=…}`); the parameter is
/// taken out of `params` so the rest of `Set-Mailbox` sees only its own.
pub(super) fn apply_send_on_behalf(
    state: &mut TenantState,
    mailbox: usize,
    change: &Value,
) -> Result<bool, GraphError> {
    let list = |key: &str| -> Vec<String> {
        match change
            .get(key)
            .or_else(|| change.get(key.to_ascii_uppercase()))
        {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        }
    };
    let mut changed = false;
    for who in list("remove") {
        let upn = trustee_upn(state, &who)?;
        let before = state.sweep.send_on_behalf.len();
        state
            .sweep
            .send_on_behalf
            .retain(|(m, t)| !(*m == mailbox && same(t, &upn)));
        changed |= state.sweep.send_on_behalf.len() != before;
    }
    for who in list("add") {
        let upn = trustee_upn(state, &who)?;
        if !send_on_behalf(state, mailbox).iter().any(|t| same(t, &upn)) {
            state.sweep.send_on_behalf.push((mailbox, upn));
            changed = true;
        }
    }
    Ok(changed)
}
