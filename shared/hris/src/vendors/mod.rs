//! The HR vendors Passage accepts webhooks from: which verifier authenticates each, and what a
//! vendor's payload hints at.
//!
//! Vendor payloads are *hints*, never instructions: most are dataless (an employee id and an
//! event name), none carries a time zone, and the tokens-only vendors do not protect the body at
//! all. Intake verifies the delivery, reads a [`Hint`] from it, and then re-reads the employee
//! from the vendor's API before scheduling anything.

mod hint;
mod media;
mod payloads;

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

pub use hint::{Hint, HintError, HintKind};
pub use media::UnsupportedMediaType;

use crate::handshake::SubscriptionHandshake;
use crate::verify::BodyMacVerifier;
use crate::verify::bamboohr::BambooHrVerifier;
use crate::verify::finch::FinchVerifier;
use crate::verify::gusto::GustoHandshake;
use crate::verify::standard_webhooks::StandardWebhooksVerifier;
use crate::verify::static_token::StaticTokenVerifier;
use crate::verify::{ConfigError, WebhookVerifier};

/// A webhook sender Passage can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Vendor {
    /// Any sender of Passage's own `passage.leaver.v1` event, signed per Standard Webhooks.
    StandardWebhooks,
    BambooHr,
    HiBob,
    Gusto,
    Merge,
    Finch,
    Personio,
    Rippling,
}

impl Vendor {
    /// Every vendor, in documentation order.
    pub const ALL: [Vendor; 8] = [
        Self::StandardWebhooks,
        Self::BambooHr,
        Self::HiBob,
        Self::Gusto,
        Self::Merge,
        Self::Finch,
        Self::Personio,
        Self::Rippling,
    ];

    /// The configuration name, e.g. `"bamboohr"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StandardWebhooks => "standard-webhooks",
            Self::BambooHr => "bamboohr",
            Self::HiBob => "hibob",
            Self::Gusto => "gusto",
            Self::Merge => "merge",
            Self::Finch => "finch",
            Self::Personio => "personio",
            Self::Rippling => "rippling",
        }
    }

    /// The verifier for this vendor's deliveries, accepting any of `secrets` (two during a
    /// rotation; [`VerifiedDelivery::secret_index`](crate::VerifiedDelivery) says which
    /// matched). What a "secret" is differs per vendor: BambooHR private key, HiBob webhook
    /// secret, Gusto `verification_token`, Merge signature key, Finch webhook secret (base64),
    /// Personio/Rippling static token, Standard Webhooks `whsec_…` secret.
    pub fn verifier(self, secrets: &[&str]) -> Result<Box<dyn WebhookVerifier>, ConfigError> {
        Ok(match self {
            Self::StandardWebhooks => Box::new(StandardWebhooksVerifier::new(secrets)?),
            Self::BambooHr => Box::new(BambooHrVerifier::new(secrets)?),
            Self::HiBob => Box::new(BodyMacVerifier::hibob(secrets)?),
            Self::Gusto => Box::new(BodyMacVerifier::gusto(secrets)?),
            Self::Merge => Box::new(BodyMacVerifier::merge(secrets)?),
            Self::Finch => Box::new(FinchVerifier::new(secrets)?),
            Self::Personio => Box::new(StaticTokenVerifier::personio(secrets)?),
            Self::Rippling => Box::new(StaticTokenVerifier::rippling(secrets)?),
        })
    }

    /// How this vendor hands over its signing secret, if it does so in a subscription handshake
    /// (Gusto). Such a vendor's deliveries are also verified with the secrets learned that way.
    pub fn handshake(self) -> Option<&'static dyn SubscriptionHandshake> {
        match self {
            Self::Gusto => Some(&GustoHandshake),
            Self::StandardWebhooks
            | Self::BambooHr
            | Self::HiBob
            | Self::Merge
            | Self::Finch
            | Self::Personio
            | Self::Rippling => None,
        }
    }

    /// What a verified delivery's body hints at. Call only after the verifier accepted `body`.
    ///
    /// [`Vendor::StandardWebhooks`] deliveries carry Passage's own event, which has its own
    /// strict parser ([`LeaverEvent`](crate::LeaverEvent)); asking for a hint is an error.
    pub fn parse_hint(self, body: &[u8]) -> Result<Hint, HintError> {
        payloads::parse(self, body)
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Vendor {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A vendor name that is not one of [`Vendor::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown HR vendor `{given}`; expected one of: {}", valid_names())]
pub struct UnknownVendor {
    /// The name given (truncated to 64 characters).
    pub given: String,
}

fn valid_names() -> String {
    Vendor::ALL
        .iter()
        .map(|v| v.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for Vendor {
    type Err = UnknownVendor;

    /// Exact configuration names only (case-insensitive), so a typo is refused, not guessed.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        Vendor::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| UnknownVendor {
                given: name.chars().take(64).collect(),
            })
    }
}
