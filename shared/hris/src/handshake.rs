//! Subscription handshakes: vendors that hand over their signing secret by posting it.
//!
//! Some vendors (Gusto) do not let the subscriber choose the secret their deliveries are signed
//! with: they post it, unsigned, to the subscription's address and expect the subscriber to
//! confirm it through their API. Such a delivery is not an event and cannot be verified like
//! one. Each vendor's module recognises its own handshake ([`SubscriptionHandshake`]); what to
//! do with one — ask the vendor whether it issued the token, and keep the token only if it did —
//! is the same for every vendor and belongs to intake.

use std::fmt;

use crate::verify::HeaderLookup;

/// Longest token accepted from a handshake; longer ones are not a vendor's token.
pub const MAX_TOKEN_LEN: usize = 256;

/// Recognises one vendor's handshake delivery.
pub trait SubscriptionHandshake: Send + Sync {
    /// `Some` when this delivery is the vendor's handshake rather than an event. Nothing about
    /// it is authenticated: the token must be confirmed with the vendor before it is trusted.
    fn recognise(&self, headers: &dyn HeaderLookup, body: &[u8]) -> Option<HandshakeToken>;
}

/// The token a handshake delivery carries. `Debug` shows no part of it.
#[derive(Clone, PartialEq, Eq)]
pub struct HandshakeToken {
    token: String,
    event_type: &'static str,
}

impl HandshakeToken {
    /// A trimmed, non-empty token of at most [`MAX_TOKEN_LEN`] bytes; `None` otherwise.
    /// `event_type` is the vendor's own name for the handshake, recorded as the delivery's type.
    pub fn new(token: &str, event_type: &'static str) -> Option<Self> {
        let token = token.trim();
        (!token.is_empty() && token.len() <= MAX_TOKEN_LEN).then(|| Self {
            token: token.to_owned(),
            event_type,
        })
    }

    /// The token, to confirm with the vendor and then keep as a verification secret.
    pub fn expose(&self) -> &str {
        &self.token
    }

    /// The vendor's name for the handshake, e.g. `subscription.verification_token`.
    pub fn event_type(&self) -> &'static str {
        self.event_type
    }
}

impl fmt::Debug for HandshakeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandshakeToken")
            .field("token", &"[redacted]")
            .field("event_type", &self.event_type)
            .finish()
    }
}
