//! Merge (unified HRIS) webhook verification.
//!
//! Merge sends `X-Merge-Webhook-Signature`: base64url HMAC-SHA256 of the raw body, keyed with the
//! organisation's webhook signature key. Padding is accepted present or absent, since
//! integrators and proxies differ. No timestamp is signed, so there is no replay window.
//!
//! Merge sends no event id. The delivery id is `sha256:<hex of body>`: a "changed data" body is
//! the whole common-model record including `modified_at`, so a redelivery dedupes and a later
//! change does not.

use super::checks::{decode_base64, digest_id, hmac_sha256, matching_key, required};
use super::secrets::{BASE64URL_LENIENT, ConfigError, MacKey, text_keys};
use super::{HeaderLookup, VerifiedDelivery, VerifyError, WebhookVerifier};

/// Header carrying the base64url HMAC.
pub const HEADER_SIGNATURE: &str = "X-Merge-Webhook-Signature";

const SCHEME: &str = "merge";
const MAC_LEN: usize = 32;

/// Verifies Merge deliveries against one or more webhook signature keys.
#[derive(Debug, Clone)]
pub struct MergeVerifier {
    keys: Vec<MacKey>,
}

impl MergeVerifier {
    /// A verifier accepting a signature by any of `signature_keys`.
    pub fn new(signature_keys: &[&str]) -> Result<Self, ConfigError> {
        Ok(Self {
            keys: text_keys(SCHEME, signature_keys)?,
        })
    }
}

impl WebhookVerifier for MergeVerifier {
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
            &BASE64URL_LENIENT,
            "base64url",
        )?;
        let index = matching_key(&self.keys, &received, |key| hmac_sha256(key, &[body]))
            .ok_or(VerifyError::NoValidSignature)?;
        Ok(VerifiedDelivery {
            scheme: SCHEME,
            delivery_id: digest_id(&[body]),
            timestamp_unix: now_unix,
            method: "merge hmac-sha256 over body (base64url); no signed timestamp".to_owned(),
            secret_index: index,
        })
    }
}
