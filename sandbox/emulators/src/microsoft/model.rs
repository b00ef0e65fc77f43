//! Tenant records and the public enums and views tests read them through.

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

// ----- public enums ----------------------------------------------------------

/// How a group's membership is managed, which decides what Graph lets a
/// client do with it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub enum GroupKind {
    /// Cloud security group with assigned membership (`securityEnabled`,
    /// not mail-enabled). Graph can remove members.
    #[default]
    Security,
    /// Microsoft 365 group (`groupTypes: ["Unified"]`, mail-enabled).
    /// Graph can remove members.
    Microsoft365,
    /// Security group with a membership rule (`groupTypes:
    /// ["DynamicMembership"]`). Graph refuses membership changes (403).
    DynamicSecurity,
    /// Mail-enabled security group, authored in Exchange. Graph refuses
    /// membership changes (400); Exchange's `Remove-DistributionGroupMember`
    /// works.
    MailEnabledSecurity,
    /// Distribution list, authored in Exchange. As for mail-enabled
    /// security groups.
    Distribution,
}

/// Recipient type of a mailbox (`mailboxSettings.userPurpose`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub enum MailboxPurpose {
    /// A user mailbox; needs an Exchange licence to stay reachable.
    #[default]
    User,
    /// A shared mailbox; needs no licence.
    Shared,
    /// A room mailbox.
    Room,
    /// An equipment mailbox.
    Equipment,
}

impl MailboxPurpose {
    /// The `userPurpose` value.
    pub fn as_graph(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Shared => "shared",
            Self::Room => "room",
            Self::Equipment => "equipment",
        }
    }

    /// The Exchange `RecipientTypeDetails` value.
    pub fn recipient_type_details(self) -> &'static str {
        match self {
            Self::User => "UserMailbox",
            Self::Shared => "SharedMailbox",
            Self::Room => "RoomMailbox",
            Self::Equipment => "EquipmentMailbox",
        }
    }
}

/// Authentication method types, each with its own Graph path segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum MethodKind {
    /// The password (listed, never deletable).
    Password,
    /// SMS / voice phone number.
    Phone,
    /// Microsoft Authenticator app.
    MicrosoftAuthenticator,
    /// FIDO2 security key.
    Fido2,
    /// Software OATH token.
    SoftwareOath,
    /// Email (self-service password reset only).
    Email,
    /// Windows Hello for Business.
    WindowsHelloForBusiness,
    /// Temporary Access Pass.
    TemporaryAccessPass,
    /// Platform Credential for macOS (platform single sign-on).
    PlatformCredential,
}

impl MethodKind {
    /// The collection segment under `/users/{id}/authentication/`.
    pub fn segment(self) -> &'static str {
        match self {
            Self::Password => "passwordMethods",
            Self::Phone => "phoneMethods",
            Self::MicrosoftAuthenticator => "microsoftAuthenticatorMethods",
            Self::Fido2 => "fido2Methods",
            Self::SoftwareOath => "softwareOathMethods",
            Self::Email => "emailMethods",
            Self::WindowsHelloForBusiness => "windowsHelloForBusinessMethods",
            Self::TemporaryAccessPass => "temporaryAccessPassMethods",
            Self::PlatformCredential => "platformCredentialMethods",
        }
    }

    /// The `@odata.type` value.
    pub fn odata_type(self) -> &'static str {
        match self {
            Self::Password => "#microsoft.graph.passwordAuthenticationMethod",
            Self::Phone => "#microsoft.graph.phoneAuthenticationMethod",
            Self::MicrosoftAuthenticator => {
                "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod"
            }
            Self::Fido2 => "#microsoft.graph.fido2AuthenticationMethod",
            Self::SoftwareOath => "#microsoft.graph.softwareOathAuthenticationMethod",
            Self::Email => "#microsoft.graph.emailAuthenticationMethod",
            Self::WindowsHelloForBusiness => {
                "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod"
            }
            Self::TemporaryAccessPass => "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
            Self::PlatformCredential => "#microsoft.graph.platformCredentialAuthenticationMethod",
        }
    }

    /// The kind served under a collection segment.
    pub fn from_segment(segment: &str) -> Option<Self> {
        [
            Self::Password,
            Self::Phone,
            Self::MicrosoftAuthenticator,
            Self::Fido2,
            Self::SoftwareOath,
            Self::Email,
            Self::WindowsHelloForBusiness,
            Self::TemporaryAccessPass,
            Self::PlatformCredential,
        ]
        .into_iter()
        .find(|k| k.segment() == segment)
    }
}

/// Intune remote actions the emulator serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum DeviceAction {
    /// Factory reset.
    Wipe,
    /// Remove company data and management.
    Retire,
    /// Lock the screen.
    RemoteLock,
}

impl DeviceAction {
    /// `deviceActionResults[].actionName`.
    pub fn action_name(self) -> &'static str {
        match self {
            Self::Wipe => "wipe",
            Self::Retire => "retire",
            Self::RemoteLock => "remoteLock",
        }
    }
}

/// `actionState` of a device action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ActionState {
    /// Issued, not yet confirmed by the device.
    Pending,
    /// Confirmed by the device.
    Done,
}

impl ActionState {
    /// The Graph enum value.
    pub fn as_graph(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
        }
    }
}

// ----- records -----------------------------------------------------------------

#[derive(Clone, Debug)]
pub(crate) struct UserRecord {
    pub id: String,
    pub upn: String,
    pub mail: Option<String>,
    pub display_name: String,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub usage_location: Option<String>,
    pub account_enabled: bool,
    pub on_prem_synced: bool,
    pub on_prem_immutable_id: Option<String>,
    pub created: Timestamp,
    pub sessions_valid_from: Timestamp,
    pub manager: Option<usize>,
    pub licenses: Vec<LicenseGrant>,
    pub methods: Vec<MethodRecord>,
    pub mailbox: Option<MailboxRecord>,
    /// Directory role template ids the user holds.
    pub directory_roles: Vec<String>,
    /// Secondary SMTP addresses (`smtp:` entries of `proxyAddresses`).
    pub aliases: Vec<String>,
}

impl UserRecord {
    /// `proxyAddresses`: `SMTP:` the primary address, `smtp:` each alias.
    pub fn proxy_addresses(&self) -> Vec<String> {
        let primary = self.mail.iter().map(|m| format!("SMTP:{m}"));
        let aliases = self.aliases.iter().map(|a| format!("smtp:{a}"));
        primary.chain(aliases).collect()
    }
}

#[derive(Clone, Debug)]
pub(crate) struct LicenseGrant {
    pub sku: usize,
    pub by_group: Option<usize>,
    pub updated: Timestamp,
}

#[derive(Clone, Debug)]
pub(crate) struct GroupRecord {
    pub id: String,
    pub display_name: String,
    pub description: Option<String>,
    pub mail: Option<String>,
    pub mail_nickname: String,
    pub kind: GroupKind,
    pub membership_rule: Option<String>,
    pub on_prem_synced: bool,
    pub created: Timestamp,
    pub licenses: Vec<usize>,
}

impl GroupRecord {
    pub fn mail_enabled(&self) -> bool {
        matches!(
            self.kind,
            GroupKind::Microsoft365 | GroupKind::MailEnabledSecurity | GroupKind::Distribution
        )
    }

    pub fn security_enabled(&self) -> bool {
        matches!(
            self.kind,
            GroupKind::Security | GroupKind::DynamicSecurity | GroupKind::MailEnabledSecurity
        )
    }

    pub fn group_types(&self) -> Vec<&'static str> {
        match self.kind {
            GroupKind::Microsoft365 => vec!["Unified"],
            GroupKind::DynamicSecurity => vec!["DynamicMembership"],
            _ => Vec::new(),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Membership {
    pub seq: u64,
    pub group: usize,
    pub user: usize,
}

#[derive(Clone, Debug)]
pub(crate) struct SkuRecord {
    pub sku_id: String,
    pub part_number: String,
    pub plans: Vec<PlanRecord>,
    pub enabled_units: u32,
}

#[derive(Clone, Debug)]
pub(crate) struct PlanRecord {
    pub id: String,
    pub name: String,
    pub exchange: bool,
}

impl SkuRecord {
    pub fn has_exchange(&self) -> bool {
        self.plans.iter().any(|p| p.exchange)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct MethodRecord {
    pub id: String,
    pub kind: MethodKind,
    /// Phone number, app display name, key model, e-mail address…
    pub label: String,
    pub is_default: bool,
    pub created: Timestamp,
}

#[derive(Clone, Debug)]
pub(crate) struct MailboxRecord {
    pub purpose: MailboxPurpose,
    pub exchange_guid: String,
    pub auto_reply: AutoReplyRecord,
    pub rules: Vec<RuleRecord>,
    pub forwarding_smtp: Option<String>,
    pub deliver_and_forward: bool,
    pub full_access: Vec<String>,
    pub time_zone: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AutoReplyRecord {
    pub status: String,
    pub external_audience: String,
    pub internal_message: String,
    pub external_message: String,
    pub scheduled_start: Value,
    pub scheduled_end: Value,
}

#[derive(Clone, Debug)]
pub(crate) struct RuleRecord {
    pub id: String,
    pub display_name: String,
    pub sequence: i64,
    pub is_enabled: bool,
    pub conditions: Value,
    pub actions: Value,
    pub exceptions: Value,
}

#[derive(Clone, Debug)]
pub(crate) struct DeviceRecord {
    pub id: String,
    pub azure_ad_device_id: String,
    pub name: String,
    pub user: usize,
    pub operating_system: String,
    pub os_version: String,
    pub model: String,
    pub manufacturer: String,
    pub serial_number: String,
    pub owner_type: String,
    pub enrolled: Timestamp,
    pub last_sync: Timestamp,
    pub actions: Vec<ActionRecord>,
}

#[derive(Clone, Debug)]
pub(crate) struct ActionRecord {
    pub action: DeviceAction,
    pub state: ActionState,
    pub started: Timestamp,
    pub updated: Timestamp,
    /// Whether a read already showed this action as pending; the next read
    /// shows it done.
    pub seen_pending: bool,
}

// ----- public views ------------------------------------------------------------

/// A user as tests see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserView {
    /// Object id.
    pub id: String,
    /// `userPrincipalName`.
    pub upn: String,
    /// `mail`.
    pub mail: Option<String>,
    /// `displayName`.
    pub display_name: String,
    /// `department`.
    pub department: Option<String>,
    /// `accountEnabled`.
    pub account_enabled: bool,
    /// `onPremisesSyncEnabled`.
    pub on_prem_synced: bool,
    /// `signInSessionsValidFromDateTime` as Graph renders it.
    pub sign_in_sessions_valid_from: String,
    /// Manager's UPN.
    pub manager: Option<String>,
    /// Display names of groups the user is a direct member of.
    pub groups: Vec<String>,
    /// Licences, one entry per assignment path.
    pub licenses: Vec<LicenseView>,
}

/// One licence assignment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LicenseView {
    /// `skuId`.
    pub sku_id: String,
    /// `skuPartNumber` (`SPE_E3`, …).
    pub sku_part_number: String,
    /// Display name of the group it is inherited from; `None` when direct.
    pub assigned_by_group: Option<String>,
}

/// A group as tests see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupView {
    /// Object id.
    pub id: String,
    /// `displayName`.
    pub display_name: String,
    /// How membership is managed.
    pub kind: GroupKind,
    /// `mail`.
    pub mail: Option<String>,
    /// `onPremisesSyncEnabled`.
    pub on_prem_synced: bool,
    /// UPNs of direct members.
    pub members: Vec<String>,
    /// Part numbers of SKUs the group assigns.
    pub licenses: Vec<String>,
}

/// A mailbox as tests see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MailboxView {
    /// Recipient type.
    pub purpose: MailboxPurpose,
    /// Whether Graph and Exchange can reach it (a user mailbox needs an
    /// Exchange licence).
    pub accessible: bool,
    /// `automaticRepliesSetting.status`.
    pub auto_reply_status: String,
    /// `automaticRepliesSetting.externalAudience`.
    pub auto_reply_external_audience: String,
    /// `automaticRepliesSetting.internalReplyMessage`.
    pub auto_reply_internal: String,
    /// `automaticRepliesSetting.externalReplyMessage`.
    pub auto_reply_external: String,
    /// Inbox rules in sequence order.
    pub rules: Vec<RuleView>,
    /// `ForwardingSmtpAddress` set through Exchange.
    pub forwarding_smtp_address: Option<String>,
    /// Users granted FullAccess through Exchange.
    pub full_access: Vec<String>,
}

/// An inbox rule as tests see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleView {
    /// Rule id.
    pub id: String,
    /// `displayName` (not unique).
    pub display_name: String,
    /// `sequence`.
    pub sequence: i64,
    /// `isEnabled`.
    pub is_enabled: bool,
    /// Addresses in `actions.forwardTo`.
    pub forward_to: Vec<String>,
    /// Addresses in `actions.redirectTo`.
    pub redirect_to: Vec<String>,
}

/// A managed device as tests see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeviceView {
    /// Intune device id.
    pub id: String,
    /// `deviceName`.
    pub name: String,
    /// `operatingSystem`.
    pub operating_system: String,
    /// Owner's UPN.
    pub user_principal_name: String,
    /// Actions issued, oldest first.
    pub actions: Vec<DeviceActionView>,
}

/// One entry of `deviceActionResults`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeviceActionView {
    /// The action.
    pub action: DeviceAction,
    /// Its state (as last shown to a client).
    pub state: ActionState,
    /// `startDateTime`.
    pub started: String,
}

/// An authentication method as tests see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuthMethodView {
    /// Method id.
    pub id: String,
    /// Type.
    pub kind: MethodKind,
    /// Phone number, display name or address.
    pub label: String,
    /// Whether it is the user's default method.
    pub is_default: bool,
}
