//! How long a provider takes to answer. A fixed delay hides the tail that retries, timeouts
//! and concurrency limits are about, so the delay can also be drawn from a distribution:
//! uniform over a spread above a base, or log-normal (what service latencies look like) given
//! its median and 99th percentile.

use std::time::Duration;

use rand::Rng;
use rand_distr::{Distribution, LogNormal};

/// z-score of the 99th percentile of a standard normal distribution.
const Z_P99: f64 = 2.326_347_874;

/// Draws beyond this many p99s are cut back to it, so one unlucky draw cannot stall a test for
/// minutes.
const TAIL_CAP_P99S: f64 = 10.0;

/// A latency distribution.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Latency {
    /// No added delay.
    #[default]
    None,
    /// The same delay on every request.
    Fixed(Duration),
    /// `base` plus a uniform draw from `0..spread`.
    Uniform {
        /// The least any request waits.
        base: Duration,
        /// The width of the uniform spread above `base`.
        spread: Duration,
    },
    /// Log-normal with the given median and 99th percentile (`p99 >= median`).
    LogNormal {
        /// Half of the requests wait less than this.
        median: Duration,
        /// 99 % of the requests wait less than this.
        p99: Duration,
    },
}

impl Latency {
    /// A draw from the distribution.
    pub fn sample<R: Rng + ?Sized>(self, rng: &mut R) -> Duration {
        match self {
            Self::None => Duration::ZERO,
            Self::Fixed(d) => d,
            Self::Uniform { base, spread } => {
                if spread.is_zero() {
                    return base;
                }
                let extra = rng.gen_range(0..micros(spread));
                base + Duration::from_micros(extra)
            }
            Self::LogNormal { median, p99 } => log_normal(rng, median, p99.max(median)),
        }
    }

    /// The delay half of the requests stay under (the fixed delay, the base plus half the
    /// spread, or the median).
    pub fn typical(self) -> Duration {
        match self {
            Self::None => Duration::ZERO,
            Self::Fixed(d) => d,
            Self::Uniform { base, spread } => base + spread / 2,
            Self::LogNormal { median, .. } => median,
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn log_normal<R: Rng + ?Sized>(rng: &mut R, median: Duration, p99: Duration) -> Duration {
    // Precision loss is irrelevant at microsecond scale for delays under years.
    #[allow(clippy::cast_precision_loss)]
    let (m, p) = (micros(median).max(1) as f64, micros(p99).max(1) as f64);
    let sigma = (p.ln() - m.ln()) / Z_P99;
    let Ok(dist) = LogNormal::new(m.ln(), sigma.max(0.0)) else {
        return median;
    };
    let drawn = dist.sample(rng).min(p * TAIL_CAP_P99S);
    // Truncation is intended: the value is positive and capped above.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Duration::from_micros(drawn as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn uniform_stays_within_its_spread() {
        let mut rng = StdRng::seed_from_u64(1);
        let latency = Latency::Uniform {
            base: Duration::from_millis(20),
            spread: Duration::from_millis(10),
        };
        for _ in 0..1000 {
            let d = latency.sample(&mut rng);
            assert!(d >= Duration::from_millis(20) && d < Duration::from_millis(30));
        }
    }

    #[test]
    fn log_normal_has_its_median_and_p99() {
        let mut rng = StdRng::seed_from_u64(7);
        let latency = Latency::LogNormal {
            median: Duration::from_millis(50),
            p99: Duration::from_millis(400),
        };
        let mut draws: Vec<Duration> = (0..20_000).map(|_| latency.sample(&mut rng)).collect();
        draws.sort();
        let median = draws[draws.len() / 2].as_secs_f64();
        let p99 = draws[draws.len() * 99 / 100].as_secs_f64();
        assert!((0.045..0.055).contains(&median), "median {median}");
        assert!((0.34..0.46).contains(&p99), "p99 {p99}");
    }

    #[test]
    fn the_same_seed_draws_the_same_delays() {
        let latency = Latency::LogNormal {
            median: Duration::from_millis(5),
            p99: Duration::from_millis(50),
        };
        let draw = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..5).map(|_| latency.sample(&mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(draw(42), draw(42));
        assert_ne!(draw(42), draw(43));
    }
}
