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
    /// Any app that speaks SCIM 2.0 (RFC 7643/7644); a tenant names each such app, and its
    /// steps carry the app's name.
    Scim,
    Slack,
    Github,
    /// Not a system: steps a person confirms (device return, data hand-over, an app without
    /// an API).
    Human,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Okta => "okta",
            Provider::Microsoft => "microsoft",
            Provider::Google => "google",
            Provider::Jumpcloud => "jumpcloud",
            Provider::Scim => "scim",
            Provider::Slack => "slack",
            Provider::Github => "github",
            Provider::Human => "human",
        }
    }

    /// A SaaS app rather than an identity provider: its steps close one seat each, and the
    /// run summary lists what became of it.
    pub fn is_saas(self) -> bool {
        matches!(self, Provider::Scim | Provider::Slack | Provider::Github)
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
    /// Reversible disable: Okta suspend, Entra block sign-in, Google and JumpCloud suspend.
    Suspend,
    /// Destructive disable (Okta deactivate: deprovisions every assigned app).
    Deactivate,
    /// Remove enrolled MFA factors / authentication methods.
    ResetFactors,
    /// Remove direct app assignments (downstream deprovisioning).
    UnassignApps,
    /// Out-of-office reply on the leaver's mailbox.
    SetAutoReply,
    /// Forward new mail to the manager (or the tenant's delegate).
    ForwardMail,
    /// Give the manager access to the mailbox.
    DelegateMailbox,
    /// Convert the mailbox to a shared one so it survives losing its licence.
    ConvertMailbox,
    /// Transfer files and calendars to the manager.
    TransferData,
    /// Release paid licences.
    RemoveLicenses,
    /// Lock, retire or wipe the leaver's devices, per tenant policy.
    SecureDevices,
    /// An operator confirms each of the leaver's devices is back (or written off).
    ReturnDevices,
    /// The manager confirms they have the data they need.
    ConfirmHandover,
    /// Switch the leaver's account in a SaaS app off at the cutoff, reversibly where the app
    /// allows it (SCIM `active=false`, Slack deactivation, GitHub organisation removal).
    DeactivateSeat,
    /// Remove the leaver's account from a SaaS app for good (an irreversible SCIM `DELETE`):
    /// after the tenant's grace period, unless the tenant asks for it at the cutoff.
    RemoveSeat,
    /// The owner of an app Passage cannot reach confirms the leaver's account there is gone.
    ConfirmAppRemoval,
    // ----- Restore (rehire / rescinded termination): each undoes what a leaver run removed,
    // from that run's snapshot; `crate::restore` decides which apply. -----
    /// Unsuspend / re-enable the account a leaver run suspended.
    Reactivate,
    /// Re-add the group memberships a leaver run removed.
    RestoreGroups,
    /// Re-assign the apps a leaver run unassigned.
    RestoreApps,
    /// Re-assign the licences a leaver run released, where seats are free.
    RestoreLicences,
    /// Put the mailbox back as the snapshot recorded it: its type, no forwarding, no auto-reply.
    RestoreMailbox,
    /// Switch a SaaS seat that was only deactivated back on.
    ReactivateSeat,
    // ----- the shared-resource sweep (issue 17): what the leaver holds on others' resources.
    /// Take away the leaver's administrator roles, before any other lockout step, so no
    /// privileged session or console outlives the cut. Each role is recorded first.
    RemoveAdminRoles,
    /// Take the leaver off resources other people own (shared mailbox permissions) and hand
    /// what the leaver owns (groups) to the manager, so nothing is left ownerless; what no API
    /// can change (registered apps) is reported with who must act.
    SweepSharedAccess,
    /// Give the manager access to the leaver's OneDrive and remove its sharing links, before
    /// the licence goes (the drive is deleted after the licence's retention window).
    HandOverOneDrive,
    /// Delete the leaver's own forwarding inbox rules (Passage's forward-to-manager rule
    /// excepted), take the leaver out of colleagues' rules that forward to them, and remove
    /// the leaver's permissions on colleagues' calendars, before the mailbox loses its licence.
    SweepMailAccess,
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
            Action::ResetFactors => "reset_factors",
            Action::UnassignApps => "unassign_apps",
            Action::SetAutoReply => "set_auto_reply",
            Action::ForwardMail => "forward_mail",
            Action::DelegateMailbox => "delegate_mailbox",
            Action::ConvertMailbox => "convert_mailbox",
            Action::TransferData => "transfer_data",
            Action::RemoveLicenses => "remove_licenses",
            Action::SecureDevices => "secure_devices",
            Action::ReturnDevices => "return_devices",
            Action::ConfirmHandover => "confirm_handover",
            Action::DeactivateSeat => "deactivate_seat",
            Action::RemoveSeat => "remove_seat",
            Action::ConfirmAppRemoval => "confirm_app_removal",
            Action::Reactivate => "reactivate",
            Action::RestoreGroups => "restore_groups",
            Action::RestoreApps => "restore_apps",
            Action::RestoreLicences => "restore_licences",
            Action::RestoreMailbox => "restore_mailbox",
            Action::ReactivateSeat => "reactivate_seat",
            Action::RemoveAdminRoles => "remove_admin_roles",
            Action::SweepSharedAccess => "sweep_shared_access",
            Action::HandOverOneDrive => "hand_over_onedrive",
            Action::SweepMailAccess => "sweep_mail_access",
        }
    }

    /// A one-line description for operators and auditors.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Snapshot => "record the leaver's access before any change",
            Action::RevokeSessions => "end sign-in sessions and revoke OAuth tokens",
            Action::RevokeGrants => "revoke consent grants given to apps",
            Action::RemoveGroups => "remove group memberships",
            Action::Suspend => "disable the account (reversible)",
            Action::Deactivate => "deactivate the account (deprovisions apps)",
            Action::ResetFactors => "remove MFA factors and authentication methods",
            Action::UnassignApps => "remove app assignments",
            Action::SetAutoReply => "set an out-of-office reply",
            Action::ForwardMail => "forward new mail to the delegate",
            Action::DelegateMailbox => "give the delegate access to the mailbox",
            Action::ConvertMailbox => "convert the mailbox to a shared mailbox",
            Action::TransferData => "transfer files and calendars to the delegate",
            Action::RemoveLicenses => "release licences",
            Action::SecureDevices => "lock, retire or wipe devices",
            Action::ReturnDevices => "confirm each device is returned",
            Action::ConfirmHandover => "manager confirms the data hand-over",
            Action::DeactivateSeat => {
                "deactivate the app account (reversible where the app allows)"
            }
            Action::RemoveSeat => "remove the app account for good",
            Action::ConfirmAppRemoval => "the app's owner attests the account is gone",
            Action::Reactivate => "re-enable the account (restore)",
            Action::RestoreGroups => "re-add the group memberships removed (restore)",
            Action::RestoreApps => "re-assign the apps unassigned (restore)",
            Action::RestoreLicences => "re-assign the licences released (restore)",
            Action::RestoreMailbox => {
                "restore the mailbox type, forwarding and auto-reply (restore)"
            }
            Action::ReactivateSeat => "re-enable the app account (restore)",
            Action::RemoveAdminRoles => "remove administrator roles (first, recorded)",
            Action::SweepSharedAccess => {
                "remove access to shared resources and hand owned ones to the manager"
            }
            Action::HandOverOneDrive => {
                "give the manager the OneDrive and remove its sharing links"
            }
            Action::SweepMailAccess => {
                "remove forwarding inbox rules to and from the leaver and their calendar permissions"
            }
        }
    }
}

impl Action {
    /// The actions of a restore run: each gives back access a leaver run took.
    pub const RESTORE: [Action; 6] = [
        Action::Reactivate,
        Action::RestoreGroups,
        Action::RestoreApps,
        Action::RestoreLicences,
        Action::RestoreMailbox,
        Action::ReactivateSeat,
    ];

    /// Whether the action gives access back (a restore run's step) rather than taking it.
    pub fn restores(self) -> bool {
        Self::RESTORE.contains(&self)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
