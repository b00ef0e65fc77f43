//! Runtime-adjustable misbehaviour. Tests flip these while clients are
//! talking to the emulator, so every knob is an atomic read on the
//! request path (the seeded generator behind random decisions is the one
//! short lock).

mod config;
mod latency;
mod lost;
mod storm;

use std::sync::atomic::{AtomicU8, AtomicU16, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::SignedDuration;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::common::lock;
use crate::common::timeline::Timeline;
pub use config::FaultConfig;
pub use latency::Latency;
pub use lost::LostResponse;
pub(crate) use lost::lose;
use storm::ActiveStorm;
pub use storm::Storm;

/// Parts-per-million scale for probabilities, so a rate fits an atomic
/// integer without floating-point atomics.
const PPM: f64 = 1_000_000.0;

/// Fault and pacing controls applied to every API request before it reaches
/// a handler.
///
/// Order of application on each request: `latency`, then authentication,
/// then `burst_429` and the storm, then the per-minute rate limit, then `fail_next_5xx`
/// and `error_rate_5xx`, then the handler, then lost responses (`fail_after_apply` and the
/// lost-response rate). Everything that rejects a request happens before the handler runs, so
/// a rejected request never changes state; a lost response is the one deliberate exception.
///
/// The knobs also own the emulator's [`Timeline`] (clock offset, read lag, long operations),
/// which its state shares.
#[derive(Debug)]
pub struct Knobs {
    latency_kind: AtomicU8,
    latency_a_micros: AtomicU64,
    latency_b_micros: AtomicU64,
    error_rate_ppm: AtomicU32,
    burst_429: AtomicU32,
    fail_next_5xx: AtomicU32,
    fail_next_status: AtomicU32,
    rate_limit_per_minute: AtomicU32,
    fail_after_apply: AtomicU32,
    lost_rate_ppm: AtomicU32,
    lost_kind: AtomicU8,
    lost_status: AtomicU16,
    lost_hold_ms: AtomicU64,
    storm_kind: AtomicU8,
    storm_from_ms: AtomicU64,
    storm_a_ms: AtomicU64,
    storm_b: AtomicU64,
    seed: AtomicU64,
    rng: Mutex<StdRng>,
    timeline: Arc<Timeline>,
    default_rate_limit: u32,
}

const LATENCY_NONE: u8 = 0;
const LATENCY_FIXED: u8 = 1;
const LATENCY_UNIFORM: u8 = 2;
const LATENCY_LOG_NORMAL: u8 = 3;

const STORM_NONE: u8 = 0;
const STORM_WINDOW: u8 = 1;
const STORM_SHARE: u8 = 2;

const LOST_SERVER_ERROR: u8 = 0;
const LOST_DROPPED: u8 = 1;
const LOST_TIMED_OUT: u8 = 2;

impl Knobs {
    /// Knobs with no faults and the given per-minute request budget.
    pub fn new(rate_limit_per_minute: u32) -> Self {
        let limit = rate_limit_per_minute.max(1);
        let seed = rand::thread_rng().r#gen();
        Self {
            latency_kind: AtomicU8::new(LATENCY_NONE),
            latency_a_micros: AtomicU64::new(0),
            latency_b_micros: AtomicU64::new(0),
            error_rate_ppm: AtomicU32::new(0),
            burst_429: AtomicU32::new(0),
            fail_next_5xx: AtomicU32::new(0),
            fail_next_status: AtomicU32::new(500),
            rate_limit_per_minute: AtomicU32::new(limit),
            fail_after_apply: AtomicU32::new(0),
            lost_rate_ppm: AtomicU32::new(0),
            lost_kind: AtomicU8::new(LOST_SERVER_ERROR),
            lost_status: AtomicU16::new(502),
            lost_hold_ms: AtomicU64::new(0),
            storm_kind: AtomicU8::new(STORM_NONE),
            storm_from_ms: AtomicU64::new(0),
            storm_a_ms: AtomicU64::new(0),
            storm_b: AtomicU64::new(0),
            seed: AtomicU64::new(seed),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            timeline: Arc::new(Timeline::new()),
            default_rate_limit: limit,
        }
    }

    /// Knobs with the given budget and faults, as an emulator's config starts them.
    pub fn with_faults(rate_limit_per_minute: u32, faults: &FaultConfig) -> Self {
        let knobs = Self::new(rate_limit_per_minute);
        knobs.apply(faults);
        knobs
    }

    /// Sets every knob `faults` covers (the seed first, so the rest draw from it).
    pub fn apply(&self, faults: &FaultConfig) {
        if let Some(seed) = faults.seed {
            self.set_seed(seed);
        }
        self.set_latency_model(faults.latency);
        self.set_error_rate_5xx(faults.error_rate_5xx);
        match faults.storm_429 {
            Some(storm) => self.storm_429(storm),
            None => self.end_storm_429(),
        }
        self.set_lost_response(faults.lost_response);
        self.set_lost_response_rate(faults.lost_response_rate);
        self.timeline.set_read_lag(faults.read_lag);
        self.timeline.set_offset(faults.clock_offset);
        self.timeline.set_long_ops(faults.long_ops);
    }

    /// The emulator's clock, read lag and long-operation durations, shared with its state.
    pub fn timeline(&self) -> &Arc<Timeline> {
        &self.timeline
    }

    /// Reseeds every random fault decision: the same seed and the same sequence of
    /// requests give the same delays, 5xx, lost responses and storm slots.
    pub fn set_seed(&self, seed: u64) {
        self.seed.store(seed, Ordering::Relaxed);
        *lock(&self.rng) = StdRng::seed_from_u64(seed);
    }

    /// The seed in force.
    pub fn seed(&self) -> u64 {
        self.seed.load(Ordering::Relaxed)
    }

    /// Delay added to every request before it is processed.
    pub fn set_latency(&self, latency: Duration) {
        self.set_latency_model(if latency.is_zero() {
            Latency::None
        } else {
            Latency::Fixed(latency)
        });
    }

    /// The typical added delay (see [`Latency::typical`]).
    pub fn latency(&self) -> Duration {
        self.latency_model().typical()
    }

    /// Draws each request's delay from `model`.
    pub fn set_latency_model(&self, model: Latency) {
        let (kind, a, b) = match model {
            Latency::None => (LATENCY_NONE, Duration::ZERO, Duration::ZERO),
            Latency::Fixed(d) => (LATENCY_FIXED, d, Duration::ZERO),
            Latency::Uniform { base, spread } => (LATENCY_UNIFORM, base, spread),
            Latency::LogNormal { median, p99 } => (LATENCY_LOG_NORMAL, median, p99),
        };
        self.latency_kind.store(LATENCY_NONE, Ordering::Relaxed);
        self.latency_a_micros.store(micros(a), Ordering::Relaxed);
        self.latency_b_micros.store(micros(b), Ordering::Relaxed);
        self.latency_kind.store(kind, Ordering::Relaxed);
    }

    /// The latency distribution in force.
    pub fn latency_model(&self) -> Latency {
        let a = Duration::from_micros(self.latency_a_micros.load(Ordering::Relaxed));
        let b = Duration::from_micros(self.latency_b_micros.load(Ordering::Relaxed));
        match self.latency_kind.load(Ordering::Relaxed) {
            LATENCY_FIXED => Latency::Fixed(a),
            LATENCY_UNIFORM => Latency::Uniform { base: a, spread: b },
            LATENCY_LOG_NORMAL => Latency::LogNormal { median: a, p99: b },
            _ => Latency::None,
        }
    }

    /// One request's delay, drawn from the seeded generator.
    pub fn sample_latency(&self) -> Duration {
        match self.latency_model() {
            Latency::None => Duration::ZERO,
            Latency::Fixed(d) => d,
            model => model.sample(&mut *lock(&self.rng)),
        }
    }

    /// Sleeps for one request's delay.
    pub(crate) async fn delay(&self) {
        let delay = self.sample_latency();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }

    /// Probability (clamped to `0.0..=1.0`) that a request is answered with a
    /// random 500, 502 or 503 instead of being processed.
    pub fn set_error_rate_5xx(&self, rate: f64) {
        self.error_rate_ppm.store(to_ppm(rate), Ordering::Relaxed);
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

    /// Starts a throttling storm now (on the emulator's clock), replacing any other. Each
    /// provider answers a stormy request with its own throttling signal, naming the end of the
    /// stormy stretch as its reset or `Retry-After`. A share of 1 or more is a window without
    /// end.
    pub fn storm_429(&self, storm: Storm) {
        let storm = match storm {
            Storm::Share { share, .. } if share.is_nan() || share <= 0.0 => {
                return self.end_storm_429();
            }
            Storm::Share { share, .. } if share >= 1.0 => Storm::Window {
                length: Duration::MAX,
                every: None,
            },
            other => other,
        };
        let (kind, a, b) = match storm {
            Storm::Window { length, every } => {
                (STORM_WINDOW, millis(length), every.map_or(0, millis))
            }
            Storm::Share { share, slot } => {
                (STORM_SHARE, millis(slot).max(1), u64::from(to_ppm(share)))
            }
        };
        self.storm_kind.store(STORM_NONE, Ordering::Relaxed);
        self.storm_from_ms
            .store(self.timeline.epoch_millis(), Ordering::Relaxed);
        self.storm_a_ms.store(a, Ordering::Relaxed);
        self.storm_b.store(b, Ordering::Relaxed);
        self.storm_kind.store(kind, Ordering::Relaxed);
    }

    /// Ends any storm.
    pub fn end_storm_429(&self) {
        self.storm_kind.store(STORM_NONE, Ordering::Relaxed);
    }

    /// The storm in force, if any.
    pub fn storm(&self) -> Option<Storm> {
        self.active_storm().map(|s| s.storm)
    }

    fn active_storm(&self) -> Option<ActiveStorm> {
        let a = self.storm_a_ms.load(Ordering::Relaxed);
        let b = self.storm_b.load(Ordering::Relaxed);
        let storm = match self.storm_kind.load(Ordering::Relaxed) {
            STORM_WINDOW => Storm::Window {
                length: Duration::from_millis(a),
                every: (b > 0).then(|| Duration::from_millis(b)),
            },
            STORM_SHARE => Storm::Share {
                #[allow(clippy::cast_precision_loss)]
                share: b as f64 / PPM,
                slot: Duration::from_millis(a),
            },
            _ => return None,
        };
        Some(ActiveStorm {
            storm,
            from_ms: self.storm_from_ms.load(Ordering::Relaxed),
            seed: self.seed(),
        })
    }

    /// If a storm throttles a request arriving at `now_ms` (epoch ms on the emulator's
    /// clock), the epoch millisecond at which the storm lets requests through again.
    pub fn storm_until(&self, now_ms: u64) -> Option<u64> {
        self.active_storm()?.until(now_ms)
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
    /// GET) apply their change and then lose their answer (a 502 unless
    /// [`Knobs::set_lost_response`] says otherwise), as when a response is
    /// lost between the provider and the client. This is how tests check
    /// that a client retries safely and confirms by reading state back.
    pub fn fail_after_apply(&self, n: u32) {
        self.fail_after_apply.store(n, Ordering::Relaxed);
    }

    /// How many lost responses are still pending.
    pub fn pending_fail_after_apply(&self) -> u32 {
        self.fail_after_apply.load(Ordering::Relaxed)
    }

    /// Probability (clamped to `0.0..=1.0`) that a successful state-changing request's answer
    /// is lost after its change was applied.
    pub fn set_lost_response_rate(&self, rate: f64) {
        self.lost_rate_ppm.store(to_ppm(rate), Ordering::Relaxed);
    }

    /// The current lost-response probability.
    pub fn lost_response_rate(&self) -> f64 {
        f64::from(self.lost_rate_ppm.load(Ordering::Relaxed)) / PPM
    }

    /// How lost answers are lost: a provider 5xx, a closed connection, or silence.
    pub fn set_lost_response(&self, lost: LostResponse) {
        let (kind, status, hold) = match lost {
            LostResponse::ServerError(status) => (LOST_SERVER_ERROR, status, Duration::ZERO),
            LostResponse::Dropped => (LOST_DROPPED, 502, Duration::ZERO),
            LostResponse::TimedOut(hold) => (LOST_TIMED_OUT, 502, hold),
        };
        self.lost_status.store(status, Ordering::Relaxed);
        self.lost_hold_ms.store(millis(hold), Ordering::Relaxed);
        self.lost_kind.store(kind, Ordering::Relaxed);
    }

    /// How lost answers are lost.
    pub fn lost_response(&self) -> LostResponse {
        match self.lost_kind.load(Ordering::Relaxed) {
            LOST_DROPPED => LostResponse::Dropped,
            LOST_TIMED_OUT => LostResponse::TimedOut(Duration::from_millis(
                self.lost_hold_ms.load(Ordering::Relaxed),
            )),
            _ => LostResponse::ServerError(self.lost_status.load(Ordering::Relaxed)),
        }
    }

    /// Sets the emulator's clock offset (see [`Timeline::set_offset`]).
    pub fn set_clock_offset(&self, offset: SignedDuration) {
        self.timeline.set_offset(offset);
    }

    /// Sets the read-after-write lag (see [`Timeline::set_read_lag`]).
    pub fn set_read_lag(&self, lag: Duration) {
        self.timeline.set_read_lag(lag);
    }

    /// Sets how long long operations take (see [`Timeline::set_long_ops`]).
    pub fn set_long_ops(&self, duration: Option<Duration>) {
        self.timeline.set_long_ops(duration);
    }

    /// Restores every knob to its starting value (no faults). The seed stays.
    pub fn reset(&self) {
        self.set_latency(Duration::ZERO);
        self.set_error_rate_5xx(0.0);
        self.burst_429(0);
        self.end_storm_429();
        self.fail_next_5xx(500, 0);
        self.fail_after_apply(0);
        self.set_lost_response_rate(0.0);
        self.set_lost_response(LostResponse::default());
        self.set_rate_limit_per_minute(self.default_rate_limit);
        self.timeline.reset();
    }

    /// Consumes one pending forced 429, if any.
    pub(crate) fn take_burst_429(&self) -> bool {
        take_one(&self.burst_429)
    }

    /// Decides whether an applied request's answer is lost: a pending
    /// [`Knobs::fail_after_apply`] first, then the lost-response rate.
    pub(crate) fn take_lost_response(&self) -> Option<LostResponse> {
        let lost = take_one(&self.fail_after_apply) || self.roll(&self.lost_rate_ppm);
        lost.then(|| self.lost_response())
    }

    /// Consumes one forced 5xx if any is pending, else rolls the 5xx dice;
    /// returns the status to answer with, if any.
    pub(crate) fn roll_5xx(&self) -> Option<u16> {
        if take_one(&self.fail_next_5xx) {
            let status = self.fail_next_status.load(Ordering::Relaxed);
            return Some(u16::try_from(status).unwrap_or(500));
        }
        if !self.roll(&self.error_rate_ppm) {
            return None;
        }
        Some([500, 502, 503][lock(&self.rng).gen_range(0..3)])
    }

    /// One draw against a parts-per-million probability from the seeded generator.
    fn roll(&self, ppm: &AtomicU32) -> bool {
        let ppm = ppm.load(Ordering::Relaxed);
        ppm != 0 && lock(&self.rng).gen_range(0..1_000_000u32) < ppm
    }
}

fn to_ppm(rate: f64) -> u32 {
    let clamped = if rate.is_nan() {
        0.0
    } else {
        rate.clamp(0.0, 1.0)
    };
    // Truncation is intended: the value is already within 0..=1_000_000.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let ppm = (clamped * PPM).round() as u32;
    ppm
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
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
