//! The one table of what undoes what: for each kind of change a leaver run records, the
//! restore action that gives it back, or why nothing can. A new kind of recorded item is one
//! more arm here.

use crate::access::ItemKind;
use crate::domain::{Action, Provider};

/// A change the original run made, as its records show it: a step that changed the account
/// itself, or an access item the snapshot recorded and a step read back removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Taken {
    /// A verified step that changed something (not a repeat).
    Step(Action),
    /// An access item graded removed, with the action of the step that removed it.
    Access(ItemKind, Action),
}

/// What a restore does about one change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reversal {
    /// The restore step that gives it back.
    By(Action),
    /// Nothing can give it back; why, for the operator and the bundle.
    Cannot(&'static str),
}

/// The reversal of `taken` at `provider`; `None` for what took nothing away (the snapshot, a
/// person's confirmation, an item no step removes).
pub fn reversal(provider: Provider, taken: Taken) -> Option<Reversal> {
    use Reversal::{By, Cannot};
    Some(match taken {
        Taken::Step(action) => match action {
            Action::Suspend => By(Action::Reactivate),
            Action::Deactivate => Cannot(
                "Okta deactivation deprovisioned every app assignment: reactivating gives back an \
                 account with none, so the person is onboarded again instead",
            ),
            Action::ConvertMailbox | Action::ForwardMail | Action::SetAutoReply => {
                By(Action::RestoreMailbox)
            }
            Action::DelegateMailbox => Cannot(
                "the delegate's mailbox access is the hand-over itself; the manager gives it up \
                 by hand once the person is back",
            ),
            Action::TransferData => Cannot(
                "files and calendars now belong to the delegate; moving them back is the \
                 delegate's choice",
            ),
            Action::DeactivateSeat => match provider {
                Provider::Scim | Provider::Slack => By(Action::ReactivateSeat),
                _ => Cannot(
                    "the organisation membership was removed; GitHub reinstates it only when \
                     the person accepts a new invitation, which an owner sends",
                ),
            },
            Action::RemoveSeat => Cannot(
                "the app account was deleted (SCIM DELETE): the app keeps nothing to switch back on",
            ),
            _ => return None,
        },
        Taken::Access(kind, removed_by) => match (kind, removed_by) {
            (ItemKind::Group, _) => By(Action::RestoreGroups),
            (ItemKind::App, Action::Deactivate) => Cannot(
                "deprovisioned by Okta's deactivation; the app's account was removed downstream",
            ),
            // Apps unassigned directly are assigned again with the recorded username and
            // profile; ones held through a group come back with the group's restore.
            (ItemKind::App, Action::UnassignApps) => By(Action::RestoreApps),
            (ItemKind::App, _) => Cannot(
                "no restore step re-assigns an app this step removed; the apps are in the \
                 original bundle's snapshot, to assign again in the provider's console",
            ),
            (ItemKind::Licence, _) => By(Action::RestoreLicences),
            (ItemKind::Session, _) => {
                Cannot("an ended session is not revived; the person signs in again")
            }
            (ItemKind::Grant, _) => {
                Cannot("a revoked token or consent is not revived; the person consents again")
            }
            (ItemKind::Factor, _) => Cannot(
                "removed MFA factors cannot be re-enrolled by an administrator; the person \
                 enrols again at first sign-in",
            ),
            (ItemKind::Device, _) => Cannot(
                "a device command is not undone: a wiped device stays wiped, a retired one \
                 enrols again, a locked one is unlocked at the device",
            ),
            (ItemKind::Forwarding, _) => Cannot(
                "a forwarding rule is not put back: the leaver's rule sent mail outside the \
                 organisation's hands, and a colleague's rule is its owner's to point at the \
                 person again (the rules are in the original bundle's snapshot)",
            ),
            (ItemKind::Delegation, _) => Cannot(
                "calendar permissions are granted again by the calendars' owners (the \
                 permissions held are in the original bundle's snapshot)",
            ),
            // The shared-resource sweep: what the leaver held on others' resources is theirs
            // to give again, so a restore lists it (from the original snapshot) rather than
            // re-granting it unasked.
            (ItemKind::AdminRole, _) => Cannot(
                "administrator roles are not given back automatically: privileges are \
                 re-granted by an administrator after review (the roles held are in the \
                 original bundle's snapshot)",
            ),
            (ItemKind::SharedAccess, _) => Cannot(
                "rights on other people's mailboxes are granted again by those mailboxes' \
                 owners (the rights held are in the original bundle's snapshot)",
            ),
            (ItemKind::Ownership, _) if provider == Provider::Google => Cannot(
                "group ownership and shared-drive management were handed to the manager, who \
                 now owns the group or manages the drive and makes the person an owner or \
                 manager again if wanted (what the person held is in the original bundle's \
                 snapshot)",
            ),
            (ItemKind::Ownership, _) => Cannot(
                "ownership was handed to the manager, who now owns the group and adds the \
                 person back as an owner if wanted",
            ),
            (ItemKind::Drive, _) => Cannot(
                "a removed sharing link cannot come back with its old address; the person \
                 shares again, and the manager gives up the OneDrive access when done",
            ),
        },
    })
}

/// Where a restore step of `action` stands in its provider's order: the account first (a
/// suspended account takes no other change), licences before the mailbox (a user mailbox
/// needs one), groups before apps (an app held through a group comes back with it, and is
/// then not assigned a second time).
pub fn order(action: Action) -> u8 {
    match action {
        Action::Reactivate | Action::ReactivateSeat => 0,
        Action::RestoreLicences => 1,
        Action::RestoreGroups => 2,
        Action::RestoreApps => 3,
        _ => 4,
    }
}

/// The key of an account-level change, so an operator can name it in `--items`.
pub fn step_item_key(scope: &str, action: Action) -> String {
    let what = match action {
        Action::Suspend | Action::Deactivate => "account",
        Action::ConvertMailbox => "mailbox.type",
        Action::ForwardMail => "mailbox.forwarding",
        Action::SetAutoReply => "mailbox.auto_reply",
        Action::DelegateMailbox => "mailbox.delegation",
        Action::TransferData => "data",
        Action::DeactivateSeat | Action::RemoveSeat => "seat",
        other => other.as_str(),
    };
    format!("{scope}.{what}")
}
