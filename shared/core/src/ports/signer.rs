use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
#[error("signing failed: {0}")]
pub struct SignError(pub String);

/// Signs evidence statements with ECDSA P-256 / SHA-256 and returns DER, the form
/// `openssl dgst -sha256 -verify` takes. The key file and KMS produce identical formats.
#[async_trait]
pub trait Signer: Send + Sync {
    /// Signs `message` (the signer hashes it). Messages are small (< 4 KiB), so KMS can sign
    /// them as RAW, which behaves the same on real KMS and on the local emulator.
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError>;
    /// The public key as SPKI PEM.
    fn public_key_pem(&self) -> String;
    /// A stable name for the key: a file fingerprint or a KMS key ARN.
    fn key_id(&self) -> String;
}
