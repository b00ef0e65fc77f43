//! Seeding: the inputs for populating an org, and the fixed demo org used by
//! `passage` demos.

use crate::okta::OktaEmulator;
use crate::okta::model::{GroupType, UserStatus};

/// A user to create directly in the org (no HTTP round trip, no log event).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeedUser {
    /// `profile.login`; must be unique (case-insensitive).
    pub login: String,
    /// `profile.email`; defaults to the login when empty.
    pub email: String,
    /// `profile.firstName`.
    pub first: String,
    /// `profile.lastName`.
    pub last: String,
    /// Names of groups to join. Unknown names are created as OKTA_GROUPs.
    /// Every user joins `Everyone` regardless.
    pub groups: Vec<String>,
    /// Live Okta sessions (each also counts as a device with remembered
    /// factors).
    pub sessions: u32,
    /// OAuth consent grants, spread across a few OIDC clients.
    pub grants: u32,
    /// Live OAuth/OIDC tokens, spread across the same clients.
    pub oauth_tokens: u32,
    /// Labels of apps assigned directly to the user (shown in `appLinks`).
    pub apps: Vec<String>,
    /// Starting status.
    pub status: UserStatus,
}

impl SeedUser {
    /// An ACTIVE user with nothing attached.
    pub fn new(login: &str, first: &str, last: &str) -> Self {
        Self {
            login: login.to_owned(),
            email: login.to_owned(),
            first: first.to_owned(),
            last: last.to_owned(),
            ..Self::default()
        }
    }
}

/// A group to create directly in the org.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeedGroup {
    /// `profile.name`; an existing group with this name is reused.
    pub name: String,
    /// `profile.description`.
    pub description: String,
    /// Membership management type. APP_GROUPs are attributed to an
    /// "Active Directory" app.
    pub group_type: GroupType,
}

impl SeedGroup {
    /// A group of the given type with an empty description.
    pub fn new(name: &str, group_type: GroupType) -> Self {
        Self {
            name: name.to_owned(),
            description: String::new(),
            group_type,
        }
    }
}

/// Why a seed was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SeedError {
    /// A user with this login already exists.
    #[error("a user with login `{0}` already exists")]
    DuplicateLogin(String),
    /// The login was blank.
    #[error("a seeded user needs a login")]
    EmptyLogin,
}

/// The leaver at the centre of the demo.
pub const DEMO_LEAVER: &str = "jane.doe@example.com";

/// Ids of the demo org's notable objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoOrg {
    /// The leaver's user id.
    pub leaver_id: String,
    /// The leaver's login ([`DEMO_LEAVER`]).
    pub leaver_login: String,
    /// Ids of every seeded user, in seeding order (leaver first).
    pub user_ids: Vec<String>,
}

/// Seeds the deterministic demo org:
///
/// - groups: `Everyone` (BUILT_IN), `Engineering`, `VPN Users`,
///   `GitHub Admins`, `Finance` (OKTA_GROUP), `AD Engineering`,
///   `AD All Staff` (APP_GROUP, from Active Directory);
/// - the leaver `jane.doe@example.com`: ACTIVE, in Everyone, Engineering,
///   VPN Users, GitHub Admins and AD Engineering, with 2 sessions, 2 consent
///   grants, 2 OAuth tokens and three apps;
/// - colleagues in various states: two ACTIVE, one SUSPENDED, one
///   DEPROVISIONED, one STAGED.
///
/// With the same `OktaConfig::seed`, ids are identical on every run.
///
/// # Panics
/// If the org already holds any of the demo logins.
pub fn demo_seed(emulator: &OktaEmulator) -> DemoOrg {
    for (name, description, group_type) in [
        ("Engineering", "Product engineering", GroupType::OktaGroup),
        ("VPN Users", "Remote network access", GroupType::OktaGroup),
        (
            "GitHub Admins",
            "Owners of the GitHub organisation",
            GroupType::OktaGroup,
        ),
        ("Finance", "Finance and payroll", GroupType::OktaGroup),
        (
            "AD Engineering",
            "Imported from Active Directory",
            GroupType::AppGroup,
        ),
        (
            "AD All Staff",
            "Imported from Active Directory",
            GroupType::AppGroup,
        ),
    ] {
        emulator.seed_group(SeedGroup {
            name: name.to_owned(),
            description: description.to_owned(),
            group_type,
        });
    }

    let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let users = [
        SeedUser {
            groups: strings(&[
                "Engineering",
                "VPN Users",
                "GitHub Admins",
                "AD Engineering",
            ]),
            sessions: 2,
            grants: 2,
            oauth_tokens: 2,
            apps: strings(&["Slack", "GitHub Enterprise", "Google Workspace"]),
            ..SeedUser::new(DEMO_LEAVER, "Jane", "Doe")
        },
        SeedUser {
            groups: strings(&["Engineering", "AD Engineering", "AD All Staff"]),
            sessions: 1,
            grants: 1,
            apps: strings(&["Slack", "GitHub Enterprise"]),
            ..SeedUser::new("john.smith@example.com", "John", "Smith")
        },
        SeedUser {
            groups: strings(&["Finance", "AD All Staff"]),
            sessions: 1,
            apps: strings(&["Slack"]),
            ..SeedUser::new("priya.patel@example.com", "Priya", "Patel")
        },
        SeedUser {
            groups: strings(&["Engineering"]),
            status: UserStatus::Suspended,
            ..SeedUser::new("sam.lee@example.com", "Sam", "Lee")
        },
        SeedUser {
            status: UserStatus::Deprovisioned,
            ..SeedUser::new("old.contractor@example.com", "Olga", "Contractor")
        },
        SeedUser {
            status: UserStatus::Staged,
            ..SeedUser::new("new.starter@example.com", "Nia", "Starter")
        },
    ];
    let user_ids: Vec<String> = users.into_iter().map(|u| emulator.seed_user(u)).collect();
    DemoOrg {
        leaver_id: user_ids[0].clone(),
        leaver_login: DEMO_LEAVER.to_owned(),
        user_ids,
    }
}
