//! Authenticating webhook deliveries.
//!
//! Each sender scheme (Standard Webhooks, and one module per HR vendor) implements
//! [`WebhookVerifier`]. All of them report failures as [`VerifyError`], whose
//! [`code`](VerifyError::code) is stable for API clients and whose message names the problem for
//! the person configuring the integration.

pub mod bamboohr;
mod body_mac;
mod checks;
pub mod finch;
pub mod gusto;
pub mod hibob;
pub mod merge;
mod secrets;
pub mod standard_webhooks;
pub mod static_token;

pub use body_mac::BodyMacVerifier;
pub use checks::VENDOR_TOLERANCE_SECS;
pub use secrets::ConfigError;

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use serde::Serialize;

use crate::{Classified, ErrorKind};

/// Read access to request headers, whatever HTTP library holds them.
///
/// Names are matched ASCII case-insensitively, as HTTP requires. When a header repeats, the first
/// value is used: every scheme signs the values it reads, so the choice cannot be exploited.
pub trait HeaderLookup {
    /// The first value of header `name`, if present.
    fn header(&self, name: &str) -> Option<&str>;
}

impl<T: HeaderLookup + ?Sized> HeaderLookup for &T {
    fn header(&self, name: &str) -> Option<&str> {
        (**self).header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderLookup for [(K, V)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> HeaderLookup for [(K, V); N] {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderLookup for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

impl<V: AsRef<str>> HeaderLookup for BTreeMap<String, V> {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<V: AsRef<str>, S: BuildHasher> HeaderLookup for HashMap<String, V, S> {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

/// Authenticates one delivery of a sender scheme.
pub trait WebhookVerifier: Send + Sync {
    /// Short scheme name, e.g. `"standard-webhooks"`.
    fn scheme(&self) -> &'static str;

    /// Check `body` (the exact bytes received, before any parsing) against `headers`.
    ///
    /// `now_unix` is the receiver's clock in Unix seconds; it is passed in so verification is
    /// deterministic and testable.
    fn verify(
        &self,
        headers: &dyn HeaderLookup,
        body: &[u8],
        now_unix: i64,
    ) -> Result<VerifiedDelivery, VerifyError>;
}

/// What a successful verification established. Carries no signature material, so it can be
/// recorded in evidence as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedDelivery {
    /// Scheme that verified the delivery, e.g. `"standard-webhooks"`.
    pub scheme: &'static str,
    /// The sender's message id. Stable across retries of the same event, so it is the
    /// idempotency key for intake. Senders without an event id get `sha256:<hex>` of the
    /// authenticated bytes that identify the delivery (see each vendor module).
    pub delivery_id: String,
    /// The sender's signed timestamp of this attempt, Unix seconds. For schemes that sign no
    /// timestamp (the `method` says so) this is the receiver's clock at verification.
    pub timestamp_unix: i64,
    /// The method actually verified, in words, e.g.
    /// `"standard-webhooks v1 hmac-sha256 + timestamp ±300s"`.
    pub method: String,
    /// Index of the configured secret that matched. During a rotation this shows whether
    /// senders have moved to the new secret yet.
    pub secret_index: usize,
}

impl VerifiedDelivery {
    /// A delivery accepted without authentication, for a sender that cannot sign (the tenant
    /// opted in): it identifies itself by the digest of its body, so a repeat still dedupes,
    /// and its method says that nothing was verified.
    pub fn unauthenticated(scheme: &'static str, body: &[u8], now_unix: i64) -> Self {
        Self {
            scheme,
            delivery_id: checks::digest_id(&[body]),
            timestamp_unix: now_unix,
            method: format!(
                "{scheme}: not authenticated (tenant accepts unsigned hints); the HR record decides"
            ),
            secret_index: 0,
        }
    }
}

/// Why a delivery was refused.
///
/// Its [`code`](Classified::code) is a stable machine code; the `Display` message names the
/// problem for the person configuring the sender. Neither ever contains secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// A header the scheme requires is absent (or not visible ASCII).
    #[error("missing required header `{0}`")]
    MissingHeader(&'static str),
    /// A header is present but unusable.
    #[error("header `{header}` is invalid: {reason}")]
    InvalidHeader {
        header: &'static str,
        reason: String,
    },
    /// The timestamp header is not a plain non-negative integer of Unix seconds.
    #[error("webhook timestamp `{value}` is not an integer number of Unix seconds")]
    InvalidTimestamp { value: String },
    /// Signed too long ago: a replay, or a delivery stuck in a queue.
    #[error(
        "webhook timestamp is {age_secs} s old; deliveries older than {tolerance_secs} s are refused as possible replays"
    )]
    TimestampTooOld { age_secs: i64, tolerance_secs: u64 },
    /// Signed in the future: the sender's clock (or ours) is wrong.
    #[error(
        "webhook timestamp is {ahead_secs} s in the future (tolerance {tolerance_secs} s); check the sender's clock"
    )]
    TimestampInFuture {
        ahead_secs: i64,
        tolerance_secs: u64,
    },
    /// The signature header has no `version,signature` entry at all.
    #[error("signature header is malformed: expected space-separated `v1,<base64>` entries")]
    MalformedSignatureHeader,
    /// Well-formed signatures, but none in a version this verifier checks (e.g. only `v1a`).
    #[error("signature header has no `{expected}` entry; no supported signature version to check")]
    UnsupportedSignatureVersion { expected: &'static str },
    /// No signature matched any configured secret: wrong secret, or the body was altered.
    #[error(
        "no signature matched any configured secret (wrong secret, or the body was changed in transit)"
    )]
    NoValidSignature,
    /// A timestamp header in a vendor's own format could not be read.
    #[error("header `{header}` value `{value}` is not a timestamp; expected {expected}")]
    UnreadableTimestamp {
        header: &'static str,
        value: String,
        expected: &'static str,
    },
    /// A static-token scheme: the token sent matches no configured token.
    #[error("the `{header}` token matches no configured token")]
    TokenMismatch { header: &'static str },
}

impl Classified for VerifyError {
    /// Malformed when the request cannot be read; unauthenticated when it is well-formed but not
    /// authentic (or no longer fresh).
    fn kind(&self) -> ErrorKind {
        match self {
            Self::MissingHeader(_)
            | Self::InvalidHeader { .. }
            | Self::InvalidTimestamp { .. }
            | Self::UnreadableTimestamp { .. }
            | Self::MalformedSignatureHeader => ErrorKind::Malformed,
            Self::TimestampTooOld { .. }
            | Self::TimestampInFuture { .. }
            | Self::UnsupportedSignatureVersion { .. }
            | Self::NoValidSignature
            | Self::TokenMismatch { .. } => ErrorKind::Unauthenticated,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::MissingHeader(_) => "missing_header",
            Self::InvalidHeader { .. } => "invalid_header",
            Self::InvalidTimestamp { .. } | Self::UnreadableTimestamp { .. } => "invalid_timestamp",
            Self::TimestampTooOld { .. } => "stale_timestamp",
            Self::TimestampInFuture { .. } => "future_timestamp",
            Self::MalformedSignatureHeader => "malformed_signature_header",
            Self::UnsupportedSignatureVersion { .. } => "unsupported_signature_version",
            Self::NoValidSignature => "bad_signature",
            Self::TokenMismatch { .. } => "bad_token",
        }
    }
}
