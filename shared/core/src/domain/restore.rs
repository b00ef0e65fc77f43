//! A restore run's record of what it gives back: the leaver run it undoes (and that run's
//! signed bundle), the items it restores, and those it cannot, each with why.

use crate::domain::{Action, Provider};
use crate::ids::RunId;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Where a restore run came from: an operator asked to undo a closed leaver run. Stored as the
/// run's source, so the restore bundle's `hr-event.json` and manifest name the original run and
/// the digest of the bundle it closed with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RestoreOrigin {
    /// The operator who asked, as authenticated: every restore step is recorded in their name.
    pub actor: String,
    pub received_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The leaver run whose removals this run gives back.
    pub original_run: RunId,
    /// The original run's bundle: its place in the tenant's chain and its manifest's SHA-256.
    pub original_sequence: u64,
    pub original_manifest_sha256: String,
    /// The item keys the operator restricted the restore to; empty: everything restorable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only: Vec<String>,
    /// What the run restores and what it cannot, as planned from the original run.
    pub plan: RestorePlan,
}

/// What a restore gives back and what it cannot, per item the original run recorded.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RestorePlan {
    pub items: Vec<RestoreItem>,
    pub not_restorable: Vec<NotRestorable>,
}

/// One thing the original run took away and this run gives back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RestoreItem {
    /// `okta.group.<id>`, `microsoft.account`, `microsoft.mailbox.forwarding`: what `--items` names.
    pub key: String,
    pub provider: Provider,
    /// The tenant's app, for a SaaS seat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// The restore step that gives it back.
    pub action: Action,
    /// The provider's id of the item (a group id, a SKU), empty for the account itself.
    pub id: String,
    pub name: String,
    /// What the snapshot recorded of it (a previous auto-reply, the mailbox's type), which the
    /// connector restores to.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub recorded: serde_json::Value,
}

/// Something the original run took that no restore can give back, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotRestorable {
    pub key: String,
    pub provider: Provider,
    pub name: String,
    pub why: String,
}
