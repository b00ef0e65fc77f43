//! Google Workspace, from the snapshot's user, `groups`, `tokens`, `asps`, `backup_codes`,
//! `licenses`, `mobile_devices` and `mail`.

use super::{Context, Preview, device_verb, list, names};
use crate::domain::{Action, DeviceAction};
use serde_json::Value;

pub(super) fn preview(action: Action, state: &Value, cx: Context<'_>) -> Preview {
    match action {
        Action::Snapshot => Preview::nothing(format!(
            "reads suspended {}, {} groups, {} OAuth tokens, {} app passwords, {} licences, {} mobile devices",
            suspended(state),
            list(state, "groups").len(),
            list(state, "tokens").len(),
            list(state, "asps").len(),
            list(state, "licenses").len(),
            list(state, "mobile_devices").len()
        )),
        Action::Suspend if suspended(state) => Preview::nothing("already suspended"),
        Action::Suspend => Preview::change("suspend"),
        Action::RevokeSessions => Preview::change("sign the user out of every session"),
        Action::RevokeGrants => grants(state),
        Action::RemoveGroups => match names(list(state, "groups"), "email") {
            g if g.is_empty() => Preview::nothing("no direct group membership"),
            g => Preview::change(format!("remove groups {}", g.join(", "))),
        },
        Action::SecureDevices => devices(state, cx),
        Action::RemoveLicenses => match names(list(state, "licenses"), "skuName") {
            l if l.is_empty() => Preview::nothing("no licence assigned"),
            l => Preview::change(format!("release licences {}", l.join(", "))),
        },
        Action::DelegateMailbox | Action::ForwardMail | Action::SetAutoReply => {
            mail(action, state, cx)
        }
        Action::TransferData => match cx.delegate {
            Some(to) => Preview::change(format!("transfer Drive and Calendar data to {to}")),
            None => Preview::cannot("the leaver has no manager to receive their files"),
        },
        other => Preview::cannot(format!("the Google connector cannot {other}")),
    }
}

fn suspended(state: &Value) -> bool {
    state["suspended"] == true
}

fn grants(state: &Value) -> Preview {
    let tokens = list(state, "tokens").len();
    let asps = list(state, "asps").len();
    let codes = state["backup_codes"].as_u64().unwrap_or(0);
    let mut changes = Vec::new();
    if tokens > 0 {
        changes.push(format!("revoke {tokens} OAuth tokens"));
    }
    if asps > 0 {
        changes.push(format!("delete {asps} app passwords"));
    }
    if codes > 0 {
        changes.push(format!("invalidate {codes} backup codes"));
    }
    Preview {
        note: changes
            .is_empty()
            .then(|| "no tokens, app passwords or backup codes".into()),
        changes,
        cannot: vec![],
    }
}

fn devices(state: &Value, cx: Context<'_>) -> Preview {
    let action = cx
        .policy
        .google
        .as_ref()
        .map_or(DeviceAction::None, |g| g.devices);
    let found = names(list(state, "mobile_devices"), "model");
    match device_verb(action) {
        None => Preview::nothing("the tenant's policy leaves devices alone"),
        Some(_) if found.is_empty() => Preview::nothing("no managed mobile devices"),
        Some(_) if action == DeviceAction::Lock => Preview::cannot(
            "Google endpoint management cannot lock a mobile device; set the policy to retire or wipe",
        ),
        Some(verb) => Preview::change(format!("{verb} mobile devices {}", found.join(", "))),
    }
}

/// Gmail settings are read (and changed) only while the user is active with a mailbox.
fn mail(action: Action, state: &Value, cx: Context<'_>) -> Preview {
    if let Some(why) = state["mail"]["unavailable"].as_str() {
        return Preview::cannot(why.to_owned());
    }
    match (action, cx.delegate) {
        (Action::SetAutoReply, _) => Preview::change("set the vacation reply"),
        (_, None) => Preview::cannot("the leaver has no manager to hand mail to"),
        (Action::DelegateMailbox, Some(to)) => {
            let already = list(&state["mail"], "delegates")
                .iter()
                .any(|d| d["delegateEmail"].as_str() == Some(to));
            if already {
                Preview::nothing(format!("{to} is already a delegate"))
            } else {
                Preview::change(format!("give {to} access to the mailbox"))
            }
        }
        (_, Some(to)) => Preview::change(format!("forward new mail to {to}")),
    }
}
