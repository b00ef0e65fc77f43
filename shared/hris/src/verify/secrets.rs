//! Configured webhook secrets for the vendor schemes, and why one can be refused.
//!
//! Secrets are checked when a verifier is built, so a bad one is a startup error naming which
//! secret (by position) is wrong and why, instead of every delivery failing later. No message or
//! `Debug` output ever contains secret material.

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::standard_webhooks::SecretError;

/// Standard base64, padded or not: senders and dashboards differ on padding.
pub(crate) const BASE64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// URL-safe base64, padded or not (Merge signatures; integrators strip the padding).
pub(crate) const BASE64URL_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a verifier could not be built from its configured secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// No secret at all: every delivery would be refused.
    #[error("no secrets configured for `{vendor}`; configure at least one (two during a rotation)")]
    NoSecrets { vendor: &'static str },
    /// One secret cannot be used. `index` is its position in the configured list.
    #[error("secret #{index} for `{vendor}` is unusable: {reason}")]
    UnusableSecret {
        vendor: &'static str,
        index: usize,
        reason: String,
    },
    /// A Standard Webhooks secret was refused.
    #[error("secret for `standard-webhooks` is unusable: {0}")]
    StandardWebhooks(#[from] SecretError),
}

impl ConfigError {
    /// Stable machine-readable code for configuration diagnostics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoSecrets { .. } => "no_secrets",
            Self::UnusableSecret { .. } => "unusable_secret",
            Self::StandardWebhooks(e) => e.code(),
        }
    }
}

/// Key bytes for an HMAC. `Debug` prints only the length.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct MacKey(Vec<u8>);

impl MacKey {
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MacKey(<{} bytes redacted>)", self.0.len())
    }
}

/// A static token compared against a request header. `Debug` prints only the length.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Token(String);

impl Token {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token(<{} bytes redacted>)", self.0.len())
    }
}

/// The configured list, each entry trimmed (a trailing newline from a secrets file is not part
/// of the secret) and checked with `parse`.
pub(crate) fn parse_all<T>(
    vendor: &'static str,
    secrets: &[&str],
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, ConfigError> {
    if secrets.is_empty() {
        return Err(ConfigError::NoSecrets { vendor });
    }
    secrets
        .iter()
        .enumerate()
        .map(|(index, raw)| {
            let trimmed = raw.trim();
            let parsed = if trimmed.is_empty() {
                Err("it is empty".to_owned())
            } else {
                parse(trimmed)
            };
            parsed.map_err(|reason| ConfigError::UnusableSecret {
                vendor,
                index,
                reason,
            })
        })
        .collect()
}

/// Vendors whose HMAC key is the secret text itself (BambooHR private key, HiBob secret, Gusto
/// verification token, Merge signature key).
pub(crate) fn text_keys(
    vendor: &'static str,
    secrets: &[&str],
) -> Result<Vec<MacKey>, ConfigError> {
    parse_all(vendor, secrets, |s| Ok(MacKey(s.as_bytes().to_vec())))
}

/// Vendors whose HMAC key is the base64 decoding of the secret (Finch, as Standard Webhooks);
/// an optional `whsec_` prefix is ignored.
pub(crate) fn base64_keys(
    vendor: &'static str,
    secrets: &[&str],
) -> Result<Vec<MacKey>, ConfigError> {
    parse_all(vendor, secrets, |s| {
        let encoded = s.strip_prefix("whsec_").unwrap_or(s);
        let key = BASE64_LENIENT
            .decode(encoded)
            // The decoder's message quotes the offending character, which is part of the secret.
            .map_err(|_| "it is not base64 (after an optional `whsec_` prefix)".to_owned())?;
        if key.is_empty() {
            return Err("it decodes to zero bytes".to_owned());
        }
        Ok(MacKey(key))
    })
}

/// Static tokens sent verbatim in a header. Whitespace inside a token cannot survive an HTTP
/// header intact, so such a token could never match.
pub(crate) fn tokens(
    vendor: &'static str,
    secrets: &[&str],
    refuse_bearer_prefix: bool,
) -> Result<Vec<Token>, ConfigError> {
    parse_all(vendor, secrets, |s| {
        if refuse_bearer_prefix
            && s.get(..7)
                .is_some_and(|p| p.eq_ignore_ascii_case("bearer "))
        {
            return Err("configure the token without the `Bearer ` prefix".to_owned());
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("it contains whitespace or control characters".to_owned());
        }
        Ok(Token(s.to_owned()))
    })
}
