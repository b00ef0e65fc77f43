//! Google Workspace: the OAuth scopes the service account's client id is authorised for in
//! domain-wide delegation, and the admin role of the administrator it acts as. The scopes are
//! the ones each call asks for (`google::scopes`); Google checks the administrator's role as
//! well as the scope.

use super::{Access, Kind, Permission};
use crate::google::scopes;
use passage_core::{Action, Action::*, Provider};

const DWD_CONSOLE: &str = "Admin console → Security → Access and data control → API controls → Manage Domain Wide Delegation → (the service account's client id) → Edit";
const ROLE_CONSOLE: &str =
    "Admin console → Directory → Users → (admin_subject) → Admin roles and privileges";

/// Every Google action finds the leaver first, as the administrator.
const ALL: &[Action] = &[
    Snapshot,
    DelegateMailbox,
    ForwardMail,
    SetAutoReply,
    TransferData,
    Suspend,
    RevokeSessions,
    RevokeGrants,
    RemoveGroups,
    SecureDevices,
    RemoveLicenses,
    SweepSharedAccess,
];

const fn scope(
    name: &'static str,
    access: Access,
    actions: &'static [Action],
    note: &'static str,
) -> Permission {
    Permission {
        provider: Provider::Google,
        kind: Kind::GoogleScope,
        name,
        id: None,
        access,
        actions,
        also_satisfied_by: &[],
        privileged_only: false,
        console: DWD_CONSOLE,
        note,
    }
}

pub(super) const TABLE: &[Permission] = &[
    scope(
        scopes::DIRECTORY_USER,
        Access::Write,
        ALL,
        "finds the leaver and the delegate (users.get) and suspends the leaver",
    ),
    scope(
        scopes::DIRECTORY_USER_SECURITY,
        Access::Write,
        &[Snapshot, RevokeSessions, RevokeGrants],
        "lists and revokes OAuth tokens, app passwords and backup codes; signs the leaver out",
    ),
    scope(
        scopes::DIRECTORY_GROUP_READONLY,
        Access::Read,
        &[Snapshot, RemoveGroups, SweepSharedAccess],
        "lists the leaver's groups (and, when the tenant sweeps, each group's owners)",
    ),
    scope(
        scopes::DIRECTORY_GROUP_MEMBER,
        Access::Write,
        &[RemoveGroups, SweepSharedAccess],
        "removes the leaver from each group; makes the manager an owner of the groups the leaver alone owns",
    ),
    scope(
        scopes::DEVICE_MOBILE_READONLY,
        Access::Read,
        &[Snapshot, SecureDevices],
        "lists the leaver's mobile devices",
    ),
    scope(
        scopes::DEVICE_MOBILE_ACTION,
        Access::Write,
        &[SecureDevices],
        "wipes the account from, or the whole of, each mobile device",
    ),
    scope(
        scopes::LICENSING,
        Access::Write,
        &[Snapshot, RemoveLicenses],
        "the Licensing API's only scope: reads and releases licences",
    ),
    scope(
        scopes::DATATRANSFER,
        Access::Write,
        &[TransferData],
        "starts and follows the Drive and Calendar transfer to the delegate",
    ),
    scope(
        scopes::GMAIL_SETTINGS_BASIC,
        Access::Write,
        &[Snapshot, DelegateMailbox, ForwardMail, SetAutoReply],
        "reads delegates and forwarding and sets the vacation reply, acting as the leaver",
    ),
    scope(
        scopes::GMAIL_SETTINGS_SHARING,
        Access::Write,
        &[DelegateMailbox, ForwardMail],
        "adds the delegate and the forwarding address, acting as the leaver; has no read method, so only the token request proves it",
    ),
    scope(
        scopes::REPORTS_AUDIT_READONLY,
        Access::Read,
        // The sign-in watch that follows the suspension reads the login activity.
        &[Suspend],
        "reads the leaver's logins (Reports API, login activity) after the cutoff for the sign-in watch; not needed when the tenant's sign_in_watch.hours is 0",
    ),
    scope(
        scopes::DRIVE,
        Access::Write,
        &[SweepSharedAccess],
        "lists every shared drive and its members as a domain administrator, makes the manager a manager of the drives the leaver alone manages and removes the leaver (only when sweep.google_shared is on)",
    ),
    Permission {
        provider: Provider::Google,
        kind: Kind::GoogleAdminRole,
        name: "Super Admin",
        id: None,
        access: Access::Write,
        actions: &[
            Snapshot,
            TransferData,
            Suspend,
            RevokeSessions,
            RevokeGrants,
            RemoveGroups,
            SecureDevices,
            RemoveLicenses,
            SweepSharedAccess,
        ],
        also_satisfied_by: &[],
        privileged_only: false,
        console: ROLE_CONSOLE,
        note: "of admin_subject; or a custom admin role with the Users, Groups, Mobile devices, Licences, Data transfer and (for the sweep) Manage shared drives privileges (only a super admin can act on other super admins)",
    },
];
