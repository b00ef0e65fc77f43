//! Telling people that a human step is overdue: outbound webhooks, email, Slack. The engine
//! decides when and what; an adapter delivers and reports each delivery so it can be recorded.

pub use crate::domain::{Channel, NoticeDelivery, NoticeKind};

use crate::domain::TenantPolicy;
use crate::ids::{RunId, StepKey};
use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One message about a run: an outstanding human step, a step past its SLA, a run blocked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub kind: NoticeKind,
    pub tenant: String,
    pub run_id: RunId,
    /// The step the notice is about; none for one about the whole run (past its SLA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<StepKey>,
    /// One line, e.g. "Laptop return for jane@example.com is 3 days overdue".
    pub subject: String,
    /// Plain text body naming what is outstanding and how to confirm it.
    pub text: String,
    /// People the notice is about (the manager, the leaver's email), for email channels.
    #[serde(default)]
    pub recipients: Vec<String>,
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
