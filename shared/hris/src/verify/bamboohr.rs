//! BambooHR webhook verification.
//!
//! BambooHR sends `X-BambooHR-Signature`: lowercase hex HMAC-SHA256, keyed with the webhook's
//! private key, over the raw body immediately followed by the `X-BambooHR-Timestamp` value (body
//! first, no separator — BambooHR's own sample; guides that sign `timestamp.body` are wrong).
//! The timestamp is signed, so deliveries outside ±300 s are refused as replays.
//!
//! BambooHR's documentation only says the header is "the timestamp when the request was sent";
//! integrators observe Unix seconds, and some examples show RFC 3339. Both are accepted: the MAC
//! covers the header text exactly as sent, so accepting two spellings cannot be exploited.
//!
//! BambooHR sends no event id. The delivery id is `sha256:<hex of body ‖ timestamp>` — the
//! signed bytes — so a replay of the same delivery dedupes, while two deliveries with identical
//! bodies (form-encoded events carry no time of their own) stay distinct.

use jiff::Timestamp;

use super::checks::{
    VENDOR_TOLERANCE_SECS, check_window, decode_hex, digest_id, hmac_sha256, matching_key, required,
};
use super::secrets::{ConfigError, MacKey, text_keys};
use super::{HeaderLookup, VerifiedDelivery, VerifyError, WebhookVerifier};

/// Header carrying the hex HMAC.
pub const HEADER_SIGNATURE: &str = "X-BambooHR-Signature";
/// Header carrying the send time (signed).
pub const HEADER_TIMESTAMP: &str = "X-BambooHR-Timestamp";

const SCHEME: &str = "bamboohr";
const MAC_LEN: usize = 32;

/// Verifies BambooHR deliveries against one or more webhook private keys.
#[derive(Debug, Clone)]
pub struct BambooHrVerifier {
    keys: Vec<MacKey>,
}

impl BambooHrVerifier {
    /// A verifier accepting a signature by any of `private_keys` (two during a rotation).
    pub fn new(private_keys: &[&str]) -> Result<Self, ConfigError> {
        Ok(Self {
            keys: text_keys(SCHEME, private_keys)?,
        })
    }
}

impl WebhookVerifier for BambooHrVerifier {
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
        let timestamp_raw = required(headers, HEADER_TIMESTAMP)?;
        let timestamp = parse_timestamp(timestamp_raw)?;
        check_window(timestamp, now_unix, VENDOR_TOLERANCE_SECS)?;
        let received = decode_hex(HEADER_SIGNATURE, signature, MAC_LEN)?;
        let index = matching_key(&self.keys, &received, |key| {
            hmac_sha256(key, &[body, timestamp_raw.as_bytes()])
        })
        .ok_or(VerifyError::NoValidSignature)?;
        Ok(VerifiedDelivery {
            scheme: SCHEME,
            delivery_id: digest_id(&[body, timestamp_raw.as_bytes()]),
            timestamp_unix: timestamp,
            method: format!(
                "bamboohr hmac-sha256 over body‖timestamp (hex) + timestamp ±{VENDOR_TOLERANCE_SECS}s"
            ),
            secret_index: index,
        })
    }
}

/// Unix seconds (plain digits) or an RFC 3339 / ISO 8601 instant with an offset.
fn parse_timestamp(raw: &str) -> Result<i64, VerifyError> {
    let unreadable = || VerifyError::UnreadableTimestamp {
        header: HEADER_TIMESTAMP,
        value: raw.chars().take(40).collect(),
        expected: "Unix seconds or an ISO 8601 date-time with offset",
    };
    if raw.bytes().all(|b| b.is_ascii_digit()) {
        return raw.parse::<i64>().map_err(|_| unreadable());
    }
    raw.parse::<Timestamp>()
        .map(|t| t.as_second())
        .map_err(|_| unreadable())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_spellings() {
        assert_eq!(parse_timestamp("1700000000"), Ok(1_700_000_000));
        assert_eq!(parse_timestamp("2023-11-14T22:13:20Z"), Ok(1_700_000_000));
        assert_eq!(
            parse_timestamp("2023-11-14T22:13:20+00:00"),
            Ok(1_700_000_000)
        );
        assert_eq!(
            parse_timestamp("2023-11-14T23:13:20+0100"),
            Ok(1_700_000_000)
        );
        for bad in [
            "-5",
            "1.5",
            "yesterday",
            "2023-11-14T22:13:20",
            "99999999999999999999",
        ] {
            assert!(
                matches!(
                    parse_timestamp(bad),
                    Err(VerifyError::UnreadableTimestamp { .. })
                ),
                "{bad:?}"
            );
        }
    }
}
