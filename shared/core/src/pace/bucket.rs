//! One budget's arithmetic: a token bucket kept as GCRA, and the provider's word on top of it.
//!
//! GCRA (the generic cell rate algorithm) keeps a token bucket as one instant, the
//! "theoretical arrival time" (TAT): the bucket is full when the TAT is at or before now, each
//! call moves it one interval on, and a call may go once it is no further than the burst ahead
//! of now. One number is what a DynamoDB item can compare and swap in one conditional write,
//! which is why the bucket is kept this way on both hosts.
//!
//! Calls reserve their place: a caller told to wait 300 ms has that place, so callers are
//! served in the order they asked, and none starves behind luckier ones. A caller that would
//! wait longer than it is willing to takes no budget and is told when to come back: the
//! earliest place for the first such caller, and one interval after the previous one's for
//! each caller deferred after it. Told the same earliest place, every deferred caller (a step
//! put back on the queue, with its attempt recorded) would come back at once, one would find
//! room and the rest be deferred again, round after round; spread out, each comes back to
//! about its own place.
//!
//! The provider's word overrides the arithmetic. A count of what remains until a reset (Okta's
//! rate-limit headers) holds the bucket to that count until then, which covers calls made by
//! others with the same org (another integration, another Passage); a throttled answer pauses
//! every caller until the provider's reset or retry-after, and the bucket starts again empty.

use super::{PaceSignal, Rate, Turn};
use jiff::Timestamp;
use std::time::Duration;

/// One budget's state, kept in memory by the in-process pacer and in a table item by the
/// DynamoDB pacer. Instants are microseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BucketState {
    /// The theoretical arrival time of the next call.
    pub tat_us: i64,
    /// Until when the provider's word limits the calls (0 when it has said nothing).
    pub hold_until_us: i64,
    /// How many more calls the provider allows before `hold_until_us`.
    pub allowance: u64,
    /// The place last given to a deferred caller (0 when none was): the next one deferred
    /// comes back an interval after it.
    pub deferred_us: i64,
}

/// A pause after a throttled answer that named no time is never shorter than this.
const LEAST_PAUSE: Duration = Duration::from_secs(1);

impl BucketState {
    /// Reserves the place of a call costing `cost` at `now`, if it comes within `patience`.
    pub fn reserve(&mut self, rate: Rate, now: Timestamp, cost: u32, patience: Duration) -> Turn {
        let now = now.as_microsecond();
        let step = rate.interval_us().saturating_mul(i64::from(cost.max(1)));
        // The place of a call arriving at `from`: the new TAT, and when it may go.
        let place = |from: i64| {
            let tat = self.tat_us.max(from).saturating_add(step);
            (tat, from.max(tat - rate.tolerance_us()))
        };
        let (mut tat, mut at) = place(now);
        let cost = u64::from(cost.max(1));
        let within_hold = at < self.hold_until_us;
        if within_hold && self.allowance < cost {
            // The provider allows no more before its reset: the call's place is after it.
            (tat, at) = place(self.hold_until_us);
        }
        let wait = Duration::from_micros((at - now).max(0) as u64);
        if wait > patience {
            let back = at.max(self.deferred_us.saturating_add(step));
            self.deferred_us = back;
            return Turn::Defer(Duration::from_micros((back - now).max(0) as u64));
        }
        self.tat_us = tat;
        if at < self.hold_until_us {
            self.allowance -= cost;
        }
        Turn::Go(wait)
    }

    /// Takes in what a provider answer said; true when the state changed (so the DynamoDB
    /// pacer writes only answers that matter).
    pub fn observe(&mut self, rate: Rate, now: Timestamp, signal: &PaceSignal) -> bool {
        let before = *self;
        let now_us = now.as_microsecond();
        let reset = signal.reset.map(|r| r.as_microsecond());
        match (signal.remaining, reset) {
            (Some(remaining), Some(reset)) if reset > now_us => self.hold(remaining, reset),
            // A reset already past says nothing about the window in force now.
            (Some(_), Some(_)) => {}
            (Some(remaining), None) => self.keep_at_most(rate, now_us, remaining),
            (None, _) => {}
        }
        if signal.throttled {
            let named = [
                signal.retry_after.map(|d| now_us.saturating_add(micros(d))),
                reset.filter(|r| *r > now_us),
            ];
            let until = named.into_iter().flatten().max().unwrap_or_else(|| {
                let refill = Duration::from_micros(rate.tolerance_us() as u64).max(LEAST_PAUSE);
                now_us.saturating_add(micros(refill))
            });
            self.pause(rate, now_us, until);
        }
        *self != before
    }

    /// The provider allows `remaining` more calls until `until`. A later reset is a newer
    /// window and replaces the hold; the same one can only lower it (answers arrive out of
    /// order, and the lower count is the later one); an earlier one is stale.
    fn hold(&mut self, remaining: u64, until: i64) {
        if until > self.hold_until_us {
            self.hold_until_us = until;
            self.allowance = remaining;
        } else if until == self.hold_until_us {
            self.allowance = self.allowance.min(remaining);
        }
    }

    /// At most `remaining` calls may go at once from now: the burst shrinks to that.
    fn keep_at_most(&mut self, rate: Rate, now: i64, remaining: u64) {
        let spare = rate
            .interval_us()
            .saturating_mul(remaining.min(i64::MAX as u64) as i64);
        let floor = now
            .saturating_add(rate.tolerance_us())
            .saturating_sub(spare);
        self.tat_us = self.tat_us.max(floor);
    }

    /// No call until `until`, and from then on one at a time at the refill rate: after a
    /// refusal nothing says the provider would take a burst. A pause already in force (or a
    /// window already spent) is never shortened; but a window that still had calls left ends
    /// the pause at the refusal's own time, not at that window's later reset: the refusal is
    /// the provider's newest word. (Okta keeps a window per endpoint, so one family's calls
    /// see several resets, and a storm's 429 says to come back in two seconds while the
    /// window last heard of resets in sixty.)
    fn pause(&mut self, rate: Rate, now: i64, until: i64) {
        let closed = self.allowance == 0 && self.hold_until_us > now;
        self.hold_until_us = match closed {
            true => self.hold_until_us.max(until),
            false => until,
        };
        self.allowance = 0;
        let one_left = until
            .saturating_add(rate.tolerance_us())
            .saturating_sub(rate.interval_us());
        self.tat_us = self.tat_us.max(one_left);
    }
}

fn micros(d: Duration) -> i64 {
    d.as_micros().min(i64::MAX as u128) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_PATIENCE: Duration = Duration::ZERO;
    const PATIENT: Duration = Duration::from_secs(3600);

    fn at(secs: f64) -> Timestamp {
        Timestamp::from_microsecond(1_700_000_000_000_000 + (secs * 1e6) as i64).unwrap()
    }

    /// 60 a minute, 3 at once: the other 57 come one every 60/57 s.
    fn rate() -> Rate {
        Rate::per_minute(60)
    }

    fn go(turn: Turn) -> Duration {
        match turn {
            Turn::Go(wait) => wait,
            Turn::Defer(wait) => panic!("deferred by {wait:?}"),
        }
    }

    #[test]
    fn a_full_bucket_lets_its_burst_go_then_paces_at_the_refill_rate() {
        let mut b = BucketState::default();
        for _ in 0..3 {
            assert_eq!(
                go(b.reserve(rate(), at(0.0), 1, NO_PATIENCE)),
                Duration::ZERO
            );
        }
        let interval = Duration::from_micros(rate().interval_us() as u64);
        assert_eq!(
            b.reserve(rate(), at(0.0), 1, NO_PATIENCE),
            Turn::Defer(interval)
        );
        // Patient callers get successive places, in the order they asked.
        assert_eq!(go(b.reserve(rate(), at(0.0), 1, PATIENT)), interval);
        assert_eq!(go(b.reserve(rate(), at(0.0), 1, PATIENT)), interval * 2);
        // Time refills the bucket; a quiet spell refills it only up to the burst.
        let mut quiet = b;
        for _ in 0..3 {
            assert_eq!(
                go(quiet.reserve(rate(), at(600.0), 1, NO_PATIENCE)),
                Duration::ZERO
            );
        }
        assert!(matches!(
            quiet.reserve(rate(), at(600.0), 1, NO_PATIENCE),
            Turn::Defer(_)
        ));
    }

    #[test]
    fn a_deferred_call_takes_no_budget() {
        let mut b = BucketState::default();
        for _ in 0..3 {
            b.reserve(rate(), at(0.0), 1, NO_PATIENCE);
        }
        let before = b;
        assert!(matches!(
            b.reserve(rate(), at(0.0), 1, NO_PATIENCE),
            Turn::Defer(_)
        ));
        assert_eq!(
            (b.tat_us, b.hold_until_us, b.allowance),
            (before.tat_us, before.hold_until_us, before.allowance)
        );
    }

    #[test]
    fn deferred_callers_are_told_successive_places_not_all_the_earliest() {
        let mut b = BucketState::default();
        for _ in 0..3 {
            b.reserve(rate(), at(0.0), 1, NO_PATIENCE);
        }
        let interval = Duration::from_micros(rate().interval_us() as u64);
        let told: Vec<Duration> = (0..4)
            .map(|_| match b.reserve(rate(), at(0.0), 1, NO_PATIENCE) {
                Turn::Defer(wait) => wait,
                Turn::Go(wait) => panic!("went after {wait:?}"),
            })
            .collect();
        assert_eq!(told, [1, 2, 3, 4].map(|k| interval * k));
        // Each comes back at its place and finds room there.
        assert_eq!(
            go(b.reserve(rate(), at(0.0) + interval, 1, NO_PATIENCE)),
            Duration::ZERO
        );
        let second = at(0.0) + interval * 2;
        assert_eq!(
            go(b.reserve(rate(), second, 1, NO_PATIENCE)),
            Duration::ZERO
        );
        // Once the deferred places are past, a new deferral starts from the earliest again.
        let later = at(600.0);
        for _ in 0..3 {
            b.reserve(rate(), later, 1, NO_PATIENCE);
        }
        assert_eq!(
            b.reserve(rate(), later, 1, NO_PATIENCE),
            Turn::Defer(interval)
        );
    }

    #[test]
    fn no_stretch_of_a_period_holds_more_than_the_limit() {
        // Callers that always take the first place: count the calls in every 60 s stretch.
        let mut b = BucketState::default();
        let mut sent = Vec::new();
        let mut now = at(0.0);
        while sent.len() < 400 {
            let wait = go(b.reserve(rate(), now, 1, PATIENT));
            now += wait;
            sent.push(now.as_microsecond());
        }
        for (i, start) in sent.iter().enumerate() {
            let within = sent[i..]
                .iter()
                .take_while(|t| **t < start + 60_000_000)
                .count();
            assert!(within <= 60, "{within} calls within a minute of call {i}");
        }
        // And a saturated budget runs at the refill rate: 57 of the 60 in each later minute.
        let last_minute = sent
            .iter()
            .filter(|t| **t >= sent[399] - 60_000_000)
            .count();
        assert!(last_minute >= 57, "{last_minute}");
    }

    #[test]
    fn the_providers_count_holds_until_its_reset() {
        let mut b = BucketState::default();
        let signal = PaceSignal {
            remaining: Some(1),
            reset: Some(at(30.0)),
            ..PaceSignal::default()
        };
        assert!(b.observe(rate(), at(0.0), &signal));
        assert_eq!(
            go(b.reserve(rate(), at(0.0), 1, NO_PATIENCE)),
            Duration::ZERO
        );
        // The bucket has more, but the provider said one: the next place is at the reset.
        assert_eq!(
            b.reserve(rate(), at(0.0), 1, NO_PATIENCE),
            Turn::Defer(Duration::from_secs(30))
        );
        assert_eq!(
            go(b.reserve(rate(), at(0.0), 1, PATIENT)),
            Duration::from_secs(30)
        );
        // At the reset the bucket is full again: the burst goes together.
        assert_eq!(
            go(b.reserve(rate(), at(0.0), 1, PATIENT)),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn answers_of_one_window_only_lower_its_count_and_stale_ones_are_ignored() {
        let mut b = BucketState::default();
        let said = |remaining, reset| PaceSignal {
            remaining: Some(remaining),
            reset: Some(at(reset)),
            ..PaceSignal::default()
        };
        b.observe(rate(), at(0.0), &said(10, 60.0));
        assert!(
            !b.observe(rate(), at(0.0), &said(12, 60.0)),
            "a higher count, answered late"
        );
        assert!(b.observe(rate(), at(0.0), &said(8, 60.0)));
        assert_eq!(b.allowance, 8);
        assert!(
            !b.observe(rate(), at(0.0), &said(0, 30.0)),
            "an older window"
        );
        assert!(
            !b.observe(rate(), at(0.0), &said(0, -1.0)),
            "a reset already past"
        );
        assert!(
            b.observe(rate(), at(0.0), &said(50, 120.0)),
            "the next window"
        );
        assert_eq!(
            (b.allowance, b.hold_until_us),
            (50, at(120.0).as_microsecond())
        );
    }

    #[test]
    fn a_throttled_answer_pauses_every_caller_until_the_reset_then_paces_without_a_burst() {
        let mut b = BucketState::default();
        let throttled = PaceSignal {
            remaining: Some(0),
            reset: Some(at(20.0)),
            throttled: true,
            retry_after: None,
        };
        assert!(b.observe(rate(), at(0.0), &throttled));
        assert_eq!(
            b.reserve(rate(), at(5.0), 1, NO_PATIENCE),
            Turn::Defer(Duration::from_secs(15))
        );
        let interval = Duration::from_micros(rate().interval_us() as u64);
        assert_eq!(
            go(b.reserve(rate(), at(20.0), 1, NO_PATIENCE)),
            Duration::ZERO
        );
        assert_eq!(go(b.reserve(rate(), at(20.0), 1, PATIENT)), interval);
    }

    #[test]
    fn a_pause_lasts_as_long_as_the_provider_asked_or_a_refill_of_the_burst() {
        let mut asked = BucketState::default();
        let retry = PaceSignal {
            throttled: true,
            retry_after: Some(Duration::from_secs(7)),
            ..PaceSignal::default()
        };
        asked.observe(rate(), at(0.0), &retry);
        assert_eq!(asked.hold_until_us, at(7.0).as_microsecond());
        let mut unnamed = BucketState::default();
        let bare = PaceSignal {
            throttled: true,
            ..PaceSignal::default()
        };
        unnamed.observe(rate(), at(0.0), &bare);
        let refill = rate().tolerance_us().max(1_000_000);
        assert_eq!(unnamed.hold_until_us, at(0.0).as_microsecond() + refill);
        // A second refusal never shortens a pause.
        asked.observe(rate(), at(1.0), &bare);
        assert_eq!(asked.hold_until_us, at(7.0).as_microsecond());
    }

    #[test]
    fn a_refusal_sooner_than_the_windows_reset_pauses_only_until_its_own() {
        let mut b = BucketState::default();
        let window = PaceSignal {
            remaining: Some(500),
            reset: Some(at(60.0)),
            ..PaceSignal::default()
        };
        b.observe(rate(), at(0.0), &window);
        let storm = PaceSignal {
            remaining: Some(0),
            reset: Some(at(2.0)),
            throttled: true,
            retry_after: None,
        };
        assert!(b.observe(rate(), at(0.0), &storm));
        assert_eq!(
            b.reserve(rate(), at(0.0), 1, NO_PATIENCE),
            Turn::Defer(Duration::from_secs(2)),
            "back at the refusal's reset, not the window's"
        );
        assert_eq!(
            go(b.reserve(rate(), at(2.0), 1, NO_PATIENCE)),
            Duration::ZERO
        );
        // A window that was spent stays closed until its reset, whatever a refusal says.
        let mut spent = BucketState::default();
        let none_left = PaceSignal {
            remaining: Some(0),
            reset: Some(at(60.0)),
            ..PaceSignal::default()
        };
        spent.observe(rate(), at(0.0), &none_left);
        spent.observe(rate(), at(1.0), &storm);
        assert_eq!(spent.hold_until_us, at(60.0).as_microsecond());
    }

    #[test]
    fn a_warning_without_a_reset_stops_the_burst_but_not_the_pace() {
        let mut b = BucketState::default();
        let warning = PaceSignal {
            remaining: Some(0),
            ..PaceSignal::default()
        };
        assert!(b.observe(rate(), at(0.0), &warning));
        let interval = Duration::from_micros(rate().interval_us() as u64);
        assert_eq!(
            b.reserve(rate(), at(0.0), 1, NO_PATIENCE),
            Turn::Defer(interval)
        );
        assert_eq!(go(b.reserve(rate(), at(0.0), 1, PATIENT)), interval);
    }

    #[test]
    fn a_costly_call_takes_several_places() {
        let mut b = BucketState::default();
        assert_eq!(
            go(b.reserve(rate(), at(0.0), 3, NO_PATIENCE)),
            Duration::ZERO
        );
        assert!(matches!(
            b.reserve(rate(), at(0.0), 1, NO_PATIENCE),
            Turn::Defer(_)
        ));
    }
}
