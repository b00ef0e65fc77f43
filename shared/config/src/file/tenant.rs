//! `[[tenants]]`: one customer's time rules, webhook secrets, HR system, human steps and
//! provider sections.

use crate::file::yes;
use crate::providers::{
    GithubConfig, GoogleConfig, JumpCloudConfig, ManualAppConfig, MicrosoftConfig, OktaConfig,
    ScimAppConfig, SlackConfig,
};
use serde::Deserialize;

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
    /// The tenant IT's recovery public key (P-256, SPKI PEM): device lock PINs are sealed for
    /// it. Without one, a PIN is not kept.
    #[serde(default)]
    pub recovery_key: Option<String>,
    /// No longer read: retries are bounded by time (`[tenants.retry]`), not by a count. Still
    /// accepted so a configuration written for an earlier version loads unchanged.
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// How long steps keep trying through transient failures, and when the tenant is told.
    #[serde(default)]
    pub retry: Option<RetryConfig>,
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
    /// SaaS apps: Slack, GitHub, any app with SCIM 2.0, and apps without an API whose owner
    /// confirms by hand.
    #[serde(default)]
    pub slack: Option<SlackConfig>,
    #[serde(default)]
    pub github: Option<GithubConfig>,
    #[serde(default)]
    pub scim_apps: Vec<ScimAppConfig>,
    #[serde(default)]
    pub manual_apps: Vec<ManualAppConfig>,
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
    /// and that vendor's settings (the shape of `passage_hrapi::HrSettings`).
    #[serde(default)]
    pub hr_api: Option<toml::Table>,
    #[serde(default)]
    pub human: Option<HumanConfig>,
    /// Hand-over steps run ahead of the cutoff: `lead_hours` before it.
    #[serde(default)]
    pub early: Option<EarlyConfig>,
    /// A leaver event whose cutoff lies more than this many days in the past is refused (422)
    /// unless it says `immediate`.
    #[serde(default = "default_days_past")]
    pub max_days_past: u32,
    /// A leaver event whose cutoff lies more than this many days ahead is refused (422).
    #[serde(default = "default_days_ahead")]
    pub max_days_ahead: u32,
    /// The access-removal SLA period reports grade leavers against (24 h from the cutoff when
    /// absent).
    #[serde(default)]
    pub sla: Option<SlaConfig>,
    /// How long after the cutoff a closed run's sign-ins are watched (72 h when absent).
    #[serde(default)]
    pub sign_in_watch: Option<SignInWatchConfig>,
    /// The go-live guard (on with 5 terminations in 60 minutes when absent).
    #[serde(default)]
    pub guard: Option<GuardConfig>,
    /// `[tenants.sweep]`: the shared-resource sweep. Absent, it is off: each part needs grants
    /// an existing app registration may lack (`okta.roles.*`, `Files.ReadWrite.All`, Exchange
    /// reads of every shared mailbox), and a snapshot must not start failing on an upgrade.
    /// Present, every part it does not name is on.
    #[serde(default = "passage_core::SweepPolicy::off")]
    pub sweep: passage_core::SweepPolicy,
}

/// `[tenants.guard]`: more than `max_terminations` within `window_minutes` holds new runs
/// until an operator approves them; `enabled = false` turns it off.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardConfig {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub max_terminations: Option<u32>,
    #[serde(default)]
    pub window_minutes: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaConfig {
    pub hours: f64,
    /// `cutoff` (the last working minute) or `hr_notice` (the later of the cutoff and HR's
    /// notice reaching Passage).
    #[serde(default = "default_sla_clock")]
    pub from: passage_core::SlaClock,
}

/// `[tenants.sign_in_watch]`: each field falls back to the default policy's.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInWatchConfig {
    /// The window after the cutoff; 0 turns the watch off.
    pub hours: Option<f64>,
    /// Minutes between two reads of the logs.
    pub every_minutes: Option<f64>,
    /// Seconds after the cutoff that still count as the cutoff (clock slack).
    pub slack_seconds: Option<u64>,
    /// Hours the logs are read past the window for late-arriving entries.
    pub ingestion_hours: Option<f64>,
}

fn default_sla_clock() -> passage_core::SlaClock {
    passage_core::SlaClock::Cutoff
}

fn default_eod() -> String {
    "17:00".into()
}
fn default_zone() -> String {
    "UTC".into()
}
/// `[tenants.retry]`: each value in hours; absent ones keep the defaults (6, 1 and 4).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// How long a critical step keeps retrying through an unbroken run of transient failures.
    #[serde(default)]
    pub critical_deadline_hours: Option<f64>,
    /// The same for a step that is not critical.
    #[serde(default)]
    pub deadline_hours: Option<f64>,
    /// How long after its first attempt a step may go unverified before the tenant is alerted.
    #[serde(default)]
    pub sla_hours: Option<f64>,
}
fn default_days_past() -> u32 {
    passage_hris::DateWindow::default().max_days_past
}
fn default_days_ahead() -> u32 {
    passage_hris::DateWindow::default().max_days_ahead
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
