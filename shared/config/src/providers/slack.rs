//! `[tenants.slack]`: the workspace's plan (which decides what the API allows), a dedicated
//! admin's user token, and on a plan without SCIM the person who deactivates members by hand.

use super::saas::{OwnerTaskConfig, SeatConfig};
use super::{parse_url, secret};
use anyhow::{Context, Result, bail};
use passage_connectors::slack::{API_URL, SCIM_URL, SlackSettings};
use passage_core::{SlackPlan, SlackPolicy};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    pub plan: SlackPlan,
    /// A user token (`xoxp-…`) with `admin`, `users:read`, `users:read.email`, and on
    /// Enterprise Grid `admin.users:read` and `admin.users:write`. Not needed on a plan
    /// without SCIM.
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default = "api_url")]
    pub api_url: String,
    #[serde(default = "scim_url")]
    pub scim_url: String,
    /// Who deactivates members by hand on Free or Pro.
    #[serde(default)]
    pub owner: Option<String>,
    /// Remove the account for good this many days after the cutoff.
    #[serde(default)]
    pub remove_after_days: Option<f64>,
    /// Remove it at the cutoff itself (accepting that it cannot be undone).
    #[serde(default)]
    pub remove_at_cutoff: bool,
    /// Whether the app's steps hold the closure gate (default: yes).
    #[serde(default)]
    pub critical: Option<bool>,
    #[serde(default)]
    pub due_after_hours: Option<f64>,
    #[serde(default)]
    pub remind_every_hours: Option<f64>,
    #[serde(default)]
    pub escalate_after_hours: Option<f64>,
}

fn api_url() -> String {
    API_URL.into()
}
fn scim_url() -> String {
    SCIM_URL.into()
}

impl SlackConfig {
    fn seat(&self) -> SeatConfig {
        SeatConfig {
            remove_after_days: self.remove_after_days,
            remove_at_cutoff: self.remove_at_cutoff,
            critical: self.critical,
        }
    }
    /// The connector's settings, for a plan with SCIM; `at` names the tenant in messages.
    pub(crate) fn settings(&self, at: &str) -> Result<Option<SlackSettings>> {
        if !self.plan.has_scim() {
            return Ok(None);
        }
        let token = self
            .token
            .as_deref()
            .with_context(|| format!("{at}: slack.token is needed on a plan with SCIM"))?;
        Ok(Some(SlackSettings {
            api_url: parse_url(at, "slack.api_url", &self.api_url)?,
            scim_url: parse_url(at, "slack.scim_url", &self.scim_url)?,
            token: secret(at, token)?,
            policy: self.policy()?,
        }))
    }

    /// What a leaver run does in Slack. Slack removes no member for good, so the deactivation
    /// is the end state.
    pub(crate) fn policy(&self) -> Result<SlackPolicy> {
        if !self.plan.has_scim() && self.owner.is_none() {
            bail!(
                "slack: a {:?} workspace has no SCIM API; name the owner who deactivates members by hand (slack.owner)",
                self.plan
            );
        }
        let seat = self.seat().plan("slack", false)?;
        Ok(SlackPolicy {
            plan: self.plan,
            manual: OwnerTaskConfig {
                due_after_hours: self.due_after_hours,
                remind_every_hours: self.remind_every_hours,
                escalate_after_hours: self.escalate_after_hours,
            }
            .policy(seat.critical, "slack")?,
            seat,
            owner: self.owner.clone(),
        })
    }
}
