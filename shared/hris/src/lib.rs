//! HR webhook intake for Passage.
//!
//! An HR system tells Passage that someone is leaving by POSTing a webhook. Everything Passage
//! then does to that person's accounts rests on two facts established here:
//!
//! 1. **the delivery is authentic** — [`verify`] checks the sender's signature over the exact raw
//!    bytes and refuses stale or future-dated deliveries (replays), and reports precisely *which*
//!    method was verified so the evidence bundle can say so;
//! 2. **the event means one thing** — [`event`] parses Passage's own `passage.leaver.v1` format
//!    strictly (unknown or duplicate fields, bad dates, unknown time zones are all refused, every
//!    problem listed at once), so a typo never becomes a wrong cut-off.
//!
//! Vendor HR systems (BambooHR, HiBob, Gusto, Merge, Finch, Personio, Rippling) send their own
//! payloads under their own schemes: [`Vendor`] picks the verifier and reads a [`Hint`] — what
//! happened to which employee — that intake confirms against the vendor's API before acting.
//! A vendor that hands over its signing secret by posting it (Gusto) recognises that delivery in
//! its own module, as a [`handshake`].
//!
//! Every error a caller sees is [`Classified`]: a stable code, a message, and an [`ErrorKind`]
//! from which the host decides how to answer.
//!
//! [`evidence`] turns a verified, parsed delivery into the record that may enter an evidence
//! bundle: no signature headers, and a SHA-256 of the raw body to tie it to what was received.
//!
//! The crate does no I/O: no files, network or clock. Callers pass `now` in, and time zones come
//! from the tz database compiled into the binary, so results do not depend on the host.

mod error_kind;
pub mod event;
pub mod evidence;
pub mod handshake;
pub mod vendors;
pub mod verify;

pub use error_kind::{Classified, ErrorKind};
pub use event::leaver::{LEAVER_EVENT_TYPE, LEAVER_EVENT_V1_SCHEMA, LeaverEvent, Manager};
pub use event::{DateWindow, EventError, MAX_BODY_BYTES, Problem, ProblemKind};
pub use evidence::{body_sha256_hex, intake_record, redacted_event};
pub use handshake::{HandshakeToken, SubscriptionHandshake};
pub use vendors::{Hint, HintError, HintKind, UnknownVendor, UnsupportedMediaType, Vendor};
pub use verify::BodyMacVerifier;
pub use verify::bamboohr::BambooHrVerifier;
pub use verify::finch::FinchVerifier;
pub use verify::standard_webhooks::{
    SecretError, StandardWebhooksVerifier, WebhookSecret, sign, signed_headers,
};
pub use verify::static_token::{StaticTokenVerifier, TokenLayout};
pub use verify::{
    ConfigError, HeaderLookup, VENDOR_TOLERANCE_SECS, VerifiedDelivery, VerifyError,
    WebhookVerifier,
};
