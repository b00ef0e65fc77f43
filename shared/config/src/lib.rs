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
use passage_core::ports::Channel;
use passage_core::secret::Secret;
use passage_core::{
    DisableMode, EarlyPolicy, GooglePolicy, HrWebhook, HumanPolicy, HumanStepPolicy,
    JumpCloudPolicy, LocationPolicy, MicrosoftPolicy, OktaPolicy, TenantId, TenantPolicy,
    ids::is_valid_tenant_id,
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
    /// People and automations allowed to operate runs, each for the tenants listed.
    #[serde(default)]
    pub operators: Vec<OperatorConfig>,
    /// How reminders and escalations leave this deployment (the SMTP relay for email).
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

/// Everything a host needs from the configuration, secrets read.
pub struct Resolved {
    pub policies: Vec<TenantPolicy>,
    pub connections: HashMap<TenantId, ConnectionSettings>,
    /// Each tenant's HR system API, by tenant.
    pub hr_apis: HashMap<TenantId, passage_hrapi::HrSettings>,
    /// Operators as the HTTP API checks them (tokens kept only as hashes).
    pub operators: Vec<passage_http::Operator>,
    /// Notice delivery settings (the SMTP relay).
    pub notify: passage_notify::NotifySettings,
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
    /// How often tenants with an HR API are compared with Passage.
    #[serde(default = "default_reconcile")]
    pub reconcile_minutes: u64,
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
            reconcile_minutes: default_reconcile(),
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
fn default_reconcile() -> u64 {
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
    /// Work locations with their own zone and end of day.
    #[serde(default)]
    pub locations: Vec<LocationConfig>,
    /// Cut involuntary terminations at once (when the HR system says so).
    #[serde(default = "yes")]
    pub involuntary_immediate: bool,
    /// HR vendors' webhooks this tenant accepts.
    #[serde(default)]
    pub hr_webhooks: Vec<HrWebhookConfig>,
    /// The HR system's API, for following up hints and reconciling: `vendor = "bamboohr"`
    /// and that vendor's settings.
    #[serde(default)]
    pub hr_api: Option<toml::Table>,
    #[serde(default)]
    pub human: Option<HumanConfig>,
    /// Hand-over steps run ahead of the cutoff: `lead_hours` before it.
    #[serde(default)]
    pub early: Option<EarlyConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyConfig {
    pub lead_hours: f64,
    /// Of delegate_mailbox, forward_mail, set_auto_reply, transfer_data.
    pub actions: Vec<passage_core::Action>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationConfig {
    pub name: String,
    pub time_zone: String,
    #[serde(default)]
    pub end_of_day: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HrWebhookConfig {
    /// `bamboohr`, `hibob`, `gusto`, `merge`, `finch`, `personio`, `rippling`.
    pub vendor: String,
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Rippling only, when its webhooks carry no token: accept them unauthenticated as hints
    /// (the employee's record read from Rippling's API decides).
    #[serde(default)]
    pub unsigned: bool,
}

/// Device return and hand-over confirmation, and where overdue ones are chased.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HumanConfig {
    #[serde(default)]
    pub device_return: Option<HumanStepConfig>,
    #[serde(default)]
    pub handover: Option<HumanStepConfig>,
    #[serde(default)]
    pub remind: Vec<ChannelConfig>,
    #[serde(default)]
    pub escalate: Vec<ChannelConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HumanStepConfig {
    #[serde(default)]
    pub critical: Option<bool>,
    #[serde(default)]
    pub due_after_hours: Option<f64>,
    #[serde(default)]
    pub remind_every_hours: Option<f64>,
    #[serde(default)]
    pub escalate_after_hours: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum ChannelConfig {
    Webhook {
        url: String,
        secret: String,
    },
    Email {
        to: Vec<String>,
        #[serde(default)]
        include_recipients: bool,
    },
    Slack {
        url: String,
    },
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
        let r = self.resolve_all()?;
        Ok((r.policies, r.connections))
    }

    /// Resolves everything: policies, connections, HR APIs, operators and notice settings.
    pub fn resolve_all(&self) -> Result<Resolved> {
        let mut policies = Vec::new();
        let mut connections = HashMap::new();
        let mut hr_apis = HashMap::new();
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
                locations: t
                    .locations
                    .iter()
                    .map(|l| location(l).with_context(ctx))
                    .collect::<Result<_>>()?,
                involuntary_immediate: t.involuntary_immediate,
                hr_webhooks: t
                    .hr_webhooks
                    .iter()
                    .map(|h| hr_webhook(h).with_context(ctx))
                    .collect::<Result<_>>()?,
                early: t.early.as_ref().map(early).transpose().with_context(ctx)?,
                human: t
                    .human
                    .as_ref()
                    .map(human)
                    .transpose()
                    .with_context(ctx)?
                    .unwrap_or_default(),
            });
            if let Some(api) = &t.hr_api {
                let table = resolve_table(api).with_context(ctx)?;
                let settings: passage_hrapi::HrSettings = toml::Value::Table(table)
                    .try_into()
                    .map_err(|e| anyhow::anyhow!("{}: hr_api: {e}", ctx()))?;
                hr_apis.insert(id.clone(), settings);
            }
            connections.insert(id, settings);
        }
        let known: std::collections::HashSet<&str> =
            self.tenants.iter().map(|t| t.id.as_str()).collect();
        let mut operators = Vec::new();
        for o in &self.operators {
            let ctx = || format!("operator {}", o.name);
            if o.token.is_none() && o.iam_principal.is_none() {
                bail!("{}: needs a token or an iam_principal", ctx());
            }
            if o.tenants.is_empty() {
                bail!("{}: lists no tenants (use \"*\" for all)", ctx());
            }
            for t in &o.tenants {
                if t != "*" && !known.contains(t.as_str()) {
                    bail!("{}: tenant {t:?} is not configured", ctx());
                }
            }
            let token = o
                .token
                .as_deref()
                .map(resolve_secret)
                .transpose()
                .with_context(ctx)?;
            if let Some(t) = &token
                && t.expose().len() < 24
            {
                bail!("{}: the token is too short (24 characters at least)", ctx());
            }
            operators.push(passage_http::Operator::new(
                o.name.clone(),
                token.as_ref(),
                o.iam_principal.clone(),
                o.tenants.clone(),
            ));
        }
        let notify = match &self.notify {
            Some(table) => toml::Value::Table(resolve_table(table).context("notify")?)
                .try_into()
                .map_err(|e| anyhow::anyhow!("notify: {e}"))?,
            None => passage_notify::NotifySettings::default(),
        };
        Ok(Resolved {
            policies,
            connections,
            hr_apis,
            operators,
            notify,
        })
    }
}

fn location(l: &LocationConfig) -> Result<LocationPolicy> {
    jiff::tz::TimeZone::get(&l.time_zone)
        .with_context(|| format!("location {}: unknown time zone {:?}", l.name, l.time_zone))?;
    let end_of_day = l
        .end_of_day
        .as_deref()
        .map(|e| {
            e.parse::<Time>()
                .with_context(|| format!("location {}: end_of_day {e:?} is not HH:MM", l.name))
        })
        .transpose()?;
    Ok(LocationPolicy {
        name: l.name.clone(),
        time_zone: l.time_zone.clone(),
        end_of_day,
    })
}

fn early(e: &EarlyConfig) -> Result<EarlyPolicy> {
    for a in &e.actions {
        if !EarlyPolicy::ALLOWED.contains(a) {
            bail!(
                "early: {a} cuts access or is not hand-over preparation, so it runs at the cutoff; early actions are delegate_mailbox, forward_mail, set_auto_reply and transfer_data"
            );
        }
    }
    Ok(EarlyPolicy {
        lead: hours(
            Some(e.lead_hours),
            std::time::Duration::ZERO,
            "early.lead_hours",
        )?,
        actions: e.actions.clone(),
    })
}

fn hr_webhook(h: &HrWebhookConfig) -> Result<HrWebhook> {
    let vendor: passage_hris::Vendor = h
        .vendor
        .parse()
        .map_err(|e: passage_hris::UnknownVendor| anyhow::anyhow!("hr_webhooks: {e}"))?;
    if h.unsigned {
        if vendor != passage_hris::Vendor::Rippling {
            anyhow::bail!(
                "hr_webhooks {}: unsigned is only for rippling; {} signs its webhooks, so configure its secret",
                h.vendor,
                h.vendor
            );
        }
        if !h.secrets.is_empty() {
            anyhow::bail!(
                "hr_webhooks {}: unsigned and secrets exclude each other (with a token configured in Rippling, drop unsigned)",
                h.vendor
            );
        }
        return Ok(HrWebhook {
            vendor: vendor.as_str().to_owned(),
            secrets: Vec::new(),
            unsigned: true,
        });
    }
    let secrets: Vec<Secret> = h
        .secrets
        .iter()
        .map(|s| resolve_secret(s))
        .collect::<Result<_>>()?;
    // Gusto may start without a token: Passage completes its subscription handshake and keeps
    // the token Gusto confirms (hr_api needs webhook_subscription_uuid and system_token).
    if !(vendor == passage_hris::Vendor::Gusto && secrets.is_empty()) {
        let exposed: Vec<&str> = secrets.iter().map(Secret::expose).collect();
        vendor
            .verifier(&exposed)
            .map_err(|e| anyhow::anyhow!("hr_webhooks {}: {e}", h.vendor))?;
    }
    Ok(HrWebhook {
        vendor: vendor.as_str().to_owned(),
        secrets,
        unsigned: false,
    })
}

fn hours(h: Option<f64>, default: std::time::Duration, field: &str) -> Result<std::time::Duration> {
    match h {
        None => Ok(default),
        Some(h) if h.is_finite() && h >= 0.0 => Ok(std::time::Duration::from_secs_f64(h * 3600.0)),
        Some(h) => bail!("{field} must be a non-negative number of hours, not {h}"),
    }
}

fn human_step(c: &HumanStepConfig, base: HumanStepPolicy, what: &str) -> Result<HumanStepPolicy> {
    Ok(HumanStepPolicy {
        critical: c.critical.unwrap_or(base.critical),
        due_after: hours(
            c.due_after_hours,
            base.due_after,
            &format!("{what}.due_after_hours"),
        )?,
        remind_every: hours(
            c.remind_every_hours,
            base.remind_every,
            &format!("{what}.remind_every_hours"),
        )?,
        escalate_after: hours(
            c.escalate_after_hours,
            base.escalate_after,
            &format!("{what}.escalate_after_hours"),
        )?,
    })
}

fn human(c: &HumanConfig) -> Result<HumanPolicy> {
    let channels = |list: &[ChannelConfig]| -> Result<Vec<Channel>> {
        list.iter()
            .map(|c| {
                Ok(match c {
                    ChannelConfig::Webhook { url, secret } => {
                        url::Url::parse(url)
                            .with_context(|| format!("webhook channel url {url:?} is not a URL"))?;
                        let secret = resolve_secret(secret)?;
                        passage_hris::WebhookSecret::parse(secret.expose()).map_err(|e| {
                            anyhow::anyhow!("webhook channel secret is unusable: {e}")
                        })?;
                        Channel::Webhook {
                            url: url.clone(),
                            secret,
                        }
                    }
                    ChannelConfig::Email {
                        to,
                        include_recipients,
                    } => Channel::Email {
                        to: to.clone(),
                        include_recipients: *include_recipients,
                    },
                    ChannelConfig::Slack { url } => Channel::Slack {
                        url: resolve_secret(url)?,
                    },
                })
            })
            .collect()
    };
    Ok(HumanPolicy {
        device_return: c
            .device_return
            .as_ref()
            .map(|d| human_step(d, HumanStepPolicy::device_return(), "device_return"))
            .transpose()?,
        handover: c
            .handover
            .as_ref()
            .map(|d| human_step(d, HumanStepPolicy::handover(), "handover"))
            .transpose()?,
        remind: channels(&c.remind)?,
        escalate: channels(&c.escalate)?,
    })
}

/// A settings table with every `env:`/`file:` string replaced by what it names, for adapters
/// whose settings are deserialized from it.
fn resolve_table(table: &toml::Table) -> Result<toml::Table> {
    fn walk(v: &toml::Value) -> Result<toml::Value> {
        Ok(match v {
            toml::Value::String(s) if s.starts_with("env:") || s.starts_with("file:") => {
                toml::Value::String(resolve_secret(s)?.expose().to_owned())
            }
            toml::Value::Array(a) => toml::Value::Array(a.iter().map(walk).collect::<Result<_>>()?),
            toml::Value::Table(t) => toml::Value::Table(resolve_table(t)?),
            other => other.clone(),
        })
    }
    table
        .iter()
        .map(|(k, v)| Ok((k.clone(), walk(v)?)))
        .collect()
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
    fn the_example_config_has_every_section() {
        let text = include_str!("../../../passage.example.toml").replace(
            "file:/etc/passage/okta-acme.pem",
            "inline-key-not-checked-here",
        );
        let config = Config::parse(&text).unwrap();
        // Only the sections below are resolved: the Okta key above is not a real PEM.
        let t = &config.tenants[0];
        assert_eq!(t.hr_webhooks[0].vendor, "hibob");
        assert!(t.human.as_ref().unwrap().device_return.is_some());
        assert_eq!(config.operators.len(), 2);
        assert!(config.notify.is_some());
    }

    #[test]
    fn hr_time_human_operator_and_notify_settings_resolve() {
        let text = r#"
[[tenants]]
id = "acme"
involuntary_immediate = false
[[tenants.locations]]
name = "Berlin"
time_zone = "Europe/Berlin"
end_of_day = "18:00"
[[tenants.hr_webhooks]]
vendor = "bamboohr"
secrets = ["bamboo-private-key"]
[tenants.hr_api]
vendor = "bamboohr"
company_domain = "acme"
api_key = "bamboo-api-key"
[tenants.human]
device_return = { due_after_hours = 1.5 }
remind = [{ kind = "slack", url = "https://hooks.slack.com/services/T/B/X" }]
[[operators]]
name = "it"
token = "0123456789abcdef0123456789abcdef"
tenants = ["acme"]
[notify.smtp]
host = "localhost"
port = 25
from = "passage@acme.example"
tls = "none"
"#;
        let r = Config::parse(text).unwrap().resolve_all().unwrap();
        let p = &r.policies[0];
        assert!(!p.involuntary_immediate);
        assert_eq!(
            p.location(Some("berlin")).unwrap().time_zone,
            "Europe/Berlin"
        );
        assert_eq!(p.hr_webhooks[0].vendor, "bamboohr");
        let d = p.human.device_return.as_ref().unwrap();
        assert!(
            d.critical,
            "device return is critical unless said otherwise"
        );
        assert_eq!(d.due_after, std::time::Duration::from_secs(5400));
        assert!(p.human.handover.is_none());
        assert_eq!(r.hr_apis[&p.id].vendor(), "bamboohr");
        assert_eq!(r.operators[0].tenants, vec!["acme".to_owned()]);
        assert!(r.notify.smtp.is_some());
        // No secret in Debug output.
        let debug = format!("{:?} {:?}", p.human, r.operators);
        assert!(!debug.contains("hooks.slack.com/services/T/B/X"), "{debug}");
        assert!(
            !debug.contains("0123456789abcdef0123456789abcdef"),
            "{debug}"
        );
    }

    #[test]
    fn bad_hr_operator_and_human_settings_are_refused_with_a_reason() {
        let base = "[[tenants]]\nid = \"acme\"\n";
        let cases = [
            (
                "[[tenants.hr_webhooks]]\nvendor = \"workday\"\nsecrets = [\"x\"]\n",
                "workday",
            ),
            (
                "[[tenants.hr_webhooks]]\nvendor = \"hibob\"\nsecrets = []\n",
                "hibob",
            ),
            (
                "[[tenants.hr_webhooks]]\nvendor = \"hibob\"\nunsigned = true\n",
                "only for rippling",
            ),
            (
                "[[tenants.hr_webhooks]]\nvendor = \"rippling\"\nunsigned = true\nsecrets = [\"t0k3n-t0k3n-t0k3n\"]\n",
                "exclude each other",
            ),
            ("[tenants.hr_api]\nvendor = \"bamboohr\"\n", "hr_api"),
            (
                "[[tenants.locations]]\nname = \"X\"\ntime_zone = \"Mars/Base\"\n",
                "Mars/Base",
            ),
            (
                "[tenants.human]\ndevice_return = { due_after_hours = -1.0 }\n",
                "due_after_hours",
            ),
            (
                "[[operators]]\nname = \"o\"\ntoken = \"short\"\ntenants = [\"acme\"]\n",
                "too short",
            ),
            (
                "[[operators]]\nname = \"o\"\ntoken = \"0123456789abcdef0123456789abcdef\"\ntenants = [\"globex\"]\n",
                "globex",
            ),
            (
                "[[operators]]\nname = \"o\"\ntenants = [\"acme\"]\n",
                "token or an iam_principal",
            ),
        ];
        for (extra, needle) in cases {
            let text = format!("{base}{extra}");
            let err = match Config::parse(&text) {
                Err(e) => e,
                Ok(c) => match c.resolve_all() {
                    Err(e) => e,
                    Ok(_) => panic!("accepted: {extra}"),
                },
            };
            let msg = format!("{err:#}");
            assert!(msg.contains(needle), "{extra}: {msg}");
        }
    }

    #[test]
    fn hr_webhooks_without_secrets_only_where_passage_can_learn_or_skip_them() {
        let base = "[[tenants]]\nid = \"acme\"\n";
        for ok in [
            "[[tenants.hr_webhooks]]\nvendor = \"gusto\"\n",
            "[[tenants.hr_webhooks]]\nvendor = \"rippling\"\nunsigned = true\n",
        ] {
            let resolved = Config::parse(&format!("{base}{ok}"))
                .and_then(|c| c.resolve_all())
                .unwrap_or_else(|e| panic!("{ok}: {e:#}"));
            let hook = &resolved.policies[0].hr_webhooks[0];
            assert!(hook.secrets.is_empty(), "{ok}");
        }
        let Err(err) = Config::parse(&format!(
            "{base}[[tenants.hr_webhooks]]\nvendor = \"merge\"\n"
        ))
        .and_then(|c| c.resolve_all()) else {
            panic!("merge without a secret was accepted");
        };
        assert!(format!("{err:#}").contains("merge"), "{err:#}");
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
