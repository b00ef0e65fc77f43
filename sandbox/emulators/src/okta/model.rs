//! The org's records as the emulator stores them. Wire shapes live in
//! `render`; these types only hold what the endpoints need to read and
//! change.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A user's lifecycle status, as Okta reports it in `User.status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UserStatus {
    /// Created but never activated.
    Staged,
    /// Activated without credentials; activation email outstanding.
    Provisioned,
    /// Can sign in.
    #[default]
    Active,
    /// Password reset in progress.
    Recovery,
    /// Must change password at next sign-in.
    PasswordExpired,
    /// Locked after failed sign-ins.
    LockedOut,
    /// Suspended by an admin; reversible.
    Suspended,
    /// Deactivated; can no longer sign in and is deprovisioned from apps.
    Deprovisioned,
}

impl UserStatus {
    /// The wire value (`ACTIVE`, `SUSPENDED`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staged => "STAGED",
            Self::Provisioned => "PROVISIONED",
            Self::Active => "ACTIVE",
            Self::Recovery => "RECOVERY",
            Self::PasswordExpired => "PASSWORD_EXPIRED",
            Self::LockedOut => "LOCKED_OUT",
            Self::Suspended => "SUSPENDED",
            Self::Deprovisioned => "DEPROVISIONED",
        }
    }

    /// Whether the user has ever been activated (drives `activated`).
    pub(crate) fn was_activated(self) -> bool {
        !matches!(self, Self::Staged | Self::Provisioned)
    }
}

impl fmt::Display for UserStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not one of Okta's user statuses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown Okta user status `{0}`")]
pub struct UnknownStatus(pub String);

impl FromStr for UserStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "STAGED" => Self::Staged,
            "PROVISIONED" => Self::Provisioned,
            "ACTIVE" => Self::Active,
            "RECOVERY" => Self::Recovery,
            "PASSWORD_EXPIRED" => Self::PasswordExpired,
            "LOCKED_OUT" => Self::LockedOut,
            "SUSPENDED" => Self::Suspended,
            "DEPROVISIONED" => Self::Deprovisioned,
            _ => return Err(UnknownStatus(s.to_owned())),
        })
    }
}

/// How a group's memberships are managed (`Group.type`). Only
/// `OktaGroup` memberships can be changed through the API.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GroupType {
    /// Managed in Okta directly or by group rules.
    #[default]
    OktaGroup,
    /// Imported from an app (Active Directory, LDAP) and managed there.
    AppGroup,
    /// Managed by Okta itself (`Everyone`); cannot be modified.
    BuiltIn,
}

impl GroupType {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OktaGroup => "OKTA_GROUP",
            Self::AppGroup => "APP_GROUP",
            Self::BuiltIn => "BUILT_IN",
        }
    }
}

impl fmt::Display for GroupType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug)]
pub(crate) struct UserRecord {
    pub id: String,
    pub status: UserStatus,
    pub created: Timestamp,
    pub activated: Option<Timestamp>,
    pub status_changed: Option<Timestamp>,
    pub last_login: Option<Timestamp>,
    pub last_updated: Timestamp,
    pub password_changed: Option<Timestamp>,
    pub login: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// Live Okta (IdP) sessions.
    pub sessions: u32,
    /// Factors remembered on devices (cleared by `forgetDevices`).
    pub remembered_devices: u32,
    pub oauth_tokens: Vec<OAuthToken>,
    pub grants: Vec<GrantRecord>,
    /// App assignments, direct or group-sourced, in `appLinks` order.
    pub apps: Vec<AppAssignment>,
    /// Enrolled MFA factors, in enrolment order.
    pub factors: Vec<FactorRecord>,
    /// The status an asynchronous lifecycle change under way leads to
    /// (`transitioningToStatus`).
    pub transitioning: Option<UserStatus>,
}

impl UserRecord {
    pub fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct OAuthToken {
    /// Index into the org's apps (the OIDC client the token was issued to).
    pub client: usize,
}

#[derive(Clone, Debug)]
pub(crate) struct GrantRecord {
    pub id: String,
    /// Position in creation order, used as the pagination cursor.
    pub seq: u64,
    pub client: usize,
    pub scope_id: String,
    pub created: Timestamp,
}

#[derive(Clone, Debug)]
pub(crate) struct AppAssignment {
    pub app: usize,
    pub assignment_id: String,
    pub created: Timestamp,
    /// The group the assignment comes from (`scope: GROUP`); `None` for a
    /// direct assignment (`scope: USER`).
    pub source_group: Option<usize>,
    /// The app-specific username and profile a direct assignment was made
    /// with (`POST /apps/{appId}/users`); `None` renders the user's own.
    pub given: Option<GivenAppUser>,
}

/// What an administrator set when assigning an app (`AppUser.credentials.userName`,
/// `AppUser.profile`).
#[derive(Clone, Debug, Default)]
pub(crate) struct GivenAppUser {
    pub user_name: Option<String>,
    pub profile: Option<serde_json::Map<String, serde_json::Value>>,
}

impl AppAssignment {
    pub fn scope(&self) -> AssignmentScope {
        if self.source_group.is_some() {
            AssignmentScope::Group
        } else {
            AssignmentScope::User
        }
    }
}

/// How a user holds an app (`AppUser.scope`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AssignmentScope {
    /// Assigned to the user directly; `DELETE /apps/{appId}/users/{userId}`
    /// removes it.
    User,
    /// Held through membership of a group the app is assigned to; removed
    /// only by leaving the group.
    Group,
}

impl AssignmentScope {
    /// The wire value (`USER`, `GROUP`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "USER",
            Self::Group => "GROUP",
        }
    }
}

impl fmt::Display for AssignmentScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An MFA factor a user can be enrolled in (`UserFactor.factorType` plus
/// `provider`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactorKind {
    /// Okta Verify push (`push`, provider `OKTA`).
    OktaVerifyPush,
    /// Okta Verify one-time codes (`token:software:totp`, provider `OKTA`).
    /// Unenrolling the user's push factor unenrols this one too.
    OktaVerifyTotp,
    /// Google Authenticator (`token:software:totp`, provider `GOOGLE`).
    GoogleAuthenticator,
    /// SMS one-time codes (`sms`, provider `OKTA`).
    Sms,
    /// Voice-call one-time codes (`call`, provider `OKTA`).
    Call,
    /// Email one-time codes (`email`, provider `OKTA`).
    Email,
    /// Security question (`question`, provider `OKTA`).
    SecurityQuestion,
    /// A WebAuthn / passkey authenticator (`webauthn`, provider `FIDO`).
    WebAuthn,
}

impl FactorKind {
    /// `UserFactor.factorType`.
    pub fn factor_type(self) -> &'static str {
        match self {
            Self::OktaVerifyPush => "push",
            Self::OktaVerifyTotp | Self::GoogleAuthenticator => "token:software:totp",
            Self::Sms => "sms",
            Self::Call => "call",
            Self::Email => "email",
            Self::SecurityQuestion => "question",
            Self::WebAuthn => "webauthn",
        }
    }

    /// `UserFactor.provider` (also used as `vendorName`).
    pub fn provider(self) -> &'static str {
        match self {
            Self::GoogleAuthenticator => "GOOGLE",
            Self::WebAuthn => "FIDO",
            _ => "OKTA",
        }
    }

    /// Id prefix, after the shapes in the spec's examples (`opf…` push,
    /// `ost…` TOTP, `sms…`, `ufs…` question).
    pub(crate) fn id_prefix(self) -> &'static str {
        match self {
            Self::OktaVerifyPush => "opf",
            Self::OktaVerifyTotp => "ost",
            Self::GoogleAuthenticator => "uft",
            Self::Sms => "sms",
            Self::Call => "clf",
            Self::Email => "emf",
            Self::SecurityQuestion => "ufs",
            Self::WebAuthn => "fwf",
        }
    }

    /// Whether unenrolling an Okta Verify push factor takes this one with
    /// it (the spec: unenrolling `push` also unenrols the user's other
    /// Okta Verify `totp` and `push` factors).
    pub(crate) fn is_okta_verify(self) -> bool {
        matches!(self, Self::OktaVerifyPush | Self::OktaVerifyTotp)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct FactorRecord {
    pub id: String,
    pub kind: FactorKind,
    pub created: Timestamp,
    pub last_updated: Timestamp,
}

#[derive(Clone, Debug)]
pub(crate) struct GroupRecord {
    pub id: String,
    pub kind: GroupType,
    pub name: String,
    pub description: String,
    pub created: Timestamp,
    pub last_updated: Timestamp,
    pub last_membership_updated: Timestamp,
    /// Member user indexes, in user creation order.
    pub members: BTreeSet<usize>,
    /// The app an `APP_GROUP` is imported from.
    pub source_app: Option<usize>,
    /// Apps assigned to the group: every member holds them with
    /// `scope: GROUP` (unless assigned directly as well).
    pub apps: Vec<usize>,
}

#[derive(Clone, Debug)]
pub(crate) struct AppRecord {
    pub id: String,
    /// Okta's catalog name (`slack`, `oidc_client`, `active_directory`).
    pub name: String,
    pub label: String,
}
