//! `passage.toml`: where data lives, where to listen, and each tenant's policy and connections.
//!
//! Secrets may be written inline, but need not be: `env:NAME` reads an environment variable and
//! `file:PATH` a file, so the config file itself can be committed or shared.

use anyhow::{Context, Result, bail};
use jiff::civil::Time;
use passage_connectors::ConnectionSettings;
use passage_connectors::google::GoogleSettings;
use passage_connectors::jumpcloud::{JumpCloudCredential, JumpCloudSettings};
use passage_connectors::microsoft::{MicrosoftCredential, MicrosoftSettings};
use passage_connectors::okta::{OktaCredentials, OktaSettings, ServiceApp};
use passage_core::secret::Secret;
use passage_core::{
    DisableMode, GooglePolicy, JumpCloudPolicy, MicrosoftPolicy, OktaPolicy, TenantId,
    TenantPolicy, ids::is_valid_tenant_id,
};
use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub tenants: Vec<TenantConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Base URL auditors reach this server at, used when printing links.
    #[serde(default)]
    pub public_url: Option<String>,
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    #[serde(default = "default_workers")]
    pub workers: usize,
    #[serde(default = "default_sweep")]
    pub sweep_seconds: u64,
    /// How long a worker's claim on a step lasts. A step held by a crashed process is taken
    /// over after this; it must exceed the longest attempt (each provider call times out at 30 s).
    #[serde(default = "default_lease")]
    pub lease_seconds: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            public_url: None,
            data_dir: default_data_dir(),
            workers: default_workers(),
            sweep_seconds: default_sweep(),
            lease_seconds: default_lease(),
        }
    }
}

fn default_listen() -> SocketAddr {
    "127.0.0.1:8080".parse().expect("static address")
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("passage-data")
}
fn default_workers() -> usize {
    8
}
fn default_sweep() -> u64 {
    5
}
fn default_lease() -> u64 {
    60
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Local time access is cut on the last working day, `HH:MM`.
    #[serde(default = "default_eod")]
    pub end_of_day: String,
    #[serde(default = "default_zone")]
    pub default_time_zone: String,
    #[serde(default)]
    pub webhook_secrets: Vec<String>,
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// Who receives mail and files when the leaver has no manager on record.
    #[serde(default)]
    pub fallback_delegate: Option<String>,
    #[serde(default)]
    pub okta: Option<OktaConfig>,
    #[serde(default)]
    pub microsoft: Option<MicrosoftConfig>,
    #[serde(default)]
    pub google: Option<GoogleConfig>,
    #[serde(default)]
    pub jumpcloud: Option<JumpCloudConfig>,
}

/// Microsoft 365 / Entra ID: an app registration with application permissions.
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
    #[serde(default = "ms_login")]
    pub login_url: String,
    #[serde(default = "ms_graph")]
    pub graph_url: String,
    #[serde(default = "ms_exchange")]
    pub exchange_url: String,
    #[serde(default)]
    pub policy: MicrosoftPolicy,
}

fn ms_login() -> String {
    "https://login.microsoftonline.com".into()
}
fn ms_graph() -> String {
    "https://graph.microsoft.com".into()
}
fn ms_exchange() -> String {
    "https://outlook.office365.com".into()
}

/// Google Workspace: a service account with domain-wide delegation.
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
    #[serde(default = "google_admin")]
    pub api_base: String,
    #[serde(default = "google_licensing")]
    pub licensing_base: String,
    #[serde(default = "google_gmail")]
    pub gmail_base: String,
    #[serde(default = "google_token")]
    pub token_url: String,
    #[serde(default)]
    pub policy: GooglePolicy,
}

fn my_customer() -> String {
    "my_customer".into()
}
fn google_admin() -> String {
    "https://admin.googleapis.com".into()
}
fn google_licensing() -> String {
    "https://licensing.googleapis.com".into()
}
fn google_gmail() -> String {
    "https://gmail.googleapis.com".into()
}
fn google_token() -> String {
    "https://oauth2.googleapis.com/token".into()
}

/// JumpCloud: an API key or (preferred) a service account; `org_id` for MSP admins.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JumpCloudConfig {
    /// US `https://console.jumpcloud.com` or EU `https://console.eu.jumpcloud.com`.
    #[serde(default = "jc_us")]
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
}

fn jc_us() -> String {
    "https://console.jumpcloud.com".into()
}

fn default_eod() -> String {
    "17:00".into()
}
fn default_zone() -> String {
    "UTC".into()
}
fn default_attempts() -> u32 {
    6
}

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
    #[serde(default = "default_okta_scopes")]
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
}

fn default_okta_scopes() -> Vec<String> {
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
fn yes() -> bool {
    true
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

    /// Resolves every tenant's policy and connections (reading secret references).
    pub fn resolve(&self) -> Result<(Vec<TenantPolicy>, HashMap<TenantId, ConnectionSettings>)> {
        let mut policies = Vec::new();
        let mut connections = HashMap::new();
        for t in &self.tenants {
            let ctx = || format!("tenant {}", t.id);
            let end_of_day: Time = t.end_of_day.parse().with_context(|| {
                format!("{}: end_of_day {:?} is not HH:MM", ctx(), t.end_of_day)
            })?;
            jiff::tz::TimeZone::get(&t.default_time_zone).with_context(|| {
                format!("{}: unknown time zone {:?}", ctx(), t.default_time_zone)
            })?;
            let mut secrets = Vec::new();
            for s in &t.webhook_secrets {
                let value = resolve_secret(s).with_context(ctx)?;
                passage_hris::WebhookSecret::parse(value.expose())
                    .map_err(|e| anyhow::anyhow!("{}: a webhook secret is unusable: {e}", ctx()))?;
                secrets.push(value);
            }
            let mut settings = ConnectionSettings::default();
            let okta_policy = match &t.okta {
                Some(o) => {
                    let org_url = url::Url::parse(&o.org_url).with_context(|| {
                        format!("{}: okta.org_url {:?} is not a URL", ctx(), o.org_url)
                    })?;
                    let credentials = match (&o.api_token, &o.client_id, &o.private_key) {
                        (Some(token), None, None) => {
                            OktaCredentials::ApiToken(resolve_secret(token).with_context(ctx)?)
                        }
                        (None, Some(client_id), Some(key)) => {
                            let private_key = resolve_secret(key).with_context(ctx)?;
                            passage_connectors::jwt::RsaSigner::from_pem(private_key.expose())
                                .map_err(|e| anyhow::anyhow!("{}: okta.private_key: {e}", ctx()))?;
                            OktaCredentials::ServiceApp(ServiceApp {
                                client_id: client_id.clone(),
                                private_key,
                                key_id: o.key_id.clone(),
                                scopes: o.scopes.clone(),
                                dpop: o.dpop,
                            })
                        }
                        _ => bail!(
                            "{}: okta needs either api_token, or client_id and private_key (not both)",
                            ctx()
                        ),
                    };
                    settings.okta = Some(OktaSettings {
                        org_url,
                        credentials,
                    });
                    Some(OktaPolicy {
                        disable: o.disable,
                        grants_critical: o.grants_critical,
                        reset_factors: o.reset_factors,
                        unassign_apps: o.unassign_apps,
                    })
                }
                None => None,
            };
            let parse_url = |field: &str, value: &str| {
                url::Url::parse(value)
                    .with_context(|| format!("{}: {field} {value:?} is not a URL", ctx()))
            };
            if let Some(m) = &t.microsoft {
                let credential = match (&m.client_secret, &m.private_key, &m.certificate_x5t) {
                    (Some(secret), None, None) => {
                        MicrosoftCredential::Secret(resolve_secret(secret).with_context(ctx)?)
                    }
                    (None, Some(key), Some(x5t)) => MicrosoftCredential::Certificate {
                        private_key: resolve_secret(key).with_context(ctx)?,
                        x5t: x5t.clone(),
                    },
                    _ => bail!(
                        "{}: microsoft needs either client_secret, or private_key and certificate_x5t",
                        ctx()
                    ),
                };
                settings.microsoft = Some(MicrosoftSettings {
                    login_url: parse_url("microsoft.login_url", &m.login_url)?,
                    graph_url: parse_url("microsoft.graph_url", &m.graph_url)?,
                    exchange_url: parse_url("microsoft.exchange_url", &m.exchange_url)?,
                    tenant_id: m.tenant_id.clone(),
                    client_id: m.client_id.clone(),
                    credential,
                    policy: m.policy.clone(),
                });
            }
            if let Some(g) = &t.google {
                settings.google = Some(GoogleSettings {
                    api_base: parse_url("google.api_base", &g.api_base)?,
                    licensing_base: Some(parse_url("google.licensing_base", &g.licensing_base)?),
                    gmail_base: Some(parse_url("google.gmail_base", &g.gmail_base)?),
                    token_url: parse_url("google.token_url", &g.token_url)?,
                    service_account_email: g.service_account_email.clone(),
                    private_key: resolve_secret(&g.private_key).with_context(ctx)?,
                    key_id: g.key_id.clone(),
                    admin_subject: g.admin_subject.clone(),
                    customer_id: g.customer_id.clone(),
                    license_skus: Vec::new(),
                    policy: g.policy.clone(),
                });
            }
            if let Some(j) = &t.jumpcloud {
                let credential = match (&j.api_key, &j.client_id, &j.client_secret) {
                    (Some(key), None, None) => {
                        JumpCloudCredential::ApiKey(resolve_secret(key).with_context(ctx)?)
                    }
                    (None, Some(client_id), Some(secret)) => JumpCloudCredential::ServiceAccount {
                        client_id: client_id.clone(),
                        client_secret: resolve_secret(secret).with_context(ctx)?,
                    },
                    _ => bail!(
                        "{}: jumpcloud needs either api_key, or client_id and client_secret",
                        ctx()
                    ),
                };
                settings.jumpcloud = Some(JumpCloudSettings {
                    base_url: parse_url("jumpcloud.base_url", &j.base_url)?,
                    token_url: j
                        .token_url
                        .as_deref()
                        .map(|u| parse_url("jumpcloud.token_url", u))
                        .transpose()?,
                    credential,
                    org_id: j.org_id.clone(),
                    policy: j.policy.clone(),
                });
            }
            let id = TenantId::new(t.id.as_str());
            policies.push(TenantPolicy {
                id: id.clone(),
                name: t.name.clone().unwrap_or_else(|| t.id.clone()),
                end_of_day,
                default_time_zone: t.default_time_zone.clone(),
                webhook_secrets: secrets,
                fallback_delegate: t.fallback_delegate.clone(),
                okta: okta_policy,
                microsoft: t.microsoft.as_ref().map(|m| m.policy.clone()),
                google: t.google.as_ref().map(|g| g.policy.clone()),
                jumpcloud: t.jumpcloud.as_ref().map(|j| j.policy.clone()),
                max_attempts: t.max_attempts.max(1),
            });
            connections.insert(id, settings);
        }
        Ok((policies, connections))
    }
}

/// `env:NAME`, `file:PATH`, or the value itself.
pub fn resolve_secret(spec: &str) -> Result<Secret> {
    if let Some(name) = spec.strip_prefix("env:") {
        let v = std::env::var(name).with_context(|| {
            format!("environment variable {name} (named in the config) is not set")
        })?;
        return Ok(Secret::new(v.trim()));
    }
    if let Some(path) = spec.strip_prefix("file:") {
        let v =
            std::fs::read_to_string(path).with_context(|| format!("reading secret file {path}"))?;
        return Ok(Secret::new(v.trim()));
    }
    Ok(Secret::new(spec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses() {
        let config = Config::parse(include_str!("../../../passage.example.toml")).unwrap();
        assert_eq!(config.tenants.len(), 1);
        let okta = config.tenants[0].okta.as_ref().unwrap();
        assert!(okta.dpop && okta.client_id.is_some());
    }

    #[test]
    fn okta_credentials_must_be_one_kind() {
        let text = r#"
[[tenants]]
id = "acme"
[tenants.okta]
org_url = "https://acme.okta.com"
api_token = "t"
client_id = "c"
private_key = "k"
"#;
        let err = Config::parse(text).unwrap().resolve().unwrap_err();
        assert!(err.to_string().contains("either api_token"), "{err}");
    }

    #[test]
    fn typos_and_bad_values_are_refused_with_a_reason() {
        assert!(Config::parse("[[tenants]]\nid = \"acme\"\nend_of_dya = \"17:00\"\n").is_err());
        assert!(Config::parse("[[tenants]]\nid = \"Acme Corp\"\n").is_err());
        let bad_zone =
            Config::parse("[[tenants]]\nid = \"acme\"\ndefault_time_zone = \"Mars/Base\"\n")
                .unwrap()
                .resolve()
                .unwrap_err();
        assert!(bad_zone.to_string().contains("Mars/Base"), "{bad_zone}");
    }
}
