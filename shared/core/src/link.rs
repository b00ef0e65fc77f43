//! Auditor links: a URL path that grants read access to one bundle until it expires.
//!
//! The link carries `tenant`, `run`, `expires` and an HMAC-SHA256 over them with a key only
//! Passage holds. Nothing else authorises it, so a link cannot be widened to another bundle or
//! extended in time without the key. (S3 presigned URLs are only handed out after this check.)

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The scope a link grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkScope {
    pub tenant: String,
    pub run_id: String,
    /// Unix seconds after which the link is refused.
    pub expires: i64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LinkError {
    #[error("the link has expired")]
    Expired,
    #[error("the link's signature is not valid for this bundle")]
    BadSignature,
    #[error("the link is malformed: {0}")]
    Malformed(&'static str),
}

fn mac(key: &[u8], scope: &LinkScope) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"passage-auditor-link v1\n");
    mac.update(scope.tenant.as_bytes());
    mac.update(b"\n");
    mac.update(scope.run_id.as_bytes());
    mac.update(b"\n");
    mac.update(scope.expires.to_string().as_bytes());
    mac
}

/// The signature for `scope`, hex.
pub fn sign(key: &[u8], scope: &LinkScope) -> String {
    hex::encode(mac(key, scope).finalize().into_bytes())
}

/// The path and query of a link: `/v1/bundles/{tenant}/{run}?expires=…&sig=…`.
pub fn path(key: &[u8], scope: &LinkScope) -> String {
    format!(
        "/v1/bundles/{}/{}?expires={}&sig={}",
        scope.tenant,
        scope.run_id,
        scope.expires,
        sign(key, scope)
    )
}

/// Checks a presented link. The signature is compared in constant time, and checked before
/// expiry so an attacker learns nothing about a forged link's freshness.
pub fn verify(
    key: &[u8],
    scope: &LinkScope,
    sig_hex: &str,
    now: Timestamp,
) -> Result<(), LinkError> {
    let presented = hex::decode(sig_hex).map_err(|_| LinkError::Malformed("sig is not hex"))?;
    let expected = mac(key, scope).finalize().into_bytes();
    if presented.len() != expected.len() || !bool::from(presented.ct_eq(&expected)) {
        return Err(LinkError::BadSignature);
    }
    if now.as_second() > scope.expires {
        return Err(LinkError::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> LinkScope {
        LinkScope {
            tenant: "acme".into(),
            run_id: "run_1".into(),
            expires: 2_000_000_000,
        }
    }

    #[test]
    fn a_fresh_link_verifies() {
        let sig = sign(b"key", &scope());
        let now = Timestamp::from_second(1_900_000_000).unwrap();
        assert_eq!(verify(b"key", &scope(), &sig, now), Ok(()));
    }

    #[test]
    fn expired_foreign_and_tampered_links_fail() {
        let sig = sign(b"key", &scope());
        let late = Timestamp::from_second(2_000_000_001).unwrap();
        assert_eq!(
            verify(b"key", &scope(), &sig, late),
            Err(LinkError::Expired)
        );
        let now = Timestamp::from_second(1_900_000_000).unwrap();
        let mut other = scope();
        other.run_id = "run_2".into();
        assert_eq!(
            verify(b"key", &other, &sig, now),
            Err(LinkError::BadSignature)
        );
        let mut longer = scope();
        longer.expires += 1;
        assert_eq!(
            verify(b"key", &longer, &sig, now),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            verify(b"other", &scope(), &sig, now),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            verify(b"key", &scope(), "zz", now),
            Err(LinkError::Malformed("sig is not hex"))
        );
    }
}
