//! Each tenant's signing key as a KMS key behind an alias: `<prefix>/<tenant>` signs,
//! `<prefix>/<tenant>/next` waits during a rotation. The key set and the latest checkpoint are
//! objects in the evidence bucket, `keys/<tenant>/keys.json` and `keys/<tenant>/checkpoint.json`.
//!
//! Aliases make a rotation one `UpdateAlias`: the finalizer always signs with whatever key the
//! tenant's alias names at that moment, looked up on every bundle (no cache that could outlive
//! a rotation another invocation completed).

use crate::config::AwsNames;
use crate::error_text;
use crate::signer::KmsSigner;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, Tag};
use aws_sdk_s3::primitives::ByteStream;
use passage_core::TenantId;
use passage_core::evidence::{KeySet, SignedCheckpoint, is_safe_segment};
use passage_core::ports::{KeyError, KeySlot, KeyVault, Signer};
use std::sync::Arc;

#[derive(Clone)]
pub struct KmsVault {
    kms: aws_sdk_kms::Client,
    s3: aws_sdk_s3::Client,
    bucket: String,
    alias_prefix: String,
    /// The deployment's one key of an earlier release (`KMS_KEY_ID`), adopted only by
    /// tenants whose chains it began.
    installation_key: Option<String>,
}

fn backend(what: &str, e: impl std::fmt::Display) -> KeyError {
    KeyError::Backend(format!("{what}: {e}"))
}

impl KmsVault {
    pub fn new(config: &SdkConfig, names: &AwsNames) -> Self {
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(config.endpoint_url().is_some())
            .build();
        Self {
            kms: aws_sdk_kms::Client::new(config),
            s3: aws_sdk_s3::Client::from_conf(s3),
            bucket: names.bucket.clone(),
            alias_prefix: names.kms_alias_prefix.trim_end_matches('/').to_owned(),
            installation_key: Some(names.kms_key_id.clone()).filter(|k| !k.is_empty()),
        }
    }

    /// The alias of a tenant's key in `slot`.
    pub fn alias(&self, tenant: &TenantId, slot: KeySlot) -> Result<String, KeyError> {
        if !is_safe_segment(tenant.as_str()) {
            return Err(KeyError::Backend(format!(
                "tenant id {tenant:?} cannot name a key"
            )));
        }
        Ok(match slot {
            KeySlot::Current => format!("{}/{tenant}", self.alias_prefix),
            KeySlot::Next => format!("{}/{tenant}/next", self.alias_prefix),
        })
    }

    /// The id of the key an alias names, if the alias exists.
    async fn target(&self, alias: &str) -> Result<Option<String>, KeyError> {
        match self.kms.describe_key().key_id(alias).send().await {
            Ok(out) => Ok(out.key_metadata().map(|m| m.key_id().to_owned())),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(backend(alias, error_text(&e))),
        }
    }

    async fn point(&self, alias: &str, key: &str) -> Result<bool, KeyError> {
        match self
            .kms
            .create_alias()
            .alias_name(alias)
            .target_key_id(key)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_already_exists_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(backend(alias, error_text(&e))),
        }
    }

    fn object(tenant: &TenantId, name: &str) -> String {
        format!("keys/{tenant}/{name}")
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        tenant: &TenantId,
        name: &str,
    ) -> Result<Option<T>, KeyError> {
        let key = Self::object(tenant, name);
        let out = match self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(backend(&key, error_text(&e))),
        };
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| backend(&key, e))?
            .into_bytes();
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| backend(&key, e))
    }

    async fn put_json(
        &self,
        tenant: &TenantId,
        name: &str,
        value: &impl serde::Serialize,
    ) -> Result<(), KeyError> {
        let key = Self::object(tenant, name);
        let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| backend(&key, e))?;
        bytes.push(b'\n');
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type("application/json")
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| backend(&key, error_text(&e)))?;
        Ok(())
    }

    async fn signer(&self, key: &str) -> Result<Arc<dyn Signer>, KeyError> {
        let signer = KmsSigner::from_client(self.kms.clone(), key).await?;
        Ok(Arc::new(signer))
    }
}

#[async_trait]
impl KeyVault for KmsVault {
    async fn key(
        &self,
        tenant: &TenantId,
        slot: KeySlot,
    ) -> Result<Option<Arc<dyn Signer>>, KeyError> {
        match self.target(&self.alias(tenant, slot)?).await? {
            Some(key) => self.signer(&key).await.map(Some),
            None => Ok(None),
        }
    }

    /// Creates the key and its alias. Deployments whose finalizer may not create keys get an
    /// error naming the alias an administrator must create (docs/aws-deployment.md).
    async fn create(&self, tenant: &TenantId, slot: KeySlot) -> Result<Arc<dyn Signer>, KeyError> {
        let alias = self.alias(tenant, slot)?;
        if self.target(&alias).await?.is_some() {
            return Err(KeyError::Exists {
                tenant: tenant.clone(),
                slot,
            });
        }
        let tag = |k: &str, v: &str| Tag::builder().tag_key(k).tag_value(v).build();
        let created = self
            .kms
            .create_key()
            .key_spec(KeySpec::EccNistP256)
            .key_usage(KeyUsageType::SignVerify)
            .description(format!(
                "Passage evidence signing key of tenant {tenant} ({slot})"
            ))
            .tags(tag("passage:tenant", tenant.as_str()).map_err(|e| backend(&alias, e))?)
            .send()
            .await
            .map_err(|e| {
                backend(
                    &alias,
                    format!(
                        "creating the tenant's KMS key failed ({}); an administrator can create \
                         it and the alias (docs/aws-deployment.md, per-tenant signing keys)",
                        error_text(&e)
                    ),
                )
            })?;
        let key = created
            .key_metadata()
            .map(|m| m.key_id().to_owned())
            .ok_or_else(|| backend(&alias, "CreateKey returned no key"))?;
        if !self.point(&alias, &key).await? {
            // Another writer made the alias first: theirs stands, this key is dropped.
            let _ = self
                .kms
                .schedule_key_deletion()
                .key_id(&key)
                .pending_window_in_days(7)
                .send()
                .await;
            return Err(KeyError::Exists {
                tenant: tenant.clone(),
                slot,
            });
        }
        self.signer(&key).await
    }

    async fn promote(&self, tenant: &TenantId) -> Result<(), KeyError> {
        let next_alias = self.alias(tenant, KeySlot::Next)?;
        let Some(next) = self.target(&next_alias).await? else {
            return Ok(());
        };
        let current = self.alias(tenant, KeySlot::Current)?;
        if !self.point(&current, &next).await? {
            self.kms
                .update_alias()
                .alias_name(&current)
                .target_key_id(&next)
                .send()
                .await
                .map_err(|e| backend(&current, error_text(&e)))?;
        }
        match self.kms.delete_alias().alias_name(&next_alias).send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(backend(&next_alias, error_text(&e))),
        }
    }

    async fn adopt_installation_key(&self, tenant: &TenantId) -> Result<bool, KeyError> {
        let Some(installation) = &self.installation_key else {
            return Ok(false);
        };
        self.point(&self.alias(tenant, KeySlot::Current)?, installation)
            .await?;
        Ok(true)
    }

    async fn key_set(&self, tenant: &TenantId) -> Result<Option<KeySet>, KeyError> {
        self.get_json(tenant, "keys.json").await
    }

    async fn publish_key_set(&self, tenant: &TenantId, set: &KeySet) -> Result<(), KeyError> {
        self.put_json(tenant, "keys.json", set).await
    }

    async fn checkpoint(&self, tenant: &TenantId) -> Result<Option<SignedCheckpoint>, KeyError> {
        self.get_json(tenant, "checkpoint.json").await
    }

    async fn publish_checkpoint(
        &self,
        tenant: &TenantId,
        checkpoint: &SignedCheckpoint,
    ) -> Result<(), KeyError> {
        self.put_json(tenant, "checkpoint.json", checkpoint).await
    }
}
