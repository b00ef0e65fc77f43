//! Microsoft 365 / Entra ID / Intune / Exchange, from the snapshot's user, `groups`,
//! `auth_methods`, `mailbox`, `devices` and `licenseAssignmentStates`.

use super::{Context, Preview, device_verb, list, names};
use crate::domain::Action;
use serde_json::Value;

pub(super) fn preview(action: Action, state: &Value, cx: Context<'_>) -> Preview {
    match action {
        Action::Snapshot => Preview::nothing(format!(
            "reads sign-in {}, {} groups, {} authentication methods, {} licence assignments, {} managed devices",
            if enabled(state) { "enabled" } else { "blocked" },
            list(state, "groups").len(),
            list(state, "auth_methods").len(),
            list(state, "licenseAssignmentStates").len(),
            list(state, "devices").len()
        )),
        Action::Suspend if !enabled(state) => Preview::nothing("sign-in is already blocked"),
        Action::Suspend if state["onPremisesSyncEnabled"] == true => Preview::cannot(
            "synced from on-premises AD, so Graph cannot block sign-in: disable the account in on-premises AD",
        ),
        Action::Suspend => Preview::change("block sign-in"),
        Action::RevokeSessions => Preview::change("revoke every sign-in session and refresh token"),
        Action::ResetFactors => factors(state),
        Action::RemoveGroups => groups(state),
        Action::SetAutoReply => auto_reply(state, cx),
        Action::ForwardMail => match cx.delegate {
            Some(to) => Preview::change(format!("forward new mail to {to}"))
                .with_note("a run leaves an existing identical rule as it is"),
            None => Preview::cannot("the leaver has no manager to forward mail to"),
        },
        Action::ConvertMailbox => match mailbox(state) {
            Err(why) => Preview::cannot(why),
            Ok(m) if m["userPurpose"] == "shared" => Preview::nothing("already a shared mailbox"),
            Ok(_) => Preview::change("convert the mailbox to shared"),
        },
        Action::SecureDevices => devices(state, cx),
        Action::RemoveLicenses => licences(state),
        other => Preview::cannot(format!("the Microsoft connector cannot {other}")),
    }
}

fn enabled(state: &Value) -> bool {
    state["accountEnabled"].as_bool().unwrap_or(true)
}

fn mailbox(state: &Value) -> Result<&Value, String> {
    let m = &state["mailbox"];
    match m["unreachable"].as_str() {
        Some(code) => Err(format!("the mailbox cannot be reached ({code})")),
        None => Ok(m),
    }
}

fn factors(state: &Value) -> Preview {
    let kinds: Vec<&str> = list(state, "auth_methods")
        .iter()
        .filter_map(|m| m["type"].as_str())
        .filter(|t| *t != "passwordAuthenticationMethod")
        .collect();
    if kinds.is_empty() {
        return Preview::nothing("only the password is registered");
    }
    Preview::change(format!(
        "remove {} authentication methods ({})",
        kinds.len(),
        kinds.join(", ")
    ))
}

/// Where a membership can be removed, as the connector routes it.
fn group_blocker(g: &Value) -> Option<&'static str> {
    let dynamic = g["groupTypes"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t == "DynamicMembership"));
    if dynamic {
        Some(
            "dynamic group: its membership rule re-adds the user; change the user's attributes or the rule",
        )
    } else if g["onPremisesSyncEnabled"] == true {
        Some("synced from on-premises AD; remove the membership there")
    } else {
        None
    }
}

fn groups(state: &Value) -> Preview {
    let (fixed, changeable): (Vec<&Value>, Vec<&Value>) = list(state, "groups")
        .iter()
        .partition(|g| group_blocker(g).is_some());
    let cannot = fixed
        .iter()
        .map(|g| {
            let name = g["displayName"].as_str().unwrap_or("(unnamed)");
            format!("{name}: {}", group_blocker(g).unwrap_or_default())
        })
        .collect();
    let names = names(changeable, "displayName");
    Preview {
        note: names
            .is_empty()
            .then(|| "no group membership can be changed".into()),
        changes: if names.is_empty() {
            vec![]
        } else {
            vec![format!("remove groups {}", names.join(", "))]
        },
        cannot,
    }
}

fn auto_reply(state: &Value, cx: Context<'_>) -> Preview {
    let text = cx
        .policy
        .microsoft
        .as_ref()
        .and_then(|m| m.auto_reply.as_deref());
    let Some(text) = text else {
        return Preview::cannot("the tenant's Microsoft policy has no auto-reply text");
    };
    let setting = match mailbox(state) {
        Ok(m) => &m["automaticRepliesSetting"],
        Err(why) => return Preview::cannot(why),
    };
    let same = |field: &str| setting[field].as_str().map(str::trim) == Some(text.trim());
    if setting["status"] == "alwaysEnabled"
        && setting["externalAudience"] == "all"
        && same("internalReplyMessage")
        && same("externalReplyMessage")
    {
        return Preview::nothing("the automatic reply is already set");
    }
    Preview::change("set the automatic reply")
}

fn devices(state: &Value, cx: Context<'_>) -> Preview {
    let verb = cx
        .policy
        .microsoft
        .as_ref()
        .and_then(|m| device_verb(m.devices));
    let Some(verb) = verb else {
        return Preview::nothing("the tenant's policy leaves devices alone");
    };
    match names(list(state, "devices"), "deviceName") {
        d if d.is_empty() => Preview::nothing("no Intune-managed devices"),
        d => Preview::change(format!("{verb} devices {}", d.join(", ")))
            .with_note("a device already so acted on is left as it is"),
    }
}

fn licences(state: &Value) -> Preview {
    let (inherited, direct): (Vec<&Value>, Vec<&Value>) = list(state, "licenseAssignmentStates")
        .iter()
        .partition(|s| !s["assignedByGroup"].is_null());
    let cannot = inherited
        .iter()
        .map(|s| {
            format!(
                "{}: inherited from a group; remove the group membership or the group's licence",
                s["skuId"].as_str().unwrap_or("(unknown sku)")
            )
        })
        .collect();
    let skus = names(direct, "skuId");
    Preview {
        note: skus
            .is_empty()
            .then(|| "no directly assigned licence".into()),
        changes: if skus.is_empty() {
            vec![]
        } else {
            vec![format!("remove licences {}", skus.join(", "))]
        },
        cannot,
    }
}
