//! Okta: the `okta.*` scopes granted to the API Services app (each call's scope from the
//! `security` block of Okta's management API), and the admin role that decides on whom the
//! app may act.

use super::{Access, Kind, Permission};
use passage_core::{Action, Action::*, Provider};

const SCOPE_CONSOLE: &str =
    "Admin Console → Applications → Applications → (the Passage app) → Okta API Scopes → Grant";
const ROLE_CONSOLE: &str =
    "Admin Console → Applications → Applications → (the Passage app) → Admin roles";

/// Every Okta action reads the leaver first.
const ALL: &[Action] = &[
    Snapshot,
    RevokeSessions,
    RevokeGrants,
    RemoveGroups,
    Suspend,
    Deactivate,
    ResetFactors,
    UnassignApps,
    RemoveAdminRoles,
];

/// Every Okta action that changes something.
const WRITES: &[Action] = &[
    RevokeSessions,
    RevokeGrants,
    RemoveGroups,
    Suspend,
    Deactivate,
    ResetFactors,
    UnassignApps,
];

const fn scope(
    name: &'static str,
    access: Access,
    actions: &'static [Action],
    also_satisfied_by: &'static [&'static str],
    note: &'static str,
) -> Permission {
    Permission {
        provider: Provider::Okta,
        kind: Kind::OktaScope,
        name,
        id: None,
        access,
        actions,
        also_satisfied_by,
        privileged_only: false,
        console: SCOPE_CONSOLE,
        note,
    }
}

pub(super) const TABLE: &[Permission] = &[
    scope(
        "okta.users.read",
        Access::Read,
        ALL,
        &["okta.users.manage"],
        "reads the leaver, groups, factors, app links, grants and OAuth clients",
    ),
    scope(
        "okta.users.manage",
        Access::Write,
        &[
            RevokeSessions,
            RevokeGrants,
            Suspend,
            Deactivate,
            ResetFactors,
        ],
        &[],
        "clears sessions, revokes grants and tokens, suspends or deactivates, resets factors",
    ),
    scope(
        "okta.groups.manage",
        Access::Write,
        &[RemoveGroups],
        &[],
        "removes group memberships (okta.groups.read is not used)",
    ),
    scope(
        "okta.apps.read",
        Access::Read,
        &[UnassignApps],
        &["okta.apps.manage"],
        "reads each app assignment, to leave group-made ones alone (and records it in the snapshot, scope, username and profile, for a restore)",
    ),
    scope(
        "okta.apps.manage",
        Access::Write,
        &[UnassignApps],
        &[],
        "removes direct app assignments (a restore assigns them again with POST /api/v1/apps/{appId}/users)",
    ),
    scope(
        "okta.roles.read",
        Access::Read,
        &[Snapshot, RemoveAdminRoles],
        &["okta.roles.manage"],
        "records the leaver's admin roles in the snapshot (only when the tenant's sweep.admin_roles is on)",
    ),
    scope(
        "okta.roles.manage",
        Access::Write,
        &[RemoveAdminRoles],
        &[],
        "removes the leaver's admin roles before any other lockout step",
    ),
    scope(
        "okta.logs.read",
        Access::Read,
        // The sign-in watch that follows a lockout reads the System Log.
        &[Suspend, Deactivate],
        &[],
        "reads the leaver's sign-ins from the System Log after the cutoff (the sign-in watch; not needed when the tenant's sign_in_watch.hours is 0)",
    ),
    Permission {
        provider: Provider::Okta,
        kind: Kind::OktaAdminRole,
        name: "Super Administrator",
        id: Some("SUPER_ADMIN"),
        access: Access::Write,
        actions: WRITES,
        also_satisfied_by: &[],
        privileged_only: false,
        console: ROLE_CONSOLE,
        note: "or a custom role on a resource set with okta.users.lifecycle.suspend/.deactivate/.clearSessions, okta.users.credentials.resetFactors, okta.users.groupMembership.manage, okta.groups.members.manage, okta.users.appAssignment.manage and okta.apps.assignment.manage; only a Super Administrator acts on leavers who are admins or in admin groups",
    },
];
