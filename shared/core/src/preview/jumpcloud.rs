//! JumpCloud, from the snapshot's user, `groups`, bound `systems` and `admin_access`.

use super::{Context, Preview, device_verb, list, names};
use crate::domain::Action;
use serde_json::Value;

pub(super) fn preview(action: Action, state: &Value, cx: Context<'_>) -> Preview {
    match action {
        Action::Snapshot => Preview::nothing(format!(
            "reads state {}, {} user groups, {} bound systems",
            state["state"].as_str().unwrap_or("unknown"),
            list(state, "groups").len(),
            list(state, "systems").len()
        )),
        Action::RemoveAdminRoles => {
            let access = &state["admin_access"];
            let devices = list(access, "systems").len();
            match (access["sudo"] == true, devices) {
                (false, 0) => Preview::nothing("no sudo rights recorded"),
                (true, 0) => Preview::change("remove the account-wide sudo"),
                (false, n) => Preview::change(format!("remove sudo on {n} bound systems")),
                (true, n) => Preview::change(format!(
                    "remove the account-wide sudo and sudo on {n} bound systems"
                )),
            }
        }
        Action::Suspend if state["suspended"] == true => Preview::nothing("already suspended"),
        Action::Suspend => Preview::change("suspend (logs the user out of devices and resources)"),
        Action::RemoveGroups => match names(list(state, "groups"), "name") {
            g if g.is_empty() => Preview::nothing("no user group membership"),
            g => Preview::change(format!("remove groups {}", g.join(", "))),
        },
        Action::SecureDevices => {
            let verb = cx
                .policy
                .jumpcloud
                .as_ref()
                .and_then(|j| device_verb(j.devices));
            match (verb, names(list(state, "systems"), "hostname")) {
                (None, _) => Preview::nothing("the tenant's policy leaves devices alone"),
                (Some(_), s) if s.is_empty() => Preview::nothing("no bound systems"),
                (Some(verb), s) => Preview::change(format!("{verb} devices {}", s.join(", "))),
            }
        }
        other => Preview::cannot(format!("the JumpCloud connector cannot {other}")),
    }
}
