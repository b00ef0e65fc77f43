//! Merge (unified HRIS) webhook verification.
//!
//! Merge sends `X-Merge-Webhook-Signature`: base64url HMAC-SHA256 of the raw body, keyed with the
//! organisation's webhook signature key. Padding is accepted present or absent, since
//! integrators and proxies differ. No timestamp is signed, so there is no replay window.
//!
//! Merge sends no event id. The delivery id is `sha256:<hex of body>`: a "changed data" body is
//! the whole common-model record including `modified_at`, so a redelivery dedupes and a later
//! change does not.

use super::body_mac::{BodyMacVerifier, Encoding, Hash, Scheme, no_event_id};
use super::secrets::ConfigError;

/// Header carrying the base64url HMAC.
pub const HEADER_SIGNATURE: &str = "X-Merge-Webhook-Signature";

static SCHEME: Scheme = Scheme {
    name: "merge",
    header: HEADER_SIGNATURE,
    hash: Hash::Sha256,
    encoding: Encoding::Base64Url,
    method: "merge hmac-sha256 over body (base64url); no signed timestamp",
    event_id: no_event_id,
};

impl BodyMacVerifier {
    /// Merge deliveries signed by any of the organisation's `signature_keys`.
    pub fn merge(signature_keys: &[&str]) -> Result<Self, ConfigError> {
        Self::new(&SCHEME, signature_keys)
    }
}
