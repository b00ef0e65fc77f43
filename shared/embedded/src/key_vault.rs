//! Each tenant's signing keys as files: `<root>/<tenant>/signing-key.pem` (current, 0600),
//! `next-key.pem` (made for a rotation, until the chain hands over), and what is published
//! about them, `keys.json` (the key set) and `checkpoint.json` (the latest chain checkpoint).
//!
//! Public files are replaced atomically (written beside, synced, renamed), and a promotion is
//! one rename, so a crash leaves either the old or the new state, never half of one.

use crate::key_file::{KeyFileError, KeyFileSigner, write_private};
use async_trait::async_trait;
use passage_core::TenantId;
use passage_core::evidence::{KeySet, SignedCheckpoint, is_safe_segment};
use passage_core::ports::{KeyError, KeySlot, KeyVault, Signer};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const CURRENT: &str = "signing-key.pem";
const NEXT: &str = "next-key.pem";
const KEY_SET: &str = "keys.json";
const CHECKPOINT: &str = "checkpoint.json";

#[derive(Clone)]
pub struct KeyFileVault {
    root: PathBuf,
    /// The one key an earlier release signed every tenant's bundles with, if this data
    /// directory has it.
    installation_key: Option<PathBuf>,
}

fn backend(e: impl std::fmt::Display) -> KeyError {
    KeyError::Backend(e.to_string())
}

impl KeyFileVault {
    /// Keys under `root` (`<data_dir>/keys`); `installation_key` is an earlier release's
    /// `<data_dir>/signing-key.pem`, adopted only by tenants whose chain it began.
    pub fn new(root: impl Into<PathBuf>, installation_key: Option<PathBuf>) -> Self {
        Self {
            root: root.into(),
            installation_key,
        }
    }

    /// The tenant's key directory (made on demand, 0700).
    fn dir(&self, tenant: &TenantId) -> Result<PathBuf, KeyError> {
        if !is_safe_segment(tenant.as_str()) {
            return Err(KeyError::Backend(format!(
                "tenant id {tenant:?} is not a path segment"
            )));
        }
        let dir = self.root.join(tenant.as_str());
        crate::create_private_dir_all(&dir).map_err(backend)?;
        Ok(dir)
    }

    fn slot_file(&self, tenant: &TenantId, slot: KeySlot) -> Result<PathBuf, KeyError> {
        let name = match slot {
            KeySlot::Current => CURRENT,
            KeySlot::Next => NEXT,
        };
        Ok(self.dir(tenant)?.join(name))
    }

    fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, KeyError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| KeyError::Backend(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(KeyError::Backend(format!("{}: {e}", path.display()))),
        }
    }
}

/// Replaces `path` with `value` as pretty JSON, atomically, readable by the owner only (the
/// data directory's rule: `private.rs`).
fn write_json(path: &Path, value: &impl serde::Serialize) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
    let mut f = crate::private_file()
        .write(true)
        .create_new(true)
        .open(&tmp)?;
    f.write_all(&bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

fn signer(result: Result<KeyFileSigner, KeyFileError>) -> Result<Arc<dyn Signer>, KeyError> {
    result
        .map(|s| Arc::new(s) as Arc<dyn Signer>)
        .map_err(backend)
}

#[async_trait]
impl KeyVault for KeyFileVault {
    async fn key(
        &self,
        tenant: &TenantId,
        slot: KeySlot,
    ) -> Result<Option<Arc<dyn Signer>>, KeyError> {
        let path = self.slot_file(tenant, slot)?;
        if !path.exists() {
            return Ok(None);
        }
        signer(KeyFileSigner::load(&path)).map(Some)
    }

    async fn create(&self, tenant: &TenantId, slot: KeySlot) -> Result<Arc<dyn Signer>, KeyError> {
        match KeyFileSigner::create(&self.slot_file(tenant, slot)?) {
            Err(KeyFileError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::AlreadyExists =>
            {
                Err(KeyError::Exists {
                    tenant: tenant.clone(),
                    slot,
                })
            }
            other => signer(other),
        }
    }

    async fn promote(&self, tenant: &TenantId) -> Result<(), KeyError> {
        let next = self.slot_file(tenant, KeySlot::Next)?;
        match std::fs::rename(&next, self.slot_file(tenant, KeySlot::Current)?) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(backend(e)),
        }
    }

    async fn adopt_installation_key(&self, tenant: &TenantId) -> Result<bool, KeyError> {
        let Some(installation) = self.installation_key.as_ref().filter(|p| p.exists()) else {
            return Ok(false);
        };
        // Loading checks the file's mode and format before it is copied.
        KeyFileSigner::load(installation).map_err(backend)?;
        let pem = std::fs::read(installation).map_err(backend)?;
        match write_private(&self.slot_file(tenant, KeySlot::Current)?, &pem) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(true),
            Err(e) => Err(backend(e)),
        }
    }

    async fn key_set(&self, tenant: &TenantId) -> Result<Option<KeySet>, KeyError> {
        Self::read_json(&self.dir(tenant)?.join(KEY_SET))
    }

    async fn publish_key_set(&self, tenant: &TenantId, set: &KeySet) -> Result<(), KeyError> {
        write_json(&self.dir(tenant)?.join(KEY_SET), set).map_err(backend)
    }

    async fn checkpoint(&self, tenant: &TenantId) -> Result<Option<SignedCheckpoint>, KeyError> {
        Self::read_json(&self.dir(tenant)?.join(CHECKPOINT))
    }

    async fn publish_checkpoint(
        &self,
        tenant: &TenantId,
        checkpoint: &SignedCheckpoint,
    ) -> Result<(), KeyError> {
        write_json(&self.dir(tenant)?.join(CHECKPOINT), checkpoint).map_err(backend)
    }
}
