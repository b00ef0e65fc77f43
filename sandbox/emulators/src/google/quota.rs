//! Google-specific throttling knobs: forced bursts of 403 rate and quota
//! errors, the signals the Admin SDK uses besides 429, and which of these
//! signals a storm answers with.

use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};

use crate::google::errors::QuotaReason;

/// Forced 403 throttling responses. Applied after the common 429 burst and
/// before the per-user per-minute budget; a forced response never reaches
/// the handler, so it never changes state.
#[derive(Debug, Default)]
pub struct QuotaKnobs {
    user_rate: AtomicU32,
    rate: AtomicU32,
    quota: AtomicU32,
    /// 0: 403 `userRateLimitExceeded` (the default); 1: 403 `rateLimitExceeded`; 2: 403
    /// `quotaExceeded`; 3: 429.
    storm_signal: AtomicU8,
}

impl QuotaKnobs {
    /// How a storm throttles Admin SDK, Licensing, Data Transfer and Reports requests:
    /// 403 with `reason`, or (`None`) 429 `rateLimitExceeded`. Gmail requests in a storm
    /// always get Gmail's 429 with "Retry after <instant>" in the message. Default: 403
    /// `userRateLimitExceeded`, the Directory API's per-user budget.
    pub fn set_storm_reason(&self, reason: Option<QuotaReason>) {
        let signal = match reason {
            Some(QuotaReason::UserRateLimitExceeded) => 0,
            Some(QuotaReason::RateLimitExceeded) => 1,
            Some(QuotaReason::QuotaExceeded) => 2,
            None => 3,
        };
        self.storm_signal.store(signal, Ordering::Relaxed);
    }

    /// The reason storms answer with (`None`: 429).
    pub fn storm_reason(&self) -> Option<QuotaReason> {
        match self.storm_signal.load(Ordering::Relaxed) {
            0 => Some(QuotaReason::UserRateLimitExceeded),
            1 => Some(QuotaReason::RateLimitExceeded),
            2 => Some(QuotaReason::QuotaExceeded),
            _ => None,
        }
    }

    fn counter(&self, reason: QuotaReason) -> &AtomicU32 {
        match reason {
            QuotaReason::UserRateLimitExceeded => &self.user_rate,
            QuotaReason::RateLimitExceeded => &self.rate,
            QuotaReason::QuotaExceeded => &self.quota,
        }
    }

    /// Makes the next `n` API requests fail with 403 and `reason`,
    /// replacing any burst of that reason still pending.
    pub fn burst_403(&self, reason: QuotaReason, n: u32) {
        self.counter(reason).store(n, Ordering::Relaxed);
    }

    /// How many forced 403s of `reason` are still pending.
    pub fn pending_403(&self, reason: QuotaReason) -> u32 {
        self.counter(reason).load(Ordering::Relaxed)
    }

    /// Cancels every pending burst.
    pub fn reset(&self) {
        for reason in [
            QuotaReason::UserRateLimitExceeded,
            QuotaReason::RateLimitExceeded,
            QuotaReason::QuotaExceeded,
        ] {
            self.burst_403(reason, 0);
        }
    }

    /// Consumes one pending forced 403, if any.
    pub(crate) fn take_403(&self) -> Option<QuotaReason> {
        [
            QuotaReason::UserRateLimitExceeded,
            QuotaReason::RateLimitExceeded,
            QuotaReason::QuotaExceeded,
        ]
        .into_iter()
        .find(|&reason| {
            self.counter(reason)
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                .is_ok()
        })
    }
}
