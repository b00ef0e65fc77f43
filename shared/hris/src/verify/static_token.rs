//! Static-token "authentication" for vendors that do not sign webhooks: Personio
//! (`Authorization: <token>`) and Rippling (`Authorization: Bearer <token>`).
//!
//! A matching token shows only that the sender knows the token: the body is not
//! integrity-protected and nothing is time-bound. The recorded method therefore says
//! "token-authenticated, not MAC-authenticated", and such deliveries must only ever be hints to
//! re-read the employee from the vendor's API. (Some public code verifies an
//! `X-Personio-Signature` HMAC; Personio documents no such header, so none is checked.)
//!
//! Tokens are compared as SHA-256 digests in constant time, so neither content nor length leaks.
//!
//! Neither vendor sends an event id. Personio bodies carry `occurred_at`, so the delivery id is
//! `sha256:<hex of body>`. A Rippling body is only `event_name`, `id`, `company_id` and an
//! admin e-mail — two updates of the same employee days apart are byte-identical — so its id is
//! `sha256:<hex of body ‖ "|" ‖ receive time rounded down to 300 s>`: Rippling's duplicate
//! sends within that window dedupe, and a later genuine event is never mistaken for a replay.

use sha2::{Digest, Sha256};

use super::checks::{ct_eq, digest_id, required};
use super::secrets::{ConfigError, Token, tokens};
use super::{HeaderLookup, VerifiedDelivery, VerifyError, WebhookVerifier};

/// The header both vendors use.
pub const HEADER_AUTHORIZATION: &str = "Authorization";
/// Width of the receive-time bucket in Rippling delivery ids.
pub const RIPPLING_DEDUPE_WINDOW_SECS: i64 = 300;

/// Which vendor's token layout to expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenLayout {
    /// Personio: the header value is the token itself.
    Personio,
    /// Rippling: `Bearer <token>`.
    Rippling,
}

impl TokenLayout {
    fn scheme(self) -> &'static str {
        match self {
            Self::Personio => "personio",
            Self::Rippling => "rippling",
        }
    }
}

/// Checks a static token in `Authorization` against one or more configured tokens.
#[derive(Debug, Clone)]
pub struct StaticTokenVerifier {
    layout: TokenLayout,
    tokens: Vec<Token>,
}

impl StaticTokenVerifier {
    /// Personio: accepts `Authorization: <token>` for any of `tokens`.
    pub fn personio(tokens: &[&str]) -> Result<Self, ConfigError> {
        Self::new(TokenLayout::Personio, tokens)
    }

    /// Rippling: accepts `Authorization: Bearer <token>` for any of `tokens` (configured
    /// without the `Bearer ` prefix).
    pub fn rippling(tokens: &[&str]) -> Result<Self, ConfigError> {
        Self::new(TokenLayout::Rippling, tokens)
    }

    fn new(layout: TokenLayout, configured: &[&str]) -> Result<Self, ConfigError> {
        Ok(Self {
            layout,
            tokens: tokens(layout.scheme(), configured, layout == TokenLayout::Rippling)?,
        })
    }

    /// The layout this verifier expects.
    pub fn layout(&self) -> TokenLayout {
        self.layout
    }
}

impl WebhookVerifier for StaticTokenVerifier {
    fn scheme(&self) -> &'static str {
        self.layout.scheme()
    }

    fn verify(
        &self,
        headers: &dyn HeaderLookup,
        body: &[u8],
        now_unix: i64,
    ) -> Result<VerifiedDelivery, VerifyError> {
        let value = required(headers, HEADER_AUTHORIZATION)?;
        let sent = match self.layout {
            TokenLayout::Personio => value,
            TokenLayout::Rippling => value
                .split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token.trim())
                .filter(|token| !token.is_empty())
                .ok_or_else(|| VerifyError::InvalidHeader {
                    header: HEADER_AUTHORIZATION,
                    reason: "expected `Bearer <token>`".to_owned(),
                })?,
        };
        let sent_digest = Sha256::digest(sent.as_bytes());
        let index = self
            .tokens
            .iter()
            .position(|t| ct_eq(&Sha256::digest(t.as_str().as_bytes()), &sent_digest))
            .ok_or(VerifyError::TokenMismatch {
                header: HEADER_AUTHORIZATION,
            })?;
        let (delivery_id, method) = match self.layout {
            TokenLayout::Personio => (
                digest_id(&[body]),
                "personio static token in Authorization (token-authenticated, not MAC-authenticated; body not integrity-protected; no signed timestamp)",
            ),
            TokenLayout::Rippling => {
                let bucket = now_unix - now_unix.rem_euclid(RIPPLING_DEDUPE_WINDOW_SECS);
                (
                    digest_id(&[body, b"|", bucket.to_string().as_bytes()]),
                    "rippling static bearer token in Authorization (token-authenticated, not MAC-authenticated; body not integrity-protected; no signed timestamp)",
                )
            }
        };
        Ok(VerifiedDelivery {
            scheme: self.layout.scheme(),
            delivery_id,
            timestamp_unix: now_unix,
            method: method.to_owned(),
            secret_index: index,
        })
    }
}
