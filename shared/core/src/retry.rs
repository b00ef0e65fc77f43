//! Retry timing: exponential backoff with full jitter, never sooner than the provider asked.

use std::time::Duration;

/// Backoff settings. Defaults suit provider APIs: 1 s, 2 s, 4 s … capped at 5 min.
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
    /// Delay before attempt `attempt + 1`, after `attempt` attempts (1-based) failed.
    /// `jitter` in [0, 1) comes from the caller so this stays deterministic under test.
    /// Jitter spreads the upper half of the window so retries of a layoff's steps don't
    /// stampede a provider together; `retry_after` (Retry-After, X-Rate-Limit-Reset) is a floor.
    pub fn delay(&self, attempt: u32, jitter: f64, retry_after: Option<Duration>) -> Duration {
        let exp = attempt.saturating_sub(1).min(20);
        let raw = self.base.saturating_mul(1u32 << exp).min(self.cap);
        let jitter = jitter.clamp(0.0, 1.0);
        let jittered = raw.mul_f64(0.5 + 0.5 * jitter);
        match retry_after {
            Some(floor) if floor > jittered => floor,
            _ => jittered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_and_caps() {
        let b = Backoff::default();
        assert_eq!(b.delay(1, 1.0, None), Duration::from_secs(1));
        assert_eq!(b.delay(2, 1.0, None), Duration::from_secs(2));
        assert_eq!(b.delay(4, 1.0, None), Duration::from_secs(8));
        assert_eq!(b.delay(30, 1.0, None), Duration::from_secs(300));
        assert_eq!(b.delay(2, 0.0, None), Duration::from_secs(1));
    }

    #[test]
    fn retry_after_is_a_floor() {
        let b = Backoff::default();
        assert_eq!(
            b.delay(1, 0.0, Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
        assert_eq!(
            b.delay(8, 1.0, Some(Duration::from_secs(1))),
            Duration::from_secs(128)
        );
    }
}
