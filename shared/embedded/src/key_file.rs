//! A P-256 signing key in a file with mode 0600.
//!
//! Produces the same DER ECDSA P-256/SHA-256 signatures as KMS, so bundles verify the same way
//! whichever host signed them.

use async_trait::async_trait;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use passage_core::ports::{SignError, Signer};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a PKCS#8 PEM P-256 private key: {detail}")]
    Format { path: PathBuf, detail: String },
    #[error("{path} is readable by other users (mode {mode:o}); run chmod 600 on it")]
    TooOpen { path: PathBuf, mode: u32 },
}

pub struct KeyFileSigner {
    key: SigningKey,
    public_pem: String,
    key_id: String,
}

impl KeyFileSigner {
    /// Makes a new key at `path` (mode 0600). Never overwrites: an existing file is an
    /// [`std::io::ErrorKind::AlreadyExists`] error.
    pub fn create(path: &Path) -> Result<Self, KeyFileError> {
        let io = |source| KeyFileError::Io {
            path: path.to_owned(),
            source,
        };
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| KeyFileError::Format {
                path: path.to_owned(),
                detail: e.to_string(),
            })?;
        write_private(path, pem.as_bytes()).map_err(io)?;
        Self::from_key(key)
    }

    /// Loads the key at `path`. A missing file is an error, never a reason to make a new key:
    /// bundles signed by the lost key would no longer chain to the new one.
    pub fn load(path: &Path) -> Result<Self, KeyFileError> {
        let io = |source| KeyFileError::Io {
            path: path.to_owned(),
            source,
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyFileError::TooOpen {
                    path: path.to_owned(),
                    mode,
                });
            }
        }
        let pem = std::fs::read_to_string(path).map_err(io)?;
        let key = SigningKey::from_pkcs8_pem(&pem).map_err(|e| KeyFileError::Format {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
        Self::from_key(key)
    }

    fn from_key(key: SigningKey) -> Result<Self, KeyFileError> {
        let public_pem = key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| KeyFileError::Format {
                path: PathBuf::new(),
                detail: e.to_string(),
            })?;
        let fingerprint =
            passage_core::evidence::public_key_fingerprint(&public_pem).map_err(|detail| {
                KeyFileError::Format {
                    path: PathBuf::new(),
                    detail,
                }
            })?;
        Ok(Self {
            key,
            public_pem,
            key_id: format!("file:sha256:{fingerprint}"),
        })
    }
}

#[async_trait]
impl Signer for KeyFileSigner {
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let sig: DerSignature = self.key.sign(message);
        Ok(sig.as_bytes().to_vec())
    }

    fn public_key_pem(&self) -> String {
        self.public_pem.clone()
    }

    fn key_id(&self) -> String {
        self.key_id.clone()
    }
}

/// Writes a new private file (0600), failing if it exists, and syncs it to disk.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = crate::private_file()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}
