use serde::{Deserialize, Serialize};
use std::fmt;

/// The systems Passage acts on. Each has one connector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Okta,
    Microsoft,
    Google,
    Jumpcloud,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Okta => "okta",
            Provider::Microsoft => "microsoft",
            Provider::Google => "google",
            Provider::Jumpcloud => "jumpcloud",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a step does. Provider-neutral names, so the plan, the gate and the control mapping
/// speak one vocabulary while each connector decides which API calls an action takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Record what the leaver has (status, groups, sessions, grants) before anything changes.
    Snapshot,
    /// End sign-in sessions and revoke OAuth/OIDC tokens.
    RevokeSessions,
    /// Revoke the consent grants the leaver gave to apps.
    RevokeGrants,
    /// Remove the group memberships the provider lets us change (recorded first in the snapshot).
    RemoveGroups,
    /// Reversible disable (Okta suspend).
    Suspend,
    /// Destructive disable (Okta deactivate: deprovisions every assigned app).
    Deactivate,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Snapshot => "snapshot",
            Action::RevokeSessions => "revoke_sessions",
            Action::RevokeGrants => "revoke_grants",
            Action::RemoveGroups => "remove_groups",
            Action::Suspend => "suspend",
            Action::Deactivate => "deactivate",
        }
    }

    /// A one-line description for operators and auditors.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Snapshot => "record the leaver's access before any change",
            Action::RevokeSessions => "end sign-in sessions and revoke OAuth tokens",
            Action::RevokeGrants => "revoke consent grants given to apps",
            Action::RemoveGroups => "remove group memberships",
            Action::Suspend => "suspend the account (reversible)",
            Action::Deactivate => "deactivate the account (deprovisions apps)",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
