//! A provider's limit for one budget, and how much of it may go at once.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The share of a limit that may be spent at once when no burst is named, in percent.
const DEFAULT_BURST_PERCENT: u32 = 5;

/// `limit` calls per `per`, of which `burst` may go at once after a quiet spell.
///
/// The bucket refills at `(limit - burst) / per`, not `limit / per`: then no stretch of `per`
/// holds more than `limit` calls whatever its start, which is what a provider with a fixed or
/// sliding window and no headers (Google, JumpCloud) needs to never see Passage over its
/// limit. With the default 5 % burst a saturated budget still runs at 95 % of the limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub limit: u32,
    pub per: Duration,
    pub burst: u32,
}

impl Rate {
    /// `limit` calls per `per`, with the default burst (5 %, at least one call).
    pub fn new(limit: u32, per: Duration) -> Self {
        Self::with_burst_percent(limit, per, DEFAULT_BURST_PERCENT)
    }

    /// `limit` calls a minute, with the default burst.
    pub fn per_minute(limit: u32) -> Self {
        Self::new(limit, Duration::from_secs(60))
    }

    /// `limit` calls per `per`, `percent` of them at once (at least one, at most all but one).
    pub fn with_burst_percent(limit: u32, per: Duration, percent: u32) -> Self {
        let limit = limit.max(1);
        let burst = (u64::from(limit) * u64::from(percent) / 100) as u32;
        let most = limit.saturating_sub(1).max(1);
        Self {
            limit,
            per: per.max(Duration::from_millis(1)),
            burst: burst.clamp(1, most),
        }
    }

    /// The same limit with `percent` of it spendable at once.
    pub fn burst_percent(self, percent: u32) -> Self {
        Self::with_burst_percent(self.limit, self.per, percent)
    }

    /// Microseconds between two calls once the burst is spent, rounded up so the bucket never
    /// refills faster than the rate allows.
    pub(crate) fn interval_us(&self) -> i64 {
        let refill = u128::from(self.limit.saturating_sub(self.burst).max(1));
        let per = self.per.as_micros().max(1);
        per.div_ceil(refill).min(i64::MAX as u128) as i64
    }

    /// How far ahead of its place a call may go: the burst, in time.
    pub(crate) fn tolerance_us(&self) -> i64 {
        self.interval_us().saturating_mul(i64::from(self.burst))
    }
}

/// `600/min`, `3500/10s`, `10000/10min`, `100/h`: how limits are written in `passage.toml`.
impl FromStr for Rate {
    type Err = RateError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || RateError(text.to_owned());
        let (limit, per) = text.trim().split_once('/').ok_or_else(bad)?;
        let limit: u32 = limit.trim().parse().map_err(|_| bad())?;
        let per = per.trim();
        let unit_at = per.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (count, unit) = per.split_at(unit_at);
        let count: u64 = if count.is_empty() {
            1
        } else {
            count.parse().map_err(|_| bad())?
        };
        let unit_secs = match unit {
            "s" | "sec" => 1,
            "min" | "m" => 60,
            "h" => 3600,
            _ => return Err(bad()),
        };
        if limit == 0 || count == 0 {
            return Err(bad());
        }
        Ok(Rate::new(limit, Duration::from_secs(count * unit_secs)))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.per.as_secs();
        let whole = u128::from(secs) * 1000 == self.per.as_millis() && secs > 0;
        let (count, unit) = match secs {
            _ if !whole => return write!(f, "{}/{}s", self.limit, self.per.as_secs_f64()),
            s if s % 3600 == 0 => (s / 3600, "h"),
            s if s % 60 == 0 => (s / 60, "min"),
            s => (s, "s"),
        };
        match count {
            1 => write!(f, "{}/{unit}", self.limit),
            n => write!(f, "{}/{n}{unit}", self.limit),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a rate: write calls per period, such as \"600/min\" or \"3500/10s\"")]
pub struct RateError(String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_read_as_calls_per_period() {
        let r: Rate = "600/min".parse().unwrap();
        assert_eq!((r.limit, r.per), (600, Duration::from_secs(60)));
        let r: Rate = "3500/10s".parse().unwrap();
        assert_eq!((r.limit, r.per), (3500, Duration::from_secs(10)));
        let r: Rate = " 10000 / 10min ".parse().unwrap();
        assert_eq!((r.limit, r.per), (10_000, Duration::from_secs(600)));
        assert_eq!(
            "100/h".parse::<Rate>().unwrap().per,
            Duration::from_secs(3600)
        );
        for bad in [
            "600",
            "600/",
            "/min",
            "0/min",
            "600/0s",
            "600/fortnight",
            "x/min",
        ] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
        assert_eq!("200/20s".parse::<Rate>().unwrap().to_string(), "200/20s");
        assert_eq!("600/min".parse::<Rate>().unwrap().to_string(), "600/min");
        assert_eq!(
            Rate::new(5, Duration::from_millis(1500)).to_string(),
            "5/1.5s"
        );
    }

    #[test]
    fn the_burst_is_a_share_of_the_limit_and_never_all_of_it() {
        assert_eq!(Rate::per_minute(600).burst, 30);
        assert_eq!(Rate::per_minute(10).burst, 1);
        assert_eq!(Rate::per_minute(1).burst, 1);
        assert_eq!(Rate::per_minute(100).burst_percent(100).burst, 99);
        assert_eq!(Rate::per_minute(100).burst_percent(0).burst, 1);
    }

    #[test]
    fn the_refill_leaves_room_for_the_burst() {
        // 600 a minute with 30 at once: the other 570 come one every 60/570 s.
        let r = Rate::per_minute(600);
        assert_eq!(r.interval_us(), 105_264);
        assert_eq!(r.tolerance_us(), 30 * 105_264);
        assert!(r.interval_us() * 570 >= 60_000_000);
    }
}
