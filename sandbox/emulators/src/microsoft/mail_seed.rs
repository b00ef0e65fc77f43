//! Seeding and reading inbox rules and calendar permissions from tests and the demo: what the
//! mail sweep takes away (a leaver's forwarding rules, colleagues' rules forwarding to the
//! leaver, the leaver's permissions on colleagues' calendars).

use serde_json::{Value, json};

use super::MicrosoftEmulator;
use super::calendar::CalendarGrant;
use super::model::{RuleRecord, RuleView};

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

    /// The inbox rules of `user`'s mailbox now (none without a mailbox).
    pub fn inbox_rules(&self, user: &str) -> Vec<RuleView> {
        self.mailbox(user).map(|m| m.rules).unwrap_or_default()
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
