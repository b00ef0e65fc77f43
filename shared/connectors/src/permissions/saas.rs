//! SaaS apps: Slack scopes, GitHub token scopes and the SCIM bearer token. None of them can be
//! read back without a call that needs the grant itself, so `passage check` proves them only by
//! the harmless lookup each connector makes first.

use super::{Access, Kind, Permission};
use passage_core::{Action::*, Provider};

const SLACK_CONSOLE: &str =
    "api.slack.com/apps → (the app) → OAuth & Permissions → User Token Scopes, then reinstall";
const GITHUB_CONSOLE: &str =
    "github.com/settings/tokens (classic PAT) or the GitHub App's Permissions & events page";
const SCIM_CONSOLE: &str = "the app's admin console → SCIM or user provisioning → generate a token";

pub(super) const SLACK: &[Permission] = &[
    Permission {
        provider: Provider::Slack,
        kind: Kind::SlackScope,
        name: "users:read.email",
        id: None,
        access: Access::Read,
        actions: &[Snapshot, DeactivateSeat],
        also_satisfied_by: &[],
        privileged_only: false,
        console: SLACK_CONSOLE,
        note: "finds the leaver by e-mail (users.lookupByEmail)",
    },
    Permission {
        provider: Provider::Slack,
        kind: Kind::SlackScope,
        name: "admin",
        id: None,
        access: Access::Write,
        actions: &[DeactivateSeat],
        also_satisfied_by: &[],
        privileged_only: false,
        console: SLACK_CONSOLE,
        note: "SCIM deactivation (Business+ or Enterprise Grid); the token dies when its creator stops being an Owner or Admin, so use a dedicated service admin",
    },
    Permission {
        provider: Provider::Slack,
        kind: Kind::SlackScope,
        name: "admin.users:write",
        id: None,
        access: Access::Write,
        actions: &[DeactivateSeat],
        also_satisfied_by: &[],
        privileged_only: false,
        console: SLACK_CONSOLE,
        note: "Enterprise Grid only: org-wide deactivation and session reset (admin.users.session.reset)",
    },
];

pub(super) const GITHUB: &[Permission] = &[Permission {
    provider: Provider::Github,
    kind: Kind::GitHubScope,
    name: "admin:org",
    id: None,
    access: Access::Write,
    actions: &[Snapshot, DeactivateSeat, RemoveSeat],
    also_satisfied_by: &[],
    privileged_only: false,
    console: GITHUB_CONSOLE,
    note: "reads and removes the membership, outside-collaborator access, invitations, SAML credential authorizations and the Copilot seat (a GitHub App needs organisation Members: write)",
}];

pub(super) const SCIM: &[Permission] = &[Permission {
    provider: Provider::Scim,
    kind: Kind::ScimToken,
    name: "SCIM bearer token",
    id: None,
    access: Access::Write,
    actions: &[Snapshot, DeactivateSeat, RemoveSeat],
    also_satisfied_by: &[],
    privileged_only: false,
    console: SCIM_CONSOLE,
    note: "reads and changes /Users; most apps issue one all-powerful token per provisioning connection",
}];
