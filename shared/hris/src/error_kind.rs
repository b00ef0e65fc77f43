//! What kind of failure an error is, in terms any caller can act on.
//!
//! Every error that reaches a caller of Passage names its problem twice: a stable code that API
//! clients match on (`bad_signature`, `unknown_tenant`, the codes of the webhook contract) and a
//! message for the person fixing it. Its [`ErrorKind`] says what the caller should do about it —
//! fix the request, authenticate, look elsewhere, retry later. How a kind is reported (an HTTP
//! status, an exit code) is the host's decision and is made in one place there, so no crate
//! below the hosts knows a status number.
//!
//! The enum lives here because this is the lowest crate whose errors reach callers;
//! `passage-core` re-exports it for its own errors.

use crate::event::Problem;

/// What a caller should make of a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request cannot be read as sent: a missing or malformed header, a body that is not
    /// JSON, a field that breaks the format. Resending it unchanged fails again.
    Malformed,
    /// Who sent the request could not be established: no signature or token, one that matches no
    /// secret, a stale timestamp, or nothing configured to check it with.
    Unauthenticated,
    /// The sender is known but may not do this here (an event for another tenant, a link that
    /// does not hold).
    Forbidden,
    /// What the request names does not exist, or is not visible to this caller.
    NotFound,
    /// Not possible in the current state (cancelling a run that has started, confirming twice).
    Conflict,
    /// The body is larger than Passage reads.
    TooLarge,
    /// The body is in a format this endpoint does not take (Passage's own event sent as plain
    /// text, a vendor's webhook in a content type the vendor does not use).
    UnsupportedMediaType,
    /// The request did not arrive in time (a body trickled in slower than Passage waits);
    /// nothing was done, so sending it again promptly may succeed.
    TimedOut,
    /// Well-formed, but it cannot be acted on (an impossible cutoff, a policy that yields no plan,
    /// an employee the HR system does not know).
    Unprocessable,
    /// An outside system Passage needs refused it (wrong credentials, missing permission); an
    /// administrator must act before a retry can succeed.
    UpstreamRefused,
    /// Passage or a system it needs is unavailable for now; nothing was half-done, so the same
    /// request may be retried.
    Unavailable,
    /// A fault in Passage itself.
    Internal,
}

impl ErrorKind {
    /// Every kind, so a mapping can be checked against all of them.
    pub const ALL: [ErrorKind; 12] = [
        Self::Malformed,
        Self::Unauthenticated,
        Self::Forbidden,
        Self::NotFound,
        Self::Conflict,
        Self::TooLarge,
        Self::UnsupportedMediaType,
        Self::TimedOut,
        Self::Unprocessable,
        Self::UpstreamRefused,
        Self::Unavailable,
        Self::Internal,
    ];
}

/// An error a caller is told about: its kind, its stable code, and (as `Display`) its message.
/// Neither code nor message ever contains secret material.
pub trait Classified: std::fmt::Display {
    /// What the caller should make of it.
    fn kind(&self) -> ErrorKind;

    /// Stable machine-readable code for API responses and logs.
    fn code(&self) -> &'static str;

    /// Field-by-field problems, for errors that list them (an invalid event lists every problem
    /// at once); `None` for errors that have no such list.
    fn details(&self) -> Option<&[Problem]> {
        None
    }
}
