//! Read-only snapshots of org data for tests and demos, so assertions do
//! not depend on the JSON wire format.

use crate::okta::model::{AssignmentScope, FactorKind, GroupType, UserStatus};

/// A user as the emulator currently holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserView {
    /// `00u…` id.
    pub id: String,
    /// `profile.login`.
    pub login: String,
    /// `profile.email`.
    pub email: String,
    /// `profile.firstName`.
    pub first_name: String,
    /// `profile.lastName`.
    pub last_name: String,
    /// Lifecycle status.
    pub status: UserStatus,
    /// `statusChanged`, when the status has ever changed.
    pub status_changed: Option<String>,
    /// `lastUpdated`.
    pub last_updated: String,
    /// Groups the user belongs to, in group creation order.
    pub groups: Vec<GroupView>,
    /// Live Okta sessions.
    pub sessions: u32,
    /// Devices with remembered factors.
    pub remembered_devices: u32,
    /// Live OAuth/OIDC tokens.
    pub oauth_tokens: usize,
    /// Consent grants.
    pub grants: usize,
    /// Labels of assigned apps, direct or through a group, in `appLinks`
    /// order.
    pub apps: Vec<String>,
    /// The same assignments with their scope and source group.
    pub app_assignments: Vec<AppAssignmentView>,
    /// Enrolled MFA factors.
    pub factors: Vec<FactorView>,
}

impl UserView {
    /// Names of the groups the user belongs to.
    pub fn group_names(&self) -> Vec<&str> {
        self.groups.iter().map(|g| g.name.as_str()).collect()
    }

    /// Whether the user belongs to the named group.
    pub fn in_group(&self, name: &str) -> bool {
        self.groups.iter().any(|g| g.name == name)
    }
}

/// A group as the emulator currently holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupView {
    /// `00g…` id.
    pub id: String,
    /// `profile.name`.
    pub name: String,
    /// Membership management type.
    pub group_type: GroupType,
    /// Number of members.
    pub members: usize,
}

/// One of a user's app assignments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppAssignmentView {
    /// `0oa…` app id.
    pub app_id: String,
    /// App label.
    pub label: String,
    /// `USER` (direct) or `GROUP`.
    pub scope: AssignmentScope,
    /// For `GROUP` assignments, the name of the group it comes from.
    pub group: Option<String>,
}

/// One of a user's enrolled factors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FactorView {
    /// Factor id.
    pub id: String,
    /// What it is.
    pub kind: FactorKind,
    /// `factorType` on the wire (`push`, `sms`, …).
    pub factor_type: String,
    /// `provider` on the wire (`OKTA`, `GOOGLE`, `FIDO`).
    pub provider: String,
}
