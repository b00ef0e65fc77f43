//! `[tenants.google]`: Google Workspace through a service account with domain-wide delegation,
//! acting as a super administrator for Admin SDK calls.

use super::{parse_url, secret};
use anyhow::Result;
use passage_connectors::google::GoogleSettings;
use passage_core::GooglePolicy;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoogleConfig {
    pub service_account_email: String,
    pub private_key: String,
    pub key_id: String,
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
    #[serde(default = "default_token")]
    pub token_url: String,
    #[serde(default)]
    pub policy: GooglePolicy,
    /// How fast the org may be called, where its limits are not the documented ones.
    #[serde(default)]
    pub pace: Option<super::PaceConfig>,
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
fn default_token() -> String {
    "https://oauth2.googleapis.com/token".into()
}

impl GoogleConfig {
    /// The connector's settings; `at` names the tenant in messages.
    pub(crate) fn settings(&self, at: &str) -> Result<GoogleSettings> {
        Ok(GoogleSettings {
            api_base: parse_url(at, "google.api_base", &self.api_base)?,
            licensing_base: Some(parse_url(
                at,
                "google.licensing_base",
                &self.licensing_base,
            )?),
            gmail_base: Some(parse_url(at, "google.gmail_base", &self.gmail_base)?),
            token_url: parse_url(at, "google.token_url", &self.token_url)?,
            service_account_email: self.service_account_email.clone(),
            private_key: secret(at, &self.private_key)?,
            key_id: self.key_id.clone(),
            admin_subject: self.admin_subject.clone(),
            customer_id: self.customer_id.clone(),
            license_skus: Vec::new(),
            policy: self.policy.clone(),
        })
    }

    /// What a leaver run does in Google Workspace.
    pub(crate) fn policy(&self) -> GooglePolicy {
        self.policy.clone()
    }
}
