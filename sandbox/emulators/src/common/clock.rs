//! Wall-clock helpers. Providers timestamp with millisecond precision in UTC
//! (`2024-08-13T15:58:20.353Z`) and report rate-limit resets as whole epoch
//! seconds, so both conversions live here.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jiff::Timestamp;

/// The current instant.
pub fn now() -> Timestamp {
    Timestamp::now()
}

/// Formats an instant the way Okta (and most JSON APIs) do: RFC 3339, UTC,
/// exactly three fractional digits.
pub fn format_millis(ts: Timestamp) -> String {
    let millis = ts.as_millisecond();
    let truncated = Timestamp::from_millisecond(millis).unwrap_or(ts);
    format!("{truncated:.3}")
}

/// Parses an RFC 3339 / ISO 8601 instant as sent in query strings.
pub fn parse(value: &str) -> Option<Timestamp> {
    value.parse::<Timestamp>().ok()
}

/// Milliseconds since the Unix epoch for a `SystemTime`.
pub fn epoch_millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis()
        .try_into()
        .unwrap_or(u64::MAX)
}

/// Rounds an epoch-millisecond instant up to whole seconds. Reset headers are
/// whole seconds, and rounding down would tell clients to retry too early.
pub fn ceil_secs(epoch_millis: u64) -> u64 {
    epoch_millis.div_ceil(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_three_fractional_digits() {
        let ts: Timestamp = "2024-08-13T15:58:20.353917Z".parse().unwrap();
        assert_eq!(format_millis(ts), "2024-08-13T15:58:20.353Z");
        let whole: Timestamp = "2024-08-13T15:58:20Z".parse().unwrap();
        assert_eq!(format_millis(whole), "2024-08-13T15:58:20.000Z");
    }

    #[test]
    fn ceil_rounds_partial_seconds_up() {
        assert_eq!(ceil_secs(1_000), 1);
        assert_eq!(ceil_secs(1_001), 2);
        assert_eq!(ceil_secs(0), 0);
    }
}
