//! `[tenants.microsoft]`: Microsoft 365 / Entra ID through an app registration with
//! application permissions, authenticated by a client secret or (preferred) a certificate.

use super::{parse_url, secret};
use anyhow::{Result, bail};
use passage_connectors::microsoft::{MicrosoftCredential, MicrosoftSettings};
use passage_core::MicrosoftPolicy;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MicrosoftConfig {
    pub tenant_id: String,
    pub client_id: String,
    /// A client secret; or, preferred, a certificate: `private_key` + `certificate_x5t`.
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub private_key: Option<String>,
    #[serde(default)]
    pub certificate_x5t: Option<String>,
    /// National clouds use other hosts.
    #[serde(default = "default_login")]
    pub login_url: String,
    #[serde(default = "default_graph")]
    pub graph_url: String,
    #[serde(default = "default_exchange")]
    pub exchange_url: String,
    #[serde(default)]
    pub policy: MicrosoftPolicy,
    /// How fast the org may be called, where its limits are not the documented ones.
    #[serde(default)]
    pub pace: Option<super::PaceConfig>,
}

fn default_login() -> String {
    "https://login.microsoftonline.com".into()
}
fn default_graph() -> String {
    "https://graph.microsoft.com".into()
}
fn default_exchange() -> String {
    "https://outlook.office365.com".into()
}

impl MicrosoftConfig {
    /// The connector's settings; `at` names the tenant in messages.
    pub(crate) fn settings(&self, at: &str) -> Result<MicrosoftSettings> {
        let credential = self.credential(at)?;
        Ok(MicrosoftSettings {
            login_url: parse_url(at, "microsoft.login_url", &self.login_url)?,
            graph_url: parse_url(at, "microsoft.graph_url", &self.graph_url)?,
            exchange_url: parse_url(at, "microsoft.exchange_url", &self.exchange_url)?,
            tenant_id: self.tenant_id.clone(),
            client_id: self.client_id.clone(),
            credential,
            policy: self.policy.clone(),
        })
    }

    /// What a leaver run does in Microsoft 365.
    pub(crate) fn policy(&self) -> MicrosoftPolicy {
        self.policy.clone()
    }

    fn credential(&self, at: &str) -> Result<MicrosoftCredential> {
        Ok(
            match (
                &self.client_secret,
                &self.private_key,
                &self.certificate_x5t,
            ) {
                (Some(client_secret), None, None) => {
                    MicrosoftCredential::Secret(secret(at, client_secret)?)
                }
                (None, Some(key), Some(x5t)) => MicrosoftCredential::Certificate {
                    private_key: secret(at, key)?,
                    x5t: x5t.clone(),
                },
                _ => bail!(
                    "{at}: microsoft needs either client_secret, or private_key and certificate_x5t"
                ),
            },
        )
    }
}
