//! The SaaS apps a leaver keeps once the identity providers are closed: what the tenant wants
//! done to each seat, and when.
//!
//! Every app's account is switched off at the cutoff, reversibly where the app allows it. An
//! app whose only way to end an account for good is irreversible (a SCIM `DELETE` that
//! anonymises) gets that removal as a later step of the same run, held for the tenant's grace
//! period, so a rehire or a mistaken termination can still be undone in the meantime. Apps
//! Passage cannot reach get a task for their named owner instead.

use super::HumanStepPolicy;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The tenant's SaaS apps, by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SaasPolicy {
    pub slack: Option<SlackPolicy>,
    pub github: Option<GithubPolicy>,
    /// Apps reached through their SCIM 2.0 endpoint, each under the tenant's name for it.
    pub scim: Vec<ScimAppPolicy>,
    /// Apps with no API Passage can use: their owners confirm by hand.
    pub manual: Vec<ManualAppPolicy>,
}

impl SaasPolicy {
    pub fn is_empty(&self) -> bool {
        self.slack.is_none()
            && self.github.is_none()
            && self.scim.is_empty()
            && self.manual.is_empty()
    }

    /// The SCIM app the tenant calls `app`.
    pub fn scim_app(&self, app: &str) -> Option<&ScimAppPolicy> {
        self.scim.iter().find(|a| a.app == app)
    }

    /// The app without an API the tenant calls `app` (Slack on a plan without SCIM included).
    pub fn manual_app(&self, app: &str) -> Option<ManualAppPolicy> {
        if let Some(m) = self.manual.iter().find(|a| a.app == app) {
            return Some(m.clone());
        }
        self.slack
            .as_ref()
            .filter(|s| app == "slack" && !s.plan.has_scim())
            .and_then(SlackPolicy::manual)
    }
}

/// When an app's account is ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeatPlan {
    /// Switch the account off at the cutoff with the app's reversible deactivation; `false`
    /// when the tenant accepts the irreversible removal at the cutoff itself.
    pub deactivate_first: bool,
    /// Remove the account for good this long after the cutoff; `None`: never (the reversible
    /// deactivation is the end state).
    pub remove_after: Option<Duration>,
    /// Whether the app's steps hold the closure gate.
    pub critical: bool,
}

impl SeatPlan {
    /// Deactivate reversibly at the cutoff and never remove.
    pub fn deactivate_only() -> Self {
        Self {
            deactivate_first: true,
            remove_after: None,
            critical: true,
        }
    }
}

/// What a SCIM app's two verbs mean there. RFC 7644 leaves both open: `active=false` may
/// suspend, delete or do nothing billable, and `DELETE` may deactivate (Slack) or anonymise for
/// good (GitHub EMU, Atlassian). The tenant says which, per app; Passage never trusts the verb.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScimAppPolicy {
    /// The tenant's name for the app (`[a-z0-9-]`), part of its steps' keys.
    pub app: String,
    /// How the app is shown to people (`Notion`).
    pub name: String,
    /// How the app switches an account off reversibly.
    pub deactivate_by: ScimDeactivation,
    /// Whether a `DELETE` can be undone (re-activated) in this app.
    pub delete_reversible: bool,
    /// Whether the reversible deactivation frees the paid seat.
    pub deactivation_frees_seat: bool,
    /// Whether the removal frees the paid seat.
    pub removal_frees_seat: bool,
    pub seat: SeatPlan,
}

/// How a SCIM app switches an account off reversibly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScimDeactivation {
    /// `PATCH` (or, where the server refuses PATCH, `PUT`) with `active: false`.
    PatchActive,
    /// `DELETE`, in an app where that deactivates rather than erases (Slack's SCIM).
    Delete,
}

/// What to do in Slack. SCIM exists only on Business+ and Enterprise Grid; session reset
/// through `admin.users.session.reset` only on Enterprise Grid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlackPolicy {
    pub plan: SlackPlan,
    pub seat: SeatPlan,
    /// Who deactivates members by hand on a plan without SCIM.
    pub owner: Option<String>,
    /// How that owner is chased.
    pub manual: HumanStepPolicy,
}

impl SlackPolicy {
    /// On a plan without SCIM, Slack is an app without an API for Passage.
    fn manual(&self) -> Option<ManualAppPolicy> {
        Some(ManualAppPolicy {
            app: "slack".into(),
            name: "Slack".into(),
            owner: self.owner.clone()?,
            step: self.manual.clone(),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlackPlan {
    Free,
    Pro,
    BusinessPlus,
    EnterpriseGrid,
}

impl SlackPlan {
    pub fn has_scim(self) -> bool {
        matches!(self, SlackPlan::BusinessPlus | SlackPlan::EnterpriseGrid)
    }

    /// `admin.users.session.reset` is an Enterprise Grid method.
    pub fn has_admin_api(self) -> bool {
        self == SlackPlan::EnterpriseGrid
    }
}

/// What to do in GitHub.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GithubPolicy {
    /// The organisation uses SAML single sign-on: revoke the leaver's credential
    /// authorizations (tokens and SSH keys authorised for it).
    pub saml_sso: bool,
    /// Cancel the leaver's Copilot seat.
    pub copilot: bool,
    /// Enterprise Managed Users: accounts live in the enterprise's SCIM, where `active=false`
    /// suspends and `DELETE` anonymises for good.
    pub emu: bool,
    pub seat: SeatPlan,
}

/// An app without an API: its owner is asked to remove the account and confirm it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManualAppPolicy {
    /// The tenant's name for the app (`[a-z0-9-]`), part of its step's key.
    pub app: String,
    pub name: String,
    /// Who removes the account and confirms it (an email address).
    pub owner: String,
    /// Whether the confirmation holds the gate, and when the owner is reminded.
    pub step: HumanStepPolicy,
}

/// What became of one seat, as a connector reports it in a step's output under `seat` and the
/// bundle's run summary lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatOutcome {
    /// `deactivated`, `removed`, `removed_from_organization`, `pending_cancellation`,
    /// `no_account`, `attested`.
    pub outcome: String,
    /// Whether the paid seat (or licence) is free now: `yes`, `no`, `at_cycle_end`, `unknown`.
    pub seat_freed: String,
    /// Whether a rehire could get this account back, and how.
    pub restorable: String,
    /// The app's id for the account (a SCIM id, a Slack member id, a GitHub login).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Licences or paid add-ons released with it (Copilot), each with when it is freed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licences: Vec<String>,
}

impl SeatOutcome {
    /// As the step output's `seat` field.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
