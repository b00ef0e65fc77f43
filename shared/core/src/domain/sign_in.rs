//! The watch on a closed run's sign-ins: what each provider's sign-in log said after the
//! cutoff, and every time a sign-in reopened the run.
//!
//! A run that closed has cut access only if nobody signs in afterwards. The watch reads each
//! provider's log for a tenant-set window after the cutoff; a successful sign-in reopens the
//! run. What the logs said is kept on the run, so the next bundle of the tenant's chain shows
//! the sign-in and the reopening.

use crate::domain::{BundleRef, Provider};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long, and how often, a tenant watches a closed run's sign-ins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignInWatchPolicy {
    /// How long after the cutoff a sign-in reopens the run; zero turns the watch off.
    pub window: Duration,
    /// Time between two reads of the logs.
    pub every: Duration,
    /// Clocks disagree: a sign-in within this much after the cutoff is the cutoff itself, not
    /// a sign-in after it.
    pub slack: Duration,
    /// Logs show sign-ins late (Entra minutes, Google hours): the logs are read this long past
    /// the window's end, so a sign-in inside the window that shows up late still counts.
    pub ingestion: Duration,
}

impl Default for SignInWatchPolicy {
    /// Three days from the cutoff, read every 15 minutes, with two minutes of clock slack and
    /// six hours for the slowest log (Google's Reports API) to catch up.
    fn default() -> Self {
        Self {
            window: Duration::from_secs(72 * 3600),
            every: Duration::from_secs(15 * 60),
            slack: Duration::from_secs(120),
            ingestion: Duration::from_secs(6 * 3600),
        }
    }
}

/// One sign-in as a provider's log records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignIn {
    pub provider: Provider,
    /// When the provider says it happened (not when it appeared in the log).
    pub at: Timestamp,
    pub success: bool,
    /// The log's own id of the entry: what makes a second read of the same entry no news.
    pub event_id: String,
    /// The app signed in to, as the log names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The provider's request or correlation id of the sign-in, where the log gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The provider's reason for a failure (an error code or outcome reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// What one provider's log said at the latest read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LogReading {
    /// Every page was read: no successful sign-in after the cutoff up to `read_at`, unless the
    /// run's sign-ins list one.
    Complete { read_at: Timestamp },
    /// The read stopped before the last page, or failed: absence proves nothing. Read again at
    /// the next check.
    Unknown { read_at: Timestamp, why: String },
    /// The tenant's connection cannot read this provider's sign-ins.
    NotObservable { why: String },
}

/// A successful sign-in after the cutoff, and the run it reopened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reopening {
    pub at: Timestamp,
    /// The sign-in's [`SignIn::event_id`].
    pub event_id: String,
    pub provider: Provider,
    /// The bundle the run had closed with: the chain keeps it, the next bundle supersedes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_bundle: Option<BundleRef>,
}

/// A closed run's sign-in watch, kept on the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignInWatch {
    /// The cutoff plus the clock slack: a successful sign-in after this reopens the run.
    pub from: Timestamp,
    /// The end of the window: sign-ins after it are none of the run's business.
    pub until: Timestamp,
    /// The last read of the logs: the window's end plus the logs' ingestion delay.
    pub last_read: Timestamp,
    /// Each provider's latest reading.
    #[serde(default)]
    pub logs: BTreeMap<Provider, LogReading>,
    /// Every sign-in seen after `from`, failed attempts included.
    #[serde(default)]
    pub sign_ins: Vec<SignIn>,
    #[serde(default)]
    pub reopenings: Vec<Reopening>,
}

impl SignInWatch {
    /// A watch of the window the policy sets from `cutoff`.
    pub fn new(cutoff: Timestamp, policy: &SignInWatchPolicy) -> Self {
        let from = later(cutoff, policy.slack);
        let until = later(cutoff, policy.window);
        Self {
            from,
            until,
            last_read: later(until, policy.ingestion),
            logs: BTreeMap::new(),
            sign_ins: Vec::new(),
            reopenings: Vec::new(),
        }
    }

    /// Whether the logs are still to be read at `now`.
    pub fn is_watching(&self, now: Timestamp) -> bool {
        now <= self.last_read
    }

    /// Whether `sign_in` proves access after the cutoff: a success inside the window.
    pub fn reopens(&self, sign_in: &SignIn) -> bool {
        sign_in.success && sign_in.at > self.from && sign_in.at <= self.until
    }

    /// Whether this entry of the log was seen before.
    pub fn knows(&self, sign_in: &SignIn) -> bool {
        self.sign_ins
            .iter()
            .any(|s| s.provider == sign_in.provider && s.event_id == sign_in.event_id)
    }
}

fn later(at: Timestamp, by: Duration) -> Timestamp {
    let by = jiff::SignedDuration::try_from(by).unwrap_or(jiff::SignedDuration::MAX);
    at.saturating_add(by).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign_in(at: Timestamp, success: bool) -> SignIn {
        SignIn {
            provider: Provider::Okta,
            at,
            success,
            event_id: "e1".into(),
            app: None,
            ip: None,
            request_id: None,
            failure: None,
        }
    }

    #[test]
    fn only_a_success_after_the_slack_and_inside_the_window_reopens() {
        let cutoff: Timestamp = "2026-01-05T22:00:00Z".parse().unwrap();
        let policy = SignInWatchPolicy::default();
        let watch = SignInWatch::new(cutoff, &policy);
        let at = |s: i64| cutoff + jiff::SignedDuration::from_secs(s);
        assert!(!watch.reopens(&sign_in(at(-60), true)), "before the cutoff");
        assert!(!watch.reopens(&sign_in(at(60), true)), "inside the slack");
        assert!(watch.reopens(&sign_in(at(600), true)));
        assert!(!watch.reopens(&sign_in(at(600), false)), "a failure");
        assert!(
            !watch.reopens(&sign_in(at(73 * 3600), true)),
            "past the window"
        );
        assert!(
            watch.is_watching(at(73 * 3600)),
            "late entries are still read"
        );
        assert!(!watch.is_watching(at(79 * 3600)));
    }
}
