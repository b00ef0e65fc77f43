//! What every SaaS section shares: when the seat ends (`remove_after_days`,
//! `remove_at_cutoff`, `critical`), the owner's reminders for an app without an API, and the
//! rules for the names a tenant gives its apps. `[[tenants.manual_apps]]` lives here too.

use crate::policy::hours;
use anyhow::{Result, bail};
use passage_core::{HumanStepPolicy, ManualAppPolicy, SeatPlan};
use serde::Deserialize;
use std::time::Duration;

/// When an app's account ends, as each section writes it (`remove_after_days`,
/// `remove_at_cutoff`, `critical`; serde cannot flatten these into sections that refuse
/// unknown keys, so each section carries the three and lends them here).
#[derive(Debug, Default)]
pub struct SeatConfig {
    /// Remove the account for good this many days after the cutoff, after the reversible
    /// deactivation at the cutoff.
    pub remove_after_days: Option<f64>,
    /// Remove it at the cutoff itself: for apps whose only way to end an account cannot be
    /// undone, and tenants who accept that.
    pub remove_at_cutoff: bool,
    /// Whether the app's steps hold the closure gate (default: yes).
    pub critical: Option<bool>,
}

impl SeatConfig {
    /// The seat plan; `removable` says whether the app can remove an account for good at all.
    pub(crate) fn plan(&self, what: &str, removable: bool) -> Result<SeatPlan> {
        if !removable && (self.remove_after_days.is_some() || self.remove_at_cutoff) {
            bail!(
                "{what}: this app has no removal beyond its deactivation; drop remove_after_days and remove_at_cutoff"
            );
        }
        if self.remove_at_cutoff && self.remove_after_days.is_some() {
            bail!("{what}: remove_at_cutoff and remove_after_days contradict each other; keep one");
        }
        let remove_after = match self.remove_after_days {
            None => None,
            Some(d) if d.is_finite() && d >= 0.0 => Some(Duration::from_secs_f64(d * 86_400.0)),
            Some(d) => bail!("{what}: remove_after_days must be a non-negative number, not {d}"),
        };
        Ok(SeatPlan {
            deactivate_first: !self.remove_at_cutoff,
            remove_after,
            critical: self.critical.unwrap_or(true),
        })
    }
}

/// How a person who removes accounts by hand is chased (each section's `due_after_hours`,
/// `remind_every_hours` and `escalate_after_hours`).
#[derive(Debug, Default)]
pub struct OwnerTaskConfig {
    pub due_after_hours: Option<f64>,
    pub remind_every_hours: Option<f64>,
    pub escalate_after_hours: Option<f64>,
}

impl OwnerTaskConfig {
    pub(crate) fn policy(&self, critical: bool, what: &str) -> Result<HumanStepPolicy> {
        let base = HumanStepPolicy::app_removal();
        Ok(HumanStepPolicy {
            critical,
            due_after: hours(
                self.due_after_hours,
                base.due_after,
                &format!("{what}.due_after_hours"),
            )?,
            remind_every: hours(
                self.remind_every_hours,
                base.remind_every,
                &format!("{what}.remind_every_hours"),
            )?,
            escalate_after: hours(
                self.escalate_after_hours,
                base.escalate_after,
                &format!("{what}.escalate_after_hours"),
            )?,
        })
    }
}

/// `[[tenants.manual_apps]]`: an app Passage cannot reach; its owner removes the account and
/// confirms it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualAppConfig {
    pub app: String,
    pub name: String,
    /// Who removes accounts and confirms it (an e-mail address).
    pub owner: String,
    #[serde(default)]
    pub critical: Option<bool>,
    #[serde(default)]
    pub due_after_hours: Option<f64>,
    #[serde(default)]
    pub remind_every_hours: Option<f64>,
    #[serde(default)]
    pub escalate_after_hours: Option<f64>,
}

impl ManualAppConfig {
    pub(crate) fn policy(&self) -> Result<ManualAppPolicy> {
        let what = format!("manual_apps {}", self.app);
        if !self.owner.contains('@') {
            bail!("{what}: owner must be the e-mail address of who removes accounts there");
        }
        Ok(ManualAppPolicy {
            app: self.app.clone(),
            name: self.name.clone(),
            owner: self.owner.clone(),
            step: OwnerTaskConfig {
                due_after_hours: self.due_after_hours,
                remind_every_hours: self.remind_every_hours,
                escalate_after_hours: self.escalate_after_hours,
            }
            .policy(self.critical.unwrap_or(true), &what)?,
        })
    }
}

/// A tenant's name for an app: 1-32 of `[a-z0-9-]`, unique among its apps, and never the name
/// of a built-in app (it becomes part of step keys and bundle paths).
pub(crate) fn check_app_names<'a>(names: impl Iterator<Item = &'a str>) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for name in names {
        let valid = !name.is_empty()
            && name.len() <= 32
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            bail!("app name {name:?} must be 1-32 of a-z, 0-9 and -");
        }
        if ["slack", "github"].contains(&name) {
            bail!("app name {name:?} is taken by the built-in connector; use [tenants.{name}]");
        }
        if !seen.insert(name) {
            bail!("app name {name:?} is used twice");
        }
    }
    Ok(())
}
