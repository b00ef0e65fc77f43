//! The vocabulary of graded access: what an item is, what became of it, and where that was read.

use crate::domain::{Action, Provider};
use crate::ids::StepKey;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What kind of access an item is. Each kind is removed by the steps of its provider that
/// [`ItemKind::removed_by`] names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Group,
    App,
    Session,
    Grant,
    Factor,
    Licence,
    Device,
    /// An inbox rule forwarding mail away: the leaver's own rule forwarding or redirecting
    /// mail (`rule:<mailbox>/<rule id>`), or a colleague's rule that forwards to the leaver.
    Forwarding,
    /// A permission the leaver holds on someone else's calendar
    /// (`calendar:<mailbox>/<permission id>`).
    Delegation,
    // ----- the shared-resource sweep (issue 17)
    /// An administrator role the leaver holds (Okta, JumpCloud).
    AdminRole,
    /// A grant the leaver holds on a resource someone else owns (a shared mailbox's
    /// FullAccess, SendAs or SendOnBehalf).
    SharedAccess,
    /// A resource the leaver owns (a group, a registered app): handed to the manager, or
    /// reported with who must act.
    Ownership,
    /// The leaver's OneDrive: handed to the manager, its sharing links removed.
    Drive,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Group => "group",
            ItemKind::App => "app",
            ItemKind::Session => "session",
            ItemKind::Grant => "grant",
            ItemKind::Factor => "factor",
            ItemKind::Licence => "licence",
            ItemKind::Device => "device",
            ItemKind::Forwarding => "forwarding",
            ItemKind::Delegation => "delegation",
            ItemKind::AdminRole => "admin_role",
            ItemKind::SharedAccess => "shared_access",
            ItemKind::Ownership => "ownership",
            ItemKind::Drive => "drive",
        }
    }

    /// The actions that take this kind of access away, in the order they are asked about:
    /// the first one the run's plan holds for the item's provider decides.
    pub fn removed_by(self) -> &'static [Action] {
        match self {
            ItemKind::Group => &[Action::RemoveGroups],
            ItemKind::App => &[Action::UnassignApps, Action::Deactivate],
            ItemKind::Session => &[Action::RevokeSessions],
            ItemKind::Grant => &[Action::RevokeGrants, Action::RevokeSessions],
            ItemKind::Factor => &[Action::ResetFactors],
            ItemKind::Licence => &[Action::RemoveLicenses],
            ItemKind::Device => &[Action::SecureDevices, Action::ReturnDevices],
            ItemKind::Forwarding | ItemKind::Delegation => &[Action::SweepMailAccess],
            ItemKind::AdminRole => &[Action::RemoveAdminRoles],
            ItemKind::SharedAccess | ItemKind::Ownership => &[Action::SweepSharedAccess],
            ItemKind::Drive => &[Action::HandOverOneDrive],
        }
    }
}

/// What became of one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// Read back gone after a step removed it.
    Removed,
    /// Not there when the step looked, proven by a list read to its end.
    Absent,
    /// Still there after the step: someone else must act (AD, a dynamic rule, an inherited
    /// licence), or nobody has.
    Remains,
    /// A command was issued and its completion is not yet observed.
    Pending,
    /// A named person confirmed it.
    Attested,
}

impl Grade {
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::Removed => "removed",
            Grade::Absent => "absent",
            Grade::Remains => "remains",
            Grade::Pending => "pending",
            Grade::Attested => "attested",
        }
    }

    /// Whether an item so graded holds a run open (when critical and not excepted).
    pub fn holds(self) -> bool {
        matches!(self, Grade::Remains | Grade::Pending)
    }
}

/// Which kind of read a grade rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadKind {
    /// The provider's read-back after the step acted.
    Readback,
    /// The pre-state snapshot (nothing later says more).
    Snapshot,
    /// A person's confirmation.
    Human,
    /// Nothing Passage can read shows the item's state.
    NotObservable,
}

/// Where a grade was read: which step's read, of which kind, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub step: StepKey,
    pub read: ReadKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Timestamp>,
    /// Who confirmed it, for [`ReadKind::Human`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// One item of the leaver's access and its grade.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessItem {
    /// Stable within the run (`microsoft.group.<id>`): what an operator names in an exception.
    pub key: String,
    pub provider: Provider,
    pub kind: ItemKind,
    /// The provider's id of the item.
    pub id: String,
    pub name: String,
    /// Whether the step that removes it is critical (an item no step removes counts as critical).
    pub critical: bool,
    pub grade: Grade,
    /// Why it remains or is pending, and who must act.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Where the snapshot recorded the item.
    pub recorded: Source,
    /// Where the grade was read.
    pub source: Source,
}

impl AccessItem {
    pub fn item_key(provider: Provider, kind: ItemKind, id: &str) -> String {
        format!("{}.{}.{id}", provider.as_str(), kind.as_str())
    }
}
