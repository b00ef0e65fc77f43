//! An operator's acceptance that an item may stay as it is while the run closes.

use super::item::AccessItem;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Accepted by a named operator, with a reason and optionally an end. Recorded on the run and
/// listed in its bundle (`exceptions.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessException {
    /// The item's key ([`AccessItem::key`]).
    pub item: String,
    pub operator: String,
    pub reason: String,
    pub at: Timestamp,
    /// After this the exception no longer holds: the item must be resolved or accepted again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

impl AccessException {
    pub fn covers(&self, item: &AccessItem, now: Timestamp) -> bool {
        self.item == item.key && self.expires_at.is_none_or(|end| end > now)
    }
}

/// The critical items that remain or are pending with no exception in force: what holds a run open.
pub fn held<'a>(
    items: &'a [AccessItem],
    exceptions: &[AccessException],
    now: Timestamp,
) -> Vec<&'a AccessItem> {
    items
        .iter()
        .filter(|i| i.critical && i.grade.holds())
        .filter(|i| !exceptions.iter().any(|e| e.covers(i, now)))
        .collect()
}
