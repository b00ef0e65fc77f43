//! Recovery secrets (a Mac's lock PIN) sealed for operators: Passage keeps them only in a form
//! it cannot read itself.
//!
//! ECIES over P-256: an ephemeral key agrees a secret with the tenant's recovery public key,
//! HKDF-SHA256 derives an AES-256-GCM key from it, and only the holder of the recovery private
//! key (kept by the tenant's IT, outside Passage) can open the envelope. A connector puts such
//! a secret in its output under one of [`SECRET_FIELDS`]; [`seal_output`] replaces every one
//! before the output is stored or bundled, so no other code has to remember to.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hkdf::Hkdf;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey};
use p256::{PublicKey, SecretKey, ecdh};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The output fields that hold a recovery secret, wherever they appear.
pub const SECRET_FIELDS: &[&str] = &["pin", "recovery_pin", "unlock_pin", "passcode"];

const ALGORITHM: &str = "ECIES-P256-HKDF-SHA256-AES256GCM";
const INFO: &[u8] = b"passage recovery secret v1";

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the recovery key is not a P-256 key in PEM: {0}")]
    Key(String),
    #[error("the envelope cannot be opened: {0}")]
    Envelope(String),
}

fn aead_key(shared: &ecdh::SharedSecret, ephemeral: &[u8]) -> Aes256Gcm {
    let hk = Hkdf::<Sha256>::new(Some(ephemeral), shared.raw_secret_bytes());
    let mut key = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's limit; expand cannot fail for it.
    hk.expand(INFO, &mut key).unwrap_or_default();
    Aes256Gcm::new(&key.into())
}

/// Whether `pem` is a P-256 public key a secret can be sealed for (checked when config loads).
pub fn check_key(pem: &str) -> Result<(), SealError> {
    PublicKey::from_public_key_pem(pem)
        .map(|_| ())
        .map_err(|e| SealError::Key(e.to_string()))
}

/// Seals `secret` for the holder of `recipient_pem` (a P-256 public key, SPKI PEM).
pub fn seal(recipient_pem: &str, secret: &str) -> Result<Value, SealError> {
    let recipient =
        PublicKey::from_public_key_pem(recipient_pem).map_err(|e| SealError::Key(e.to_string()))?;
    let ephemeral = ecdh::EphemeralSecret::random(&mut rand::rngs::OsRng);
    let ephemeral_point = ephemeral.public_key().to_encoded_point(false);
    let shared = ephemeral.diffie_hellman(&recipient);
    let cipher = aead_key(&shared, ephemeral_point.as_bytes());
    let nonce: [u8; 12] = rand::random();
    let sealed = cipher
        .encrypt(&Nonce::from(nonce), secret.as_bytes())
        .map_err(|e| SealError::Envelope(e.to_string()))?;
    let recipient_der = recipient.to_encoded_point(false);
    Ok(json!({
        "algorithm": ALGORITHM,
        "recipient_key_sha256": hex::encode(Sha256::digest(recipient_der.as_bytes())),
        "ephemeral_public_key": B64.encode(ephemeral_point.as_bytes()),
        "nonce": B64.encode(nonce),
        "ciphertext": B64.encode(sealed),
    }))
}

/// Opens an envelope with the recipient's private key (PKCS#8 PEM): what an operator's tool does.
pub fn open(secret_key_pem: &str, envelope: &Value) -> Result<String, SealError> {
    let key =
        SecretKey::from_pkcs8_pem(secret_key_pem).map_err(|e| SealError::Key(e.to_string()))?;
    let field = |name: &str| {
        envelope[name]
            .as_str()
            .and_then(|s| B64.decode(s).ok())
            .ok_or_else(|| SealError::Envelope(format!("no readable `{name}`")))
    };
    let ephemeral_bytes = field("ephemeral_public_key")?;
    let ephemeral = PublicKey::from_sec1_bytes(&ephemeral_bytes)
        .map_err(|e| SealError::Envelope(e.to_string()))?;
    let shared = ecdh::diffie_hellman(key.to_nonzero_scalar(), ephemeral.as_affine());
    let cipher = aead_key(&shared, &ephemeral_bytes);
    let nonce: [u8; 12] = field("nonce")?
        .try_into()
        .map_err(|_| SealError::Envelope("a nonce of the wrong length".into()))?;
    let plain = cipher
        .decrypt(&Nonce::from(nonce), field("ciphertext")?.as_slice())
        .map_err(|_| SealError::Envelope("wrong key, or the envelope was altered".into()))?;
    String::from_utf8(plain).map_err(|e| SealError::Envelope(e.to_string()))
}

/// Replaces every recovery secret in `output` with its sealed envelope, or, without a recovery
/// key, with a note that it was not kept. Returns how many it replaced.
pub fn seal_output(output: &mut Value, recipient_pem: Option<&str>) -> Result<usize, SealError> {
    let mut count = 0;
    match output {
        Value::Object(map) => {
            for (name, value) in map.iter_mut() {
                if SECRET_FIELDS.contains(&name.as_str()) && value.is_string() {
                    let secret = value.as_str().unwrap_or_default().to_owned();
                    *value = sealed_field(&secret, recipient_pem)?;
                    count += 1;
                } else {
                    count += seal_output(value, recipient_pem)?;
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                count += seal_output(item, recipient_pem)?;
            }
        }
        _ => {}
    }
    Ok(count)
}

fn sealed_field(secret: &str, recipient_pem: Option<&str>) -> Result<Value, SealError> {
    Ok(match recipient_pem {
        Some(pem) => json!({
            "sealed": seal(pem, secret)?,
            "note": "sealed for the tenant's recovery key: open it with `passage unseal` and that key's private half",
        }),
        None => json!({
            "sealed": null,
            "note": "not kept: the tenant has no recovery key to seal it for; an MDM erase recovers the device",
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};

    fn keypair() -> (String, String) {
        let key = SecretKey::random(&mut rand::rngs::OsRng);
        let private = key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
        let public = key.public_key().to_public_key_pem(LineEnding::LF).unwrap();
        (private, public)
    }

    #[test]
    fn only_the_recovery_key_opens_a_sealed_pin() {
        let (private, public) = keypair();
        let envelope = seal(&public, "482913").unwrap();
        assert!(!envelope.to_string().contains("482913"));
        assert_eq!(open(&private, &envelope).unwrap(), "482913");
        let (other, _) = keypair();
        assert!(open(&other, &envelope).is_err());
        let mut altered = envelope.clone();
        altered["ciphertext"] = B64.encode([0u8; 22]).into();
        assert!(open(&private, &altered).is_err());
    }

    #[test]
    fn every_secret_field_in_an_output_is_sealed_or_dropped() {
        let (private, public) = keypair();
        let output =
            json!({"devices": [{"name": "Mac", "pin": "482913"}, {"name": "Win"}], "note": "x"});
        let mut sealed = output.clone();
        assert_eq!(seal_output(&mut sealed, Some(&public)).unwrap(), 1);
        assert!(!sealed.to_string().contains("482913"));
        let envelope = &sealed["devices"][0]["pin"]["sealed"];
        assert_eq!(open(&private, envelope).unwrap(), "482913");
        let mut dropped = output;
        assert_eq!(seal_output(&mut dropped, None).unwrap(), 1);
        assert!(!dropped.to_string().contains("482913"));
        assert!(dropped["devices"][0]["pin"]["sealed"].is_null());
    }
}
