//! Runtime-adjustable misbehaviour. Tests flip these while clients are
//! talking to the emulator, so every knob is a lock-free atomic read on the
//! request path.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use rand::Rng;

/// Parts-per-million scale for the 5xx probability, so a rate fits an atomic
/// integer without floating-point atomics.
const PPM: f64 = 1_000_000.0;

/// Fault and pacing controls applied to every API request before it reaches
/// a handler.
///
/// Order of application on each request: `latency`, then authentication,
/// then `burst_429`, then the per-minute rate limit, then `fail_next_5xx`
/// and `error_rate_5xx`, then the handler, then `fail_after_apply`. Everything that rejects a
/// request happens before the handler runs, so a rejected request never
/// changes state; `fail_after_apply` is the one deliberate exception.
#[derive(Debug)]
pub struct Knobs {
    latency_micros: AtomicU64,
    error_rate_ppm: AtomicU32,
    burst_429: AtomicU32,
    fail_next_5xx: AtomicU32,
    fail_next_status: AtomicU32,
    rate_limit_per_minute: AtomicU32,
    fail_after_apply: AtomicU32,
    default_rate_limit: u32,
}

impl Knobs {
    /// Knobs with no faults and the given per-minute request budget.
    pub fn new(rate_limit_per_minute: u32) -> Self {
        let limit = rate_limit_per_minute.max(1);
        Self {
            latency_micros: AtomicU64::new(0),
            error_rate_ppm: AtomicU32::new(0),
            burst_429: AtomicU32::new(0),
            fail_next_5xx: AtomicU32::new(0),
            fail_next_status: AtomicU32::new(500),
            rate_limit_per_minute: AtomicU32::new(limit),
            fail_after_apply: AtomicU32::new(0),
            default_rate_limit: limit,
        }
    }

    /// Delay added to every request before it is processed.
    pub fn set_latency(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_micros.store(micros, Ordering::Relaxed);
    }

    /// The current added delay.
    pub fn latency(&self) -> Duration {
        Duration::from_micros(self.latency_micros.load(Ordering::Relaxed))
    }

    /// Probability (clamped to `0.0..=1.0`) that a request is answered with a
    /// random 500, 502 or 503 instead of being processed.
    pub fn set_error_rate_5xx(&self, rate: f64) {
        let clamped = if rate.is_nan() {
            0.0
        } else {
            rate.clamp(0.0, 1.0)
        };
        // Truncation is intended: the value is already within 0..=1_000_000.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let ppm = (clamped * PPM).round() as u32;
        self.error_rate_ppm.store(ppm, Ordering::Relaxed);
    }

    /// The current 5xx probability.
    pub fn error_rate_5xx(&self) -> f64 {
        f64::from(self.error_rate_ppm.load(Ordering::Relaxed)) / PPM
    }

    /// Makes the next `n` requests that reach the 5xx stage answer `status`
    /// (clamped to 500..=599) instead of being processed, replacing any still
    /// pending. Unlike [`Knobs::set_error_rate_5xx`] the status and the count
    /// are exact, so a test can pin down how a client reads one answer.
    pub fn fail_next_5xx(&self, status: u16, n: u32) {
        self.fail_next_status
            .store(u32::from(status.clamp(500, 599)), Ordering::Relaxed);
        self.fail_next_5xx.store(n, Ordering::Relaxed);
    }

    /// How many forced 5xx answers are still pending.
    pub fn pending_fail_next_5xx(&self) -> u32 {
        self.fail_next_5xx.load(Ordering::Relaxed)
    }

    /// Makes the next `n` requests fail with 429 and a reset one second
    /// ahead, replacing any burst still pending.
    pub fn burst_429(&self, n: u32) {
        self.burst_429.store(n, Ordering::Relaxed);
    }

    /// How many forced 429s are still pending.
    pub fn pending_burst_429(&self) -> u32 {
        self.burst_429.load(Ordering::Relaxed)
    }

    /// Sets the per-minute request budget (minimum 1). Takes effect on the
    /// next request; requests already counted in the current window stay
    /// counted.
    pub fn set_rate_limit_per_minute(&self, limit: u32) {
        self.rate_limit_per_minute
            .store(limit.max(1), Ordering::Relaxed);
    }

    /// The per-minute request budget.
    pub fn rate_limit_per_minute(&self) -> u32 {
        self.rate_limit_per_minute.load(Ordering::Relaxed)
    }

    /// Makes the next `n` successful state-changing requests (anything but
    /// GET) apply their change and then answer 502, as when a response is
    /// lost between the provider and the client. This is how tests check
    /// that a client retries safely and confirms by reading state back.
    pub fn fail_after_apply(&self, n: u32) {
        self.fail_after_apply.store(n, Ordering::Relaxed);
    }

    /// How many lost responses are still pending.
    pub fn pending_fail_after_apply(&self) -> u32 {
        self.fail_after_apply.load(Ordering::Relaxed)
    }

    /// Restores every knob to its starting value.
    pub fn reset(&self) {
        self.set_latency(Duration::ZERO);
        self.set_error_rate_5xx(0.0);
        self.burst_429(0);
        self.fail_next_5xx(500, 0);
        self.fail_after_apply(0);
        self.set_rate_limit_per_minute(self.default_rate_limit);
    }

    /// Consumes one pending forced 429, if any.
    pub(crate) fn take_burst_429(&self) -> bool {
        take_one(&self.burst_429)
    }

    /// Consumes one pending lost response, if any.
    pub(crate) fn take_fail_after_apply(&self) -> bool {
        take_one(&self.fail_after_apply)
    }

    /// Consumes one forced 5xx if any is pending, else rolls the 5xx dice;
    /// returns the status to answer with, if any.
    pub(crate) fn roll_5xx(&self) -> Option<u16> {
        if take_one(&self.fail_next_5xx) {
            let status = self.fail_next_status.load(Ordering::Relaxed);
            return Some(u16::try_from(status).unwrap_or(500));
        }
        let ppm = self.error_rate_ppm.load(Ordering::Relaxed);
        if ppm == 0 {
            return None;
        }
        let mut rng = rand::thread_rng();
        if rng.gen_range(0..1_000_000u32) >= ppm {
            return None;
        }
        Some([500, 502, 503][rng.gen_range(0..3)])
    }
}

fn take_one(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_is_consumed_exactly() {
        let knobs = Knobs::new(600);
        knobs.burst_429(2);
        assert!(knobs.take_burst_429());
        assert!(knobs.take_burst_429());
        assert!(!knobs.take_burst_429());
    }

    #[test]
    fn forced_5xx_answers_its_status_exactly_n_times() {
        let knobs = Knobs::new(600);
        knobs.fail_next_5xx(503, 2);
        assert_eq!(knobs.roll_5xx(), Some(503));
        assert_eq!(knobs.pending_fail_next_5xx(), 1);
        assert_eq!(knobs.roll_5xx(), Some(503));
        assert_eq!(knobs.roll_5xx(), None);
        knobs.fail_next_5xx(404, 1);
        assert_eq!(knobs.roll_5xx(), Some(500), "clamped into the 5xx range");
        knobs.fail_next_5xx(502, 3);
        knobs.reset();
        assert_eq!(knobs.roll_5xx(), None);
    }

    #[test]
    fn error_rate_round_trips_and_clamps() {
        let knobs = Knobs::new(600);
        knobs.set_error_rate_5xx(0.25);
        assert!((knobs.error_rate_5xx() - 0.25).abs() < 1e-9);
        knobs.set_error_rate_5xx(7.0);
        assert!((knobs.error_rate_5xx() - 1.0).abs() < 1e-9);
        assert!(knobs.roll_5xx().is_some());
        knobs.reset();
        assert!(knobs.roll_5xx().is_none());
    }
}
