//! Notices about overdue human steps, as the domain records them: the channels a tenant sends
//! them to, what kind each one is, and how each delivery went. The notifier port delivers them;
//! the records here are what a run keeps and its evidence shows.

use crate::secret::Secret;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Whether this notice is a reminder or an escalation past the deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    Reminder,
    Escalation,
    /// A critical step failed for good: the run is blocked until an operator acts.
    RunBlocked,
    /// A step that is not critical failed for good: the run waits for a retry or a waiver.
    StepFailed,
    /// The run is still open past the tenant's access-removal SLA.
    PastSla,
    /// The leaver signed in after the cutoff: the run reopened to lock them out again.
    SignInAfterCutoff,
}

impl NoticeKind {
    /// How a message names its kind.
    pub fn label(self) -> &'static str {
        match self {
            NoticeKind::Reminder => "Reminder",
            NoticeKind::Escalation => "Escalation",
            NoticeKind::RunBlocked => "Run blocked",
            NoticeKind::StepFailed => "Step failed",
            NoticeKind::PastSla => "Past SLA",
            NoticeKind::SignInAfterCutoff => "Sign-in after cutoff",
        }
    }
}

/// One alert about a run, kept on the run so each cause is told once however often the run is
/// looked at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRecord {
    /// What the alert is about, e.g. `failed:okta.snapshot:3` (the step and its attempts, so a
    /// step that fails again after a retry is a new cause) or `sla`.
    pub cause: String,
    pub kind: NoticeKind,
    pub at: Timestamp,
    /// Each channel's delivery, once sent.
    #[serde(default)]
    pub deliveries: Vec<NoticeDelivery>,
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
