//! Seeding: the inputs for populating a domain directly (no request, no
//! audit event), and the fixed demo domain.

use crate::google::GoogleEmulator;
use crate::google::model::{PRODUCT_GOOGLE_APPS, SKU_BUSINESS_STANDARD};

/// A user to create directly in the domain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeedUser {
    /// `primaryEmail`; must be unique and inside the emulator's domain.
    pub primary_email: String,
    /// Alias addresses (also accepted as `userKey`).
    pub aliases: Vec<String>,
    /// `name.givenName`.
    pub given_name: String,
    /// `name.familyName`.
    pub family_name: String,
    /// `orgUnitPath`; `/` when empty.
    pub org_unit_path: String,
    /// Super administrator (may be impersonated for Admin SDK calls).
    pub is_admin: bool,
    /// Starts suspended (`suspensionReason: ADMIN`).
    pub suspended: bool,
    /// The user's OU assigns licences automatically: the Licensing API
    /// answers 412 `conditionNotMet` to removals until the user moves to
    /// another OU (`orgUnitPath` change through `users.update`).
    pub auto_license: bool,
    /// E-mail addresses of groups to join; unknown groups are created.
    pub groups: Vec<String>,
    /// Third-party OAuth grants (`tokens` resource).
    pub oauth_tokens: Vec<SeedToken>,
    /// Names of application-specific passwords.
    pub asps: Vec<String>,
    /// Licences as (productId, skuId). A user without a `Google-Apps`
    /// licence has no mailbox: Gmail calls answer `failedPrecondition`.
    pub licenses: Vec<(String, String)>,
    /// Mobile devices the user owns.
    pub devices: Vec<SeedDevice>,
    /// Live web sessions (ended by `signOut`).
    pub sessions: u32,
    /// Valid 2SV backup codes.
    pub backup_codes: u32,
    /// Drive files only the user can see (moved by a transfer with
    /// `PRIVACY_LEVEL` `PRIVATE`).
    pub drive_private_files: u32,
    /// Drive files shared with others (moved by `SHARED`, the default).
    pub drive_shared_files: u32,
    /// Calendar events the user organises.
    pub calendar_events: u32,
}

impl SeedUser {
    /// An active user with a Business Standard licence and nothing else.
    pub fn new(primary_email: &str, given_name: &str, family_name: &str) -> Self {
        Self {
            primary_email: primary_email.to_owned(),
            given_name: given_name.to_owned(),
            family_name: family_name.to_owned(),
            org_unit_path: "/".to_owned(),
            licenses: vec![(
                PRODUCT_GOOGLE_APPS.to_owned(),
                SKU_BUSINESS_STANDARD.to_owned(),
            )],
            ..Self::default()
        }
    }

    /// The same user as a super administrator.
    #[must_use]
    pub fn admin(mut self) -> Self {
        self.is_admin = true;
        self
    }
}

/// A third-party app's OAuth grant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeedToken {
    /// `clientId` (`…apps.googleusercontent.com`).
    pub client_id: String,
    /// `displayText`.
    pub display_text: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// `nativeApp`.
    pub native_app: bool,
}

impl SeedToken {
    /// A web app's grant.
    pub fn new(client_id: &str, display_text: &str, scopes: &[&str]) -> Self {
        Self {
            client_id: client_id.to_owned(),
            display_text: display_text.to_owned(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            native_app: false,
        }
    }
}

/// A user-owned mobile device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedDevice {
    /// `model`, e.g. `Pixel 8`.
    pub model: String,
    /// `os`, e.g. `Android 14`.
    pub os: String,
    /// `type`: `ANDROID`, `IOS_SYNC`, `GOOGLE_SYNC`, …
    pub device_type: String,
    /// Starting `status`; `APPROVED` usually.
    pub status: String,
}

impl SeedDevice {
    /// An approved Android phone.
    pub fn android(model: &str) -> Self {
        Self {
            model: model.to_owned(),
            os: "Android 14".to_owned(),
            device_type: "ANDROID".to_owned(),
            status: "APPROVED".to_owned(),
        }
    }
}

/// Why a seed was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SeedError {
    /// The address is already a user's primary address or alias.
    #[error("`{0}` is already in use")]
    Duplicate(String),
    /// The address is not in the emulator's domain.
    #[error("`{0}` is not an address in this domain")]
    ForeignAddress(String),
    /// The address is blank or has no `@`.
    #[error("`{0}` is not an e-mail address")]
    NotAnAddress(String),
}

/// The leaver at the centre of the demo.
pub const DEMO_LEAVER: &str = "jane.doe@example.com";
/// The leaver's manager, who receives delegation, forwarding and data.
pub const DEMO_MANAGER: &str = "sam.lee@example.com";
/// The demo group whose only owner is the leaver (the manager is not a member).
pub const DEMO_OWNED_GROUP: &str = "vpn-users@example.com";
/// The demo group the leaver owns beside Priya: no hand-over is needed.
pub const DEMO_CO_OWNED_GROUP: &str = "all-staff@example.com";

/// Notable objects of the demo domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoDomain {
    /// `example.com`.
    pub domain: String,
    /// The customer id (`C0…`).
    pub customer_id: String,
    /// The super administrator to impersonate for Admin SDK calls.
    pub admin_email: String,
    /// [`DEMO_LEAVER`].
    pub leaver_email: String,
    /// The leaver's numeric user id.
    pub leaver_id: String,
    /// [`DEMO_MANAGER`].
    pub manager_email: String,
    /// The manager's numeric user id.
    pub manager_id: String,
    /// The leaver's groups.
    pub leaver_groups: Vec<String>,
    /// The group the leaver alone owns ([`DEMO_OWNED_GROUP`]).
    pub owned_group: String,
    /// The group the leaver owns with Priya ([`DEMO_CO_OWNED_GROUP`]).
    pub co_owned_group: String,
    /// The id of the shared drive the leaver alone manages.
    pub shared_drive_id: String,
    /// The leaver's OAuth client ids.
    pub leaver_token_clients: Vec<String>,
    /// The leaver's mobile device `resourceId`.
    pub leaver_device: String,
    /// Ids of every seeded user, in seeding order (leaver first).
    pub user_ids: Vec<String>,
}

/// Seeds the demo domain into an emulator started for `example.com` (the
/// default):
///
/// - `jane.doe@example.com`, the leaver: active, 2 OAuth grants (Slack,
///   Zoom), 1 application-specific password, groups `engineering@`,
///   `all-staff@` and `vpn-users@`, a Business Standard licence, an
///   approved Android phone, 2 web sessions, 10 backup codes, Drive data
///   (120 private and 35 shared files) and 42 calendar events; she is the only
///   owner of `vpn-users@`, an owner of `all-staff@` beside Priya, and the
///   only manager (organizer) of the shared drive "Design Reviews", where
///   Priya is a writer;
/// - `sam.lee@example.com`, her manager: active and licensed;
/// - `priya.patel@example.com`: in an auto-licensing OU (licence removal
///   answers 412);
/// - `old.contractor@example.com`: already suspended.
///
/// With the same `GoogleConfig::seed`, ids are identical on every run.
///
/// # Panics
/// If the domain already holds any of the demo addresses, or the emulator
/// was started for another domain.
pub fn demo_seed(emulator: &GoogleEmulator) -> DemoDomain {
    let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    for (email, name, description) in [
        (
            "engineering@example.com",
            "Engineering",
            "Product engineering",
        ),
        ("all-staff@example.com", "All Staff", "Everyone at Example"),
        (
            "vpn-users@example.com",
            "VPN Users",
            "Remote network access",
        ),
    ] {
        emulator.seed_group(email, name, description);
    }
    let groups = strings(&[
        "engineering@example.com",
        "all-staff@example.com",
        "vpn-users@example.com",
    ]);
    let slack = "1058393750121-slack.apps.googleusercontent.com";
    let zoom = "849271720351-zoom.apps.googleusercontent.com";
    let leaver = SeedUser {
        groups: groups.clone(),
        oauth_tokens: vec![
            SeedToken::new(
                slack,
                "Slack",
                &[
                    "openid",
                    "https://www.googleapis.com/auth/userinfo.email",
                    "https://www.googleapis.com/auth/drive.readonly",
                ],
            ),
            SeedToken::new(
                zoom,
                "Zoom",
                &["openid", "https://www.googleapis.com/auth/calendar"],
            ),
        ],
        asps: vec!["Thunderbird on laptop".to_owned()],
        devices: vec![SeedDevice::android("Pixel 8")],
        sessions: 2,
        backup_codes: 10,
        drive_private_files: 120,
        drive_shared_files: 35,
        calendar_events: 42,
        aliases: vec!["jane@example.com".to_owned()],
        ..SeedUser::new(DEMO_LEAVER, "Jane", "Doe")
    };
    let users = [
        leaver,
        SeedUser {
            groups: strings(&["engineering@example.com", "all-staff@example.com"]),
            sessions: 1,
            drive_private_files: 80,
            drive_shared_files: 12,
            calendar_events: 30,
            ..SeedUser::new(DEMO_MANAGER, "Sam", "Lee")
        },
        SeedUser {
            groups: strings(&["all-staff@example.com"]),
            org_unit_path: "/Sales".to_owned(),
            auto_license: true,
            sessions: 1,
            ..SeedUser::new("priya.patel@example.com", "Priya", "Patel")
        },
        SeedUser {
            suspended: true,
            ..SeedUser::new("old.contractor@example.com", "Olga", "Contractor")
        },
    ];
    let user_ids: Vec<String> = users.into_iter().map(|u| emulator.seed_user(u)).collect();
    // What the shared-resource sweep hands over: roles and a drive, seeded without ids drawn.
    emulator.seed_group_role(DEMO_OWNED_GROUP, DEMO_LEAVER, "OWNER");
    emulator.seed_group_role(DEMO_CO_OWNED_GROUP, DEMO_LEAVER, "OWNER");
    emulator.seed_group_role(DEMO_CO_OWNED_GROUP, "priya.patel@example.com", "OWNER");
    let shared_drive_id = emulator.seed_shared_drive(
        "Design Reviews",
        &[
            (DEMO_LEAVER, "organizer"),
            ("priya.patel@example.com", "writer"),
        ],
    );
    let leaver_device = emulator
        .user(DEMO_LEAVER)
        .and_then(|u| u.devices.first().map(|d| d.resource_id.clone()))
        .unwrap_or_default();
    DemoDomain {
        domain: emulator.domain(),
        customer_id: emulator.customer_id(),
        admin_email: emulator.admin_email(),
        leaver_email: DEMO_LEAVER.to_owned(),
        leaver_id: user_ids[0].clone(),
        manager_email: DEMO_MANAGER.to_owned(),
        manager_id: user_ids[1].clone(),
        leaver_groups: groups,
        owned_group: DEMO_OWNED_GROUP.to_owned(),
        co_owned_group: DEMO_CO_OWNED_GROUP.to_owned(),
        shared_drive_id,
        leaver_token_clients: vec![slack.to_owned(), zoom.to_owned()],
        leaver_device,
        user_ids,
    }
}
