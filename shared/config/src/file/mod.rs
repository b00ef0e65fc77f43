//! The file format: what `passage.toml` (or, on AWS, the tenants secret) may say, as serde
//! structs that refuse unknown keys, so a typo is an error rather than a silently ignored line.
//! The provider sections live with their conversions, in [`crate::providers`].

mod server;
mod tenant;

pub use server::ServerConfig;
pub use tenant::{
    ChannelConfig, EarlyConfig, HrWebhookConfig, HumanConfig, HumanStepConfig, LocationConfig,
    RetryConfig, TenantConfig,
};

use anyhow::{Context, Result, bail};
use passage_core::ids::is_valid_tenant_id;
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub tenants: Vec<TenantConfig>,
    /// People and automations allowed to operate runs, each for the tenants listed.
    #[serde(default)]
    pub operators: Vec<OperatorConfig>,
    /// How reminders and escalations leave this deployment (the SMTP relay for email); its
    /// shape is `passage_notify::NotifySettings`.
    #[serde(default)]
    pub notify: Option<toml::Table>,
}

/// One operator credential: a bearer token (embedded and HTTP API) or an IAM principal (the
/// AWS API, where API Gateway has checked the caller's signature).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorConfig {
    pub name: String,
    #[serde(default)]
    pub token: Option<String>,
    /// An IAM user or role ARN (`arn:aws:iam::123456789012:role/it-ops`).
    #[serde(default)]
    pub iam_principal: Option<String>,
    /// Tenant ids this operator may see and act on; `"*"` for all (an MSP's own staff).
    pub tenants: Vec<String>,
}

impl Config {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("config file {} is invalid", path.display()))
    }

    /// Parses configuration text (a file's contents, or a secret's value on AWS).
    pub fn parse(text: &str) -> Result<Self> {
        let config: Config = toml::from_str(text)?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        for t in &self.tenants {
            if !is_valid_tenant_id(&t.id) {
                bail!("tenant id {:?} must be 1-64 of a-z, 0-9 and -", t.id);
            }
            if !seen.insert(&t.id) {
                bail!("tenant {} is configured twice", t.id);
            }
        }
        Ok(())
    }
}

/// A serde default for switches that are on unless turned off.
pub(crate) fn yes() -> bool {
    true
}
