//! The go-live guard's arithmetic: counting a tenant's terminations in a sliding window, and
//! deciding from the count whether a new run is held. Stores keep the count atomically; what
//! the count means is decided only here.

use crate::domain::{GuardPolicy, RunHold};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One termination as a store's ledger keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The run's idempotency key: a redelivery is the same termination, counted once.
    pub key: String,
    pub at_ms: i64,
}

/// Records `key` at `at` in a ledger read as a whole (a store that keeps it in one record
/// and writes it back version-checked), and answers its count: the terminations within
/// `window` up to and including it. Entries out of the window are dropped, and only the latest
/// `cap` are kept, so the ledger stays small whatever the burst: past `cap` the count only
/// needs to say "more than the guard allows".
pub fn admit(
    entries: &mut Vec<Entry>,
    key: &str,
    at: Timestamp,
    window: Duration,
    cap: u32,
) -> u32 {
    let at_ms = at.as_millisecond();
    let since = at_ms.saturating_sub(i64::try_from(window.as_millis()).unwrap_or(i64::MAX));
    if let Some(pos) = entries.iter().position(|e| e.key == key) {
        let mine = entries[pos].at_ms;
        let mine_since = mine.saturating_sub(at_ms - since);
        return count(
            entries[..=pos]
                .iter()
                .filter(|e| e.at_ms > mine_since)
                .count(),
        );
    }
    entries.retain(|e| e.at_ms > since);
    entries.push(Entry {
        key: key.to_owned(),
        at_ms,
    });
    let cap = usize::try_from(cap.max(1)).unwrap_or(usize::MAX);
    if entries.len() > cap {
        entries.drain(..entries.len() - cap);
    }
    count(entries.len())
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// How many entries a store must keep for `policy`: one more than it allows.
pub fn cap(policy: &GuardPolicy) -> u32 {
    policy.max_terminations.saturating_add(1)
}

/// The hold on a new run whose termination is the `count`th within the window, if the guard
/// holds it.
pub fn hold(policy: &GuardPolicy, tenant: &str, count: u32, at: Timestamp) -> Option<RunHold> {
    if count <= policy.max_terminations {
        return None;
    }
    let minutes = policy.window.as_secs() / 60;
    let seen = if count >= cap(policy) {
        format!("more than {}", policy.max_terminations)
    } else {
        count.to_string()
    };
    Some(RunHold {
        reason: format!(
            "{seen} terminations for tenant {tenant} within {minutes} minutes (the go-live guard \
             allows {}): held until an operator approves it",
            policy.max_terminations
        ),
        at,
        count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn counts_within_the_window_once_per_key() {
        let mut ledger = Vec::new();
        assert_eq!(admit(&mut ledger, "a", t(0), HOUR, 10), 1);
        assert_eq!(admit(&mut ledger, "b", t(10), HOUR, 10), 2);
        assert_eq!(admit(&mut ledger, "a", t(20), HOUR, 10), 1, "a redelivery");
        assert_eq!(admit(&mut ledger, "c", t(3601), HOUR, 10), 2, "a fell out");
        assert_eq!(admit(&mut ledger, "d", t(7300), HOUR, 10), 1);
    }

    #[test]
    fn the_ledger_keeps_no_more_than_it_needs() {
        let mut ledger = Vec::new();
        for i in 0..50 {
            admit(&mut ledger, &format!("k{i}"), t(i), HOUR, 6);
        }
        assert_eq!(ledger.len(), 6);
        assert_eq!(admit(&mut ledger, "k50", t(50), HOUR, 6), 6);
    }

    #[test]
    fn holds_only_past_the_limit() {
        let policy = GuardPolicy {
            max_terminations: 5,
            window: HOUR,
        };
        assert!(hold(&policy, "acme", 5, t(0)).is_none());
        let held = hold(&policy, "acme", 6, t(0)).unwrap();
        assert!(
            held.reason
                .contains("more than 5 terminations for tenant acme within 60 minutes"),
            "{}",
            held.reason
        );
    }
}
