//! A fixed one-minute request window, the model Okta documents for its
//! per-org limits: a budget per minute, a count of what is left, and the
//! epoch second at which the budget refills.

use std::sync::Mutex;

use crate::common::clock;
use crate::common::lock;

/// The state of the budget after (or without) spending one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// Whether the request fits in the budget.
    pub allowed: bool,
    /// The per-minute budget.
    pub limit: u32,
    /// Requests left in the current window.
    pub remaining: u32,
    /// Epoch second at which the window refills (rounded up).
    pub reset_epoch_secs: u64,
}

#[derive(Debug, Default)]
struct Window {
    /// Epoch millisecond at which the current window opened; `None` until
    /// the first request.
    opened_at_ms: Option<u64>,
    used: u32,
    /// Requests spent in each window that has ended, oldest first.
    ended: Vec<u32>,
    /// The limit the last request was measured against.
    limit: u32,
}

/// How one limit was used: requests served in each of its windows, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowUse {
    /// Which limit (an endpoint, a service, an API and user).
    pub name: String,
    /// Requests a window allows.
    pub limit: u32,
    /// Requests served in each window, the one in force last.
    pub windows: Vec<u32>,
}

/// One rate-limit bucket. A window opens at the first request after the
/// previous one expired and lasts sixty seconds (or the length it was made with).
#[derive(Debug)]
pub struct MinuteWindow {
    window: Mutex<Window>,
    length_ms: u64,
}

const WINDOW_MS: u64 = 60_000;

impl Default for MinuteWindow {
    fn default() -> Self {
        Self::lasting(WINDOW_MS)
    }
}

impl MinuteWindow {
    /// A bucket with nothing spent.
    pub fn new() -> Self {
        Self::default()
    }

    /// A bucket whose windows last `length_ms` (Graph meters some limits per 10 s, 20 s or
    /// 150 s).
    pub fn lasting(length_ms: u64) -> Self {
        Self {
            window: Mutex::default(),
            length_ms: length_ms.max(1),
        }
    }

    /// Spends one request if the budget allows it.
    pub fn take(&self, limit: u32, now_ms: u64) -> Quota {
        let mut window = lock(&self.window);
        let opened = roll(&mut window, now_ms, self.length_ms);
        window.limit = limit;
        let allowed = window.used < limit;
        if allowed {
            window.used += 1;
        }
        Quota {
            allowed,
            limit,
            remaining: limit.saturating_sub(window.used),
            reset_epoch_secs: clock::ceil_secs(opened + self.length_ms),
        }
    }

    /// Reports the budget without spending anything (used for responses that
    /// are rejected before they count, such as bad credentials).
    pub fn peek(&self, limit: u32, now_ms: u64) -> Quota {
        let window = lock(&self.window);
        let (opened, used) = match window.opened_at_ms {
            Some(opened) if now_ms < opened + self.length_ms => (opened, window.used),
            _ => (now_ms, 0),
        };
        Quota {
            allowed: used < limit,
            limit,
            remaining: limit.saturating_sub(used),
            reset_epoch_secs: clock::ceil_secs(opened + self.length_ms),
        }
    }

    /// Requests spent per window since the last reset, oldest first, the one in force last.
    pub fn windows(&self) -> Vec<u32> {
        let window = lock(&self.window);
        let mut out = window.ended.clone();
        if window.opened_at_ms.is_some() {
            out.push(window.used);
        }
        out
    }

    /// How this limit was used, under `name`.
    pub fn usage(&self, name: impl Into<String>) -> WindowUse {
        let limit = lock(&self.window).limit;
        WindowUse {
            name: name.into(),
            limit,
            windows: self.windows(),
        }
    }

    /// Forgets everything spent.
    pub fn reset(&self) {
        *lock(&self.window) = Window::default();
    }
}

/// Opens a fresh window when the current one has expired; returns the
/// opening instant of the window now in force.
fn roll(window: &mut Window, now_ms: u64, length_ms: u64) -> u64 {
    match window.opened_at_ms {
        Some(opened) if now_ms < opened + length_ms => opened,
        _ => {
            if window.opened_at_ms.is_some() {
                let used = window.used;
                window.ended.push(used);
            }
            window.opened_at_ms = Some(now_ms);
            window.used = 0;
            now_ms
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_spent_then_refilled() {
        let bucket = MinuteWindow::new();
        let t0 = 1_700_000_000_500;
        let first = bucket.take(2, t0);
        assert!(first.allowed);
        assert_eq!(first.remaining, 1);
        assert_eq!(first.reset_epoch_secs, 1_700_000_061);
        assert!(bucket.take(2, t0 + 10).allowed);
        let third = bucket.take(2, t0 + 20);
        assert!(!third.allowed);
        assert_eq!(third.remaining, 0);
        assert!(bucket.take(2, t0 + WINDOW_MS).allowed);
        assert_eq!(
            bucket.windows(),
            [2, 1],
            "the full window, then the one in force"
        );
    }

    #[test]
    fn peek_does_not_spend() {
        let bucket = MinuteWindow::new();
        assert_eq!(bucket.peek(5, 0).remaining, 5);
        bucket.take(5, 0);
        assert_eq!(bucket.peek(5, 1).remaining, 4);
        assert_eq!(bucket.peek(5, 2).remaining, 4);
    }
}
