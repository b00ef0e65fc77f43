//! Seeding and reading inbox rules and calendar permissions from tests and the demo: what the
//! mail sweep takes away (a leaver's forwarding rules, colleagues' rules forwarding to the
//! leaver, the leaver's permissions on colleagues' calendars).

use serde_json::{Value, json};

use super::MicrosoftEmulator;
use super::calendar::CalendarGrant;
use super::model::RuleRecord;

/// An inbox rule as a test reads it: who it forwards and redirects to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxRuleView {
    pub id: String,
    pub display_name: String,
    /// Addresses under `forwardTo` and `forwardAsAttachmentTo`.
    pub forward_to: Vec<String>,
    /// Addresses under `redirectTo`.
    pub redirect_to: Vec<String>,
}

/// A permission on a user's calendar as a test reads it (the "My Organization" entry left out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarPermissionView {
    pub id: String,
    pub address: String,
    pub role: String,
}

fn recipients(list: &[&str]) -> Value {
    list.iter()
        .map(|a| json!({"emailAddress": {"address": a, "name": a}}))
        .collect()
}

fn addresses(actions: &Value, keys: &[&str]) -> Vec<String> {
    keys.iter()
        .filter_map(|k| actions[*k].as_array())
        .flatten()
        .filter_map(|r| r.pointer("/emailAddress/address").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

impl MicrosoftEmulator {
    /// Adds an enabled inbox rule to `user`'s mailbox forwarding to `forward_to` and
    /// redirecting to `redirect_to`; returns its id, `None` for an unknown user or no mailbox.
    pub fn seed_inbox_rule(
        &self,
        user: &str,
        name: &str,
        forward_to: &[&str],
        redirect_to: &[&str],
    ) -> Option<String> {
        let mut t = self.tenant();
        let u = t.find_user(user)?;
        let id = t.new_rule_id();
        let mb = t.users[u].mailbox.as_mut()?;
        let sequence = mb.rules.iter().map(|r| r.sequence).max().unwrap_or(0) + 1;
        let mut actions = json!({"stopProcessingRules": false});
        if !forward_to.is_empty() {
            actions["forwardTo"] = recipients(forward_to);
        }
        if !redirect_to.is_empty() {
            actions["redirectTo"] = recipients(redirect_to);
        }
        mb.rules.push(RuleRecord {
            id: id.clone(),
            display_name: name.to_owned(),
            sequence,
            is_enabled: true,
            conditions: json!({}),
            actions,
            exceptions: json!({}),
        });
        Some(id)
    }

    /// The inbox rules of `user`'s mailbox now.
    pub fn inbox_rules(&self, user: &str) -> Vec<InboxRuleView> {
        let t = self.tenant();
        let Some(mb) = t.find_user(user).and_then(|u| t.users[u].mailbox.as_ref()) else {
            return Vec::new();
        };
        mb.rules
            .iter()
            .map(|r| InboxRuleView {
                id: r.id.clone(),
                display_name: r.display_name.clone(),
                forward_to: addresses(&r.actions, &["forwardTo", "forwardAsAttachmentTo"]),
                redirect_to: addresses(&r.actions, &["redirectTo"]),
            })
            .collect()
    }

    /// Gives `grantee` (an address, inside the tenant or not) a `role` on `owner`'s calendar;
    /// returns the permission's id, `None` for an unknown owner.
    pub fn seed_calendar_permission(
        &self,
        owner: &str,
        grantee: &str,
        role: &str,
    ) -> Option<String> {
        let mut t = self.tenant();
        let o = t.find_user(owner)?;
        let name = t
            .find_user(grantee)
            .map_or_else(|| grantee.to_owned(), |g| t.users[g].display_name.clone());
        let id = t.new_rule_id();
        t.sweep.calendar.push(CalendarGrant {
            owner: o,
            id: id.clone(),
            address: grantee.to_owned(),
            name,
            role: role.to_owned(),
        });
        Some(id)
    }

    /// The permissions on `owner`'s calendar now, "My Organization" left out.
    pub fn calendar_permissions(&self, owner: &str) -> Vec<CalendarPermissionView> {
        let t = self.tenant();
        let Some(o) = t.find_user(owner) else {
            return Vec::new();
        };
        t.sweep
            .calendar
            .iter()
            .filter(|g| g.owner == o)
            .map(|g| CalendarPermissionView {
                id: g.id.clone(),
                address: g.address.clone(),
                role: g.role.clone(),
            })
            .collect()
    }

    /// Knob: inbox-rule and calendar-permission lists page one item at a time and every page
    /// after the first answers 500 while on (a list that fails mid-paging).
    pub fn fail_mail_pages(&self, on: bool) {
        self.tenant().sweep.fail_mail_pages = on;
    }
}
