//! Pacing the calls to a provider org, so that every worker of a host (every Lambda invocation,
//! on AWS) together stays under the provider's limit instead of finding it with 429s.
//!
//! A provider limits calls per org, and some per endpoint family as well: Okta allows so many
//! calls a minute to `/api/v1/users`, Graph so many resource units per 10 s per app and tenant.
//! Passage keeps one budget per [`PaceKey`] (provider, org, family), sized by a [`Rate`] from
//! the provider's documented limits, and each call draws from it through the
//! [`Pacer`](crate::ports::Pacer) port before it is sent.
//!
//! The arithmetic lives in one place, [`BucketState`], so the in-process pacer of the embedded
//! host and the DynamoDB pacer shared by Lambda invocations pace alike: the first keeps the
//! states in memory, the second in table items it swaps with a condition.

mod bucket;
mod rate;

pub use bucket::BucketState;
pub use rate::{Rate, RateError};

use crate::domain::Provider;
use jiff::Timestamp;
use std::fmt;
use std::time::Duration;

/// Whose budget a call draws from: one provider org, and within it the endpoint family the
/// provider limits separately (`all` where it limits the org as a whole).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PaceKey {
    pub provider: Provider,
    /// The org as the provider knows it: Okta's org host, Microsoft's tenant id, Google's
    /// customer or domain, JumpCloud's org id.
    pub org: String,
    pub family: String,
}

impl fmt::Display for PaceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.provider, self.org, self.family)
    }
}

/// A budget and the rate it refills at: what [`Pacer`](crate::ports::Pacer) calls are about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    pub key: PaceKey,
    pub rate: Rate,
}

/// What one provider answer says about the budget it was drawn from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PaceSignal {
    /// Calls the provider still allows (Okta's `X-Rate-Limit-Remaining`); without a `reset`,
    /// a sign to stop bursting (Graph's `x-ms-throttle-limit-percentage` past 80 %).
    pub remaining: Option<u64>,
    /// When the provider's window refills (Okta's `X-Rate-Limit-Reset`).
    pub reset: Option<Timestamp>,
    /// The provider refused the call for its rate (a 429, or Google's 403 rate reasons).
    pub throttled: bool,
    /// How long the provider asked to be left alone (`Retry-After`).
    pub retry_after: Option<Duration>,
}

impl PaceSignal {
    /// Whether the answer said anything about the budget at all.
    pub fn is_silent(&self) -> bool {
        *self == Self::default()
    }
}

/// When a caller may send its call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Turn {
    /// The call has its place: send it after this wait (zero: at once).
    Go(Duration),
    /// Its place would be further away than the caller will wait; nothing was taken. The wait
    /// is how far the earliest place was, for the caller to come back after.
    Defer(Duration),
}
