//! Microsoft 365: Graph application permissions (appRole GUIDs from Graph's service principal,
//! `MSGraphServicePrincipalPermissions.json`, or the Graph permissions reference where that
//! file is older than the permission), Exchange Online's `Exchange.ManageAsApp`, and the Entra
//! directory roles the service principal needs besides.

use super::{Access, Kind, Permission};
use passage_core::{Action, Action::*, Provider};
use reqwest::Method;

/// Entra directory role template ids (what `wids` in a token lists), from the Entra built-in
/// roles reference.
pub mod roles {
    pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
    pub const PRIVILEGED_AUTHENTICATION_ADMINISTRATOR: &str =
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13";
    pub const USER_ADMINISTRATOR: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";
    pub const EXCHANGE_ADMINISTRATOR: &str = "29232cdf-9323-42fd-ade2-1d097af3e4de";
    pub const EXCHANGE_RECIPIENT_ADMINISTRATOR: &str = "31392ffb-586c-42d1-9346-e59415a2cc4e";

    /// Names of the roles above, by template id.
    pub const NAMES: &[(&str, &str)] = &[
        (GLOBAL_ADMINISTRATOR, "Global Administrator"),
        (
            PRIVILEGED_AUTHENTICATION_ADMINISTRATOR,
            "Privileged Authentication Administrator",
        ),
        (USER_ADMINISTRATOR, "User Administrator"),
        (EXCHANGE_ADMINISTRATOR, "Exchange Administrator"),
        (
            EXCHANGE_RECIPIENT_ADMINISTRATOR,
            "Exchange Recipient Administrator",
        ),
    ];

    /// The name of a role template id, if it is one Passage knows.
    pub fn name_of(template_id: &str) -> Option<&'static str> {
        NAMES
            .iter()
            .find(|(id, _)| id.eq_ignore_ascii_case(template_id))
            .map(|(_, name)| *name)
    }
}

const GRAPH_CONSOLE: &str = "Entra admin center → App registrations → (the Passage app) → API permissions → Add a permission → Microsoft Graph → Application permissions, then Grant admin consent";
const EXCHANGE_CONSOLE: &str = "Entra admin center → App registrations → (the Passage app) → API permissions → Add a permission → APIs my organization uses → Office 365 Exchange Online → Application permissions, then Grant admin consent";
const ROLE_CONSOLE: &str =
    "Entra admin center → Roles & admins → (the role) → Add assignments → (the Passage app)";

/// Every Microsoft action reads the leaver first.
const ALL: &[Action] = &[
    Snapshot,
    Suspend,
    RevokeSessions,
    ResetFactors,
    RemoveGroups,
    SetAutoReply,
    ForwardMail,
    SecureDevices,
    ConvertMailbox,
    RemoveLicenses,
    SweepSharedAccess,
    HandOverOneDrive,
    SweepMailAccess,
];

const fn graph(
    name: &'static str,
    id: Option<&'static str>,
    access: Access,
    actions: &'static [Action],
    also_satisfied_by: &'static [&'static str],
    note: &'static str,
) -> Permission {
    Permission {
        provider: Provider::Microsoft,
        kind: Kind::GraphAppRole,
        name,
        id,
        access,
        actions,
        also_satisfied_by,
        privileged_only: false,
        console: GRAPH_CONSOLE,
        note,
    }
}

pub(super) const TABLE: &[Permission] = &[
    // The shared-resource sweep's OneDrive hand-over (only when the tenant's sweep has it on).
    graph(
        "Files.ReadWrite.All",
        Some("75359482-378d-4052-8f01-80520e7db3cd"),
        Access::Write,
        &[HandOverOneDrive],
        &["Sites.ReadWrite.All", "Sites.FullControl.All"],
        "records the leaver's OneDrive sharing links, invites the manager to the drive and removes the links (only when sweep.onedrive_handover is on)",
    ),
    // The mail sweep (only when the tenant's sweep has sweep.mail_access on).
    graph(
        "Calendars.ReadWrite",
        Some("ef54d2bf-783f-4e0f-bca1-3210c0444d99"),
        Access::Write,
        &[SweepMailAccess],
        &[],
        "reads the calendar permissions of the leaver, the manager, the direct reports and the shared mailboxes (also at the snapshot) and removes the leaver's (only when sweep.mail_access is on)",
    ),
    graph(
        "User.Read.All",
        Some("df021288-bdef-4463-88db-98f22de89214"),
        Access::Read,
        ALL,
        &[
            "User.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
        "finds the leaver and reads account state, licences and sign-in sessions",
    ),
    graph(
        "GroupMember.Read.All",
        Some("98830695-27a2-44f7-8c18-0c3ebc9698f6"),
        Access::Read,
        &[Snapshot, RemoveGroups],
        &[
            "GroupMember.ReadWrite.All",
            "Group.Read.All",
            "Group.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
        "without it Graph still answers memberOf, but with every group field but the id empty, so groups cannot be told apart",
    ),
    graph(
        "UserAuthenticationMethod.Read.All",
        Some("38d9df27-64da-44fd-b7c5-a6fbac20248f"),
        Access::Read,
        &[Snapshot, ResetFactors],
        &["UserAuthenticationMethod.ReadWrite.All"],
        "records the leaver's MFA methods",
    ),
    graph(
        "MailboxSettings.Read",
        Some("40f97065-369a-49f4-947c-6a255697ae91"),
        Access::Read,
        &[Snapshot, ConvertMailbox],
        &["MailboxSettings.ReadWrite"],
        "reads the auto-reply and the mailbox type (userPurpose) the conversion is read back from",
    ),
    graph(
        "AuditLog.Read.All",
        Some("b0afded3-3588-46d8-8b3d-9842eff778da"),
        Access::Read,
        // The sign-in watch that follows the lockout reads the sign-in log.
        &[Suspend],
        &[],
        "reads the leaver's sign-ins (/auditLogs/signIns) after the cutoff for the sign-in watch; the tenant needs Entra ID P1 or P2; not needed when the tenant's sign_in_watch.hours is 0",
    ),
    graph(
        "DeviceManagementManagedDevices.Read.All",
        Some("2f51be20-0bb4-4fed-bf7b-db946066c75e"),
        Access::Read,
        &[Snapshot, SecureDevices],
        &["DeviceManagementManagedDevices.ReadWrite.All"],
        "lists the leaver's Intune devices; the tenant needs an Intune licence",
    ),
    graph(
        "User.EnableDisableAccount.All",
        Some("3011c876-62b7-4ada-afa2-506cbbecc68c"),
        Access::Write,
        &[Suspend],
        &["User.ReadWrite.All", "Directory.ReadWrite.All"],
        "blocks sign-in (accountEnabled); an administrator leaver also needs a directory role, below",
    ),
    graph(
        "User.RevokeSessions.All",
        None,
        Access::Write,
        &[RevokeSessions],
        &["User.ReadWrite.All", "Directory.ReadWrite.All"],
        "revokeSignInSessions; its GUID is not in the saved Graph permission list: read it with `az ad sp show --id 00000003-0000-0000-c000-000000000000 --query \"appRoles[?value=='User.RevokeSessions.All'].id\"`",
    ),
    graph(
        "UserAuthenticationMethod.ReadWrite.All",
        Some("50483e42-d915-4231-9639-7fdb7fd190e5"),
        Access::Write,
        &[ResetFactors],
        &[],
        "deletes the leaver's MFA methods",
    ),
    graph(
        "GroupMember.ReadWrite.All",
        Some("dbaae8cf-10b5-4b86-a4a1-f871c94c6695"),
        Access::Write,
        &[RemoveGroups, SweepSharedAccess],
        &["Group.ReadWrite.All", "Directory.ReadWrite.All"],
        "removes assigned security and Microsoft 365 group memberships; role-assignable groups also need RoleManagement.ReadWrite.Directory",
    ),
    graph(
        "MailboxSettings.ReadWrite",
        Some("6931bccd-447a-43d1-b442-00a195474933"),
        Access::Write,
        &[SetAutoReply, ForwardMail, SweepMailAccess],
        &[],
        "sets the auto-reply and the inbox rule that forwards to the delegate; the mail sweep deletes forwarding rules to and from the leaver",
    ),
    graph(
        "DeviceManagementManagedDevices.PrivilegedOperations.All",
        Some("5b07b0dd-2377-4e44-a38d-703f09a0dc3c"),
        Access::Write,
        &[SecureDevices],
        &[],
        "retire, wipe and remote lock",
    ),
    graph(
        "LicenseAssignment.ReadWrite.All",
        Some("5facf0c1-8979-4e95-abcf-ff3d079771c0"),
        Access::Write,
        &[RemoveLicenses],
        &["User.ReadWrite.All", "Directory.ReadWrite.All"],
        "removes directly assigned licences",
    ),
    Permission {
        provider: Provider::Microsoft,
        kind: Kind::ExchangeAppRole,
        name: "Exchange.ManageAsApp",
        id: Some("dc50a0fb-09a3-484d-be87-e023b12c6440"),
        access: Access::Write,
        actions: &[
            RemoveGroups,
            ConvertMailbox,
            SweepSharedAccess,
            SweepMailAccess,
        ],
        also_satisfied_by: &[],
        privileged_only: false,
        console: EXCHANGE_CONSOLE,
        note: "on Office 365 Exchange Online (appId 00000002-0000-0ff1-ce00-000000000000): converts the mailbox and removes distribution-list memberships",
    },
    Permission {
        provider: Provider::Microsoft,
        kind: Kind::EntraRole,
        name: "Exchange Administrator",
        id: Some(roles::EXCHANGE_ADMINISTRATOR),
        access: Access::Write,
        actions: &[
            RemoveGroups,
            ConvertMailbox,
            SweepSharedAccess,
            SweepMailAccess,
        ],
        also_satisfied_by: &["Global Administrator"],
        privileged_only: false,
        console: ROLE_CONSOLE,
        note: "gives the Exchange session its rights; Exchange Recipient Administrator alone cannot remove distribution-list members (-BypassSecurityGroupManagerCheck)",
    },
    Permission {
        provider: Provider::Microsoft,
        kind: Kind::EntraRole,
        name: "Privileged Authentication Administrator",
        id: Some(roles::PRIVILEGED_AUTHENTICATION_ADMINISTRATOR),
        access: Access::Write,
        actions: &[Suspend, ResetFactors],
        also_satisfied_by: &["Global Administrator"],
        privileged_only: true,
        console: ROLE_CONSOLE,
        note: "only for leavers who hold admin roles: User Administrator covers leavers with lesser admin roles, not Global Administrators; this role makes the app as powerful as a Global Administrator",
    },
];

/// The Graph permission a call needs (least privileged first), from its method and path.
pub fn for_graph_call(method: &Method, path: &str) -> &'static Permission {
    let read = *method == Method::GET;
    let has = |s: &str| path.contains(s);
    let name = if has("/authentication/") {
        if read {
            "UserAuthenticationMethod.Read.All"
        } else {
            "UserAuthenticationMethod.ReadWrite.All"
        }
    } else if has("/managedDevices") || has("/deviceManagement/") {
        if read {
            "DeviceManagementManagedDevices.Read.All"
        } else {
            "DeviceManagementManagedDevices.PrivilegedOperations.All"
        }
    } else if has("/mailboxSettings") || has("/messageRules") {
        if read {
            "MailboxSettings.Read"
        } else {
            "MailboxSettings.ReadWrite"
        }
    } else if has("/calendar/") || path.ends_with("/calendar") {
        "Calendars.ReadWrite"
    } else if has("/drive") {
        "Files.ReadWrite.All"
    } else if has("/members/") || has("/memberOf") || has("/owners") || has("/ownedObjects") {
        if read {
            "GroupMember.Read.All"
        } else {
            "GroupMember.ReadWrite.All"
        }
    } else if has("/assignLicense") || has("/licenseDetails") {
        "LicenseAssignment.ReadWrite.All"
    } else if has("revokeSignInSessions") {
        "User.RevokeSessions.All"
    } else if read {
        "User.Read.All"
    } else {
        "User.EnableDisableAccount.All"
    };
    TABLE
        .iter()
        .find(|p| p.name == name)
        .expect("every name above is in the table")
}

/// The Exchange Online grants every cmdlet needs: the app permission and the directory role.
pub fn for_exchange() -> [&'static Permission; 2] {
    let find = |name: &str| {
        TABLE
            .iter()
            .find(|p| p.name == name)
            .expect("both Exchange grants are in the table")
    };
    [find("Exchange.ManageAsApp"), find("Exchange Administrator")]
}
