//! `[tenants.google]`: Google Workspace through a service account with domain-wide delegation,
//! acting as a super administrator for Admin SDK calls.

use super::{parse_url, secret};
use anyhow::{Result, bail};
use passage_connectors::google::GoogleSettings;
use passage_core::GooglePolicy;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoogleConfig {
    /// The service account's JSON key file as Google downloads it (`file:key.json`), instead
    /// of the three fields below.
    #[serde(default)]
    pub key_file: Option<String>,
    #[serde(default)]
    pub service_account_email: Option<String>,
    #[serde(default)]
    pub private_key: Option<String>,
    #[serde(default)]
    pub key_id: Option<String>,
    /// A super administrator the service account acts as for Admin SDK calls.
    pub admin_subject: String,
    #[serde(default = "my_customer")]
    pub customer_id: String,
    #[serde(default = "default_admin")]
    pub api_base: String,
    #[serde(default = "default_licensing")]
    pub licensing_base: String,
    #[serde(default = "default_gmail")]
    pub gmail_base: String,
    /// Drive v3's host (shared drives, for the sweep).
    #[serde(default = "default_drive")]
    pub drive_base: String,
    #[serde(default = "default_token")]
    pub token_url: String,
    #[serde(default)]
    pub policy: GooglePolicy,
    /// The licences (product id and SKU id, as Google's Licensing API names them) to look for
    /// and release; empty means the built-in Workspace Business and Enterprise SKUs.
    #[serde(default)]
    pub license_skus: Vec<LicenseSku>,
    /// How fast the org may be called, where its limits are not the documented ones.
    #[serde(default)]
    pub pace: Option<super::PaceConfig>,
}

/// One licence to look for: `{ product = "101047", sku = "1010470001" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenseSku {
    pub product: String,
    pub sku: String,
}

fn my_customer() -> String {
    "my_customer".into()
}
fn default_admin() -> String {
    "https://admin.googleapis.com".into()
}
fn default_licensing() -> String {
    "https://licensing.googleapis.com".into()
}
fn default_gmail() -> String {
    "https://gmail.googleapis.com".into()
}
fn default_drive() -> String {
    "https://www.googleapis.com".into()
}
fn default_token() -> String {
    "https://oauth2.googleapis.com/token".into()
}

impl GoogleConfig {
    /// The connector's settings; `at` names the tenant in messages.
    pub(crate) fn settings(&self, at: &str) -> Result<GoogleSettings> {
        let key = self.service_account_key(at)?;
        Ok(GoogleSettings {
            api_base: parse_url(at, "google.api_base", &self.api_base)?,
            licensing_base: Some(parse_url(
                at,
                "google.licensing_base",
                &self.licensing_base,
            )?),
            gmail_base: Some(parse_url(at, "google.gmail_base", &self.gmail_base)?),
            drive_base: Some(parse_url(at, "google.drive_base", &self.drive_base)?),
            token_url: parse_url(at, "google.token_url", &self.token_url)?,
            service_account_email: key.client_email,
            private_key: key.private_key,
            key_id: key.private_key_id,
            admin_subject: self.admin_subject.clone(),
            customer_id: self.customer_id.clone(),
            license_skus: self.license_skus(at)?,
            policy: self.policy.clone(),
        })
    }

    /// The configured licences as (product, SKU); a blank id would name no licence at all.
    fn license_skus(&self, at: &str) -> Result<Vec<(String, String)>> {
        self.license_skus
            .iter()
            .map(|l| {
                let (product, sku) = (l.product.trim(), l.sku.trim());
                if product.is_empty() || sku.is_empty() {
                    bail!("{at}: google.license_skus needs a product and a sku in every entry");
                }
                Ok((product.to_owned(), sku.to_owned()))
            })
            .collect()
    }

    /// The service account's identity and key: from its JSON key file, or from the three
    /// separate keys.
    fn service_account_key(&self, at: &str) -> Result<ServiceAccountKey> {
        match (
            &self.key_file,
            &self.service_account_email,
            &self.private_key,
            &self.key_id,
        ) {
            (Some(file), None, None, None) => {
                let json = secret(at, file)?;
                let key: ServiceAccountKeyFile = serde_json::from_str(json.expose()).map_err(|e| {
                    anyhow::anyhow!(
                        "{at}: google.key_file is not a service account key file ({e}); download \
                         one with `gcloud iam service-accounts keys create key.json --iam-account=…`"
                    )
                })?;
                if key.kind != "service_account" {
                    bail!(
                        "{at}: google.key_file has type {:?}, not \"service_account\"",
                        key.kind
                    );
                }
                Ok(ServiceAccountKey {
                    client_email: key.client_email,
                    private_key: passage_core::secret::Secret::new(key.private_key),
                    private_key_id: key.private_key_id,
                })
            }
            (None, Some(email), Some(pem), Some(id)) => Ok(ServiceAccountKey {
                client_email: email.clone(),
                private_key: secret(at, pem)?,
                private_key_id: id.clone(),
            }),
            _ => bail!(
                "{at}: google needs either key_file (the service account's JSON key), or \
                 service_account_email, private_key and key_id"
            ),
        }
    }

    /// What a leaver run does in Google Workspace.
    pub(crate) fn policy(&self) -> GooglePolicy {
        self.policy.clone()
    }
}

/// The fields of Google's JSON key file Passage reads (the file has more).
#[derive(Deserialize)]
struct ServiceAccountKeyFile {
    #[serde(rename = "type")]
    kind: String,
    client_email: String,
    private_key: String,
    private_key_id: String,
}

struct ServiceAccountKey {
    client_email: String,
    private_key: passage_core::secret::Secret,
    private_key_id: String,
}
