//! Building blocks shared by every provider emulator: runtime knobs, a
//! per-minute rate-limit window, request and effect counters, id generation,
//! the emulator's timeline (clock, read lag, long operations), read-lag books, clock
//! helpers, a SCIM-style filter parser and the loopback server plumbing.
//!
//! Each provider module (`okta`, and later others) owns its wire format;
//! these pieces only carry behaviour that is the same everywhere, so that
//! fault injection and rate limiting feel identical across emulators.

pub mod clock;
pub mod counters;
pub mod gate;
pub mod ids;
pub mod knobs;
pub mod lag;
pub mod ratelimit;
pub mod scim_filter;
pub mod server;
pub mod sign_in;
pub mod timeline;

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex` even if a request handler panicked while holding it: one failed request must
/// not take an emulator down for every later request and for the test's own assertions.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
