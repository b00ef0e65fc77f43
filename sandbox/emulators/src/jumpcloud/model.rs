//! Stored records and the enums tests use to describe them.
//!
//! Every JumpCloud object id is a 24-hex-digit MongoDB ObjectId. The
//! emulator mints them like a single MongoDB process does — a fixed
//! timestamp, a per-process random part and an increasing counter — so ids
//! sort in creation order, which is what `sort=_id` paging relies on.

use jiff::Timestamp;
use rand::Rng;
use rand::rngs::StdRng;

/// `state` of a system user (`systemuserreturn.state`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum UserState {
    /// Created but not yet activated.
    Staged,
    /// Active.
    #[default]
    Activated,
    /// Suspended: logged out everywhere and unable to sign in.
    Suspended,
}

impl UserState {
    /// The wire value (`STAGED`, `ACTIVATED`, `SUSPENDED`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staged => "STAGED",
            Self::Activated => "ACTIVATED",
            Self::Suspended => "SUSPENDED",
        }
    }

    /// Parses a wire value.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "STAGED" => Some(Self::Staged),
            "ACTIVATED" => Some(Self::Activated),
            "SUSPENDED" => Some(Self::Suspended),
            _ => None,
        }
    }
}

/// Operating-system family of a device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OsFamily {
    /// Windows (builtin security commands supported).
    #[default]
    Windows,
    /// Linux (builtin security commands supported).
    Linux,
    /// macOS (builtin security commands refused; use Apple MDM).
    MacOs,
    /// iOS / iPadOS (Apple MDM only).
    Ios,
}

impl OsFamily {
    /// `osFamily` as JumpCloud reports it.
    pub fn wire(self) -> &'static str {
        match self {
            Self::Windows => "windows",
            Self::Linux => "linux",
            Self::MacOs => "darwin",
            Self::Ios => "ios",
        }
    }

    /// `os` display name.
    pub fn os_name(self) -> &'static str {
        match self {
            Self::Windows => "Windows",
            Self::Linux => "Ubuntu",
            Self::MacOs => "Mac OS X",
            Self::Ios => "iOS",
        }
    }

    /// Whether `POST /api/systems/{id}/command/builtin/{lock,erase}` works.
    pub fn builtin_security_commands(self) -> bool {
        matches!(self, Self::Windows | Self::Linux)
    }

    /// Whether the device can be enrolled in JumpCloud's Apple MDM.
    pub fn is_apple(self) -> bool {
        matches!(self, Self::MacOs | Self::Ios)
    }
}

/// A security command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommandKind {
    /// Lock the device.
    Lock,
    /// Wipe the device.
    Erase,
}

impl CommandKind {
    /// The builtin command name (`builtInCommands[].name`).
    pub fn builtin_name(self) -> &'static str {
        match self {
            Self::Lock => "lock",
            Self::Erase => "erase",
        }
    }

    /// The MDM protocol request type.
    pub fn mdm_request_type(self) -> &'static str {
        match self {
            Self::Lock => "DeviceLock",
            Self::Erase => "EraseDevice",
        }
    }
}

/// How a security command reached the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommandChannel {
    /// The JumpCloud agent (`/api/systems/{id}/command/builtin/…`).
    Builtin,
    /// Apple MDM (`/api/v2/applemdms/{id}/devices/{id}/…`).
    AppleMdm,
}

/// Mints ObjectIds: 4-byte timestamp, 5-byte process value, 3-byte counter.
#[derive(Debug)]
pub(crate) struct ObjectIds {
    stamp: u32,
    process: u64,
    counter: u32,
}

impl ObjectIds {
    /// 2024-01-15T00:00:00Z, so seeded ids look like recent JumpCloud ids.
    const STAMP: u32 = 0x65A4_7500;

    pub fn new(rng: &mut StdRng) -> Self {
        Self {
            stamp: Self::STAMP,
            process: rng.gen_range(0..(1u64 << 40)),
            counter: rng.gen_range(0..0x10_0000),
        }
    }

    pub fn next(&mut self) -> String {
        self.counter = (self.counter + 1) & 0xFF_FFFF;
        format!(
            "{:08x}{:010x}{:06x}",
            self.stamp, self.process, self.counter
        )
    }
}

/// Whether `value` has the shape of an ObjectId.
pub(crate) fn is_object_id(value: &str) -> bool {
    value.len() == 24 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

#[derive(Clone, Debug)]
pub(crate) struct UserRecord {
    pub id: String,
    pub username: String,
    pub email: String,
    pub firstname: String,
    pub lastname: String,
    pub displayname: String,
    pub state: UserState,
    pub account_locked: bool,
    pub account_locked_date: Option<String>,
    pub created: String,
    pub manager: Option<String>,
    pub department: String,
    pub job_title: String,
    pub employee_identifier: String,
    pub unix_uid: u32,
    /// Other `systemuserput` fields written through the API, echoed back.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Clone, Debug)]
pub(crate) struct GroupRecord {
    pub id: String,
    pub name: String,
    pub description: String,
    pub email: String,
    /// Member user ids in the order they were added.
    pub members: Vec<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct SystemRecord {
    pub id: String,
    pub display_name: String,
    pub hostname: String,
    pub os_family: OsFamily,
    pub version: String,
    pub serial: String,
    pub active: bool,
    pub created: String,
    pub last_contact: String,
    /// Directly bound users: (user id, sudo).
    pub bound_users: Vec<(String, bool)>,
    pub locked: bool,
    pub erased: bool,
    /// The Apple MDM device record for this system, when enrolled.
    pub mdm_device: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct AppleMdmRecord {
    pub id: String,
    pub name: String,
    pub push_topic: String,
}

#[derive(Clone, Debug)]
pub(crate) struct DeviceRecord {
    pub id: String,
    pub system_id: String,
    pub udid: String,
    pub created: String,
    pub locked: bool,
    pub erased: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct CommandRecord {
    pub id: String,
    pub kind: CommandKind,
    pub channel: CommandChannel,
    pub system_id: String,
    pub device_id: Option<String>,
    pub mdm_id: Option<String>,
    pub pin: Option<String>,
    pub requested_at: Timestamp,
    pub completed_at: Option<Timestamp>,
    pub result_id: Option<String>,
    /// `initiated_by` of the request, reused for the result event.
    pub initiated_by: serde_json::Value,
}

#[derive(Clone, Debug)]
pub(crate) struct CommandResultRecord {
    pub id: String,
    pub command_id: String,
    pub name: String,
    pub command: String,
    pub system_id: String,
    pub system_name: String,
    pub request_time: String,
    pub response_time: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn object_ids_sort_in_creation_order() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut ids = ObjectIds::new(&mut rng);
        let a = ids.next();
        let b = ids.next();
        assert!(is_object_id(&a));
        assert!(a < b);
        assert!(!is_object_id("not-an-id"));
    }
}
