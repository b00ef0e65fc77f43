//! Vendors that sign nothing but the raw body with an HMAC (HiBob, Merge, Gusto). They differ
//! only in the header, the hash, how the MAC is written and where an event id can be found, so
//! one verifier serves them all, told those four things by the vendor's module.

use super::checks::{decode_base64, decode_hex, digest_id, hmac_sha256, hmac_sha512, matching_key};
use super::secrets::{BASE64_LENIENT, BASE64URL_LENIENT, ConfigError, MacKey, text_keys};
use super::{HeaderLookup, VerifiedDelivery, VerifyError, WebhookVerifier};

/// The hash under the HMAC.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Hash {
    Sha256,
    Sha512,
}

/// How the MAC is written in the header.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Encoding {
    Hex,
    /// Standard base64, padding optional.
    Base64,
    /// URL-safe base64, padding optional.
    Base64Url,
}

/// One vendor's body-MAC scheme.
#[derive(Debug)]
pub(crate) struct Scheme {
    pub name: &'static str,
    pub header: &'static str,
    pub hash: Hash,
    pub encoding: Encoding,
    /// How the scheme is described in evidence.
    pub method: &'static str,
    /// The vendor's event id in a verified body, if it sends one; otherwise the delivery id is
    /// `sha256:<hex of body>`, which is the same for a redelivery of the same event.
    pub event_id: fn(&[u8]) -> Option<String>,
}

/// Verifies deliveries signed with an HMAC of the body by any of the configured secrets (two
/// during a rotation). Built by the vendor's module, e.g. [`BodyMacVerifier::hibob`].
#[derive(Debug, Clone)]
pub struct BodyMacVerifier {
    scheme: &'static Scheme,
    keys: Vec<MacKey>,
}

impl BodyMacVerifier {
    pub(crate) fn new(scheme: &'static Scheme, secrets: &[&str]) -> Result<Self, ConfigError> {
        Ok(Self {
            scheme,
            keys: text_keys(scheme.name, secrets)?,
        })
    }
}

/// No event id in the body: the delivery id is the body's digest.
pub(crate) fn no_event_id(_: &[u8]) -> Option<String> {
    None
}

impl WebhookVerifier for BodyMacVerifier {
    fn scheme(&self) -> &'static str {
        self.scheme.name
    }

    fn verify(
        &self,
        headers: &dyn HeaderLookup,
        body: &[u8],
        now_unix: i64,
    ) -> Result<VerifiedDelivery, VerifyError> {
        let s = self.scheme;
        let signature = super::checks::required(headers, s.header)?;
        let len = match s.hash {
            Hash::Sha256 => 32,
            Hash::Sha512 => 64,
        };
        let received = match s.encoding {
            Encoding::Hex => decode_hex(s.header, signature, len)?,
            Encoding::Base64 => decode_base64(s.header, signature, len, &BASE64_LENIENT, "base64")?,
            Encoding::Base64Url => {
                decode_base64(s.header, signature, len, &BASE64URL_LENIENT, "base64url")?
            }
        };
        let index = matching_key(&self.keys, &received, |key| match s.hash {
            Hash::Sha256 => hmac_sha256(key, &[body]),
            Hash::Sha512 => hmac_sha512(key, &[body]),
        })
        .ok_or(VerifyError::NoValidSignature)?;
        // Read only once the MAC has matched: an unsigned body says nothing.
        let delivery_id = (s.event_id)(body).unwrap_or_else(|| digest_id(&[body]));
        Ok(VerifiedDelivery {
            scheme: s.name,
            delivery_id,
            timestamp_unix: now_unix,
            method: s.method.to_owned(),
            secret_index: index,
        })
    }
}
