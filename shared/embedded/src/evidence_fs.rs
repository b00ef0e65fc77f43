//! Bundles on the local disk: `<root>/<tenant>/<run_id>/…`, written to a temporary directory
//! and renamed into place so a reader never sees half a bundle.

use crate::{create_private_dir_all, private_file};
use async_trait::async_trait;
use passage_core::evidence::BundleFiles;
use passage_core::ports::{EvidenceError, EvidenceStore};
use passage_core::{RunId, TenantId};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Clone)]
pub struct FsEvidenceStore {
    root: PathBuf,
}

impl FsEvidenceStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory a run's bundle lives in.
    pub fn bundle_dir(&self, tenant: &TenantId, run: &RunId) -> Result<PathBuf, EvidenceError> {
        for part in [tenant.as_str(), run.as_str()] {
            if !passage_core::evidence::is_safe_segment(part) {
                return Err(EvidenceError::BadPath(part.to_owned()));
            }
        }
        Ok(self.root.join(tenant.as_str()).join(run.as_str()))
    }
}

fn io(e: std::io::Error) -> EvidenceError {
    EvidenceError::Io(e.to_string())
}

/// Reads every file under `dir` into a bundle (paths relative to `dir`).
pub fn read_bundle_dir(dir: &Path) -> Result<BundleFiles, EvidenceError> {
    let mut files = BundleFiles::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(io)? {
            let entry = entry.map_err(io)?;
            let path = entry.path();
            if entry.file_type().map_err(io)?.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(dir)
                .map_err(|e| EvidenceError::Io(e.to_string()))?
                .to_string_lossy()
                .replace('\\', "/");
            let bytes = std::fs::read(&path).map_err(io)?;
            files
                .insert(&rel, bytes)
                .map_err(|e| EvidenceError::BadPath(e.0))?;
        }
    }
    Ok(files)
}

#[async_trait]
impl EvidenceStore for FsEvidenceStore {
    async fn put_bundle(
        &self,
        tenant: &TenantId,
        run: &RunId,
        files: &BundleFiles,
    ) -> Result<String, EvidenceError> {
        let dir = self.bundle_dir(tenant, run)?;
        let files = files.clone();
        tokio::task::spawn_blocking(move || {
            let parent = dir
                .parent()
                .ok_or_else(|| EvidenceError::Io("no parent".into()))?;
            create_private_dir_all(parent).map_err(io)?;
            let tmp = parent.join(format!(
                ".{}.tmp-{}",
                dir.file_name().unwrap_or_default().to_string_lossy(),
                uuid::Uuid::new_v4().simple()
            ));
            for (rel, bytes) in files.iter() {
                let path = tmp.join(rel);
                if let Some(p) = path.parent() {
                    create_private_dir_all(p).map_err(io)?;
                }
                let mut file = private_file()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(&path)
                    .map_err(io)?;
                file.write_all(bytes).map_err(io)?;
                file.sync_all().map_err(io)?;
            }
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(io)?;
            }
            std::fs::rename(&tmp, &dir).map_err(io)?;
            Ok(dir.to_string_lossy().into_owned())
        })
        .await
        .map_err(|e| EvidenceError::Io(e.to_string()))?
    }

    async fn get_file(
        &self,
        tenant: &TenantId,
        run: &RunId,
        path: &str,
    ) -> Result<Option<Vec<u8>>, EvidenceError> {
        if !passage_core::evidence::is_safe_path(path) {
            return Err(EvidenceError::BadPath(path.to_owned()));
        }
        let full = self.bundle_dir(tenant, run)?.join(path);
        // Only files are bundle files: a directory of the bundle is not one, and not an error.
        match tokio::fs::metadata(&full).await {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        }
        match tokio::fs::read(&full).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    async fn get_bundle(
        &self,
        tenant: &TenantId,
        run: &RunId,
    ) -> Result<Option<BundleFiles>, EvidenceError> {
        let dir = self.bundle_dir(tenant, run)?;
        if !dir.is_dir() {
            return Ok(None);
        }
        tokio::task::spawn_blocking(move || read_bundle_dir(&dir).map(Some))
            .await
            .map_err(|e| EvidenceError::Io(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bundles_are_private_and_only_files_are_served() {
        let root = tempfile::tempdir().unwrap();
        let store = FsEvidenceStore::new(root.path().join("bundles"));
        let (tenant, run) = (TenantId::new("acme"), RunId::new("run_1"));
        let mut files = BundleFiles::new();
        files.insert("manifest.json", b"{}".to_vec()).unwrap();
        files
            .insert("evidence/okta/suspend.json", b"[]".to_vec())
            .unwrap();
        store.put_bundle(&tenant, &run, &files).await.unwrap();

        for (path, served) in [
            ("manifest.json", Some(b"{}".to_vec())),
            ("evidence", None),
            ("evidence/okta", None),
            ("nope.json", None),
        ] {
            let got = store.get_file(&tenant, &run, path).await.unwrap();
            assert_eq!(got, served, "{path}");
        }

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            let dir = store.bundle_dir(&tenant, &run).unwrap();
            for (path, want) in [
                (root.path().join("bundles"), 0o700),
                (root.path().join("bundles/acme"), 0o700),
                (dir.clone(), 0o700),
                (dir.join("evidence/okta"), 0o700),
                (dir.join("manifest.json"), 0o600),
                (dir.join("evidence/okta/suspend.json"), 0o600),
            ] {
                assert_eq!(mode(&path), want, "{}", path.display());
            }
        }
    }
}
