//! Telling people that a human step is overdue: outbound webhooks, email, Slack. The engine
//! decides when and what; an adapter delivers and reports each delivery so it can be recorded.

use crate::domain::TenantPolicy;
use crate::ids::{RunId, StepKey};
use crate::secret::Secret;
use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Whether this notice is a reminder or an escalation past the deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    Reminder,
    Escalation,
}

/// One message about one outstanding human step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub kind: NoticeKind,
    pub tenant: String,
    pub run_id: RunId,
    pub step: StepKey,
    /// One line, e.g. "Laptop return for jane@example.com is 3 days overdue".
    pub subject: String,
    /// Plain text body naming what is outstanding and how to confirm it.
    pub text: String,
    /// People the notice is about (the manager, the leaver's email), for email channels.
    #[serde(default)]
    pub recipients: Vec<String>,
    pub at: Timestamp,
}

/// A channel a tenant sends notices to. Holds secrets (signing keys, Slack URLs), so it is
/// configuration only and never serialized into events or evidence.
#[derive(Clone, PartialEq, Eq)]
pub enum Channel {
    /// A Standard Webhooks-signed POST of the notice as JSON (`whsec_…` secret).
    Webhook { url: String, secret: Secret },
    /// Email through the host's SMTP relay to `to`, plus the notice's recipients when
    /// `include_recipients` (the manager, for a hand-over reminder).
    Email {
        to: Vec<String>,
        include_recipients: bool,
    },
    /// A Slack incoming webhook. The URL itself is the credential.
    Slack { url: Secret },
}

/// Prints a webhook URL without its query (where tokens hide) and never a secret.
impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Channel::Webhook { url, .. } => {
                let bare = url.split(['?', '#']).next().unwrap_or_default();
                write!(f, "Webhook({bare})")
            }
            Channel::Email { to, .. } => write!(f, "Email({})", to.join(", ")),
            Channel::Slack { .. } => f.write_str("Slack(***)"),
        }
    }
}

impl Channel {
    pub fn kind(&self) -> &'static str {
        match self {
            Channel::Webhook { .. } => "webhook",
            Channel::Email { .. } => "email",
            Channel::Slack { .. } => "slack",
        }
    }
}

/// What happened to one delivery. Recorded in the run's events and its evidence, so it must
/// never contain a secret (Slack webhook URLs are secrets: adapters report only their host).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeDelivery {
    pub channel: String,
    /// Where it went, redacted of secrets (an email address, a URL's host).
    pub target: String,
    pub delivered: bool,
    /// HTTP status, SMTP reply, or the error.
    pub detail: String,
    pub at: Timestamp,
}

/// Sends notices over a tenant's channels.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Delivers `notice` to each channel once and reports every delivery, failed ones included.
    async fn send(
        &self,
        tenant: &TenantPolicy,
        channels: &[Channel],
        notice: &Notice,
    ) -> Vec<NoticeDelivery>;
}

/// Delivers nothing: for hosts with no channels configured. Reports each channel as skipped.
pub struct NoNotifier;

#[async_trait]
impl Notifier for NoNotifier {
    async fn send(
        &self,
        _tenant: &TenantPolicy,
        channels: &[Channel],
        notice: &Notice,
    ) -> Vec<NoticeDelivery> {
        channels
            .iter()
            .map(|c| NoticeDelivery {
                channel: c.kind().into(),
                target: "-".into(),
                delivered: false,
                detail: "no notifier configured on this host".into(),
                at: notice.at,
            })
            .collect()
    }
}
