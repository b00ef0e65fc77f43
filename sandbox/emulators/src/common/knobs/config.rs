//! The fault knobs as a value, for starting an emulator (or `passage sandbox`) already
//! misbehaving. At runtime the same settings are atomics on [`super::Knobs`].

use std::time::Duration;

use jiff::SignedDuration;

use crate::common::knobs::{Latency, LostResponse, Storm};

/// Every fault an emulator can start with. The default is none: instant, consistent, never
/// throttled beyond the provider's per-minute budget.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultConfig {
    /// Added delay per request.
    pub latency: Latency,
    /// Probability that a request is answered with a provider 5xx instead of being processed.
    pub error_rate_5xx: f64,
    /// A throttling storm, starting when the emulator starts.
    pub storm_429: Option<Storm>,
    /// Probability that an applied change's answer is lost.
    pub lost_response_rate: f64,
    /// How lost answers are lost.
    pub lost_response: LostResponse,
    /// How long eventually consistent reads keep showing the state before a write.
    pub read_lag: Duration,
    /// How far the emulator's clock runs ahead (negative: behind).
    pub clock_offset: SignedDuration,
    /// How long long operations take; `None` keeps each emulator's quick default.
    pub long_ops: Option<Duration>,
    /// Seed of every random fault decision (latency draws, 5xx and lost-response rolls, share
    /// storm slots); `None` seeds from the operating system.
    pub seed: Option<u64>,
}
