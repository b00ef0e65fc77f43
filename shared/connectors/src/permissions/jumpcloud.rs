//! JumpCloud: an API key carries the role of the administrator who made it; a service account
//! carries the role assigned to it. JumpCloud has no finer permissions, and no read shows a
//! credential's role.

use super::{Access, Kind, Permission};
use passage_core::{Action::*, Provider};

const ROLE_CONSOLE: &str = "Admin Portal → Settings → Administrators (or Service Accounts) → (the account behind the credential) → Role";

pub(super) const TABLE: &[Permission] = &[
    Permission {
        provider: Provider::Jumpcloud,
        kind: Kind::JumpCloudRole,
        name: "Read Only",
        id: None,
        access: Access::Read,
        actions: &[
            Snapshot,
            RemoveAdminRoles,
            Suspend,
            RemoveGroups,
            SecureDevices,
        ],
        also_satisfied_by: &[
            "Help Desk",
            "Manager",
            "Administrator",
            "Administrator with Billing",
        ],
        privileged_only: false,
        console: ROLE_CONSOLE,
        note: "reads users, group memberships, systems, the user's system associations (sudo, when the tenant's sweep.admin_roles is on) and Apple MDM devices (Command Runner cannot use the API), and the leaver's sign-ins in Directory Insights (services sso and directory) for the sign-in watch after the cutoff",
    },
    Permission {
        provider: Provider::Jumpcloud,
        kind: Kind::JumpCloudRole,
        name: "Administrator",
        id: None,
        access: Access::Write,
        actions: &[RemoveAdminRoles, Suspend, RemoveGroups, SecureDevices],
        also_satisfied_by: &["Administrator with Billing"],
        privileged_only: false,
        console: ROLE_CONSOLE,
        note: "removes the leaver's sudo (account-wide and per device binding) before anything else, suspends the user, removes group memberships and sends lock or erase commands; whether Manager or Help Desk may send device commands is not documented",
    },
];
