//! The file format: what `passage.toml` (or, on AWS, the tenants secret) may say, as serde
//! structs that refuse unknown keys, so a typo is an error rather than a silently ignored line.
//! The provider sections live with their conversions, in [`crate::providers`].

pub(crate) mod paths;
mod server;
mod tenant;

pub use server::ServerConfig;
pub use tenant::{
    ChannelConfig, EarlyConfig, GuardConfig, HrWebhookConfig, HumanConfig, HumanStepConfig,
    LocationConfig, RetryConfig, SignInWatchConfig, SlaConfig, TenantConfig,
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
    /// OpenID Connect providers operators sign in to the console with.
    #[serde(default)]
    pub oidc: Vec<OidcConfig>,
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
    /// An Argon2 PHC string (`passage operator hash-password`): signs the operator in to the
    /// web console with a password.
    #[serde(default)]
    pub password_hash: Option<String>,
    /// Who the operator is at one of the `[[oidc]]` providers: signs them in to the console
    /// with their organisation's account.
    #[serde(default)]
    pub oidc: Option<OperatorOidcConfig>,
    /// Tenant ids this operator may see and act on; `"*"` for all (an MSP's own staff).
    pub tenants: Vec<String>,
}

/// `oidc = { provider = "acme-okta", email = "ann@acme.example" }` (or `subject = "00u…"`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorOidcConfig {
    pub provider: String,
    /// The ID token's `sub`.
    #[serde(default)]
    pub subject: Option<String>,
    /// An address the provider marks verified (`email_verified`).
    #[serde(default)]
    pub email: Option<String>,
}

/// One `[[oidc]]` provider: a web app registered at the organisation's identity provider.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// Shown as "Sign in with <name>" and named by operators' `oidc.provider`.
    pub name: String,
    /// The issuer, e.g. `https://acme.okta.com` or
    /// `https://login.microsoftonline.com/<tenant id>/v2.0`.
    pub issuer: String,
    pub client_id: String,
    /// A secret reference (`env:…`, `file:…`) or the secret itself.
    pub client_secret: String,
    /// The console's callback as registered at the provider
    /// (`https://passage.example.com/console/sign-in/oidc/callback`); without it, the callback
    /// on the host the browser used.
    #[serde(default)]
    pub redirect_url: Option<String>,
}

impl Config {
    /// Reads a config file. Relative paths in it (`data_dir`, `file:` secrets) are taken
    /// from the file's own folder, not from wherever the command happens to run: a `runs list`
    /// started elsewhere must open the same database, never make a new empty one.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        let folder = std::path::absolute(path)
            .ok()
            .and_then(|p| p.parent().map(Path::to_owned))
            .unwrap_or_default();
        Self::parse_in(&text, Some(&folder))
            .with_context(|| format!("config file {} is invalid", path.display()))
    }

    /// Parses configuration text (a file's contents, or a secret's value on AWS).
    pub fn parse(text: &str) -> Result<Self> {
        Self::parse_in(text, None)
    }

    fn parse_in(text: &str, folder: Option<&Path>) -> Result<Self> {
        // Typed first: its errors name the line and the key.
        let mut config: Config = toml::from_str(text)?;
        if let Some(folder) = folder {
            let mut table: toml::Table = toml::from_str(text)?;
            paths::anchor(&mut table, folder);
            config = table.try_into()?;
        }
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
