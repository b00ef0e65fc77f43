//! Comparing an instant a provider stamped with the moment Passage acted, across two clocks.
//!
//! A proof such as "sessions are valid only from after the revocation" compares a provider
//! timestamp with the local time of the call. The provider's clock and the host's disagree,
//! by seconds on a healthy host and by minutes or hours on a badly kept one: compared as they
//! stand, a provider running behind fails a revocation that happened, and one running ahead
//! passes a stale value. The skew is measured from the `Date` of the provider's answer to the
//! very call, the local moment of the call is moved onto the provider's clock, and only the
//! measurement's own uncertainty is granted as slack. Without a `Date` nothing can be
//! measured, and a fixed bounded slack is granted instead; either way the evidence records
//! what was measured and what was granted.

use jiff::{SignedDuration, Timestamp};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// Slack when the provider sent no `Date`: a host kept by NTP is well within it, and a
/// revocation older than it is not mistaken for this one.
pub const UNMEASURED_SLACK: SignedDuration = SignedDuration::from_secs(120);

/// What one call tells about the provider's clock.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reading {
    /// When the request left, on the local clock.
    pub sent: Timestamp,
    /// Provider clock minus local clock, when the answer carried a `Date`.
    pub skew: Option<SignedDuration>,
    /// How far the check may fall short of `sent` moved onto the provider's clock: `Date`'s
    /// whole seconds, a whole-second stamp on the provider's side, and the round trip.
    pub slack: SignedDuration,
}

impl Reading {
    /// Reads the skew from an answer's `Date`, for a request sent at `sent` and answered at
    /// `received` (both local). The provider read its clock somewhere in between.
    pub fn of(headers: &HeaderMap, sent: Timestamp, received: Timestamp) -> Self {
        static PARSER: jiff::fmt::rfc2822::DateTimeParser =
            jiff::fmt::rfc2822::DateTimeParser::new();
        let date = headers
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| PARSER.parse_timestamp(v.trim()).ok());
        let round_trip = received.duration_since(sent).max(SignedDuration::ZERO);
        match date {
            Some(date) => {
                // `Date` truncates to the second: the provider's instant was half a second
                // later on average; the local instant was mid-way through the round trip.
                let provider = date + SignedDuration::from_millis(500);
                let local = sent + round_trip / 2;
                Self {
                    sent,
                    skew: Some(provider.duration_since(local)),
                    slack: SignedDuration::from_secs(2) + round_trip,
                }
            }
            None => Self {
                sent,
                skew: None,
                slack: UNMEASURED_SLACK,
            },
        }
    }

    /// Whether `stamped` (on the provider's clock) is not earlier than the request, within
    /// the slack.
    pub fn not_before_sending(&self, stamped: Timestamp) -> bool {
        self.not_before(self.sent, stamped)
    }

    /// Whether `stamped` (on the provider's clock) is not earlier than `local` (on ours),
    /// within the slack.
    pub fn not_before(&self, local: Timestamp, stamped: Timestamp) -> bool {
        let on_provider = local + self.skew.unwrap_or(SignedDuration::ZERO);
        stamped >= on_provider - self.slack
    }

    /// The measurement, for the evidence: the skew in milliseconds (`null` when unmeasured)
    /// and the slack granted.
    pub fn evidence(&self) -> Value {
        json!({
            "clock_skew_ms": self.skew.map(|s| s.as_millis()),
            "slack_ms": self.slack.as_millis(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(at: Timestamp) -> HeaderMap {
        let mut h = HeaderMap::new();
        let text = at.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string();
        h.insert(reqwest::header::DATE, text.parse().unwrap());
        h
    }

    #[test]
    fn a_provider_behind_the_host_is_measured_and_its_stamp_accepted() {
        let sent: Timestamp = "2026-12-07T12:00:00.200Z".parse().unwrap();
        let received = sent + SignedDuration::from_millis(100);
        let provider_now = sent - SignedDuration::from_secs(600);
        let r = Reading::of(&date(provider_now), sent, received);
        let skew = r.skew.unwrap().as_secs();
        assert!((-601..=-599).contains(&skew), "{skew}");
        let stamped = Timestamp::from_second(provider_now.as_second()).unwrap();
        assert!(r.not_before_sending(stamped));
        // A stamp from before the call (an earlier revocation) is not taken for this one.
        assert!(!r.not_before_sending(stamped - SignedDuration::from_secs(30)));
        assert_eq!(
            r.evidence()["clock_skew_ms"].as_i64().map(|m| m / 1000),
            Some(skew)
        );
    }

    #[test]
    fn a_provider_ahead_does_not_pass_a_stale_stamp() {
        let sent: Timestamp = "2026-12-07T12:00:00Z".parse().unwrap();
        let provider_now = sent + SignedDuration::from_secs(600);
        let r = Reading::of(&date(provider_now), sent, sent);
        // Stale on the provider's clock, though later than the local moment of the call.
        assert!(!r.not_before_sending(sent + SignedDuration::from_secs(60)));
        assert!(r.not_before_sending(provider_now));
    }

    #[test]
    fn without_a_date_the_slack_is_bounded() {
        let sent: Timestamp = "2026-12-07T12:00:00Z".parse().unwrap();
        let r = Reading::of(&HeaderMap::new(), sent, sent);
        assert_eq!(r.skew, None);
        assert!(r.not_before_sending(sent - SignedDuration::from_secs(60)));
        assert!(!r.not_before_sending(sent - SignedDuration::from_secs(600)));
        assert!(r.evidence()["clock_skew_ms"].is_null());
    }
}
