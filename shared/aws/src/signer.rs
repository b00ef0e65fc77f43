//! Signatures from a KMS asymmetric key (ECC_NIST_P256, SIGN_VERIFY).
//!
//! The engine signs a small statement, so KMS signs it as RAW (KMS hashes it with SHA-256):
//! RAW behaves the same on KMS and on the local emulator, which mis-signs DIGEST requests.
//! Every signature is checked against the public key before it is returned, so a key or an
//! emulator that signs wrongly fails at once instead of producing bundles that do not verify.

use crate::error_text;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::{DecodePublicKey, EncodePublicKey, LineEnding};
use passage_core::ports::{SignError, Signer};

/// KMS signs at most this many bytes as RAW.
const MAX_RAW_MESSAGE: usize = 4096;

#[derive(Clone)]
pub struct KmsSigner {
    client: Client,
    key_arn: String,
    public_pem: String,
    verifying_key: VerifyingKey,
}

impl KmsSigner {
    /// Looks the key up once (`GetPublicKey`): its ARN becomes the key id, its public key the
    /// PEM published with every bundle. `key_id` may be an id, ARN or alias.
    pub async fn connect(config: &SdkConfig, key_id: &str) -> Result<Self, SignError> {
        Self::from_client(Client::new(config), key_id).await
    }

    pub async fn from_client(client: Client, key_id: &str) -> Result<Self, SignError> {
        let out = client
            .get_public_key()
            .key_id(key_id)
            .send()
            .await
            .map_err(|e| SignError(format!("KMS key {key_id}: {}", error_text(&e))))?;
        // `KeySpec` is not checked: the emulator leaves it out. A key that is not P-256 fails
        // to parse below, and one that cannot sign ECDSA_SHA_256 fails its first signature.
        let der = out
            .public_key()
            .ok_or_else(|| SignError(format!("KMS key {key_id} returned no public key")))?;
        let verifying_key = VerifyingKey::from_public_key_der(der.as_ref()).map_err(|e| {
            SignError(format!(
                "KMS key {key_id} is not an ECC_NIST_P256 key (its public key does not parse as P-256: {e})"
            ))
        })?;
        let public_pem = verifying_key
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| SignError(e.to_string()))?;
        // KMS answers with the key's ARN; the emulator with its bare id, so ask for the ARN.
        let mut key_arn = out.key_id().unwrap_or(key_id).to_owned();
        if !key_arn.starts_with("arn:") {
            let described = client
                .describe_key()
                .key_id(&key_arn)
                .send()
                .await
                .map_err(|e| SignError(format!("KMS key {key_id}: {}", error_text(&e))))?;
            if let Some(arn) = described.key_metadata().and_then(|m| m.arn()) {
                key_arn = arn.to_owned();
            }
        }
        Ok(Self {
            client,
            key_arn,
            public_pem,
            verifying_key,
        })
    }
}

#[async_trait]
impl Signer for KmsSigner {
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        if message.is_empty() || message.len() > MAX_RAW_MESSAGE {
            return Err(SignError(format!(
                "KMS signs messages of 1 to {MAX_RAW_MESSAGE} bytes as RAW; this one has {}",
                message.len()
            )));
        }
        let out = self
            .client
            .sign()
            .key_id(&self.key_arn)
            .message(Blob::new(message))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(|e| {
                SignError(format!(
                    "KMS Sign with {}: {}",
                    self.key_arn,
                    error_text(&e)
                ))
            })?;
        let der = out
            .signature()
            .ok_or_else(|| SignError("KMS returned no signature".into()))?
            .as_ref()
            .to_vec();
        let sig = Signature::from_der(&der)
            .map_err(|e| SignError(format!("KMS returned a signature that is not DER: {e}")))?;
        self.verifying_key.verify(message, &sig).map_err(|_| {
            SignError(format!(
                "KMS key {} returned a signature that does not verify against its public key",
                self.key_arn
            ))
        })?;
        Ok(der)
    }

    fn public_key_pem(&self) -> String {
        self.public_pem.clone()
    }

    fn key_id(&self) -> String {
        self.key_arn.clone()
    }
}
