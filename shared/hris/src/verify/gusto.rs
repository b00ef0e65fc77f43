//! Gusto webhook verification.
//!
//! Gusto sends `X-Gusto-Signature`: hex HMAC-SHA256 of the raw body, keyed with the
//! `verification_token` received when the subscription was verified. No timestamp is signed, so
//! there is no replay window; the body's `uuid` (Gusto's event id, identical on redelivery) is
//! the delivery id, read only after the MAC has matched. Older payloads without `uuid` fall back
//! to `sha256:<hex of body>`, which still changes with the body's `timestamp`.

use serde::Deserialize;

use super::checks::{decode_hex, digest_id, hmac_sha256, matching_key, required, usable_id};
use super::secrets::{ConfigError, MacKey, text_keys};
use super::{HeaderLookup, VerifiedDelivery, VerifyError, WebhookVerifier};

/// Header carrying the hex HMAC.
pub const HEADER_SIGNATURE: &str = "X-Gusto-Signature";

const SCHEME: &str = "gusto";
const MAC_LEN: usize = 32;

/// Verifies Gusto deliveries against one or more verification tokens.
#[derive(Debug, Clone)]
pub struct GustoVerifier {
    keys: Vec<MacKey>,
}

impl GustoVerifier {
    /// A verifier accepting a signature by any of `verification_tokens`.
    pub fn new(verification_tokens: &[&str]) -> Result<Self, ConfigError> {
        Ok(Self {
            keys: text_keys(SCHEME, verification_tokens)?,
        })
    }
}

#[derive(Deserialize)]
struct EventId {
    uuid: Option<String>,
}

impl WebhookVerifier for GustoVerifier {
    fn scheme(&self) -> &'static str {
        SCHEME
    }

    fn verify(
        &self,
        headers: &dyn HeaderLookup,
        body: &[u8],
        now_unix: i64,
    ) -> Result<VerifiedDelivery, VerifyError> {
        let signature = required(headers, HEADER_SIGNATURE)?;
        let received = decode_hex(HEADER_SIGNATURE, signature, MAC_LEN)?;
        let index = matching_key(&self.keys, &received, |key| hmac_sha256(key, &[body]))
            .ok_or(VerifyError::NoValidSignature)?;
        let event_id = serde_json::from_slice::<EventId>(body)
            .ok()
            .and_then(|e| e.uuid)
            .and_then(|id| usable_id(&id));
        Ok(VerifiedDelivery {
            scheme: SCHEME,
            delivery_id: event_id.unwrap_or_else(|| digest_id(&[body])),
            timestamp_unix: now_unix,
            method:
                "gusto hmac-sha256 over body (hex, key = verification_token); no signed timestamp"
                    .to_owned(),
            secret_index: index,
        })
    }
}
