//! [Standard Webhooks](https://www.standardwebhooks.com/) `v1` (HMAC-SHA256) verification.
//!
//! The sender signs `webhook-id` + `.` + `webhook-timestamp` + `.` + raw body with each of its
//! current secrets and sends the results space-separated in `webhook-signature` as
//! `v1,<base64>` entries. Accepting several configured secrets at once lets a secret be rotated
//! without dropping deliveries. Timestamps outside ±5 minutes (every official library's
//! default) are refused so a captured delivery cannot be replayed later.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::checks::{check_window, ct_eq, required};
use super::secrets::BASE64_LENIENT;
use super::{HeaderLookup, VerifiedDelivery, VerifyError, WebhookVerifier};

/// Header carrying the message id (stable across retries).
pub const HEADER_ID: &str = "webhook-id";
/// Header carrying the attempt's Unix timestamp in seconds.
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// Header carrying the space-separated signatures.
pub const HEADER_SIGNATURE: &str = "webhook-signature";
/// Default allowed clock difference, both directions.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;
/// Longest `webhook-id` accepted; ids are stored as idempotency keys.
pub const MAX_ID_LEN: usize = 256;

const SCHEME: &str = "standard-webhooks";
const VERSION: &str = "v1";
const MAC_LEN: usize = 32;

/// Where a sender using the Standard Webhooks layout puts the id, timestamp and signatures.
/// Finch uses the same layout under its own header names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    pub id: &'static str,
    pub timestamp: &'static str,
    pub signature: &'static str,
}

/// The specification's own header names.
const LAYOUT: Layout = Layout {
    id: HEADER_ID,
    timestamp: HEADER_TIMESTAMP,
    signature: HEADER_SIGNATURE,
};

/// A delivery whose `v1` signature matched one of the keys.
pub(crate) struct Signed<'h> {
    pub id: &'h str,
    pub timestamp: i64,
    /// Which configured key signed it.
    pub key_index: usize,
}

type HmacSha256 = Hmac<Sha256>;

/// Why a configured secret was refused. Raised when the verifier is built, so a bad secret is a
/// startup error rather than every delivery failing with `bad_signature`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// No secrets were configured; every delivery would be refused.
    #[error("no webhook secrets configured")]
    NoSecrets,
    /// The secret is empty (or only the `whsec_` prefix).
    #[error("webhook secret is empty; expected `whsec_` followed by base64")]
    Empty,
    /// A Standard Webhooks ed25519 key (`whsk_`/`whpk_`), which this verifier does not use.
    #[error(
        "webhook secret starts with `{prefix}`, an ed25519 (v1a) key; only HMAC secrets (`whsec_…`) are supported"
    )]
    AsymmetricKey { prefix: &'static str },
    /// The part after `whsec_` is not standard base64.
    #[error("webhook secret is not valid base64 after the `whsec_` prefix: {reason}")]
    InvalidBase64 { reason: String },
    /// The decoded key is outside the 24–64 bytes the specification requires.
    #[error(
        "webhook secret decodes to {len} bytes; Standard Webhooks secrets are 24 to 64 random bytes"
    )]
    WrongLength { len: usize },
}

impl SecretError {
    /// Stable machine-readable code for configuration diagnostics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoSecrets => "no_secrets",
            Self::Empty => "empty_secret",
            Self::AsymmetricKey { .. } => "unsupported_secret_kind",
            Self::InvalidBase64 { .. } => "invalid_secret_encoding",
            Self::WrongLength { .. } => "invalid_secret_length",
        }
    }
}

/// A Standard Webhooks HMAC secret (`whsec_` + base64 of 24–64 random bytes).
///
/// `Debug` never prints the key.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    key: Vec<u8>,
}

impl WebhookSecret {
    /// Prefix of the serialised form.
    pub const PREFIX: &'static str = "whsec_";
    /// Shortest key the specification allows.
    pub const MIN_BYTES: usize = 24;
    /// Longest key the specification allows.
    pub const MAX_BYTES: usize = 64;

    /// Parse `whsec_<base64>`. Surrounding whitespace (a trailing newline from a secrets file) is
    /// ignored, and so is a missing `whsec_` prefix, as in the official libraries.
    pub fn parse(secret: &str) -> Result<Self, SecretError> {
        let secret = secret.trim();
        for prefix in ["whsk_", "whpk_"] {
            if secret.starts_with(prefix) {
                return Err(SecretError::AsymmetricKey { prefix });
            }
        }
        let encoded = secret.strip_prefix(Self::PREFIX).unwrap_or(secret);
        if encoded.is_empty() {
            return Err(SecretError::Empty);
        }
        let key = BASE64_LENIENT
            .decode(encoded)
            .map_err(|e| SecretError::InvalidBase64 {
                // The decoder's own message quotes the offending character, which is part of
                // the secret; say only what kind of problem it is.
                reason: match e {
                    base64::DecodeError::InvalidByte(..) => "a character outside base64",
                    base64::DecodeError::InvalidLength(_) => "impossible length",
                    base64::DecodeError::InvalidLastSymbol(..) => "invalid final character",
                    base64::DecodeError::InvalidPadding => "invalid padding",
                }
                .to_owned(),
            })?;
        Self::from_bytes(&key)
    }

    /// A secret from raw key bytes (e.g. freshly generated by the caller's RNG).
    pub fn from_bytes(key: &[u8]) -> Result<Self, SecretError> {
        if !(Self::MIN_BYTES..=Self::MAX_BYTES).contains(&key.len()) {
            return Err(SecretError::WrongLength { len: key.len() });
        }
        Ok(Self { key: key.to_vec() })
    }

    /// The serialised form, `whsec_` + padded base64, to hand to a sender.
    pub fn to_whsec(&self) -> String {
        format!("{}{}", Self::PREFIX, STANDARD.encode(&self.key))
    }

    fn mac(&self, id: &str, timestamp: &str, body: &[u8]) -> [u8; MAC_LEN] {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC accepts any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookSecret(<{} bytes redacted>)", self.key.len())
    }
}

impl FromStr for WebhookSecret {
    type Err = SecretError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The `webhook-signature` value (`v1,<base64>`) for one delivery, as a sender computes it.
pub fn sign(secret: &WebhookSecret, id: &str, timestamp_unix: i64, body: &[u8]) -> String {
    let mac = secret.mac(id, &timestamp_unix.to_string(), body);
    format!("{VERSION},{}", STANDARD.encode(mac))
}

/// The three headers of a signed delivery, ready to send (or to feed a verifier in tests).
pub fn signed_headers(
    secret: &WebhookSecret,
    id: &str,
    timestamp_unix: i64,
    body: &[u8],
) -> Vec<(String, String)> {
    vec![
        (HEADER_ID.to_owned(), id.to_owned()),
        (HEADER_TIMESTAMP.to_owned(), timestamp_unix.to_string()),
        (
            HEADER_SIGNATURE.to_owned(),
            sign(secret, id, timestamp_unix, body),
        ),
    ]
}

/// Verifies Standard Webhooks `v1` deliveries against one or more secrets.
#[derive(Debug, Clone)]
pub struct StandardWebhooksVerifier {
    secrets: Vec<WebhookSecret>,
    tolerance_secs: u64,
}

impl StandardWebhooksVerifier {
    /// A verifier accepting a signature by any of `secrets` (`whsec_…` strings). Two secrets are
    /// configured during a rotation: the outgoing one and its replacement.
    pub fn new<I, S>(secrets: I) -> Result<Self, SecretError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let secrets = secrets
            .into_iter()
            .map(|s| WebhookSecret::parse(s.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_secrets(secrets)
    }

    /// A verifier over already parsed secrets.
    pub fn from_secrets(secrets: Vec<WebhookSecret>) -> Result<Self, SecretError> {
        if secrets.is_empty() {
            return Err(SecretError::NoSecrets);
        }
        Ok(Self {
            secrets,
            tolerance_secs: DEFAULT_TOLERANCE_SECS,
        })
    }

    /// Change the allowed clock difference (both directions) from the default 300 s.
    #[must_use]
    pub fn with_tolerance_secs(mut self, tolerance_secs: u64) -> Self {
        self.tolerance_secs = tolerance_secs;
        self
    }

    /// The allowed clock difference in seconds.
    pub fn tolerance_secs(&self) -> u64 {
        self.tolerance_secs
    }
}

impl WebhookVerifier for StandardWebhooksVerifier {
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
            self.tolerance_secs,
            &self.secrets,
            |secret, id, timestamp, body| secret.mac(id, timestamp, body).to_vec(),
        )?;
        Ok(VerifiedDelivery {
            scheme: SCHEME,
            delivery_id: signed.id.to_owned(),
            timestamp_unix: signed.timestamp,
            method: format!(
                "{SCHEME} {VERSION} hmac-sha256 + timestamp ±{}s",
                self.tolerance_secs
            ),
            secret_index: signed.key_index,
        })
    }
}

/// The Standard Webhooks check under `layout`'s header names: the id is well formed, the
/// timestamp is within ±`tolerance_secs` of now, and one of the `v1` signatures is the MAC of
/// `id.timestamp.body` under one of `keys` (`mac` computes it). Every candidate is compared in
/// constant time; stopping at a match only reveals that the delivery was authentic, which the
/// response says anyway.
pub(crate) fn check_signed<'h, K>(
    layout: Layout,
    headers: &'h dyn HeaderLookup,
    body: &[u8],
    now_unix: i64,
    tolerance_secs: u64,
    keys: &[K],
    mac: impl Fn(&K, &str, &str, &[u8]) -> Vec<u8>,
) -> Result<Signed<'h>, VerifyError> {
    let id = required(headers, layout.id)?;
    let timestamp_raw = required(headers, layout.timestamp)?;
    let signature_header = required(headers, layout.signature)?;
    check_id_for(layout.id, id)?;
    let timestamp = parse_timestamp(timestamp_raw)?;
    check_window(timestamp, now_unix, tolerance_secs)?;
    let candidates = v1_signatures(signature_header)?;
    let key_index = keys
        .iter()
        .position(|key| {
            let expected = mac(key, id, timestamp_raw, body);
            candidates.iter().any(|c| ct_eq(c, &expected))
        })
        .ok_or(VerifyError::NoValidSignature)?;
    Ok(Signed {
        id,
        timestamp,
        key_index,
    })
}

/// The id is part of the signed content (`id.timestamp.body`), so the specification forbids `.`
/// in it; it is also stored as an idempotency key, so it must be short and printable.
fn check_id_for(header: &'static str, id: &str) -> Result<(), VerifyError> {
    let invalid = |reason: &str| VerifyError::InvalidHeader {
        header,
        reason: reason.to_owned(),
    };
    if id.len() > MAX_ID_LEN {
        return Err(invalid("longer than 256 bytes"));
    }
    if id.contains('.') {
        return Err(invalid("must not contain `.`"));
    }
    if !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid("must be printable ASCII without spaces"));
    }
    Ok(())
}

/// Plain decimal Unix seconds. Signs, leading zeros and fractions are refused: the signed content
/// uses the header text, so it must have exactly one spelling.
fn parse_timestamp(raw: &str) -> Result<i64, VerifyError> {
    let well_formed = !raw.is_empty()
        && raw.bytes().all(|b| b.is_ascii_digit())
        && (raw == "0" || !raw.starts_with('0'));
    well_formed
        .then(|| raw.parse::<i64>().ok())
        .flatten()
        .ok_or_else(|| VerifyError::InvalidTimestamp {
            value: raw.chars().take(40).collect(),
        })
}

/// Decoded `v1` signatures from the header. Entries of other versions (`v1a`, future ones) are
/// skipped; an entry whose value is not base64 is kept as an impossible candidate so that it
/// counts as "a v1 signature that did not match" rather than vanishing.
fn v1_signatures(header: &str) -> Result<Vec<Vec<u8>>, VerifyError> {
    let entries: Vec<(&str, &str)> = header
        .split_ascii_whitespace()
        .filter_map(|entry| entry.split_once(','))
        .collect();
    if entries.is_empty() {
        return Err(VerifyError::MalformedSignatureHeader);
    }
    let v1: Vec<Vec<u8>> = entries
        .iter()
        .filter(|(version, _)| *version == VERSION)
        .map(|(_, value)| BASE64_LENIENT.decode(value).unwrap_or_default())
        .collect();
    if v1.is_empty() {
        return Err(VerifyError::UnsupportedSignatureVersion { expected: VERSION });
    }
    Ok(v1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_spelling_is_strict() {
        assert_eq!(parse_timestamp("1614265330"), Ok(1_614_265_330));
        assert_eq!(parse_timestamp("0"), Ok(0));
        for bad in [
            "",
            "-5",
            "+5",
            "01614265330",
            "1.5",
            "1e9",
            "abc",
            "99999999999999999999",
        ] {
            assert!(
                matches!(
                    parse_timestamp(bad),
                    Err(VerifyError::InvalidTimestamp { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn signature_entries_of_other_versions_are_skipped() {
        assert_eq!(
            v1_signatures("v1a,AAAA v2,AAAA"),
            Err(VerifyError::UnsupportedSignatureVersion { expected: "v1" })
        );
        assert_eq!(
            v1_signatures("garbage"),
            Err(VerifyError::MalformedSignatureHeader)
        );
        assert_eq!(
            v1_signatures("v2,AAAA  v1,AAAA").unwrap(),
            vec![vec![0, 0, 0]]
        );
    }

    #[test]
    fn secret_debug_is_redacted() {
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(format!("{secret:?}"), "WebhookSecret(<24 bytes redacted>)");
    }
}
