//! When a step tries again, and when it gives up: bounded by time, never by a count.
//!
//! Three kinds of answer keep a step going, each with its own rule:
//! - **throttled** (the provider asked for a pause): wait exactly as long as asked, never less;
//!   it is not a failure and uses none of the step's deadline;
//! - **transient failure** (5xx, timeout, a read-back the provider has not caught up with): back
//!   off with full jitter, capped, until the step's deadline, which counts from the first
//!   failure of the current unbroken run of them;
//! - **pending** (a long-running operation the provider is completing): look again on the
//!   operation's own cadence until its own deadline, counted from when the step first saw it.
//!
//! Every other answer ends the runs it interrupts ([`Streaks`]), so a provider that answers in
//! between failures restarts the clock.

use crate::domain::{PendingOperation, Streaks};
use crate::engine::after;
use crate::ports::ActionPending;
use jiff::Timestamp;
use std::time::Duration;

/// Backoff settings. Defaults suit provider APIs: windows of 1 s, 2 s, 4 s … capped at 5 min.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The delay after the `n`th failure in a row (1-based), with full jitter: anywhere in
    /// `[0, min(cap, base·2ⁿ⁻¹))`. Spreading retries over the whole window keeps a layoff's
    /// hundreds of steps from returning to a provider together. `jitter` in [0, 1) comes from
    /// the caller so this stays deterministic under test.
    pub fn delay(&self, n: u32, jitter: f64) -> Duration {
        self.window(n).mul_f64(jitter.clamp(0.0, 1.0))
    }

    /// The upper end of the `n`th window.
    pub fn window(&self, n: u32) -> Duration {
        let exp = n.saturating_sub(1).min(20);
        self.base.saturating_mul(1u32 << exp).min(self.cap)
    }
}

/// What follows an attempt that did not verify the step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// Try again, or look at the operation again, at this moment.
    At(Timestamp),
    /// The deadline passed: the step fails, for this reason.
    GiveUp(String),
}

/// The retry rules for one step's answers, at one moment.
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    pub backoff: Backoff,
    pub now: Timestamp,
    /// In [0, 1): where in its window the next transient retry falls.
    pub jitter: f64,
}

impl Retry {
    /// The provider throttled: wait `retry_after` exactly, or back off if it named no wait.
    /// Ends a run of failures, because the provider answered.
    pub fn throttled(&self, streaks: &mut Streaks, retry_after: Option<Duration>) -> Timestamp {
        streaks.failing_since = None;
        streaks.failures = 0;
        streaks.throttles = streaks.throttles.saturating_add(1);
        let wait =
            retry_after.unwrap_or_else(|| self.backoff.delay(streaks.throttles, self.jitter));
        after(self.now, wait)
    }

    /// A transient failure: back off, but never past the deadline, so the last try falls on it;
    /// a failure at or after the deadline gives up. A provider's own wait hint is a floor.
    pub fn failed(
        &self,
        streaks: &mut Streaks,
        deadline: Duration,
        retry_after: Option<Duration>,
    ) -> Next {
        streaks.throttles = 0;
        streaks.failures = streaks.failures.saturating_add(1);
        let since = *streaks.failing_since.get_or_insert(self.now);
        let give_up_at = after(since, deadline);
        if self.now >= give_up_at {
            return Next::GiveUp(format!(
                "still failing {} after the first of {} failures in a row, past the step's deadline of {}",
                friendly(self.now.duration_since(since)),
                streaks.failures,
                friendly_std(deadline),
            ));
        }
        let backoff = self.backoff.delay(streaks.failures, self.jitter);
        let wait = retry_after.map_or(backoff, |floor| floor.max(backoff));
        Next::At(after(self.now, wait).min(give_up_at))
    }

    /// The provider's operation is still running: look again on its cadence, until its
    /// deadline (counted from the first pending answer this step saw). Ends any other run.
    pub fn pending(
        &self,
        streaks: &mut Streaks,
        operation: &mut Option<PendingOperation>,
        pending: &ActionPending,
    ) -> Next {
        *streaks = Streaks::default();
        let since = operation.as_ref().map_or(self.now, |o| o.since);
        let deadline = after(since, pending.deadline);
        *operation = Some(PendingOperation {
            code: pending.code.clone(),
            what: pending.what.clone(),
            since,
            deadline,
        });
        if self.now >= deadline {
            return Next::GiveUp(format!(
                "{}: not complete {} after it was first seen pending, past its deadline of {}",
                pending.what,
                friendly(self.now.duration_since(since)),
                friendly_std(pending.deadline),
            ));
        }
        Next::At(after(self.now, pending.poll_after).min(deadline))
    }
}

/// `6h 0m 3s` rather than `PT6H3S`: these go into messages operators read.
fn friendly(d: jiff::SignedDuration) -> String {
    let whole = jiff::SignedDuration::from_secs(d.as_secs());
    format!("{whole:#}")
}

fn friendly_std(d: Duration) -> String {
    friendly(jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn retry(now: &str, jitter: f64) -> Retry {
        Retry {
            backoff: Backoff::default(),
            now: t(now),
            jitter,
        }
    }

    #[test]
    fn windows_grow_exponentially_and_cap() {
        let b = Backoff::default();
        assert_eq!(b.window(1), Duration::from_secs(1));
        assert_eq!(b.window(2), Duration::from_secs(2));
        assert_eq!(b.window(4), Duration::from_secs(8));
        assert_eq!(b.window(30), Duration::from_secs(300));
    }

    #[test]
    fn full_jitter_spreads_over_the_whole_window() {
        let b = Backoff::default();
        assert_eq!(b.delay(4, 0.0), Duration::ZERO);
        assert_eq!(b.delay(4, 0.5), Duration::from_secs(4));
        assert!(b.delay(4, 0.999) < Duration::from_secs(8));
        assert!(b.delay(30, 0.999) < Duration::from_secs(300));
    }

    #[test]
    fn a_throttle_waits_exactly_as_asked_and_ends_a_run_of_failures() {
        let r = retry("2030-01-01T00:00:00Z", 0.9);
        let mut streaks = Streaks {
            failing_since: Some(t("2029-12-31T23:00:00Z")),
            failures: 7,
            ..Streaks::default()
        };
        let at = r.throttled(&mut streaks, Some(Duration::from_secs(42)));
        assert_eq!(at, t("2030-01-01T00:00:42Z"));
        assert_eq!(streaks.failing_since, None);
        assert_eq!(streaks.failures, 0);
        assert_eq!(streaks.throttles, 1);
        // No wait named: back off on the run of throttles.
        let at = r.throttled(&mut streaks, None);
        assert_eq!(at, r.now + jiff::SignedDuration::from_millis(1800));
    }

    #[test]
    fn transient_failures_retry_until_the_deadline_and_the_last_try_falls_on_it() {
        let deadline = Duration::from_secs(600);
        let mut streaks = Streaks::default();
        let first = retry("2030-01-01T00:00:00Z", 0.5).failed(&mut streaks, deadline, None);
        assert_eq!(first, Next::At(t("2030-01-01T00:00:00.5Z")));
        assert_eq!(streaks.failing_since, Some(t("2030-01-01T00:00:00Z")));
        // Late in the run the backoff would overshoot: the retry lands on the deadline.
        streaks.failures = 20;
        let late = retry("2030-01-01T00:08:00Z", 0.99).failed(&mut streaks, deadline, None);
        assert_eq!(late, Next::At(t("2030-01-01T00:10:00Z")));
        let Next::GiveUp(why) =
            retry("2030-01-01T00:10:00Z", 0.5).failed(&mut streaks, deadline, None)
        else {
            panic!("a failure at the deadline gives up");
        };
        assert_eq!(
            why,
            "still failing 10m after the first of 22 failures in a row, past the step's deadline of 10m"
        );
    }

    #[test]
    fn a_providers_wait_hint_is_a_floor_for_a_transient_retry() {
        let mut streaks = Streaks::default();
        let next = retry("2030-01-01T00:00:00Z", 0.0).failed(
            &mut streaks,
            Duration::from_secs(3600),
            Some(Duration::from_secs(30)),
        );
        assert_eq!(next, Next::At(t("2030-01-01T00:00:30Z")));
    }

    #[test]
    fn an_operation_is_polled_on_its_cadence_until_its_own_deadline() {
        let pending = ActionPending {
            code: "transfer_in_progress".into(),
            what: "Drive transfer T1 is inProgress".into(),
            poll_after: Duration::from_secs(120),
            deadline: Duration::from_secs(3 * 3600),
        };
        let mut streaks = Streaks {
            failures: 3,
            failing_since: Some(t("2030-01-01T00:00:00Z")),
            ..Streaks::default()
        };
        let mut op = None;
        let next = retry("2030-01-01T01:00:00Z", 0.5).pending(&mut streaks, &mut op, &pending);
        assert_eq!(next, Next::At(t("2030-01-01T01:02:00Z")));
        assert!(
            streaks.is_clear(),
            "a pending answer ends a run of failures"
        );
        let since = op.as_ref().unwrap().since;
        assert_eq!(since, t("2030-01-01T01:00:00Z"));
        // Later polls keep the first sighting, and the last poll falls on the deadline.
        let next = retry("2030-01-01T03:59:00Z", 0.5).pending(&mut streaks, &mut op, &pending);
        assert_eq!(next, Next::At(t("2030-01-01T04:00:00Z")));
        assert_eq!(op.as_ref().unwrap().since, since);
        let Next::GiveUp(why) =
            retry("2030-01-01T04:00:00Z", 0.5).pending(&mut streaks, &mut op, &pending)
        else {
            panic!("still pending at the deadline gives up");
        };
        assert_eq!(
            why,
            "Drive transfer T1 is inProgress: not complete 3h after it was first seen pending, past its deadline of 3h"
        );
    }
}
