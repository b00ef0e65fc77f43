//! Seeding: the inputs for populating an org, and the fixed demo org used by
//! `passage` demos.

use crate::okta::OktaEmulator;
use crate::okta::model::{FactorKind, GroupType, UserStatus};

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
    /// Labels of apps the user holds, in `appLinks` order. Each is a direct
    /// (`scope: USER`) assignment unless `group_apps` names the same label,
    /// in which case it keeps its place here but is held through that group.
    pub apps: Vec<String>,
    /// Starting status.
    pub status: UserStatus,
    /// Enrolled MFA factors (all `ACTIVE`), in enrolment order.
    pub factors: Vec<FactorKind>,
    /// Apps assigned to a group (created as an OKTA_GROUP if unknown) that
    /// the user joins: the user holds them with `scope: GROUP`, as does
    /// every other member of that group, present or future. Labels not in
    /// `apps` are listed after them.
    pub group_apps: Vec<SeedGroupApp>,
}

/// An app assigned to a group, for [`SeedUser::group_apps`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeedGroupApp {
    /// The app's label (created if unknown).
    pub app: String,
    /// The name of the group the app is assigned to.
    pub group: String,
}

impl SeedGroupApp {
    /// `app` assigned to `group`.
    pub fn new(app: &str, group: &str) -> Self {
        Self {
            app: app.to_owned(),
            group: group.to_owned(),
        }
    }
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
///   grants, 2 OAuth tokens, two MFA factors (Okta Verify push and SMS) and
///   three apps: Slack and Google Workspace assigned directly, GitHub
///   Enterprise through the `GitHub Admins` group (so it cannot be
///   unassigned directly; leaving the group removes it);
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
            factors: vec![FactorKind::OktaVerifyPush, FactorKind::Sms],
            group_apps: vec![SeedGroupApp::new("GitHub Enterprise", "GitHub Admins")],
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
    // The leaver administers apps (the shared-resource sweep removes it first); the org's own
    // super administrator is someone else, so the org is never left without one.
    emulator.seed_admin_role(DEMO_LEAVER, "APP_ADMIN");
    emulator.seed_admin_role("john.smith@example.com", "SUPER_ADMIN");
    DemoOrg {
        leaver_id: user_ids[0].clone(),
        leaver_login: DEMO_LEAVER.to_owned(),
        user_ids,
    }
}
