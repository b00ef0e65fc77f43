//! `[tenants.okta]`: an SSWS API token, or (preferred) an OAuth service app signing its token
//! requests with a private key, optionally DPoP-bound.

use super::{parse_url, secret};
use crate::file::yes;
use anyhow::{Result, bail};
use passage_connectors::okta::{OktaCredentials, OktaSettings, ServiceApp};
use passage_core::{DisableMode, OktaPolicy};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OktaConfig {
    pub org_url: String,
    /// An SSWS API token; or, preferred, an OAuth service app (`client_id` + `private_key`).
    #[serde(default)]
    pub api_token: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    /// PEM of the app's RSA private key (usually `file:…` or `env:…`).
    #[serde(default)]
    pub private_key: Option<String>,
    #[serde(default)]
    pub key_id: Option<String>,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The app requires DPoP-bound tokens.
    #[serde(default)]
    pub dpop: bool,
    #[serde(default = "default_disable")]
    pub disable: DisableMode,
    #[serde(default = "yes")]
    pub grants_critical: bool,
    #[serde(default)]
    pub reset_factors: bool,
    #[serde(default)]
    pub unassign_apps: bool,
    /// How fast the org may be called, where its limits are not the documented ones.
    #[serde(default)]
    pub pace: Option<super::PaceConfig>,
}

fn default_scopes() -> Vec<String> {
    [
        "okta.users.read",
        "okta.users.manage",
        "okta.groups.read",
        "okta.groups.manage",
        "okta.apps.read",
        "okta.apps.manage",
    ]
    .map(String::from)
    .to_vec()
}

fn default_disable() -> DisableMode {
    DisableMode::Suspend
}

impl OktaConfig {
    /// The connector's settings; `at` names the tenant in messages.
    pub(crate) fn settings(&self, at: &str) -> Result<OktaSettings> {
        Ok(OktaSettings {
            org_url: parse_url(at, "okta.org_url", &self.org_url)?,
            credentials: self.credentials(at)?,
        })
    }

    /// What a leaver run does in Okta.
    pub(crate) fn policy(&self) -> OktaPolicy {
        OktaPolicy {
            disable: self.disable,
            grants_critical: self.grants_critical,
            reset_factors: self.reset_factors,
            unassign_apps: self.unassign_apps,
        }
    }

    /// Exactly one kind of credential. A service app's key is parsed here, so a bad PEM stops
    /// the start rather than the first leaver's first step.
    fn credentials(&self, at: &str) -> Result<OktaCredentials> {
        Ok(
            match (&self.api_token, &self.client_id, &self.private_key) {
                (Some(token), None, None) => OktaCredentials::ApiToken(secret(at, token)?),
                (None, Some(client_id), Some(key)) => {
                    let private_key = secret(at, key)?;
                    passage_connectors::jwt::RsaSigner::from_pem(private_key.expose())
                        .map_err(|e| anyhow::anyhow!("{at}: okta.private_key: {e}"))?;
                    OktaCredentials::ServiceApp(ServiceApp {
                        client_id: client_id.clone(),
                        private_key,
                        key_id: self.key_id.clone(),
                        scopes: self.scopes.clone(),
                        dpop: self.dpop,
                    })
                }
                _ => bail!(
                    "{at}: okta needs either api_token, or client_id and private_key (not both)"
                ),
            },
        )
    }
}
