//! Evidence bundles in S3: each file at `bundles/<tenant>/<run_id>/<path>`, under Object Lock
//! (COMPLIANCE mode) when the deployment sets a retention.
//!
//! Writing a run's bundle again overwrites its files and hides those the new bundle lacks
//! behind delete markers; with versioning and Object Lock, every earlier version stays
//! retrievable until its retention ends.

use crate::{AwsNames, error_text};
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::ObjectLockMode;
use passage_core::evidence::{BundleFiles, is_safe_path, is_safe_segment};
use passage_core::ports::{EvidenceError, EvidenceStore};
use passage_core::{RunId, TenantId};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::task::JoinSet;

#[derive(Clone)]
pub struct S3Evidence {
    client: Client,
    bucket: String,
    object_lock_days: Option<i32>,
}

fn io(e: impl std::error::Error) -> EvidenceError {
    EvidenceError::Io(error_text(&e))
}

/// The file's media type, so a browser following an auditor's link shows it sensibly.
fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("json") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        Some("md") => "text/markdown; charset=utf-8",
        Some("pem") => "application/x-pem-file",
        _ => "application/octet-stream",
    }
}

impl S3Evidence {
    /// A client for `names.bucket`. Against a custom endpoint (the emulator) it addresses
    /// buckets by path, as loopback hosts have no per-bucket DNS names.
    pub fn new(config: &SdkConfig, names: &AwsNames) -> Self {
        Self::with_bucket(config, &names.bucket, names.object_lock_days)
    }

    pub fn with_bucket(config: &SdkConfig, bucket: &str, object_lock_days: Option<i32>) -> Self {
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(config.endpoint_url().is_some())
            .build();
        Self {
            client: Client::from_conf(s3),
            bucket: bucket.to_owned(),
            object_lock_days,
        }
    }

    /// `bundles/<tenant>/<run>/`, once both are plain path segments.
    fn prefix(tenant: &TenantId, run: &RunId) -> Result<String, EvidenceError> {
        for part in [tenant.as_str(), run.as_str()] {
            if !is_safe_segment(part) {
                return Err(EvidenceError::BadPath(part.to_owned()));
            }
        }
        Ok(format!("bundles/{tenant}/{run}/"))
    }

    fn object_key(tenant: &TenantId, run: &RunId, path: &str) -> Result<String, EvidenceError> {
        if !is_safe_path(path) {
            return Err(EvidenceError::BadPath(path.to_owned()));
        }
        Ok(format!("{}{path}", Self::prefix(tenant, run)?))
    }

    async fn keys_under(&self, prefix: &str) -> Result<Vec<String>, EvidenceError> {
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(io)?;
            keys.extend(
                out.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
            token = out
                .next_continuation_token
                .filter(|_| out.is_truncated == Some(true));
            if token.is_none() {
                return Ok(keys);
            }
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, EvidenceError> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => {
                let bytes = out.body.collect().await.map_err(io)?;
                Ok(Some(bytes.into_bytes().to_vec()))
            }
            Err(e) if matches!(e.as_service_error(), Some(GetObjectError::NoSuchKey(_))) => {
                Ok(None)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// A short-lived GET URL for one bundle file, for the auditor endpoint to redirect to once
    /// it has checked its own signed link. (The emulator does not check these signatures.)
    pub async fn presign_get(
        &self,
        tenant: &TenantId,
        run: &RunId,
        path: &str,
        ttl: Duration,
    ) -> Result<String, EvidenceError> {
        let key = Self::object_key(tenant, run, path)?;
        let config = PresigningConfig::expires_in(ttl).map_err(io)?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(io)?;
        Ok(request.uri().to_owned())
    }
}

#[async_trait]
impl EvidenceStore for S3Evidence {
    async fn put_bundle(
        &self,
        tenant: &TenantId,
        run: &RunId,
        files: &BundleFiles,
    ) -> Result<String, EvidenceError> {
        let prefix = Self::prefix(tenant, run)?;
        let retain_until = self.object_lock_days.map(|days| {
            let secs = jiff::Timestamp::now().as_second() + i64::from(days) * 86_400;
            DateTime::from_secs(secs)
        });
        // All files at once: a bundle is a handful of small objects.
        let mut written = BTreeSet::new();
        let mut puts = JoinSet::new();
        for (path, bytes) in files.iter() {
            let key = Self::object_key(tenant, run, path)?;
            let mut put = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(&key)
                .content_type(content_type(path))
                .body(ByteStream::from(bytes.clone()));
            if let Some(until) = retain_until {
                put = put
                    .object_lock_mode(ObjectLockMode::Compliance)
                    .object_lock_retain_until_date(until);
            }
            puts.spawn(put.send());
            written.insert(key);
        }
        while let Some(done) = puts.join_next().await {
            done.map_err(io)?.map_err(io)?;
        }
        for stale in self.keys_under(&prefix).await? {
            if !written.contains(&stale) {
                self.client
                    .delete_object()
                    .bucket(&self.bucket)
                    .key(&stale)
                    .send()
                    .await
                    .map_err(io)?;
            }
        }
        Ok(format!("s3://{}/{prefix}", self.bucket))
    }

    async fn get_file(
        &self,
        tenant: &TenantId,
        run: &RunId,
        path: &str,
    ) -> Result<Option<Vec<u8>>, EvidenceError> {
        self.get(&Self::object_key(tenant, run, path)?).await
    }

    async fn get_bundle(
        &self,
        tenant: &TenantId,
        run: &RunId,
    ) -> Result<Option<BundleFiles>, EvidenceError> {
        let prefix = Self::prefix(tenant, run)?;
        let keys = self.keys_under(&prefix).await?;
        if keys.is_empty() {
            return Ok(None);
        }
        let mut gets = JoinSet::new();
        for key in keys {
            let this = self.clone();
            gets.spawn(async move {
                let bytes = this.get(&key).await;
                (key, bytes)
            });
        }
        let mut files = BundleFiles::new();
        while let Some(done) = gets.join_next().await {
            let (key, bytes) = done.map_err(io)?;
            let rel = key.strip_prefix(&prefix).unwrap_or(&key);
            // Listed a moment ago; gone now means a concurrent rewrite removed it.
            if let Some(bytes) = bytes? {
                files
                    .insert(rel, bytes)
                    .map_err(|e| EvidenceError::BadPath(e.0))?;
            }
        }
        Ok(Some(files))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_built_from_safe_segments_only() {
        let t = TenantId::new("acme");
        let r = RunId::new("run_1");
        assert_eq!(
            S3Evidence::object_key(&t, &r, "evidence/okta/suspend.json").unwrap(),
            "bundles/acme/run_1/evidence/okta/suspend.json"
        );
        assert!(S3Evidence::object_key(&t, &r, "../x").is_err());
        assert!(S3Evidence::prefix(&TenantId::new("a/b"), &r).is_err());
        assert!(S3Evidence::prefix(&t, &RunId::new("..")).is_err());
    }

    #[test]
    fn media_types_follow_extensions() {
        assert_eq!(content_type("manifest.json"), "application/json");
        assert_eq!(content_type("statement.sig"), "application/octet-stream");
        assert_eq!(content_type("VERIFY.md"), "text/markdown; charset=utf-8");
    }
}
