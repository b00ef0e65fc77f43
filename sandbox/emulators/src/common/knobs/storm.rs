//! Throttling storms: stretches of time during which a provider refuses requests, and tells
//! the truth about when it will stop.
//!
//! A per-minute budget only throttles at exact reset times; a real provider under load (a
//! layoff, a noisy neighbour, a tenant-wide limit) refuses in storms. A storm here is either a
//! window (every request throttled for a while, optionally recurring) or a share of time cut
//! into slots, each slot throttled or not by the knobs' seed. Either way the end of the stormy
//! stretch a request falls in is known exactly, so the provider's reset or `Retry-After` can
//! name it.

use std::time::Duration;

/// Slots a share storm looks ahead for its end before giving up (only reached with shares
/// very close to 1).
const LOOKAHEAD_SLOTS: u64 = 1_000_000;

/// A storm's shape.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Storm {
    /// Every request is throttled for `length` from when the storm is set; with `every`, the
    /// window recurs at each multiple of `every` from then on.
    Window {
        /// How long each window lasts.
        length: Duration,
        /// The period after which the window recurs, if it does.
        every: Option<Duration>,
    },
    /// Time is cut into `slot`s and each slot is stormy with probability `share` (below 1),
    /// decided by the knobs' seed: about that share of evenly spread requests is throttled, and
    /// each throttled answer names the end of its run of stormy slots.
    Share {
        /// The probability that a slot is stormy, in `0.0..1.0`.
        share: f64,
        /// The slot length (at least a millisecond).
        slot: Duration,
    },
}

impl Storm {
    /// A storm of `share` of the time in one-second slots.
    pub fn share(share: f64) -> Self {
        Self::Share {
            share,
            slot: Duration::from_secs(1),
        }
    }

    /// One window of `length`, starting when set.
    pub fn window(length: Duration) -> Self {
        Self::Window {
            length,
            every: None,
        }
    }
}

/// A storm as it is stored: the shape plus when it started (epoch ms on the emulator's
/// clock) and the seed that decides share slots.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ActiveStorm {
    pub storm: Storm,
    pub from_ms: u64,
    pub seed: u64,
}

impl ActiveStorm {
    /// If `now_ms` falls in a stormy stretch, the epoch millisecond at which it ends.
    pub fn until(&self, now_ms: u64) -> Option<u64> {
        let since = now_ms.checked_sub(self.from_ms)?;
        match self.storm {
            Storm::Window { length, every } => {
                let length = millis(length);
                let phase = match every.map(millis).filter(|&p| p > 0) {
                    Some(period) => since % period,
                    None => since,
                };
                (phase < length).then(|| (now_ms - phase).saturating_add(length))
            }
            Storm::Share { share, slot } => {
                let slot = millis(slot).max(1);
                let stormy = |k: u64| slot_draw(self.seed, k) < share;
                let first = since / slot;
                if !stormy(first) {
                    return None;
                }
                let end = (first + 1..first + LOOKAHEAD_SLOTS)
                    .find(|&k| !stormy(k))
                    .unwrap_or(first + LOOKAHEAD_SLOTS);
                Some(self.from_ms.saturating_add(end.saturating_mul(slot)))
            }
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A uniform draw in `0.0..1.0` for slot `k`, fixed by the seed (SplitMix64), so that whether
/// a slot is stormy depends on neither the order nor the number of requests.
fn slot_draw(seed: u64, k: u64) -> f64 {
    let mut z = seed ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // 53 random bits make an exact f64 fraction.
    #[allow(clippy::cast_precision_loss)]
    let fraction = (z >> 11) as f64 / (1u64 << 53) as f64;
    fraction
}

#[cfg(test)]
mod tests {
    use super::*;

    fn active(storm: Storm) -> ActiveStorm {
        ActiveStorm {
            storm,
            from_ms: 1_000_000,
            seed: 9,
        }
    }

    #[test]
    fn a_window_ends_when_it_says() {
        let storm = active(Storm::window(Duration::from_secs(30)));
        assert_eq!(storm.until(999_999), None, "not before it starts");
        assert_eq!(storm.until(1_000_000), Some(1_030_000));
        assert_eq!(storm.until(1_029_999), Some(1_030_000));
        assert_eq!(storm.until(1_030_000), None);
    }

    #[test]
    fn a_recurring_window_comes_back() {
        let storm = active(Storm::Window {
            length: Duration::from_secs(10),
            every: Some(Duration::from_secs(60)),
        });
        assert_eq!(storm.until(1_005_000), Some(1_010_000));
        assert_eq!(storm.until(1_030_000), None);
        assert_eq!(storm.until(1_065_000), Some(1_070_000));
    }

    #[test]
    fn a_share_storm_throttles_about_its_share_and_names_the_end_of_each_run() {
        let storm = active(Storm::share(0.3));
        let slots = 10_000u64;
        let stormy = (0..slots)
            .filter(|k| storm.until(1_000_000 + k * 1000 + 500).is_some())
            .count();
        #[allow(clippy::cast_precision_loss)]
        let share = stormy as f64 / slots as f64;
        assert!((0.27..0.33).contains(&share), "share {share}");
        for k in 0..200u64 {
            let now = 1_000_000 + k * 1000 + 250;
            if let Some(end) = storm.until(now) {
                assert!(end > now && end % 1000 == 0);
                assert_eq!(storm.until(end), None, "calm at the advertised end");
                assert!(storm.until(end - 1).is_some(), "stormy until then");
            }
        }
    }
}
