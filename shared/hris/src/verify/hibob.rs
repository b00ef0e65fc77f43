//! HiBob (Bob webhooks v2) verification.
//!
//! Bob sends `Bob-Signature`: base64 HMAC-SHA512 of the raw body, keyed with the webhook secret
//! (UTF-8). Nothing time-bound is signed, so there is no replay window here: intake dedupes on
//! the delivery id and treats the event only as a hint to re-read the employee from Bob.
//!
//! Bob sends no event id; the delivery id is `sha256:<hex of body>`. A v2 body carries
//! `companyId`, `type`, the employee id and `triggeredAt`, so a retry of the same event has the
//! same id and distinct events differ.

use super::body_mac::{BodyMacVerifier, Encoding, Hash, Scheme, no_event_id};
use super::secrets::ConfigError;

/// Header carrying the base64 HMAC-SHA512.
pub const HEADER_SIGNATURE: &str = "Bob-Signature";

static SCHEME: Scheme = Scheme {
    name: "hibob",
    header: HEADER_SIGNATURE,
    hash: Hash::Sha512,
    encoding: Encoding::Base64,
    method: "hibob hmac-sha512 over body (base64); no signed timestamp",
    event_id: no_event_id,
};

impl BodyMacVerifier {
    /// HiBob deliveries signed by any of the webhook `secrets`.
    pub fn hibob(secrets: &[&str]) -> Result<Self, ConfigError> {
        Self::new(&SCHEME, secrets)
    }
}
