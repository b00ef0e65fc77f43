//! Finch webhook verification: the Standard Webhooks layout under `finch-` header names.
//!
//! Finch signs `{finch-event-id}.{finch-timestamp}.{body}` with HMAC-SHA256, keyed with the
//! base64 decoding of the webhook secret, and sends space-separated `v1,<base64>` entries in
//! `finch-signature` (several during a secret rotation). Timestamps outside ±300 s are refused,
//! as Finch's SDK does. `finch-event-id` is stable across retries and is the delivery id.

use super::checks::{VENDOR_TOLERANCE_SECS, hmac_sha256};
use super::secrets::{ConfigError, MacKey, base64_keys};
use super::standard_webhooks::{Layout, check_signed};
use super::{HeaderLookup, VerifiedDelivery, VerifyError, WebhookVerifier};

/// Header carrying the event id.
pub const HEADER_ID: &str = "finch-event-id";
/// Header carrying the attempt's Unix timestamp in seconds.
pub const HEADER_TIMESTAMP: &str = "finch-timestamp";
/// Header carrying the space-separated `v1,<base64>` signatures.
pub const HEADER_SIGNATURE: &str = "finch-signature";

const SCHEME: &str = "finch";

const LAYOUT: Layout = Layout {
    id: HEADER_ID,
    timestamp: HEADER_TIMESTAMP,
    signature: HEADER_SIGNATURE,
};

/// Verifies Finch deliveries against one or more webhook secrets.
#[derive(Debug, Clone)]
pub struct FinchVerifier {
    keys: Vec<MacKey>,
}

impl FinchVerifier {
    /// A verifier accepting a signature by any of `secrets` (base64, optionally `whsec_`-prefixed).
    pub fn new(secrets: &[&str]) -> Result<Self, ConfigError> {
        Ok(Self {
            keys: base64_keys(SCHEME, secrets)?,
        })
    }
}

impl WebhookVerifier for FinchVerifier {
    fn scheme(&self) -> &'static str {
        SCHEME
    }

    fn verify(
        &self,
        headers: &dyn HeaderLookup,
        body: &[u8],
        now_unix: i64,
    ) -> Result<VerifiedDelivery, VerifyError> {
        let signed = check_signed(
            LAYOUT,
            headers,
            body,
            now_unix,
            VENDOR_TOLERANCE_SECS,
            &self.keys,
            |key, id, timestamp, body| {
                hmac_sha256(
                    key,
                    &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
                )
            },
        )?;
        Ok(VerifiedDelivery {
            scheme: SCHEME,
            delivery_id: signed.id.to_owned(),
            timestamp_unix: signed.timestamp,
            method: format!(
                "finch v1 hmac-sha256 over id.timestamp.body + timestamp ±{VENDOR_TOLERANCE_SECS}s"
            ),
            secret_index: signed.key_index,
        })
    }
}
