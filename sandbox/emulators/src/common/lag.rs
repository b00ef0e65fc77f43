//! Read-after-write lag: for a while after a write, an eventually consistent read keeps
//! returning what was there before it.
//!
//! A book keyed by what a read shows (a membership, a user record) holds the value from before
//! the first write of a lagging stretch and when that stretch ends. Writes inside a stretch
//! extend it; the value shown stays the one from before the first, as a replica that has not
//! caught up would show it.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Duration;

use jiff::Timestamp;

use crate::common::timeline::Timeline;

/// Values reads still show, per key, and until when.
#[derive(Debug)]
pub struct LagBook<K, V> {
    entries: HashMap<K, (V, Timestamp)>,
}

impl<K, V> Default for LagBook<K, V> {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
        }
    }
}

impl<K: Eq + Hash, V> LagBook<K, V> {
    /// Notes a write to `key` at `now`: reads keep showing `before()` (the value it replaced)
    /// until `lag` after it. With no lag, nothing is kept.
    pub fn wrote(&mut self, key: K, before: impl FnOnce() -> V, now: Timestamp, lag: Duration) {
        if lag.is_zero() {
            return;
        }
        let until = Timeline::after(now, lag);
        match self.entries.get_mut(&key) {
            Some(entry) if entry.1 > now => entry.1 = until,
            _ => {
                self.entries.insert(key, (before(), until));
            }
        }
    }

    /// What a read of `key` at `now` still shows instead of the current value, if anything.
    pub fn seen(&self, key: &K, now: Timestamp) -> Option<&V> {
        self.entries
            .get(key)
            .filter(|(_, until)| *until > now)
            .map(|(value, _)| value)
    }

    /// Every key still lagging at `now`, with the value reads show.
    pub fn lagging(&self, now: Timestamp) -> impl Iterator<Item = (&K, &V)> {
        self.entries
            .iter()
            .filter(move |(_, (_, until))| *until > now)
            .map(|(k, (v, _))| (k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_show_the_value_before_the_first_write_until_the_lag_after_the_last() {
        let mut book = LagBook::default();
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let at = |s| Timeline::after(t0, Duration::from_secs(s));
        book.wrote("m", || true, t0, Duration::from_secs(10));
        assert_eq!(book.seen(&"m", at(5)), Some(&true));
        book.wrote("m", || false, at(8), Duration::from_secs(10));
        assert_eq!(
            book.seen(&"m", at(17)),
            Some(&true),
            "first value, extended"
        );
        assert_eq!(book.seen(&"m", at(18)), None);
        book.wrote("n", || true, t0, Duration::ZERO);
        assert_eq!(book.seen(&"n", t0), None, "no lag, nothing kept");
    }
}
