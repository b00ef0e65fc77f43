//! Every permission, scope and admin role Passage needs from a provider, in one table per
//! provider. The setup guides (`docs/providers/<provider>.md`), the error messages that name a
//! missing permission (`microsoft::errors::permission_for`), Google's delegated scope list
//! (`google::DELEGATED_SCOPES`) and `passage check` all read these tables, so what an
//! administrator is told to grant, what a refusal blames and what the preflight proves cannot
//! drift apart.
//!
//! An entry says which steps need it; which policy options turn those steps on is said once,
//! by [`policy_option`]. Which entries a tenant needs follows from the plan its policy builds
//! ([`needed`]), so a tenant that does not convert mailboxes is never asked for Exchange.

mod google;
mod jumpcloud;
mod markdown;
mod microsoft;
mod okta;
mod saas;

pub use markdown::{BEGIN_MARKER, END_MARKER, markdown_table, replace_generated};
pub use microsoft::{for_exchange, for_graph_call, roles as entra_roles};

use passage_core::{Action, Provider, Step};
use serde::Serialize;

/// Where a grant lives, which decides where an administrator grants it and how `passage check`
/// proves it is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A Microsoft Graph application permission (an app role; `roles` in Graph tokens).
    GraphAppRole,
    /// An Office 365 Exchange Online application permission (`roles` in Exchange tokens).
    ExchangeAppRole,
    /// An Entra directory role assigned to the app's service principal (`wids` in its tokens).
    EntraRole,
    /// A Google OAuth scope authorised for the service account's domain-wide delegation.
    GoogleScope,
    /// An admin role of the Google administrator the service account acts as.
    GoogleAdminRole,
    /// An `okta.*` scope granted to the service app (`scope` of its token).
    OktaScope,
    /// An Okta admin role assigned to the service app (or held by the API token's admin).
    OktaAdminRole,
    /// The role of the JumpCloud administrator or service account behind the credential.
    JumpCloudRole,
    /// A Slack user-token scope.
    SlackScope,
    /// A GitHub token scope (or the matching GitHub App permission).
    GitHubScope,
    /// A SCIM app's bearer token, which carries no finer grants.
    ScimToken,
}

impl Kind {
    /// How the kind is called in the guides and in `passage check`.
    pub fn label(self) -> &'static str {
        match self {
            Kind::GraphAppRole => "Graph application permission",
            Kind::ExchangeAppRole => "Exchange application permission",
            Kind::EntraRole => "Entra directory role",
            Kind::GoogleScope => "domain-wide delegation scope",
            Kind::GoogleAdminRole => "admin role of admin_subject",
            Kind::OktaScope => "OAuth scope",
            Kind::OktaAdminRole => "admin role",
            Kind::JumpCloudRole => "administrator role",
            Kind::SlackScope => "Slack user-token scope",
            Kind::GitHubScope => "GitHub token scope",
            Kind::ScimToken => "SCIM token",
        }
    }
}

/// Whether holding the grant lets Passage change anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    Read,
    Write,
}

/// One grant Passage needs.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Permission {
    pub provider: Provider,
    pub kind: Kind,
    /// As the provider spells it: `User.Read.All`, a scope URL, `Exchange Administrator`.
    pub name: &'static str,
    /// The provider's id for it where it has one: a Graph appRole GUID, a directory role
    /// template id.
    pub id: Option<&'static str>,
    pub access: Access,
    /// The steps that fail without it.
    pub actions: &'static [Action],
    /// Broader grants that include it; holding any of them is holding this one.
    pub also_satisfied_by: &'static [&'static str],
    /// Needed only to act on leavers who are themselves administrators.
    pub privileged_only: bool,
    /// Where to confirm or grant it, for messages that send an administrator there.
    pub console: &'static str,
    /// What an administrator needs to know beyond the name, one sentence.
    pub note: &'static str,
}

impl Permission {
    /// Whether a grant named `held` is this permission or one that includes it.
    pub fn satisfied_by(&self, held: &str) -> bool {
        held.eq_ignore_ascii_case(self.name)
            || self
                .also_satisfied_by
                .iter()
                .any(|s| s.eq_ignore_ascii_case(held))
    }

    /// Whether a tenant whose plan has `actions` needs this grant.
    pub fn needed_by_any(&self, actions: &[Action]) -> bool {
        self.actions.iter().any(|a| actions.contains(a))
    }
}

/// The table of one provider, in the order the guide lists it.
pub fn table(provider: Provider) -> &'static [Permission] {
    match provider {
        Provider::Okta => okta::TABLE,
        Provider::Microsoft => microsoft::TABLE,
        Provider::Google => google::TABLE,
        Provider::Jumpcloud => jumpcloud::TABLE,
        Provider::Slack => saas::SLACK,
        Provider::Github => saas::GITHUB,
        Provider::Scim => saas::SCIM,
        Provider::Human => &[],
    }
}

/// The entry named `name` in `provider`'s table.
pub fn find(provider: Provider, name: &str) -> Option<&'static Permission> {
    table(provider)
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
}

/// The grants one provider's steps of a plan need, each with the steps that need it.
pub fn needed(provider: Provider, plan: &[Step]) -> Vec<(&'static Permission, Vec<&Step>)> {
    table(provider)
        .iter()
        .filter_map(|p| {
            let steps: Vec<&Step> = plan
                .iter()
                .filter(|s| s.provider == provider && p.actions.contains(&s.action))
                .collect();
            (!steps.is_empty()).then_some((p, steps))
        })
        .collect()
}

/// The policy option that puts `action` in a plan, as it is written in `passage.toml`; `None`
/// when every plan for the provider has the step.
pub fn policy_option(provider: Provider, action: Action) -> Option<&'static str> {
    use Action::*;
    match (provider, action) {
        (Provider::Okta, ResetFactors) => Some("reset_factors = true"),
        (Provider::Okta, UnassignApps) => Some("unassign_apps = true"),
        (Provider::Okta, Suspend) => Some("disable = \"suspend\""),
        (Provider::Okta, Deactivate) => Some("disable = \"deactivate\""),
        (Provider::Microsoft, ResetFactors) => Some("policy.reset_factors"),
        (Provider::Microsoft, SetAutoReply) => Some("policy.auto_reply"),
        (Provider::Microsoft, ForwardMail) => Some("policy.forward_to_delegate"),
        (Provider::Microsoft, SecureDevices) => Some("policy.devices"),
        (Provider::Microsoft, ConvertMailbox) => Some("policy.convert_mailbox"),
        (Provider::Microsoft, RemoveLicenses) => Some("policy.remove_licenses"),
        (Provider::Google, DelegateMailbox) => Some("policy.delegate_mailbox"),
        (Provider::Google, ForwardMail) => Some("policy.forward_to_delegate"),
        (Provider::Google, SetAutoReply) => Some("policy.vacation_reply"),
        (Provider::Google, TransferData) => Some("policy.transfer_data"),
        (Provider::Google, SecureDevices) => Some("policy.devices"),
        (Provider::Google, RemoveLicenses) => Some("policy.release_licenses"),
        (Provider::Jumpcloud, SecureDevices) => Some("policy.devices"),
        _ => None,
    }
}

/// The actions each connector performs, for the checks that every one of them is covered.
pub fn actions_of(provider: Provider) -> &'static [Action] {
    use Action::*;
    match provider {
        Provider::Okta => &[
            Snapshot,
            RevokeSessions,
            RevokeGrants,
            RemoveGroups,
            Suspend,
            Deactivate,
            ResetFactors,
            UnassignApps,
            RemoveAdminRoles,
        ],
        Provider::Microsoft => &[
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
        ],
        Provider::Google => &[
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
        ],
        Provider::Jumpcloud => &[
            Snapshot,
            RemoveAdminRoles,
            Suspend,
            RemoveGroups,
            SecureDevices,
        ],
        Provider::Slack => &[Snapshot, DeactivateSeat],
        Provider::Github | Provider::Scim => &[Snapshot, DeactivateSeat, RemoveSeat],
        Provider::Human => &[],
    }
}

#[cfg(test)]
mod tests;
