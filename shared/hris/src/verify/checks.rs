//! Steps every vendor scheme shares: reading headers, decoding MACs, the replay window, and
//! the deterministic delivery id for senders that send no event id.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::secrets::MacKey;
use super::{HeaderLookup, VerifyError};

/// Allowed clock difference, both directions, where a vendor signs a timestamp. Matches the
/// Standard Webhooks libraries and Finch's SDK.
pub const VENDOR_TOLERANCE_SECS: u64 = 300;

/// A required header's trimmed value; absent or blank is [`VerifyError::MissingHeader`].
pub(crate) fn required<'h>(
    headers: &'h dyn HeaderLookup,
    name: &'static str,
) -> Result<&'h str, VerifyError> {
    headers
        .header(name)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(VerifyError::MissingHeader(name))
}

/// Refuse timestamps outside ±`tolerance` of `now`.
pub(crate) fn check_window(
    timestamp: i64,
    now_unix: i64,
    tolerance: u64,
) -> Result<(), VerifyError> {
    let age = i128::from(now_unix) - i128::from(timestamp);
    let limit = i128::from(tolerance);
    let clamp = |secs: i128| i64::try_from(secs).unwrap_or(i64::MAX);
    if age > limit {
        return Err(VerifyError::TimestampTooOld {
            age_secs: clamp(age),
            tolerance_secs: tolerance,
        });
    }
    if -age > limit {
        return Err(VerifyError::TimestampInFuture {
            ahead_secs: clamp(-age),
            tolerance_secs: tolerance,
        });
    }
    Ok(())
}

/// HMAC-SHA256 over the concatenation of `parts`.
pub(crate) fn hmac_sha256(key: &MacKey, parts: &[&[u8]]) -> Vec<u8> {
    mac::<Hmac<Sha256>>(key, parts)
}

/// HMAC-SHA512 over the concatenation of `parts`.
pub(crate) fn hmac_sha512(key: &MacKey, parts: &[&[u8]]) -> Vec<u8> {
    mac::<Hmac<Sha512>>(key, parts)
}

fn mac<M: Mac + KeyInit>(key: &MacKey, parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = <M as KeyInit>::new_from_slice(key.bytes()).expect("HMAC accepts any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Constant-time equality; lengths are public (they are fixed by the scheme).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Index of the first key whose MAC equals `received`. Every key is tried in constant time per
/// comparison; stopping at a match reveals only that the delivery is authentic.
pub(crate) fn matching_key(
    keys: &[MacKey],
    received: &[u8],
    mac: impl Fn(&MacKey) -> Vec<u8>,
) -> Option<usize> {
    keys.iter().position(|key| ct_eq(&mac(key), received))
}

/// Decode a hex MAC of `len` bytes from `header`; anything else is [`VerifyError::InvalidHeader`].
pub(crate) fn decode_hex(
    header: &'static str,
    value: &str,
    len: usize,
) -> Result<Vec<u8>, VerifyError> {
    let invalid = || VerifyError::InvalidHeader {
        header,
        reason: format!("expected {} hex digits", len * 2),
    };
    let bytes = hex::decode(value).map_err(|_| invalid())?;
    if bytes.len() == len {
        Ok(bytes)
    } else {
        Err(invalid())
    }
}

/// Decode a base64 MAC of `len` bytes with `engine`; anything else is
/// [`VerifyError::InvalidHeader`].
pub(crate) fn decode_base64(
    header: &'static str,
    value: &str,
    len: usize,
    engine: &impl base64::Engine,
    alphabet_name: &str,
) -> Result<Vec<u8>, VerifyError> {
    let invalid = || VerifyError::InvalidHeader {
        header,
        reason: format!("expected {alphabet_name} of a {len}-byte MAC"),
    };
    let bytes = engine.decode(value).map_err(|_| invalid())?;
    if bytes.len() == len {
        Ok(bytes)
    } else {
        Err(invalid())
    }
}

/// `sha256:<hex>` of the concatenated `parts`: the idempotency key for senders that send no
/// event id. The same bytes always give the same id, so a replayed or retried delivery dedupes.
pub(crate) fn digest_id(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// An event id read from a signed body, if it is a short printable string (it becomes a
/// storage key).
pub(crate) fn usable_id(id: &str) -> Option<String> {
    let ok = !id.is_empty() && id.len() <= 256 && id.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| id.to_owned())
}
