//! Seeding: inputs for populating an organisation directly (no request, no
//! audit event), and the fixed demo organisation.

use crate::jumpcloud::JumpCloudEmulator;
use crate::jumpcloud::model::{OsFamily, UserState};

/// A system user to create.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeedUser {
    /// `email`; unique within its organisation (case-insensitive).
    pub email: String,
    /// `username`; defaults to the part of the e-mail before `@`.
    pub username: String,
    /// `firstname`.
    pub firstname: String,
    /// `lastname`.
    pub lastname: String,
    /// Starting `state`.
    pub state: UserState,
    /// Manager, by e-mail or id (must already exist).
    pub manager: Option<String>,
    /// Names of user groups to join; unknown names are created.
    pub groups: Vec<String>,
    /// `department`.
    pub department: String,
    /// `jobTitle`.
    pub job_title: String,
    /// `employeeIdentifier`.
    pub employee_identifier: String,
    /// `account_locked`.
    pub account_locked: bool,
    /// Organisation id; `None` is the primary organisation.
    pub org: Option<String>,
    /// `alternateEmail`: a second address (often the one HR knows), listed and filterable.
    pub alternate_email: Option<String>,
    /// `sudo`: administrator on every device the user is bound to.
    pub sudo: bool,
}

impl SeedUser {
    /// An ACTIVATED user with nothing attached.
    pub fn new(email: &str, firstname: &str, lastname: &str) -> Self {
        Self {
            email: email.to_owned(),
            firstname: firstname.to_owned(),
            lastname: lastname.to_owned(),
            ..Self::default()
        }
    }
}

/// A user group to create.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeedGroup {
    /// `name`; an existing group with this name is reused.
    pub name: String,
    /// `description`.
    pub description: String,
    /// Organisation id; `None` is the primary organisation.
    pub org: Option<String>,
}

impl SeedGroup {
    /// A group with an empty description in the primary organisation.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ..Self::default()
        }
    }
}

/// A device to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedSystem {
    /// `displayName`.
    pub display_name: String,
    /// `hostname`; defaults to the display name.
    pub hostname: String,
    /// Operating-system family.
    pub os_family: OsFamily,
    /// `version`.
    pub version: String,
    /// `serialNumber`; generated when empty.
    pub serial: String,
    /// Whether the agent is connected (`active`). Commands to an offline
    /// device stay queued until [`JumpCloudEmulator::set_system_online`].
    pub online: bool,
    /// Users bound directly to the system, by e-mail or id.
    pub bound_users: Vec<String>,
    /// Whether bound users get sudo.
    pub sudo: bool,
    /// Enrol in the organisation's Apple MDM (macOS and iOS only).
    pub apple_mdm: bool,
    /// Organisation id; `None` is the primary organisation.
    pub org: Option<String>,
}

impl SeedSystem {
    /// An online Windows 11 machine.
    pub fn windows(name: &str) -> Self {
        Self::new(name, OsFamily::Windows, "11 Pro")
    }

    /// An online Ubuntu machine.
    pub fn linux(name: &str) -> Self {
        Self::new(name, OsFamily::Linux, "24.04")
    }

    /// An online Mac enrolled in JumpCloud's Apple MDM.
    pub fn macos(name: &str) -> Self {
        Self {
            apple_mdm: true,
            ..Self::new(name, OsFamily::MacOs, "14.5")
        }
    }

    fn new(name: &str, os_family: OsFamily, version: &str) -> Self {
        Self {
            display_name: name.to_owned(),
            hostname: String::new(),
            os_family,
            version: version.to_owned(),
            serial: String::new(),
            online: true,
            bound_users: Vec::new(),
            sudo: false,
            apple_mdm: false,
            org: None,
        }
    }

    /// Binds a user (by e-mail or id).
    #[must_use]
    pub fn bound_to(mut self, user: &str) -> Self {
        self.bound_users.push(user.to_owned());
        self
    }
}

/// Why a seed was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SeedError {
    /// A user with this e-mail already exists in the organisation.
    #[error("a user with e-mail `{0}` already exists")]
    DuplicateEmail(String),
    /// The e-mail was blank.
    #[error("a seeded user needs an e-mail")]
    EmptyEmail,
    /// No organisation has this id.
    #[error("no organisation `{0}`")]
    UnknownOrg(String),
    /// A referenced user (manager, bound user) does not exist.
    #[error("no user `{0}`")]
    UnknownUser(String),
    /// Apple MDM enrolment was asked for a non-Apple device.
    #[error("only macOS and iOS devices can enrol in Apple MDM")]
    NotApple,
}

/// The leaver at the centre of the demo.
pub const DEMO_LEAVER: &str = "jane.doe@example.com";
/// The leaver's manager.
pub const DEMO_MANAGER: &str = "sam.lee@example.com";

/// Ids of the demo organisation's notable objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoOrg {
    /// The primary organisation's id.
    pub org_id: String,
    /// The leaver's user id.
    pub leaver_id: String,
    /// The leaver's e-mail ([`DEMO_LEAVER`]).
    pub leaver_email: String,
    /// The manager's user id.
    pub manager_id: String,
    /// The manager's e-mail ([`DEMO_MANAGER`]).
    pub manager_email: String,
    /// The leaver's three user groups, in creation order.
    pub leaver_group_ids: Vec<String>,
    /// The leaver's Windows laptop (builtin lock/erase).
    pub windows_system_id: String,
    /// The leaver's MacBook (Apple MDM lock/erase).
    pub mac_system_id: String,
    /// The organisation's Apple MDM configuration.
    pub apple_mdm_id: String,
    /// The MacBook's Apple MDM device id.
    pub mac_device_id: String,
    /// Every seeded user id, in seeding order (manager first, then leaver).
    pub user_ids: Vec<String>,
}

/// Seeds the deterministic demo organisation in the primary organisation:
///
/// - user groups `Engineering`, `VPN Users`, `GitHub Admins`, `Finance`,
///   `All Staff`;
/// - the manager `sam.lee@example.com` (ACTIVATED, Engineering, All Staff);
/// - the leaver `jane.doe@example.com`: ACTIVATED, managed by Sam, in
///   Engineering, VPN Users and GitHub Admins, bound to `JANE-WIN11`
///   (Windows, online) and `Jane's MacBook Pro` (macOS, online, enrolled in
///   Apple MDM);
/// - colleagues: two ACTIVATED, one SUSPENDED, one STAGED.
///
/// With the same `JumpCloudConfig::seed`, ids are identical on every run.
///
/// # Panics
/// If the organisation already holds any of the demo e-mails.
pub fn demo_seed(emulator: &JumpCloudEmulator) -> DemoOrg {
    for (name, description) in [
        ("Engineering", "Product engineering"),
        ("VPN Users", "Remote network access"),
        ("GitHub Admins", "Owners of the GitHub organisation"),
        ("Finance", "Finance and payroll"),
        ("All Staff", "Everyone employed"),
    ] {
        emulator.seed_group(SeedGroup {
            name: name.to_owned(),
            description: description.to_owned(),
            org: None,
        });
    }
    let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let manager_id = emulator.seed_user(SeedUser {
        groups: strings(&["Engineering", "All Staff"]),
        department: "Engineering".to_owned(),
        job_title: "Engineering Manager".to_owned(),
        employee_identifier: "E1001".to_owned(),
        ..SeedUser::new(DEMO_MANAGER, "Sam", "Lee")
    });
    let leaver_id = emulator.seed_user(SeedUser {
        groups: strings(&["Engineering", "VPN Users", "GitHub Admins"]),
        manager: Some(DEMO_MANAGER.to_owned()),
        department: "Engineering".to_owned(),
        job_title: "Senior Engineer".to_owned(),
        employee_identifier: "E1002".to_owned(),
        sudo: true,
        ..SeedUser::new(DEMO_LEAVER, "Jane", "Doe")
    });
    let mut user_ids = vec![manager_id.clone(), leaver_id.clone()];
    for user in [
        SeedUser {
            groups: strings(&["Engineering", "All Staff"]),
            ..SeedUser::new("john.smith@example.com", "John", "Smith")
        },
        SeedUser {
            groups: strings(&["Finance", "All Staff"]),
            ..SeedUser::new("priya.patel@example.com", "Priya", "Patel")
        },
        SeedUser {
            state: UserState::Suspended,
            ..SeedUser::new("old.contractor@example.com", "Olga", "Contractor")
        },
        SeedUser {
            state: UserState::Staged,
            ..SeedUser::new("new.starter@example.com", "Nia", "Starter")
        },
    ] {
        user_ids.push(emulator.seed_user(user));
    }
    let windows_system_id = emulator.seed_system(SeedSystem {
        hostname: "jane-win11".to_owned(),
        serial: "5CD2149XYZ".to_owned(),
        ..SeedSystem::windows("JANE-WIN11").bound_to(DEMO_LEAVER)
    });
    let mac_system_id = emulator.seed_system(SeedSystem {
        hostname: "janes-macbook-pro".to_owned(),
        serial: "C02FK1XYQ6LR".to_owned(),
        sudo: true,
        ..SeedSystem::macos("Jane's MacBook Pro").bound_to(DEMO_LEAVER)
    });
    let mac = emulator
        .system(&mac_system_id)
        .expect("the demo Mac was just seeded");
    let leaver = emulator
        .user(&leaver_id)
        .expect("the leaver was just seeded");
    DemoOrg {
        org_id: emulator.org_id(),
        leaver_id,
        leaver_email: DEMO_LEAVER.to_owned(),
        manager_id,
        manager_email: DEMO_MANAGER.to_owned(),
        leaver_group_ids: leaver.groups.iter().map(|g| g.id.clone()).collect(),
        windows_system_id,
        mac_system_id,
        apple_mdm_id: mac.apple_mdm_id.expect("the demo Mac is enrolled"),
        mac_device_id: mac.mdm_device_id.expect("the demo Mac is enrolled"),
        user_ids,
    }
}
