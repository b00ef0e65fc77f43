//! `[tenants.jumpcloud]`: an API key or (preferred) a service account; `org_id` for MSP
//! administrators who reach several organisations.

use super::{parse_url, secret};
use anyhow::{Result, bail};
use passage_connectors::jumpcloud::{JumpCloudCredential, JumpCloudSettings};
use passage_core::JumpCloudPolicy;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JumpCloudConfig {
    /// US `https://console.jumpcloud.com` or EU `https://console.eu.jumpcloud.com`.
    #[serde(default = "default_base")]
    pub base_url: String,
    #[serde(default)]
    pub api_key: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub token_url: Option<String>,
    #[serde(default)]
    pub org_id: Option<String>,
    #[serde(default)]
    pub policy: JumpCloudPolicy,
    /// How fast the org may be called, where its limits are not the documented ones.
    #[serde(default)]
    pub pace: Option<super::PaceConfig>,
}

fn default_base() -> String {
    "https://console.jumpcloud.com".into()
}

impl JumpCloudConfig {
    /// The connector's settings; `at` names the tenant in messages.
    pub(crate) fn settings(&self, at: &str) -> Result<JumpCloudSettings> {
        let credential = self.credential(at)?;
        Ok(JumpCloudSettings {
            base_url: parse_url(at, "jumpcloud.base_url", &self.base_url)?,
            token_url: self
                .token_url
                .as_deref()
                .map(|u| parse_url(at, "jumpcloud.token_url", u))
                .transpose()?,
            credential,
            org_id: self.org_id.clone(),
            policy: self.policy.clone(),
        })
    }

    /// What a leaver run does in JumpCloud.
    pub(crate) fn policy(&self) -> JumpCloudPolicy {
        self.policy.clone()
    }

    fn credential(&self, at: &str) -> Result<JumpCloudCredential> {
        Ok(
            match (&self.api_key, &self.client_id, &self.client_secret) {
                (Some(key), None, None) => JumpCloudCredential::ApiKey(secret(at, key)?),
                (None, Some(client_id), Some(client_secret)) => {
                    JumpCloudCredential::ServiceAccount {
                        client_id: client_id.clone(),
                        client_secret: secret(at, client_secret)?,
                    }
                }
                _ => bail!("{at}: jumpcloud needs either api_key, or client_id and client_secret"),
            },
        )
    }
}
