//! Certificate thumbprints as the identity platform reads them from a client
//! assertion header: `x5t` is the base64url SHA-1 of the certificate's DER,
//! `x5t#S256` the base64url SHA-256.
//!
//! The crate has no X.509 parser, so a registered credential is an RSA
//! public key. [`key_thumbprints`] hashes the key's own DER (the body of its
//! PEM) as a stand-in for the certificate: register the key with
//! [`AppCredential::public_key`](crate::microsoft::AppCredential::public_key)
//! and put the same values in the assertion header. A caller holding a real
//! certificate can instead register the key with the certificate's `x5t`.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

/// `(x5t, x5t#S256)` of the DER inside a PEM block, or `None` if the PEM
/// cannot be read.
pub fn key_thumbprints(pem: &str) -> Option<(String, String)> {
    let der = pem_der(pem)?;
    Some((
        URL_SAFE_NO_PAD.encode(sha1(&der)),
        URL_SAFE_NO_PAD.encode(Sha256::digest(&der)),
    ))
}

/// The DER body of the first PEM block.
pub(crate) fn pem_der(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("-----BEGIN "))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END "))
        .collect();
    if body.is_empty() {
        return None;
    }
    STANDARD.decode(body).ok()
}

/// Upper-case hex of the bytes an `x5t`-style value encodes, the form the
/// identity platform quotes in errors ("Thumbprint of key used by client").
pub(crate) fn thumbprint_hex(x5t: &str) -> String {
    URL_SAFE_NO_PAD
        .decode(x5t.trim_end_matches('='))
        .map_or_else(|_| x5t.to_owned(), hex::encode_upper)
}

/// SHA-1 (FIPS 180-4). Only used to compute `x5t` values; no security
/// property depends on it.
pub(crate) fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let bit_len = (data.len() as u64).wrapping_mul(8);
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&bit_len.to_be_bytes());
    for block in message.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let temp = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = temp;
        }
        for (slot, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *slot = slot.wrapping_add(v);
        }
    }
    let mut out = [0u8; 20];
    for (chunk, word) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_matches_published_vectors() {
        assert_eq!(
            hex::encode(sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex::encode(sha1(b"")),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        assert_eq!(
            hex::encode(sha1(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
    }

    #[test]
    fn thumbprints_hash_the_pem_body() {
        let pem = "-----BEGIN PUBLIC KEY-----\nYWJj\n-----END PUBLIC KEY-----\n";
        let (x5t, s256) = key_thumbprints(pem).unwrap();
        assert_eq!(
            thumbprint_hex(&x5t),
            "A9993E364706816ABA3E25717850C26C9CD0D89D"
        );
        assert_eq!(s256.len(), 43);
        assert!(key_thumbprints("not a pem").is_none());
    }
}
