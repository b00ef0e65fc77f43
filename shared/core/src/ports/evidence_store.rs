use crate::evidence::BundleFiles;
use crate::ids::{RunId, TenantId};
use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("evidence store: {0}")]
    Io(String),
    #[error("bundle path {0:?} is not allowed")]
    BadPath(String),
}

/// Where signed bundles live. Writing the same bundle again replaces it (the finalizer may
/// retry after a crash); only the version recorded on the closed run counts.
#[async_trait]
pub trait EvidenceStore: Send + Sync {
    /// Stores every file of a run's bundle; returns where it lives.
    async fn put_bundle(
        &self,
        tenant: &TenantId,
        run: &RunId,
        files: &BundleFiles,
    ) -> Result<String, EvidenceError>;
    /// Reads one file of a stored bundle.
    async fn get_file(
        &self,
        tenant: &TenantId,
        run: &RunId,
        path: &str,
    ) -> Result<Option<Vec<u8>>, EvidenceError>;
    /// Reads a whole stored bundle.
    async fn get_bundle(
        &self,
        tenant: &TenantId,
        run: &RunId,
    ) -> Result<Option<BundleFiles>, EvidenceError>;
}
