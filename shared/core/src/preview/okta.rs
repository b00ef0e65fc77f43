//! Okta, from the snapshot's `status`, `groups`, `grants` and `app_links`.

use super::{Preview, list, names};
use crate::domain::Action;
use serde_json::Value;

/// Only these memberships can be changed through the API (as the connector decides).
const MANAGEABLE_GROUP: &str = "OKTA_GROUP";

pub(super) fn preview(action: Action, state: &Value) -> Preview {
    let status = state["status"].as_str().unwrap_or("unknown");
    match action {
        Action::Snapshot => Preview::nothing(format!(
            "reads status {status}, {} groups, {} grants, {} app links",
            list(state, "groups").len(),
            list(state, "grants").len(),
            list(state, "app_links").len()
        )),
        // Okta answers a session clear the same whether or not any session exists, so a run
        // always makes the call.
        Action::RevokeSessions => Preview::change("clear every session and revoke OAuth tokens"),
        Action::RevokeGrants => match list(state, "grants").len() {
            0 => Preview::nothing("no consent grants"),
            n => Preview::change(format!("revoke {n} consent grants")),
        },
        Action::RemoveGroups => groups(state),
        Action::Suspend => match status {
            "ACTIVE" => Preview::change("suspend (now ACTIVE)"),
            "SUSPENDED" | "DEPROVISIONED" => Preview::nothing(format!("already {status}")),
            other => Preview::cannot(format!(
                "Okta only suspends ACTIVE users and this one is {other}"
            )),
        },
        Action::Deactivate => match status {
            "DEPROVISIONED" => Preview::nothing("already DEPROVISIONED"),
            other => Preview::change(format!(
                "deactivate (now {other}); Okta deprovisions every assigned app"
            )),
        },
        Action::ResetFactors => Preview::change("remove every enrolled factor")
            .with_note("the snapshot does not list factors; a run reads them first"),
        Action::UnassignApps => match names(list(state, "app_links"), "label") {
            apps if apps.is_empty() => Preview::nothing("no app links"),
            apps => Preview::change(format!("unassign direct apps among {}", apps.join(", ")))
                .with_note("apps assigned through a group go with the group membership"),
        },
        other => Preview::cannot(format!("the Okta connector cannot {other}")),
    }
}

fn groups(state: &Value) -> Preview {
    let (manageable, fixed): (Vec<&Value>, Vec<&Value>) = list(state, "groups")
        .iter()
        .partition(|g| g["type"] == MANAGEABLE_GROUP);
    let cannot = fixed
        .iter()
        .map(|g| {
            let why = if g["type"] == "BUILT_IN" {
                "built-in group; every user is a member"
            } else {
                "membership is managed by the source directory; remove it there"
            };
            format!("{}: {why}", g["name"].as_str().unwrap_or("(unnamed)"))
        })
        .collect();
    let changes = match names(manageable, "name") {
        n if n.is_empty() => vec![],
        n => vec![format!("remove groups {}", n.join(", "))],
    };
    let note = changes
        .is_empty()
        .then(|| "no group membership Okta can change".to_owned());
    Preview {
        changes,
        cannot,
        note,
    }
}
