//! Seeding: the inputs for populating a tenant, and the fixed demo tenant.

use crate::microsoft::MailboxRight;
use crate::microsoft::MicrosoftEmulator;
use crate::microsoft::model::{GroupKind, MailboxPurpose, MethodKind};

/// A user to create directly in the tenant (no request, no audit event).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedUser {
    /// `userPrincipalName`; unique, case-insensitive.
    pub upn: String,
    /// `mail`; defaults to the UPN when `None`.
    pub mail: Option<String>,
    /// `displayName`.
    pub display: String,
    /// `department`.
    pub department: Option<String>,
    /// `jobTitle`.
    pub job_title: Option<String>,
    /// `accountEnabled` at start.
    pub account_enabled: bool,
    /// Synced from on-premises AD (`onPremisesSyncEnabled: true`); Graph
    /// refuses writes to its mastered attributes.
    pub on_prem_synced: bool,
    /// Display names of groups to join. Unknown names are created as
    /// cloud security groups. Joining a licensed group inherits its SKUs.
    pub groups: Vec<String>,
    /// SKU part numbers assigned directly (see
    /// [`MicrosoftEmulator::sku_id`] for the catalogue).
    pub licenses: Vec<String>,
    /// Authentication methods besides the password (always present).
    pub methods: Vec<SeedMethod>,
    /// Intune-managed devices.
    pub devices: Vec<SeedDevice>,
    /// Mailbox type. `None`: a user mailbox when the user holds an
    /// Exchange-bearing licence (directly or through a group), else none.
    pub mailbox: Option<MailboxPurpose>,
    /// UPN of the manager (seeded earlier).
    pub manager: Option<String>,
    /// `usageLocation`; licences cannot be added without one.
    pub usage_location: Option<String>,
    /// Directory roles (template ids, see [`super::directory_roles`]) the user holds. Disabling
    /// such a user, revoking their sessions or deleting their authentication methods needs the
    /// app to hold a directory role that may act on them, whatever its Graph permissions.
    pub directory_roles: Vec<String>,
    /// Secondary SMTP addresses (aliases) besides `mail`, without the `smtp:` prefix: they
    /// appear in `proxyAddresses` as `smtp:alias`, next to `SMTP:mail`.
    pub aliases: Vec<String>,
}

impl Default for SeedUser {
    fn default() -> Self {
        Self {
            upn: String::new(),
            mail: None,
            display: String::new(),
            department: None,
            job_title: None,
            account_enabled: true,
            on_prem_synced: false,
            groups: Vec::new(),
            licenses: Vec::new(),
            methods: Vec::new(),
            devices: Vec::new(),
            mailbox: None,
            manager: None,
            usage_location: Some("US".to_owned()),
            directory_roles: Vec::new(),
            aliases: Vec::new(),
        }
    }
}

impl SeedUser {
    /// An enabled cloud user with nothing attached.
    pub fn new(upn: &str, display: &str) -> Self {
        Self {
            upn: upn.to_owned(),
            display: display.to_owned(),
            ..Self::default()
        }
    }
}

/// A group to create directly in the tenant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeedGroup {
    /// `displayName`; an existing group with this name is reused.
    pub name: String,
    /// Membership management type.
    pub kind: GroupKind,
    /// `description`.
    pub description: Option<String>,
    /// `mail` for mail-enabled kinds; derived from the name when `None`.
    pub mail: Option<String>,
    /// `membershipRule` for dynamic groups.
    pub membership_rule: Option<String>,
    /// Synced from on-premises AD; Graph refuses membership changes.
    pub on_prem_synced: bool,
    /// SKU part numbers assigned to members (group-based licensing).
    pub licenses: Vec<String>,
}

impl SeedGroup {
    /// A group of the given kind with nothing else set.
    pub fn new(name: &str, kind: GroupKind) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            ..Self::default()
        }
    }
}

/// An authentication method to seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedMethod {
    /// Type (not `Password`, which every user has).
    pub kind: MethodKind,
    /// Phone number, app/device display name, or e-mail address.
    pub label: String,
    /// Whether it is the default sign-in method. The service refuses to
    /// delete the default method while other methods remain.
    pub is_default: bool,
}

impl SeedMethod {
    /// A non-default method.
    pub fn new(kind: MethodKind, label: &str) -> Self {
        Self {
            kind,
            label: label.to_owned(),
            is_default: false,
        }
    }

    /// The same method, marked default.
    #[must_use]
    pub fn default_method(mut self) -> Self {
        self.is_default = true;
        self
    }
}

/// An Intune-managed device to seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedDevice {
    /// `deviceName`.
    pub name: String,
    /// `operatingSystem` (`Windows`, `macOS`, `iOS`, `Android`).
    pub operating_system: String,
    /// `model`.
    pub model: String,
    /// `managedDeviceOwnerType` (`company` or `personal`).
    pub owner_type: String,
}

impl SeedDevice {
    /// A company-owned device.
    pub fn new(name: &str, operating_system: &str, model: &str) -> Self {
        Self {
            name: name.to_owned(),
            operating_system: operating_system.to_owned(),
            model: model.to_owned(),
            owner_type: "company".to_owned(),
        }
    }
}

/// Why a seed was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SeedError {
    /// A user with this UPN already exists.
    #[error("a user with UPN `{0}` already exists")]
    DuplicateUpn(String),
    /// The UPN was blank.
    #[error("a seeded user needs a UPN")]
    EmptyUpn,
    /// A licence names no SKU of the catalogue.
    #[error("unknown SKU part number `{0}`")]
    UnknownSku(String),
    /// The manager has not been seeded.
    #[error("unknown manager `{0}`")]
    UnknownManager(String),
    /// `Password` cannot be seeded; every user has one.
    #[error("the password method is implicit")]
    PasswordMethod,
}

/// The leaver at the centre of the demo.
pub const DEMO_LEAVER: &str = "jane.doe@example.com";
/// The leaver's manager.
pub const DEMO_MANAGER: &str = "sam.lee@example.com";

/// Ids of the demo tenant's notable objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoTenant {
    /// Directory (tenant) id.
    pub tenant_id: String,
    /// The leaver's object id.
    pub leaver_id: String,
    /// The leaver's UPN ([`DEMO_LEAVER`]).
    pub leaver_upn: String,
    /// The manager's object id.
    pub manager_id: String,
    /// The manager's UPN ([`DEMO_MANAGER`]).
    pub manager_upn: String,
    /// `Engineering`: assigned security group that also licenses Entra ID P2.
    pub security_group_id: String,
    /// `All Engineering (dynamic)`: dynamic membership.
    pub dynamic_group_id: String,
    /// `Engineering Announcements`: distribution list.
    pub distribution_list_id: String,
    /// The leaver's direct licence (`SPE_E3`, carries Exchange).
    pub direct_sku_id: String,
    /// The leaver's group-inherited licence (`AAD_PREMIUM_P2`).
    pub inherited_sku_id: String,
    /// The leaver's Intune device.
    pub device_id: String,
    /// Ids of the leaver's methods besides the password (authenticator
    /// first, it is the default; then the phone).
    pub method_ids: Vec<String>,
    /// An on-premises-synced colleague (`alex.kim@example.com`).
    pub synced_user_id: String,
    /// The shared mailbox the leaver holds FullAccess, SendAs and SendOnBehalf on.
    pub shared_mailbox_upn: String,
    /// The Microsoft 365 group the leaver alone owns.
    pub owned_group_id: String,
    /// The app registration the leaver owns.
    pub owned_app_id: String,
}

/// Seeds the deterministic demo tenant:
///
/// - groups: `Engineering` (assigned security group, licenses
///   `AAD_PREMIUM_P2`), `All Engineering (dynamic)` (dynamic security
///   group), `Engineering Announcements` (distribution list
///   `eng-announce@example.com`), `Finance` (security);
/// - the leaver `jane.doe@example.com`: enabled, in the three engineering
///   groups, `SPE_E3` assigned directly and `AAD_PREMIUM_P2` inherited from
///   `Engineering`, a user mailbox, a default Microsoft Authenticator and a
///   mobile phone method besides the password, one Windows laptop, managed
///   by `sam.lee@example.com`;
/// - the manager `sam.lee@example.com` and colleagues, one of them
///   (`alex.kim@example.com`) synced from on-premises AD.
///
/// With the same `MicrosoftConfig::seed`, ids are identical on every run.
///
/// # Panics
/// If the tenant already holds any of the demo UPNs.
pub fn demo_seed(emulator: &MicrosoftEmulator) -> DemoTenant {
    let security = emulator.seed_group(SeedGroup {
        description: Some("Product engineering".to_owned()),
        licenses: vec!["AAD_PREMIUM_P2".to_owned()],
        ..SeedGroup::new("Engineering", GroupKind::Security)
    });
    let dynamic = emulator.seed_group(SeedGroup {
        description: Some("Everyone in the Engineering department".to_owned()),
        membership_rule: Some("(user.department -eq \"Engineering\")".to_owned()),
        ..SeedGroup::new("All Engineering (dynamic)", GroupKind::DynamicSecurity)
    });
    let list = emulator.seed_group(SeedGroup {
        description: Some("Announcements to engineering".to_owned()),
        mail: Some("eng-announce@example.com".to_owned()),
        ..SeedGroup::new("Engineering Announcements", GroupKind::Distribution)
    });
    emulator.seed_group(SeedGroup::new("Finance", GroupKind::Security));

    let engineering = |upn: &str, display: &str, title: &str| SeedUser {
        department: Some("Engineering".to_owned()),
        job_title: Some(title.to_owned()),
        groups: vec![
            "Engineering".to_owned(),
            "All Engineering (dynamic)".to_owned(),
            "Engineering Announcements".to_owned(),
        ],
        licenses: vec!["SPE_E3".to_owned()],
        ..SeedUser::new(upn, display)
    };

    let manager_id = emulator.seed_user(SeedUser {
        methods: vec![
            SeedMethod::new(MethodKind::MicrosoftAuthenticator, "Pixel 8").default_method(),
        ],
        ..engineering(DEMO_MANAGER, "Sam Lee", "Engineering Manager")
    });
    let leaver_id = emulator.seed_user(SeedUser {
        methods: vec![
            SeedMethod::new(MethodKind::MicrosoftAuthenticator, "iPhone 15").default_method(),
            SeedMethod::new(MethodKind::Phone, "+1 5555550123"),
        ],
        devices: vec![SeedDevice::new(
            "JANE-LAPTOP",
            "Windows",
            "Surface Laptop 5",
        )],
        manager: Some(DEMO_MANAGER.to_owned()),
        ..engineering(DEMO_LEAVER, "Jane Doe", "Senior Engineer")
    });
    emulator.seed_user(SeedUser {
        manager: Some(DEMO_MANAGER.to_owned()),
        ..engineering("priya.patel@example.com", "Priya Patel", "Engineer")
    });
    let synced_user_id = emulator.seed_user(SeedUser {
        department: Some("Finance".to_owned()),
        on_prem_synced: true,
        groups: vec!["Finance".to_owned()],
        licenses: vec!["SPE_E3".to_owned()],
        ..SeedUser::new("alex.kim@example.com", "Alex Kim")
    });

    let sweep = emulator.seed_aside(sweep_seed);
    let device_id = emulator
        .devices(DEMO_LEAVER)
        .first()
        .map(|d| d.id.clone())
        .unwrap_or_default();
    let method_ids = emulator
        .auth_methods(DEMO_LEAVER)
        .into_iter()
        .filter(|m| m.kind != MethodKind::Password)
        .map(|m| m.id)
        .collect();
    DemoTenant {
        tenant_id: emulator.tenant_id(),
        leaver_id,
        leaver_upn: DEMO_LEAVER.to_owned(),
        manager_id,
        manager_upn: DEMO_MANAGER.to_owned(),
        security_group_id: security,
        dynamic_group_id: dynamic,
        distribution_list_id: list,
        direct_sku_id: emulator.sku_id("SPE_E3").unwrap_or_default(),
        inherited_sku_id: emulator.sku_id("AAD_PREMIUM_P2").unwrap_or_default(),
        device_id,
        method_ids,
        synced_user_id,
        shared_mailbox_upn: DEMO_SHARED_MAILBOX.to_owned(),
        owned_group_id: sweep.0,
        owned_app_id: sweep.1,
    }
}

/// The shared mailbox the demo leaver holds rights on.
pub const DEMO_SHARED_MAILBOX: &str = "support@example.com";

/// What the shared-resource sweep finds on the demo leaver, seeded with ids drawn aside so
/// no other object's id changes: FullAccess, SendAs and SendOnBehalf on the `Support` shared
/// mailbox, sole ownership of the Microsoft 365 group `Project Atlas`, an app registration,
/// a OneDrive with an anonymous and an organisation-wide sharing link, and the mail of
/// [`mail_seed`]. Returns the
/// group's and the app's ids.
fn sweep_seed(emulator: &MicrosoftEmulator) -> (String, String) {
    emulator.seed_user(SeedUser {
        account_enabled: false,
        mailbox: Some(MailboxPurpose::Shared),
        ..SeedUser::new(DEMO_SHARED_MAILBOX, "Support")
    });
    for right in [
        MailboxRight::FullAccess,
        MailboxRight::SendAs,
        MailboxRight::SendOnBehalf,
    ] {
        emulator.seed_mailbox_grant(DEMO_SHARED_MAILBOX, DEMO_LEAVER, right);
    }
    let group = emulator.seed_group(SeedGroup {
        description: Some("Project Atlas team".to_owned()),
        mail: Some("atlas@example.com".to_owned()),
        ..SeedGroup::new("Project Atlas", GroupKind::Microsoft365)
    });
    emulator.seed_group_owner(&group, DEMO_LEAVER);
    let app = emulator.seed_app_registration("Jane's release bot", &[DEMO_LEAVER]);
    emulator.seed_drive(
        DEMO_LEAVER,
        &[("anonymous", "view"), ("organization", "edit")],
    );
    mail_seed(emulator);
    (group, app)
}

/// An address outside the demo tenant the leaver's own inbox rule forwards to.
pub const DEMO_EXTERNAL_FORWARD: &str = "jane.doe.home@mail.example.net";

/// What the mail sweep finds on the demo leaver: an inbox rule forwarding her mail outside the
/// organisation, a rule on her manager's mailbox redirecting mail to her, her `write`
/// permission on her manager's calendar, and a colleague's `read` permission on her own
/// calendar (recorded, kept).
fn mail_seed(emulator: &MicrosoftEmulator) {
    emulator.seed_inbox_rule(DEMO_LEAVER, "Copy to home", &[DEMO_EXTERNAL_FORWARD], &[]);
    emulator.seed_inbox_rule(DEMO_MANAGER, "Escalations to Jane", &[], &[DEMO_LEAVER]);
    emulator.seed_calendar_permission(DEMO_MANAGER, DEMO_LEAVER, "write");
    emulator.seed_calendar_permission(DEMO_LEAVER, "priya.patel@example.com", "read");
}
