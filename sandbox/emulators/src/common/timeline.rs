//! An emulator's own sense of time: the clock it stamps answers with, how long its reads lag
//! behind its writes, and how long its long-running operations take.
//!
//! Real providers are not instantly consistent and their clocks are not the caller's: a
//! membership removal reads back later, a Drive transfer runs for minutes, a `Date` header is a
//! few seconds off. Every emulator keeps one `Timeline`, shared by its request gate and its
//! state, so that a storm's advertised reset, a lagged read's expiry and a long operation's
//! completion are all measured on the same clock, and a test can move that clock forward
//! ([`Timeline::advance`]) instead of sleeping.
//!
//! Token endpoints and access-token lifetimes keep the host's clock: an offset or an advanced
//! timeline changes what the provider reports, not whether the caller's credentials work, so a
//! storm rehearsal is not cut short by every token expiring at once.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

/// `long_ops_ms` value meaning "no configured duration: operations finish as they always did".
const NO_LONG_OPS: u64 = u64::MAX;

/// The clock and the eventual-consistency settings of one emulator.
#[derive(Debug)]
pub struct Timeline {
    /// How far the emulator's clock runs ahead (negative: behind) of the host's.
    offset_ms: AtomicI64,
    /// Time a test has moved the clock forward by, as if it had passed.
    advanced_ms: AtomicI64,
    read_lag_ms: AtomicU64,
    long_ops_ms: AtomicU64,
}

impl Default for Timeline {
    fn default() -> Self {
        Self {
            offset_ms: AtomicI64::new(0),
            advanced_ms: AtomicI64::new(0),
            read_lag_ms: AtomicU64::new(0),
            long_ops_ms: AtomicU64::new(NO_LONG_OPS),
        }
    }
}

impl Timeline {
    /// A clock that agrees with the host's, no read lag, and operations that finish as fast as
    /// each emulator always let them.
    pub fn new() -> Self {
        Self::default()
    }

    /// The emulator's current instant: the host's clock, plus the offset, plus whatever a test
    /// has advanced it by.
    pub fn now(&self) -> Timestamp {
        let shift =
            self.offset_ms.load(Ordering::Relaxed) + self.advanced_ms.load(Ordering::Relaxed);
        let now = Timestamp::now();
        now.checked_add(SignedDuration::from_millis(shift))
            .unwrap_or(now)
    }

    /// [`Timeline::now`] truncated to whole milliseconds, the precision providers stamp with, so
    /// stored instants compare exactly like their rendered form.
    pub fn now_ms(&self) -> Timestamp {
        let now = self.now();
        Timestamp::from_millisecond(now.as_millisecond()).unwrap_or(now)
    }

    /// [`Timeline::now`] as milliseconds since the Unix epoch.
    pub fn epoch_millis(&self) -> u64 {
        u64::try_from(self.now().as_millisecond()).unwrap_or(0)
    }

    /// The `Date` header value (IMF-fixdate) for a response sent now.
    pub fn http_date(&self) -> String {
        self.now().strftime("%a, %d %b %Y %H:%M:%S GMT").to_string()
    }

    /// Sets the response's `Date` header from this clock (the server would otherwise stamp the
    /// host's time, hiding a configured offset).
    pub fn stamp(&self, response: &mut axum::response::Response) {
        if let Ok(value) = axum::http::HeaderValue::from_str(&self.http_date()) {
            response
                .headers_mut()
                .insert(axum::http::header::DATE, value);
        }
    }

    /// Moves the clock forward as if `by` had passed: storms end, lagged reads catch up and long
    /// operations complete exactly as they would have in real time.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.advanced_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// Sets how far the emulator's clock runs ahead of (positive) or behind (negative) the
    /// host's. Everything the emulator stamps follows it: `Date` headers, timestamps in bodies,
    /// rate-limit resets given as instants.
    pub fn set_offset(&self, offset: SignedDuration) {
        let ms = i64::try_from(offset.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.store(ms, Ordering::Relaxed);
    }

    /// The configured clock offset.
    pub fn offset(&self) -> SignedDuration {
        SignedDuration::from_millis(self.offset_ms.load(Ordering::Relaxed))
    }

    /// How long, after a write, reads of what it changed keep returning the state from before
    /// it (on the reads each provider documents as eventually consistent). Zero: none.
    pub fn set_read_lag(&self, lag: Duration) {
        let ms = u64::try_from(lag.as_millis()).unwrap_or(u64::MAX - 1);
        self.read_lag_ms.store(ms, Ordering::Relaxed);
    }

    /// The configured read lag.
    pub fn read_lag(&self) -> Duration {
        Duration::from_millis(self.read_lag_ms.load(Ordering::Relaxed))
    }

    /// How long long-running operations take (transfers, device actions, mailbox conversion
    /// reaching Graph, forwarding verification, deactivation, device commands). `None` restores
    /// each emulator's own quick default.
    pub fn set_long_ops(&self, duration: Option<Duration>) {
        let ms = duration.map_or(NO_LONG_OPS, |d| {
            u64::try_from(d.as_millis()).unwrap_or(NO_LONG_OPS - 1)
        });
        self.long_ops_ms.store(ms, Ordering::Relaxed);
    }

    /// The configured duration of long operations, if any.
    pub fn long_ops(&self) -> Option<Duration> {
        match self.long_ops_ms.load(Ordering::Relaxed) {
            NO_LONG_OPS => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }

    /// `at + by` on this timeline, for deadlines.
    pub fn after(at: Timestamp, by: Duration) -> Timestamp {
        let by = SignedDuration::try_from(by).unwrap_or(SignedDuration::MAX);
        at.checked_add(by).unwrap_or(Timestamp::MAX)
    }

    /// Restores offset, read lag and long operations to their defaults. Time already advanced
    /// stays advanced: a clock does not run backwards.
    pub fn reset(&self) {
        self.set_offset(SignedDuration::ZERO);
        self.set_read_lag(Duration::ZERO);
        self.set_long_ops(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_and_advance_both_move_the_clock() {
        let timeline = Timeline::new();
        let host = Timestamp::now();
        timeline.set_offset(SignedDuration::from_secs(-300));
        timeline.advance(Duration::from_secs(60));
        let shifted = timeline.now().duration_since(host).as_secs();
        assert!((-241..=-239).contains(&shifted), "{shifted}");
        timeline.reset();
        let after = timeline.now().duration_since(Timestamp::now()).as_secs();
        assert!(
            (59..=61).contains(&after),
            "advance survives reset: {after}"
        );
    }

    #[test]
    fn long_ops_default_to_none() {
        let timeline = Timeline::new();
        assert_eq!(timeline.long_ops(), None);
        timeline.set_long_ops(Some(Duration::from_secs(5)));
        assert_eq!(timeline.long_ops(), Some(Duration::from_secs(5)));
        timeline.set_long_ops(Some(Duration::ZERO));
        assert_eq!(timeline.long_ops(), Some(Duration::ZERO));
    }

    #[test]
    fn http_date_is_imf_fixdate() {
        let date = Timeline::new().http_date();
        assert!(date.ends_with(" GMT") && date.len() == 29, "{date}");
    }
}
