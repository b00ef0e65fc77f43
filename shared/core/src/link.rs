//! Auditor links: a URL path that grants read access to one bundle (or, with a period link,
//! to one period's report and bundles) until it expires.
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

/// An HMAC over a purpose label and newline-separated fields. The label keeps one kind of link
/// from ever verifying as another.
fn mac_fields(key: &[u8], label: &[u8], fields: &[&str]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(label);
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            mac.update(b"\n");
        }
        mac.update(f.as_bytes());
    }
    mac
}

fn mac(key: &[u8], scope: &LinkScope) -> HmacSha256 {
    mac_fields(
        key,
        b"passage-auditor-link v1\n",
        &[&scope.tenant, &scope.run_id, &scope.expires.to_string()],
    )
}

/// The scope of a period link: an auditor may read one tenant's report for one period, its
/// keys and chain checkpoint, and every bundle of the period, until it expires. `id` names the
/// link in the audit log and the report snapshot it serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeriodScope {
    pub tenant: String,
    /// `2026-01-01..2026-03-31` ([`crate::report::Period::id`]).
    pub period: String,
    /// `[a-z0-9]{1,32}`, random at issue.
    pub id: String,
    pub expires: i64,
}

fn period_mac(key: &[u8], scope: &PeriodScope) -> HmacSha256 {
    mac_fields(
        key,
        b"passage-period-link v1\n",
        &[
            &scope.tenant,
            &scope.period,
            &scope.id,
            &scope.expires.to_string(),
        ],
    )
}

/// The path and query of a period link: `/v1/periods/{tenant}/{period}?link=…&expires=…&sig=…`.
pub fn period_path(key: &[u8], scope: &PeriodScope) -> String {
    format!(
        "/v1/periods/{}/{}?{}",
        scope.tenant,
        scope.period,
        period_query(key, scope)
    )
}

/// The query every URL under a period link carries: `link=…&expires=…&sig=…`.
pub fn period_query(key: &[u8], scope: &PeriodScope) -> String {
    format!(
        "link={}&expires={}&sig={}",
        scope.id,
        scope.expires,
        hex::encode(period_mac(key, scope).finalize().into_bytes())
    )
}

/// Checks a presented period link, like [`verify`].
pub fn verify_period(
    key: &[u8],
    scope: &PeriodScope,
    sig_hex: &str,
    now: Timestamp,
) -> Result<(), LinkError> {
    if scope.id.is_empty()
        || scope.id.len() > 32
        || !scope
            .id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(LinkError::Malformed("link id"));
    }
    check(period_mac(key, scope), sig_hex, scope.expires, now)
}

/// A fresh random link id.
pub fn new_link_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The scope of a confirmation link: one person may confirm one item of one human step (the
/// manager confirming the data hand-over), until it expires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfirmScope {
    pub tenant: String,
    pub run_id: String,
    pub step: String,
    pub item: String,
    /// The email address of the person the link was sent to; recorded as the confirmer.
    pub by: String,
    pub expires: i64,
}

fn confirm_mac(key: &[u8], scope: &ConfirmScope) -> HmacSha256 {
    mac_fields(
        key,
        b"passage-confirm-link v1\n",
        &[
            &scope.tenant,
            &scope.run_id,
            &scope.step,
            &scope.item,
            &scope.by,
            &scope.expires.to_string(),
        ],
    )
}

/// The path and query of a confirmation link:
/// `/v1/confirm/{tenant}/{run}/{step}/{item}?by=…&expires=…&sig=…`.
pub fn confirm_path(key: &[u8], scope: &ConfirmScope) -> String {
    let by: String = url_encode(&scope.by);
    format!(
        "/v1/confirm/{}/{}/{}/{}?by={by}&expires={}&sig={}",
        scope.tenant,
        scope.run_id,
        scope.step,
        scope.item,
        scope.expires,
        hex::encode(confirm_mac(key, scope).finalize().into_bytes())
    )
}

/// Checks a presented confirmation link, like [`verify`].
pub fn verify_confirm(
    key: &[u8],
    scope: &ConfirmScope,
    sig_hex: &str,
    now: Timestamp,
) -> Result<(), LinkError> {
    check(confirm_mac(key, scope), sig_hex, scope.expires, now)
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
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
    check(mac(key, scope), sig_hex, scope.expires, now)
}

fn check(mac: HmacSha256, sig_hex: &str, expires: i64, now: Timestamp) -> Result<(), LinkError> {
    let presented = hex::decode(sig_hex).map_err(|_| LinkError::Malformed("sig is not hex"))?;
    let expected = mac.finalize().into_bytes();
    if presented.len() != expected.len() || !bool::from(presented.ct_eq(&expected)) {
        return Err(LinkError::BadSignature);
    }
    if now.as_second() > expires {
        return Err(LinkError::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod period_tests {
    use super::*;

    fn scope() -> PeriodScope {
        PeriodScope {
            tenant: "acme".into(),
            period: "2026-01-01..2026-03-31".into(),
            id: "a1b2c3".into(),
            expires: 2_000_000_000,
        }
    }

    #[test]
    fn a_period_link_verifies_only_for_its_tenant_period_id_and_time() {
        let key = b"k";
        let path = period_path(key, &scope());
        assert!(
            path.starts_with(
                "/v1/periods/acme/2026-01-01..2026-03-31?link=a1b2c3&expires=2000000000&sig="
            ),
            "{path}"
        );
        let sig = path.rsplit("sig=").next().unwrap();
        let now = Timestamp::from_second(1_900_000_000).unwrap();
        assert_eq!(verify_period(key, &scope(), sig, now), Ok(()));
        for change in [
            |s: &mut PeriodScope| s.tenant = "globex".into(),
            |s: &mut PeriodScope| s.period = "2026-01-01..2026-12-31".into(),
            |s: &mut PeriodScope| s.id = "ffffff".into(),
            |s: &mut PeriodScope| s.expires += 1,
        ] {
            let mut other = scope();
            change(&mut other);
            assert_eq!(
                verify_period(key, &other, sig, now),
                Err(LinkError::BadSignature)
            );
        }
        let late = Timestamp::from_second(2_000_000_001).unwrap();
        assert_eq!(
            verify_period(key, &scope(), sig, late),
            Err(LinkError::Expired)
        );
        let mut odd = scope();
        odd.id = "../x".into();
        assert_eq!(
            verify_period(key, &odd, sig, now),
            Err(LinkError::Malformed("link id"))
        );
        // A run link over the same tenant is not a period link.
        let run = sign(
            key,
            &LinkScope {
                tenant: "acme".into(),
                run_id: "2026-01-01..2026-03-31".into(),
                expires: 2_000_000_000,
            },
        );
        assert_eq!(
            verify_period(key, &scope(), &run, now),
            Err(LinkError::BadSignature)
        );
    }
}

#[cfg(test)]
mod confirm_tests {
    use super::*;

    fn scope() -> ConfirmScope {
        ConfirmScope {
            tenant: "acme".into(),
            run_id: "run_1".into(),
            step: "human.confirm_handover".into(),
            item: "handover".into(),
            by: "lee+boss@acme.example".into(),
            expires: 2_000_000_000,
        }
    }

    #[test]
    fn a_confirmation_link_verifies_only_for_its_exact_scope() {
        let key = b"k";
        let path = confirm_path(key, &scope());
        assert!(path.contains("by=lee%2Bboss%40acme.example"), "{path}");
        let sig = path.rsplit("sig=").next().unwrap();
        let now = Timestamp::from_second(1_900_000_000).unwrap();
        assert_eq!(verify_confirm(key, &scope(), sig, now), Ok(()));
        for change in [
            |s: &mut ConfirmScope| s.by = "mallory@acme.example".into(),
            |s: &mut ConfirmScope| s.item = "device-1".into(),
            |s: &mut ConfirmScope| s.step = "human.return_devices".into(),
            |s: &mut ConfirmScope| s.tenant = "globex".into(),
            |s: &mut ConfirmScope| s.expires += 1,
        ] {
            let mut other = scope();
            change(&mut other);
            assert_eq!(
                verify_confirm(key, &other, sig, now),
                Err(LinkError::BadSignature)
            );
        }
        let late = Timestamp::from_second(2_000_000_001).unwrap();
        assert_eq!(
            verify_confirm(key, &scope(), sig, late),
            Err(LinkError::Expired)
        );
        // An auditor-link signature over the same tenant and run is not a confirmation.
        let auditor = sign(
            key,
            &LinkScope {
                tenant: "acme".into(),
                run_id: "run_1".into(),
                expires: 2_000_000_000,
            },
        );
        assert_eq!(
            verify_confirm(key, &scope(), &auditor, now),
            Err(LinkError::BadSignature)
        );
    }
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
