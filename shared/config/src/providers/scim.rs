//! `[[tenants.scim_apps]]`: any app with a SCIM 2.0 endpoint, under the tenant's name for it,
//! with what the app's verbs mean there. Passage never trusts a verb's name: the tenant says
//! whether `active=false` or `DELETE` is the reversible switch-off, whether `DELETE` can be
//! undone, and which of them frees the paid seat.

use super::saas::SeatConfig;
use super::{parse_url, secret};
use anyhow::{Result, bail};
use passage_connectors::scim::ScimSettings;
use passage_core::{ScimAppPolicy, ScimDeactivation};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimAppConfig {
    /// The tenant's name for the app (`notion`): 1-32 of a-z, 0-9 and -.
    pub app: String,
    /// How people know it (`Notion`).
    pub name: String,
    /// The SCIM base URL, with its version path.
    pub base_url: String,
    /// The bearer token (usually `env:…` or `file:…`).
    pub token: String,
    #[serde(default = "patch_active")]
    pub deactivate_by: ScimDeactivation,
    /// Whether the app can undo a `DELETE`.
    #[serde(default)]
    pub delete_reversible: bool,
    #[serde(default)]
    pub deactivation_frees_seat: bool,
    #[serde(default = "crate::file::yes")]
    pub removal_frees_seat: bool,
    /// Remove the account for good this many days after the cutoff.
    #[serde(default)]
    pub remove_after_days: Option<f64>,
    /// Remove it at the cutoff itself (accepting that it cannot be undone).
    #[serde(default)]
    pub remove_at_cutoff: bool,
    /// Whether the app's steps hold the closure gate (default: yes).
    #[serde(default)]
    pub critical: Option<bool>,
}

fn patch_active() -> ScimDeactivation {
    ScimDeactivation::PatchActive
}

impl ScimAppConfig {
    fn seat(&self) -> SeatConfig {
        SeatConfig {
            remove_after_days: self.remove_after_days,
            remove_at_cutoff: self.remove_at_cutoff,
            critical: self.critical,
        }
    }
    fn what(&self) -> String {
        format!("scim_apps {}", self.app)
    }

    /// The connector's settings; `at` names the tenant in messages.
    pub(crate) fn settings(&self, at: &str) -> Result<ScimSettings> {
        let what = self.what();
        Ok(ScimSettings {
            base_url: parse_url(at, &format!("{what}.base_url"), &self.base_url)?,
            token: secret(at, &self.token)?,
            policy: self.policy()?,
        })
    }

    /// What a leaver run does in the app. An app whose only switch-off cannot be undone is
    /// switched off at the cutoff only when the tenant says so (`remove_at_cutoff`).
    pub(crate) fn policy(&self) -> Result<ScimAppPolicy> {
        let what = self.what();
        let delete_deactivates = self.deactivate_by == ScimDeactivation::Delete;
        if delete_deactivates && !self.delete_reversible && !self.remove_at_cutoff {
            bail!(
                "{what}: the app's DELETE cannot be undone, so it is no reversible deactivation; set remove_at_cutoff = true to accept removal at the cutoff, or deactivate_by = \"patch_active\" if the app takes active=false"
            );
        }
        // Where DELETE is the deactivation, there is no further removal to wait for.
        let removable = !(delete_deactivates && self.delete_reversible);
        Ok(ScimAppPolicy {
            app: self.app.clone(),
            name: self.name.clone(),
            deactivate_by: self.deactivate_by,
            delete_reversible: self.delete_reversible,
            deactivation_frees_seat: self.deactivation_frees_seat,
            removal_frees_seat: self.removal_frees_seat,
            seat: self.seat().plan(&what, removable)?,
        })
    }
}
