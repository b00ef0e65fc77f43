//! Gusto webhook verification.
//!
//! Gusto sends `X-Gusto-Signature`: hex HMAC-SHA256 of the raw body, keyed with the
//! `verification_token` received when the subscription was verified. No timestamp is signed, so
//! there is no replay window; the body's `uuid` (Gusto's event id, identical on redelivery) is
//! the delivery id, read only after the MAC has matched. Older payloads without `uuid` fall back
//! to `sha256:<hex of body>`, which still changes with the body's `timestamp`.
//!
//! The `verification_token` itself arrives in Gusto's subscription handshake: an unsigned
//! `{"verification_token": "..."}` posted to the subscription's address, recognised by
//! [`GustoHandshake`].

use serde::Deserialize;

use super::HeaderLookup;
use super::body_mac::{BodyMacVerifier, Encoding, Hash, Scheme};
use super::checks::usable_id;
use super::secrets::ConfigError;
use crate::handshake::{HandshakeToken, SubscriptionHandshake};

/// Header carrying the hex HMAC.
pub const HEADER_SIGNATURE: &str = "X-Gusto-Signature";

static SCHEME: Scheme = Scheme {
    name: "gusto",
    header: HEADER_SIGNATURE,
    hash: Hash::Sha256,
    encoding: Encoding::Hex,
    method: "gusto hmac-sha256 over body (hex, key = verification_token); no signed timestamp",
    event_id,
};

impl BodyMacVerifier {
    /// Gusto deliveries signed by any of the `verification_tokens`.
    pub fn gusto(verification_tokens: &[&str]) -> Result<Self, ConfigError> {
        Self::new(&SCHEME, verification_tokens)
    }
}

#[derive(Deserialize)]
struct EventId {
    uuid: Option<String>,
}

/// Gusto's event id, `uuid`, identical on redelivery.
fn event_id(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<EventId>(body)
        .ok()
        .and_then(|e| e.uuid)
        .and_then(|id| usable_id(&id))
}

/// Gusto's subscription handshake: a body of `{"verification_token": "..."}` with no
/// `X-Gusto-Signature` (Gusto cannot sign with a token the subscriber does not have yet).
pub struct GustoHandshake;

/// What Gusto's handshake is recorded as.
const HANDSHAKE_EVENT_TYPE: &str = "subscription.verification_token";

#[derive(Deserialize)]
struct Handshake {
    verification_token: String,
}

impl SubscriptionHandshake for GustoHandshake {
    fn recognise(&self, headers: &dyn HeaderLookup, body: &[u8]) -> Option<HandshakeToken> {
        if headers.header(HEADER_SIGNATURE).is_some() {
            return None;
        }
        let h: Handshake = serde_json::from_slice(body).ok()?;
        HandshakeToken::new(&h.verification_token, HANDSHAKE_EVENT_TYPE)
    }
}
