//! A tenant's published signing keys, with the period each was allowed to sign in.
//!
//! The key set is the anchor a bundle's signature is judged against: a signature proves only
//! that whoever held the key signed, so an auditor must know, from somewhere other than the
//! bundle, which keys are the tenant's. Passage publishes the set (`passage keys export`,
//! `GET /v1/tenants/{tenant}/keys.json`, with auditor downloads) and changes it only by a
//! rotation recorded in the tenant's chain.

use super::build::public_key_fingerprint;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The key set's `schema` value.
pub const KEYSET_SCHEMA: &str = "passage.keyset/v1";

/// A tenant's signing keys, oldest first; the last one without `valid_until` is current.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySet {
    pub schema: String,
    pub tenant: String,
    pub keys: Vec<PublishedKey>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedKey {
    /// SHA-256 of the DER public key: what `openssl pkey -pubin -outform DER | sha256sum` prints.
    pub key_sha256: String,
    /// The signer's own name for the key (a file fingerprint or a KMS key ARN).
    pub key_id: String,
    pub public_key_pem: String,
    /// The first moment the key may sign. `None` for a key that signed before key sets were
    /// published (an installation key adopted for a tenant that already had bundles).
    pub valid_from: Option<Timestamp>,
    /// The last moment the key may sign: the time of the rotation statement that retired it.
    /// `None` while the key is current.
    pub valid_until: Option<Timestamp>,
    /// The chain sequence of the rotation statement that introduced the key; `None` for the
    /// tenant's first key.
    pub introduced_at_sequence: Option<u64>,
}

/// Why a key may not have signed something.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyTrustError {
    #[error("key {key} is not in the trusted key set")]
    Unknown { key: String },
    #[error("key {key} signed at {at}, outside its validity ({from} to {until})")]
    OutsideValidity {
        key: String,
        at: String,
        from: String,
        until: String,
    },
    #[error("the trusted key set is for tenant {expected}, not {found}")]
    OtherTenant { expected: String, found: String },
}

impl PublishedKey {
    /// A key from its public PEM, valid from `valid_from` on.
    pub fn from_pem(
        key_id: &str,
        pem: &str,
        valid_from: Option<Timestamp>,
        introduced_at_sequence: Option<u64>,
    ) -> Result<Self, String> {
        Ok(Self {
            key_sha256: public_key_fingerprint(pem)?,
            key_id: key_id.to_owned(),
            public_key_pem: pem.to_owned(),
            valid_from,
            valid_until: None,
            introduced_at_sequence,
        })
    }

    fn covers(&self, at: Timestamp) -> bool {
        self.valid_from.is_none_or(|from| from <= at) && self.valid_until.is_none_or(|u| at <= u)
    }
}

impl KeySet {
    /// A tenant's set with its first key.
    pub fn first(tenant: &str, key: PublishedKey) -> Self {
        Self {
            schema: KEYSET_SCHEMA.to_owned(),
            tenant: tenant.to_owned(),
            keys: vec![key],
        }
    }

    /// The key that signs now.
    pub fn current(&self) -> Option<&PublishedKey> {
        self.keys.iter().rev().find(|k| k.valid_until.is_none())
    }

    pub fn find(&self, key_sha256: &str) -> Option<&PublishedKey> {
        self.keys
            .iter()
            .find(|k| k.key_sha256.eq_ignore_ascii_case(key_sha256))
    }

    /// The set after the rotation statement at `sequence`, signed at `at`, retired the current
    /// key in favour of `next`. Applying the same rotation twice changes nothing, so a rotation
    /// interrupted after publishing can be completed by simply doing it again.
    pub fn rotated(&self, mut next: PublishedKey, at: Timestamp, sequence: u64) -> Self {
        let mut set = self.clone();
        if set.find(&next.key_sha256).is_some() {
            return set;
        }
        for key in set.keys.iter_mut().filter(|k| k.valid_until.is_none()) {
            key.valid_until = Some(at);
        }
        next.valid_from = Some(at);
        next.valid_until = None;
        next.introduced_at_sequence = Some(sequence);
        set.keys.push(next);
        set
    }

    /// Reads a key set (JSON) or a plain PEM public key, which is trusted without limits.
    pub fn parse_trusted(bytes: &[u8]) -> Result<TrustedKeys, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned())?;
        if text.trim_start().starts_with("-----BEGIN") {
            let key_sha256 = public_key_fingerprint(text)?;
            return Ok(TrustedKeys::fingerprints(&[key_sha256]));
        }
        let set: KeySet =
            serde_json::from_str(text).map_err(|e| format!("not a key set or PEM key: {e}"))?;
        if set.schema != KEYSET_SCHEMA {
            return Err(format!("unknown key set schema {:?}", set.schema));
        }
        for key in &set.keys {
            let found = public_key_fingerprint(&key.public_key_pem)?;
            if !found.eq_ignore_ascii_case(&key.key_sha256) {
                return Err(format!(
                    "key {} in the set has the public key of {found}",
                    key.key_sha256
                ));
            }
        }
        Ok(TrustedKeys {
            tenant: Some(set.tenant),
            keys: set.keys,
        })
    }
}

/// The keys a verifier trusts: a published key set, or bare keys or fingerprints an auditor
/// pinned (trusted at any time, for any tenant).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedKeys {
    pub tenant: Option<String>,
    pub keys: Vec<PublishedKey>,
}

impl TrustedKeys {
    /// Keys known only by fingerprint, valid at any time.
    pub fn fingerprints(fingerprints: &[String]) -> Self {
        Self {
            tenant: None,
            keys: fingerprints
                .iter()
                .map(|f| PublishedKey {
                    key_sha256: f.to_ascii_lowercase(),
                    key_id: String::new(),
                    public_key_pem: String::new(),
                    valid_from: None,
                    valid_until: None,
                    introduced_at_sequence: None,
                })
                .collect(),
        }
    }

    /// Adds another source's keys (several `--trusted-keys` files).
    pub fn merge(&mut self, other: TrustedKeys) {
        if self.keys.is_empty() {
            self.tenant = other.tenant;
        } else if self.tenant != other.tenant {
            self.tenant = None;
        }
        self.keys.extend(other.keys);
    }

    /// Checks that `key_sha256` is trusted for `tenant` and was allowed to sign at `at` (when
    /// the signing time is known).
    pub fn check(
        &self,
        tenant: &str,
        key_sha256: &str,
        at: Option<Timestamp>,
    ) -> Result<(), KeyTrustError> {
        if let Some(expected) = &self.tenant
            && expected != tenant
        {
            return Err(KeyTrustError::OtherTenant {
                expected: expected.clone(),
                found: tenant.to_owned(),
            });
        }
        let candidates: Vec<&PublishedKey> = self
            .keys
            .iter()
            .filter(|k| k.key_sha256.eq_ignore_ascii_case(key_sha256))
            .collect();
        let Some(first) = candidates.first() else {
            return Err(KeyTrustError::Unknown {
                key: key_sha256.to_owned(),
            });
        };
        match at {
            Some(at) if !candidates.iter().any(|k| k.covers(at)) => {
                let show = |t: Option<Timestamp>, open: &str| {
                    t.map_or_else(|| open.to_owned(), |t| t.to_string())
                };
                Err(KeyTrustError::OutsideValidity {
                    key: key_sha256.to_owned(),
                    at: at.to_string(),
                    from: show(first.valid_from, "the start"),
                    until: show(first.valid_until, "now"),
                })
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::SigningKey;
    use p256::pkcs8::{EncodePublicKey, LineEnding};

    fn pem() -> String {
        SigningKey::random(&mut rand::rngs::OsRng)
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap()
    }

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn rotation_retires_the_current_key_once() {
        let k1 =
            PublishedKey::from_pem("k1", &pem(), Some(t("2026-01-01T00:00:00Z")), None).unwrap();
        let k2 = PublishedKey::from_pem("k2", &pem(), None, None).unwrap();
        let set = KeySet::first("acme", k1.clone());
        assert_eq!(set.current(), Some(&k1));
        let at = t("2026-02-01T00:00:00Z");
        let rotated = set.rotated(k2.clone(), at, 5);
        assert_eq!(rotated.keys[0].valid_until, Some(at));
        assert_eq!(rotated.current().unwrap().key_sha256, k2.key_sha256);
        assert_eq!(rotated.current().unwrap().valid_from, Some(at));
        assert_eq!(rotated.current().unwrap().introduced_at_sequence, Some(5));
        assert_eq!(
            rotated.rotated(k2, t("2026-03-01T00:00:00Z"), 9),
            rotated,
            "the same rotation applied again changes nothing"
        );
    }

    #[test]
    fn trust_needs_the_key_in_the_set_and_inside_its_validity() {
        let k1 =
            PublishedKey::from_pem("k1", &pem(), Some(t("2026-01-01T00:00:00Z")), None).unwrap();
        let k2 = PublishedKey::from_pem("k2", &pem(), None, None).unwrap();
        let set =
            KeySet::first("acme", k1.clone()).rotated(k2.clone(), t("2026-02-01T00:00:00Z"), 5);
        let json = serde_json::to_vec(&set).unwrap();
        let trusted = KeySet::parse_trusted(&json).unwrap();
        let ok = |key: &PublishedKey, at: &str| trusted.check("acme", &key.key_sha256, Some(t(at)));
        assert_eq!(ok(&k1, "2026-01-15T00:00:00Z"), Ok(()));
        assert_eq!(
            ok(&k1, "2026-02-01T00:00:00Z"),
            Ok(()),
            "until is inclusive"
        );
        assert!(matches!(
            ok(&k1, "2026-02-02T00:00:00Z"),
            Err(KeyTrustError::OutsideValidity { .. })
        ));
        assert!(matches!(
            ok(&k1, "2025-12-31T00:00:00Z"),
            Err(KeyTrustError::OutsideValidity { .. })
        ));
        assert_eq!(ok(&k2, "2026-05-01T00:00:00Z"), Ok(()));
        assert!(matches!(
            trusted.check("acme", &"f".repeat(64), None),
            Err(KeyTrustError::Unknown { .. })
        ));
        assert!(matches!(
            trusted.check("other", &k2.key_sha256, None),
            Err(KeyTrustError::OtherTenant { .. })
        ));
    }

    #[test]
    fn a_plain_pem_key_is_trusted_for_any_time_and_tenant() {
        let p = pem();
        let trusted = KeySet::parse_trusted(p.as_bytes()).unwrap();
        let fp = public_key_fingerprint(&p).unwrap();
        assert_eq!(
            trusted.check("any", &fp, Some(t("2000-01-01T00:00:00Z"))),
            Ok(())
        );
    }

    #[test]
    fn a_set_whose_fingerprints_lie_is_refused() {
        let k1 = PublishedKey::from_pem("k1", &pem(), None, None).unwrap();
        let mut set = KeySet::first("acme", k1);
        set.keys[0].public_key_pem = pem();
        assert!(KeySet::parse_trusted(&serde_json::to_vec(&set).unwrap()).is_err());
    }
}
