//! Signed chain-head checkpoints: "tenant T's chain had N bundles ending in hash H at time X".
//!
//! A hash chain alone cannot show that its newest links were withheld: bundles 1..5 of a
//! chain of 7 form a perfect chain. A checkpoint published after bundle 7 names sequence 7,
//! so a verifier handed only 1..5 sees the gap.

use super::build::{public_key_fingerprint, sha256_hex};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{DerSignature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use serde::{Deserialize, Serialize};
use std::fmt::Write;

const HEADER: &str = "passage-chain-checkpoint v1";
/// The checkpoint file's `schema` value.
pub const CHECKPOINT_SCHEMA: &str = "passage.checkpoint/v1";

/// What a checkpoint says, in the fixed text layout that is signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub tenant: String,
    /// The sequence of the tenant's newest bundle (0: none yet).
    pub sequence: u64,
    /// That bundle's manifest SHA-256.
    pub head_sha256: String,
    pub at: Timestamp,
    /// The fingerprint of the key that signed the checkpoint.
    pub key_sha256: String,
}

/// A checkpoint as published: its text, the signature and the public key that made it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCheckpoint {
    pub schema: String,
    /// The signed text ([`Checkpoint::render`]).
    pub checkpoint: String,
    /// Base64 of the DER ECDSA P-256/SHA-256 signature of `checkpoint`.
    pub signature: String,
    pub public_key_pem: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckpointError {
    #[error("the checkpoint file is not a {CHECKPOINT_SCHEMA} document: {0}")]
    Format(String),
    #[error("the checkpoint text is malformed: {0}")]
    Text(String),
    #[error("the checkpoint's public key is not the key it names ({0})")]
    KeyMismatch(String),
    #[error("the checkpoint's signature does not verify")]
    BadSignature,
}

impl Checkpoint {
    /// The exact bytes that are signed: fixed field order, one `name value` per line.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{HEADER}");
        let _ = writeln!(s, "tenant {}", self.tenant);
        let _ = writeln!(s, "sequence {}", self.sequence);
        let _ = writeln!(s, "head-sha256 {}", self.head_sha256);
        let _ = writeln!(s, "at {}", self.at);
        let _ = writeln!(s, "key-sha256 {}", self.key_sha256);
        s
    }

    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let bad = |what: &str| CheckpointError::Text(what.to_owned());
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err(bad("wrong header"));
        }
        let mut value = |name: &str| -> Result<String, CheckpointError> {
            let line = lines.next().ok_or_else(|| bad(&format!("no {name}")))?;
            line.strip_prefix(name)
                .and_then(|v| v.strip_prefix(' '))
                .map(str::to_owned)
                .ok_or_else(|| bad(&format!("expected {name}")))
        };
        let checkpoint = Checkpoint {
            tenant: value("tenant")?,
            sequence: value("sequence")?.parse().map_err(|_| bad("sequence"))?,
            head_sha256: value("head-sha256")?,
            at: value("at")?.parse().map_err(|_| bad("at"))?,
            key_sha256: value("key-sha256")?,
        };
        // Nothing may hide in a signed text: it must render back byte for byte.
        if checkpoint.render() != text {
            return Err(bad("extra or reordered lines"));
        }
        Ok(checkpoint)
    }
}

impl SignedCheckpoint {
    /// A checkpoint with the signature made over its rendered text.
    pub fn new(checkpoint: &Checkpoint, signature_der: &[u8], public_key_pem: &str) -> Self {
        Self {
            schema: CHECKPOINT_SCHEMA.to_owned(),
            checkpoint: checkpoint.render(),
            signature: STANDARD.encode(signature_der),
            public_key_pem: public_key_pem.to_owned(),
        }
    }

    /// Reads a checkpoint file and checks its signature with the key it carries. Whether that
    /// key is the tenant's is the caller's question (see [`super::verify_anchored`]).
    pub fn verify(bytes: &[u8]) -> Result<Checkpoint, CheckpointError> {
        let file: SignedCheckpoint =
            serde_json::from_slice(bytes).map_err(|e| CheckpointError::Format(e.to_string()))?;
        if file.schema != CHECKPOINT_SCHEMA {
            return Err(CheckpointError::Format(format!("schema {:?}", file.schema)));
        }
        let checkpoint = Checkpoint::parse(&file.checkpoint)?;
        let fingerprint = public_key_fingerprint(&file.public_key_pem)
            .map_err(|e| CheckpointError::Format(format!("public key: {e}")))?;
        if !fingerprint.eq_ignore_ascii_case(&checkpoint.key_sha256) {
            return Err(CheckpointError::KeyMismatch(fingerprint));
        }
        let key = VerifyingKey::from_public_key_pem(&file.public_key_pem)
            .map_err(|e| CheckpointError::Format(format!("public key: {e}")))?;
        let der = STANDARD
            .decode(file.signature.trim())
            .map_err(|e| CheckpointError::Format(format!("signature: {e}")))?;
        let sig = DerSignature::try_from(der.as_slice())
            .map_err(|e| CheckpointError::Format(format!("signature: {e}")))?;
        key.verify(file.checkpoint.as_bytes(), &sig)
            .map_err(|_| CheckpointError::BadSignature)?;
        Ok(checkpoint)
    }

    /// SHA-256 of the signed text, for display.
    pub fn digest(&self) -> String {
        sha256_hex(self.checkpoint.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer;
    use p256::pkcs8::{EncodePublicKey, LineEnding};

    fn signed() -> (SignedCheckpoint, Checkpoint) {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let pem = key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let checkpoint = Checkpoint {
            tenant: "acme".into(),
            sequence: 7,
            head_sha256: "a".repeat(64),
            at: "2026-03-01T12:00:00Z".parse().unwrap(),
            key_sha256: public_key_fingerprint(&pem).unwrap(),
        };
        let sig: DerSignature = key.sign(checkpoint.render().as_bytes());
        (
            SignedCheckpoint::new(&checkpoint, sig.as_bytes(), &pem),
            checkpoint,
        )
    }

    #[test]
    fn a_signed_checkpoint_verifies_and_a_changed_one_does_not() {
        let (file, checkpoint) = signed();
        let bytes = serde_json::to_vec(&file).unwrap();
        assert_eq!(SignedCheckpoint::verify(&bytes).unwrap(), checkpoint);
        let mut forged = file.clone();
        forged.checkpoint = forged.checkpoint.replace("sequence 7", "sequence 6");
        assert_eq!(
            SignedCheckpoint::verify(&serde_json::to_vec(&forged).unwrap()),
            Err(CheckpointError::BadSignature)
        );
        let mut other_key = file;
        other_key.public_key_pem = signed().0.public_key_pem;
        assert!(matches!(
            SignedCheckpoint::verify(&serde_json::to_vec(&other_key).unwrap()),
            Err(CheckpointError::KeyMismatch(_))
        ));
    }

    #[test]
    fn the_text_round_trips_and_refuses_extra_lines() {
        let (_, checkpoint) = signed();
        assert_eq!(Checkpoint::parse(&checkpoint.render()).unwrap(), checkpoint);
        assert!(Checkpoint::parse(&(checkpoint.render() + "x y\n")).is_err());
    }
}
