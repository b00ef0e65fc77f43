//! Read-only snapshots of organisation data for tests and demos, so
//! assertions do not depend on the JSON wire format.

use crate::jumpcloud::model::{CommandChannel, CommandKind, OsFamily, UserState};

/// A system user as the emulator currently holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserView {
    /// `_id`.
    pub id: String,
    /// Owning organisation.
    pub org_id: String,
    /// `username`.
    pub username: String,
    /// `email`.
    pub email: String,
    /// `firstname`.
    pub firstname: String,
    /// `lastname`.
    pub lastname: String,
    /// `state`.
    pub state: UserState,
    /// `suspended` (true exactly when `state` is SUSPENDED).
    pub suspended: bool,
    /// `account_locked`.
    pub account_locked: bool,
    /// `manager` (a user id).
    pub manager_id: Option<String>,
    /// User groups the user belongs to, in group creation order.
    pub groups: Vec<GroupView>,
    /// Ids of systems bound directly to the user.
    pub system_ids: Vec<String>,
    /// The account-wide `sudo` flag (administrator on every device the user is bound to).
    pub sudo: bool,
    /// Ids of the bound systems whose binding grants sudo.
    pub sudo_system_ids: Vec<String>,
}

impl UserView {
    /// Names of the user's groups.
    pub fn group_names(&self) -> Vec<&str> {
        self.groups.iter().map(|g| g.name.as_str()).collect()
    }
}

/// A user group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupView {
    /// `id`.
    pub id: String,
    /// `name`.
    pub name: String,
    /// Member user ids, in the order they joined.
    pub member_ids: Vec<String>,
}

/// A device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemView {
    /// `_id`.
    pub id: String,
    /// Owning organisation.
    pub org_id: String,
    /// `displayName`.
    pub display_name: String,
    /// Operating-system family.
    pub os_family: OsFamily,
    /// Whether the agent is connected.
    pub online: bool,
    /// Whether a lock command has been carried out.
    pub locked: bool,
    /// Whether an erase command has been carried out.
    pub erased: bool,
    /// Directly bound user ids.
    pub bound_user_ids: Vec<String>,
    /// The organisation's Apple MDM id, when the device is enrolled.
    pub apple_mdm_id: Option<String>,
    /// The Apple MDM device id, when the device is enrolled.
    pub mdm_device_id: Option<String>,
}

/// A security command issued through the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandView {
    /// Command id (the `workflowId` of its result).
    pub id: String,
    /// Owning organisation.
    pub org_id: String,
    /// Lock or erase.
    pub kind: CommandKind,
    /// Builtin agent command or Apple MDM command.
    pub channel: CommandChannel,
    /// Target system.
    pub system_id: String,
    /// Target Apple MDM device, for MDM commands.
    pub device_id: Option<String>,
    /// The PIN sent with an MDM command.
    pub pin: Option<String>,
    /// When the request was accepted.
    pub requested_at: String,
    /// Whether the device has carried it out.
    pub completed: bool,
    /// The command result's `_id`, for builtin commands once completed.
    pub result_id: Option<String>,
}
