//! `[tenants.microsoft]`: Microsoft 365 / Entra ID through an app registration with
//! application permissions, authenticated by a client secret or (preferred) a certificate.

use super::{parse_url, secret};
use anyhow::{Result, bail};
use passage_connectors::microsoft::{Cloud, MicrosoftCredential, MicrosoftSettings};
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
    /// The cloud the tenant lives in: `global` (also GCC), `us_gov_high` (GCC High),
    /// `us_gov_dod` (DoD) or `china` (21Vianet). It sets the hosts below and the resources
    /// tokens are requested for.
    #[serde(default)]
    pub cloud: Cloud,
    /// The cloud's hosts unless set (a proxy, or the sandbox).
    #[serde(default)]
    pub login_url: Option<String>,
    #[serde(default)]
    pub graph_url: Option<String>,
    #[serde(default)]
    pub exchange_url: Option<String>,
    #[serde(default)]
    pub policy: MicrosoftPolicy,
    /// How fast the org may be called, where its limits are not the documented ones.
    #[serde(default)]
    pub pace: Option<super::PaceConfig>,
}

impl MicrosoftConfig {
    /// The connector's settings; `at` names the tenant in messages.
    pub(crate) fn settings(&self, at: &str) -> Result<MicrosoftSettings> {
        let credential = self.credential(at)?;
        let cloud = self.cloud;
        let host = |key: &str, set: &Option<String>, default: &str| {
            parse_url(at, key, set.as_deref().unwrap_or(default))
        };
        Ok(MicrosoftSettings {
            cloud,
            login_url: host("microsoft.login_url", &self.login_url, cloud.login_url())?,
            graph_url: host("microsoft.graph_url", &self.graph_url, cloud.graph_url())?,
            exchange_url: host(
                "microsoft.exchange_url",
                &self.exchange_url,
                cloud.exchange_url(),
            )?,
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
                    x5t: x5t_from(at, x5t)?,
                },
                _ => bail!(
                    "{at}: microsoft needs either client_secret, or private_key and certificate_x5t"
                ),
            },
        )
    }
}

/// The certificate's `x5t` (base64url of its SHA-1), from either that form or the hex
/// thumbprint Entra shows beside the certificate (`84E05C1D…`, colons or spaces allowed).
fn x5t_from(at: &str, value: &str) -> Result<String> {
    use base64::Engine as _;
    let hex: String = value.chars().filter(|c| !matches!(c, ':' | ' ')).collect();
    if hex.len() == 40 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        let bytes = (0..40)
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()?;
        return Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    }
    let decoded =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(value.trim_end_matches('='));
    match decoded {
        Ok(b) if b.len() == 20 => Ok(value.trim_end_matches('=').to_owned()),
        _ => bail!(
            "{at}: microsoft.certificate_x5t {value:?} is neither the certificate's hex thumbprint \
             (40 hex digits, as the Entra portal shows it) nor its base64url SHA-1 (x5t)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::x5t_from;

    #[test]
    fn the_portal_thumbprint_and_x5t_are_both_taken() {
        // The example Microsoft's certificate-credentials page gives.
        let x5t = "hOBcHZi846VCHSJbFAs26Go9VTQ";
        assert_eq!(
            x5t_from("t", "84E05C1D98BCE3A5421D225B140B36E86A3D5534").unwrap(),
            x5t
        );
        assert_eq!(
            x5t_from(
                "t",
                "84:e0:5c:1d:98:bc:e3:a5:42:1d:22:5b:14:0b:36:e8:6a:3d:55:34"
            )
            .unwrap(),
            x5t
        );
        assert_eq!(x5t_from("t", x5t).unwrap(), x5t);
        let err = x5t_from("tenant acme", "not-a-thumbprint")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("tenant acme") && err.contains("hex thumbprint"),
            "{err}"
        );
    }
}
