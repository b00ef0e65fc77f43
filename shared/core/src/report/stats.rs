//! Period statistics: per system and over all systems, the nearest-rank p50, p95 and maximum
//! of the access-removal delay, SLA breaches (count and share) and what is still pending.

use super::leaver::{LeaverRow, SlaOutcome};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    /// Leavers in the population.
    pub leavers: usize,
    /// Runs not yet closed (scheduled, running or blocked).
    pub open_runs: usize,
    /// Over all systems: a leaver's delay is that of the last system removed.
    pub overall: SystemStats,
    pub systems: Vec<SystemStats>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SystemStats {
    /// A provider, or `all`.
    pub system: String,
    /// Leavers this system applies to.
    pub leavers: usize,
    /// Of those, how many have their access removed.
    pub removed: usize,
    pub p50_seconds: Option<i64>,
    pub p95_seconds: Option<i64>,
    pub max_seconds: Option<i64>,
    pub breaches: usize,
    /// `breaches / leavers` (0 when there are none).
    pub breach_share: f64,
    /// Not removed yet, and still within the SLA.
    pub pending: usize,
}

/// The nearest-rank percentile (`p` in 1..=100) of `sorted` values: the value at rank
/// `ceil(p / 100 * n)`, counting from 1.
pub fn nearest_rank(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// Statistics over one system's (or all systems') outcomes: `(delay, outcome)` per leaver.
fn system_stats(system: &str, outcomes: &[(Option<i64>, SlaOutcome)]) -> SystemStats {
    let mut delays: Vec<i64> = outcomes.iter().filter_map(|(d, _)| *d).collect();
    delays.sort_unstable();
    let count = |o: SlaOutcome| outcomes.iter().filter(|(_, s)| *s == o).count();
    let breaches = count(SlaOutcome::Breached);
    SystemStats {
        system: system.to_owned(),
        leavers: outcomes.len(),
        removed: delays.len(),
        p50_seconds: nearest_rank(&delays, 50),
        p95_seconds: nearest_rank(&delays, 95),
        max_seconds: delays.last().copied(),
        breaches,
        breach_share: if outcomes.is_empty() {
            0.0
        } else {
            breaches as f64 / outcomes.len() as f64
        },
        pending: count(SlaOutcome::Pending),
    }
}

pub(crate) fn statistics(leavers: &[LeaverRow]) -> Statistics {
    let mut by_system: BTreeMap<&str, Vec<(Option<i64>, SlaOutcome)>> = BTreeMap::new();
    for l in leavers {
        for s in &l.systems {
            by_system
                .entry(s.system.as_str())
                .or_default()
                .push((s.delay_seconds, s.sla));
        }
    }
    let overall: Vec<(Option<i64>, SlaOutcome)> =
        leavers.iter().map(|l| (l.delay_seconds, l.sla)).collect();
    Statistics {
        leavers: leavers.len(),
        open_runs: leavers.iter().filter(|l| !l.state.is_terminal()).count(),
        overall: system_stats("all", &overall),
        systems: by_system
            .into_iter()
            .map(|(system, outcomes)| system_stats(system, &outcomes))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_picks_the_ceiling_rank() {
        let v: Vec<i64> = (1..=30).collect();
        assert_eq!(nearest_rank(&v, 50), Some(15));
        assert_eq!(nearest_rank(&v, 95), Some(29));
        assert_eq!(nearest_rank(&v, 100), Some(30));
        assert_eq!(nearest_rank(&[7], 95), Some(7));
        assert_eq!(nearest_rank(&[], 50), None);
        assert_eq!(nearest_rank(&[1, 2, 3, 4], 50), Some(2));
    }

    #[test]
    fn breaches_and_pending_are_counted_per_outcome() {
        let s = system_stats(
            "okta",
            &[
                (Some(10), SlaOutcome::Met),
                (Some(100_000), SlaOutcome::Breached),
                (None, SlaOutcome::Pending),
                (None, SlaOutcome::Breached),
            ],
        );
        assert_eq!((s.leavers, s.removed, s.breaches, s.pending), (4, 2, 2, 1));
        assert_eq!(s.breach_share, 0.5);
        assert_eq!((s.p50_seconds, s.max_seconds), (Some(10), Some(100_000)));
    }
}
