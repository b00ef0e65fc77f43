//! HiBob (Bob webhooks v2) verification.
//!
//! Bob sends `Bob-Signature`: base64 HMAC-SHA512 of the raw body, keyed with the webhook secret
//! (UTF-8). Nothing time-bound is signed, so there is no replay window here: intake dedupes on
//! the delivery id and treats the event only as a hint to re-read the employee from Bob.
//!
//! Bob sends no event id; the delivery id is `sha256:<hex of body>`. A v2 body carries
//! `companyId`, `type`, the employee id and `triggeredAt`, so a retry of the same event has the
//! same id and distinct events differ.

use super::checks::{decode_base64, digest_id, hmac_sha512, matching_key, required};
use super::secrets::{BASE64_LENIENT, ConfigError, MacKey, text_keys};
use super::{HeaderLookup, VerifiedDelivery, VerifyError, WebhookVerifier};

/// Header carrying the base64 HMAC-SHA512.
pub const HEADER_SIGNATURE: &str = "Bob-Signature";

const SCHEME: &str = "hibob";
const MAC_LEN: usize = 64;

/// Verifies HiBob deliveries against one or more webhook secrets.
#[derive(Debug, Clone)]
pub struct HiBobVerifier {
    keys: Vec<MacKey>,
}

impl HiBobVerifier {
    /// A verifier accepting a signature by any of `secrets` (two during a rotation).
    pub fn new(secrets: &[&str]) -> Result<Self, ConfigError> {
        Ok(Self {
            keys: text_keys(SCHEME, secrets)?,
        })
    }
}

impl WebhookVerifier for HiBobVerifier {
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
        let received = decode_base64(
            HEADER_SIGNATURE,
            signature,
            MAC_LEN,
            &BASE64_LENIENT,
            "base64",
        )?;
        let index = matching_key(&self.keys, &received, |key| hmac_sha512(key, &[body]))
            .ok_or(VerifyError::NoValidSignature)?;
        Ok(VerifiedDelivery {
            scheme: SCHEME,
            delivery_id: digest_id(&[body]),
            timestamp_unix: now_unix,
            method: "hibob hmac-sha512 over body (base64); no signed timestamp".to_owned(),
            secret_index: index,
        })
    }
}
