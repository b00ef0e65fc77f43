//! A sign-in a test puts in a provider's sign-in log, the same knob for every emulator: who
//! (the caller names the user), when, whether it succeeded, to which app, from where, and how
//! long the provider's log takes to show it (Entra minutes, Google hours).

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

/// What sign-in to record.
#[derive(Clone, Debug)]
pub struct SignInSpec {
    /// When it happened, as the log reports it.
    pub at: Timestamp,
    pub success: bool,
    /// The app signed in to; none: the provider's own portal.
    pub app: Option<String>,
    pub ip: String,
    /// How long after `at` the entry shows in the log.
    pub ingestion_delay: Duration,
}

impl SignInSpec {
    /// A successful sign-in at `at` from a documentation address.
    pub fn success(at: Timestamp) -> Self {
        Self {
            at,
            success: true,
            app: None,
            ip: "203.0.113.7".into(),
            ingestion_delay: Duration::ZERO,
        }
    }

    /// A failed attempt (wrong password) at `at`.
    pub fn failure(at: Timestamp) -> Self {
        Self {
            success: false,
            ..Self::success(at)
        }
    }

    /// `at` to the millisecond, as the logs render it.
    pub fn at_ms(&self) -> Timestamp {
        Timestamp::from_millisecond(self.at.as_millisecond()).unwrap_or(self.at)
    }

    /// When the entry shows in the log.
    pub fn visible_from(&self) -> Timestamp {
        let delay = SignedDuration::try_from(self.ingestion_delay).unwrap_or_default();
        let at = self.at_ms();
        at.saturating_add(delay).unwrap_or(at)
    }
}
