//! Steps only a person can finish: a laptop handed back, a manager confirming they have what
//! they need. The run lists what is outstanding, an authorised person confirms each item, and
//! the closure gate treats the step like any other: critical ones hold the run open.

use super::{NoticeDelivery, NoticeKind};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The list of things a person must confirm for one human step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HumanTask {
    pub items: Vec<HumanItem>,
    pub opened_at: Timestamp,
    /// When the first reminder goes out if items are still outstanding.
    pub due_at: Timestamp,
    /// When reminders turn into escalations.
    pub escalate_at: Timestamp,
    /// Every reminder and escalation sent, with each channel's delivery result.
    #[serde(default)]
    pub notices: Vec<NoticeRecord>,
}

impl HumanTask {
    pub fn outstanding(&self) -> impl Iterator<Item = &HumanItem> {
        self.items.iter().filter(|i| i.confirmation.is_none())
    }

    pub fn last_notice_at(&self) -> Option<Timestamp> {
        self.notices.iter().map(|n| n.at).max()
    }
}

/// One thing to confirm: a device to receive, or the hand-over of the leaver's data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HumanItem {
    /// Stable within the step; what an operator names when confirming (`device-1`, `handover`).
    pub id: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<Confirmation>,
}

/// A device the leaver had, as the providers' device data shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRecord {
    /// Which provider's records list it (`microsoft`, `google`, `jumpcloud`).
    pub source: String,
    /// The provider's device id.
    pub device_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// The asset tag where the provider records one; otherwise the serial number stands in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// What device management last reported or was told to do (`locked`, `retire`, `wipe
    /// pending`, `not secured`), from the run's own device step when there is one.
    pub mdm_state: String,
}

/// Who confirmed an item, when, and in what shape it came back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    pub outcome: ItemOutcome,
    /// `operator:<name>` or `manager:<email>`.
    pub actor: String,
    pub at: Timestamp,
    /// The device's condition on return (`good`, `damaged: cracked screen`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemOutcome {
    /// The device is back in IT's hands.
    Received,
    /// The manager has the data they need.
    HandedOver,
    /// Will not come back (lost, written off, bought out); the note says why.
    WrittenOff,
    /// An app's owner attests the leaver's account there is removed or deactivated. Passage
    /// did not see it happen, so the bundle records the owner's word, never a removal.
    Attested,
    /// An app's owner attests the leaver never had an account there.
    NoAccount,
}

impl ItemOutcome {
    /// The outcomes an item of a step with `action` may be confirmed with.
    pub fn fits(self, action: crate::domain::Action) -> bool {
        use crate::domain::Action;
        match action {
            Action::ReturnDevices => {
                matches!(self, ItemOutcome::Received | ItemOutcome::WrittenOff)
            }
            Action::ConfirmAppRemoval => {
                matches!(self, ItemOutcome::Attested | ItemOutcome::NoAccount)
            }
            _ => self == ItemOutcome::HandedOver,
        }
    }

    /// What a confirmation link (one click, no choice) confirms for a step with `action`.
    pub fn by_link(action: crate::domain::Action) -> Self {
        match action {
            crate::domain::Action::ConfirmAppRemoval => ItemOutcome::Attested,
            _ => ItemOutcome::HandedOver,
        }
    }
}

/// One reminder or escalation, as sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoticeRecord {
    pub kind: NoticeKind,
    pub at: Timestamp,
    pub outstanding: Vec<String>,
    pub deliveries: Vec<NoticeDelivery>,
}

/// How a tenant runs one kind of human step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HumanStepPolicy {
    /// Whether the step holds the closure gate (and so can never be waived).
    pub critical: bool,
    /// Time after the step opens before the first reminder.
    pub due_after: Duration,
    /// Time between reminders while items are outstanding.
    pub remind_every: Duration,
    /// Time after the step opens when reminders become escalations.
    pub escalate_after: Duration,
}

impl HumanStepPolicy {
    /// Device return: critical, first reminder after 3 days, daily, escalate after a week.
    pub fn device_return() -> Self {
        Self {
            critical: true,
            due_after: Duration::from_secs(3 * 86_400),
            remind_every: Duration::from_secs(86_400),
            escalate_after: Duration::from_secs(7 * 86_400),
        }
    }

    /// An app's owner removing the account by hand: critical (access is open until they do),
    /// first reminder after a day, escalated after three.
    pub fn app_removal() -> Self {
        Self {
            critical: true,
            due_after: Duration::from_secs(86_400),
            remind_every: Duration::from_secs(86_400),
            escalate_after: Duration::from_secs(3 * 86_400),
        }
    }

    /// Data hand-over: not critical, first reminder after 2 days.
    pub fn handover() -> Self {
        Self {
            critical: false,
            due_after: Duration::from_secs(2 * 86_400),
            remind_every: Duration::from_secs(86_400),
            escalate_after: Duration::from_secs(5 * 86_400),
        }
    }
}
