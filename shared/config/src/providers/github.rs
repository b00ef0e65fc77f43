//! `[tenants.github]`: the organisation (and, for managed users, the enterprise), an owner's
//! token, which of SAML SSO, Copilot and EMU apply, and the work addresses GitHub cannot show.

use super::saas::SeatConfig;
use super::{parse_url, secret};
use anyhow::{Result, bail};
use passage_connectors::github::{API_URL, GithubSettings};
use passage_core::GithubPolicy;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubConfig {
    pub org: String,
    /// An organisation owner's token with `admin:org` (`manage_billing:copilot` for Copilot,
    /// `scim:enterprise` for managed users).
    pub token: String,
    #[serde(default = "api_url")]
    pub api_url: String,
    #[serde(default)]
    pub enterprise: Option<String>,
    #[serde(default)]
    pub saml_sso: bool,
    #[serde(default)]
    pub copilot: bool,
    /// Enterprise Managed Users: deactivation suspends, removal deletes (anonymises).
    #[serde(default)]
    pub emu: bool,
    /// Work address → GitHub login, for leavers whose address GitHub does not show.
    #[serde(default)]
    pub logins: BTreeMap<String, String>,
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

fn api_url() -> String {
    API_URL.into()
}

impl GithubConfig {
    fn seat(&self) -> SeatConfig {
        SeatConfig {
            remove_after_days: self.remove_after_days,
            remove_at_cutoff: self.remove_at_cutoff,
            critical: self.critical,
        }
    }
    /// The connector's settings; `at` names the tenant in messages.
    pub(crate) fn settings(&self, at: &str) -> Result<GithubSettings> {
        Ok(GithubSettings {
            api_url: parse_url(at, "github.api_url", &self.api_url)?,
            org: self.org.clone(),
            enterprise: self.enterprise.clone(),
            token: secret(at, &self.token)?,
            logins: self.logins.clone(),
            policy: self.policy()?,
        })
    }

    /// What a leaver run does in GitHub. Only a managed user can be removed for good; an
    /// organisation member's removal is the end state (and a re-invitation restores them).
    pub(crate) fn policy(&self) -> Result<GithubPolicy> {
        if self.emu && self.enterprise.is_none() {
            bail!("github: emu = true needs the enterprise's slug (github.enterprise)");
        }
        Ok(GithubPolicy {
            saml_sso: self.saml_sso,
            copilot: self.copilot,
            emu: self.emu,
            seat: self.seat().plan("github", self.emu)?,
        })
    }
}
