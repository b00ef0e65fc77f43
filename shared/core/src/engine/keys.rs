//! Each tenant's signing key through its life: created for a tenant with no bundles, never
//! silently replaced, rotated by a link in the chain, and published with its validity.
//!
//! A rotation is crash-safe without a transaction across the chain and the key store: the new
//! key waits in the vault's next slot until a rotation link naming it is in the chain, and
//! every writer of the chain first settles a waiting rotation ([`Engine::settle_rotation`]).
//! So whatever step a rotation stopped at, the next link is signed by the right key.

use super::{Engine, EngineError};
use crate::evidence::{
    BundleFiles, Checkpoint, KeySet, PublishedKey, RotationInput, SignedCheckpoint, Statement,
    build_rotation, public_key_fingerprint, rotation_link_id,
};
use crate::ids::{RunId, TenantId};
use crate::ports::{ChainHead, Commit, KeyError, KeySlot, Signer};
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// What a rotation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotated {
    pub old_key_sha256: String,
    pub new_key_sha256: String,
    /// The chain sequence of the rotation link.
    pub sequence: u64,
}

fn fingerprint(signer: &dyn Signer) -> Result<String, EngineError> {
    public_key_fingerprint(&signer.public_key_pem()).map_err(EngineError::Bundle)
}

impl Engine {
    /// Makes sure the tenant can sign: settles a waiting rotation, creates the first key of a
    /// tenant without bundles, and fails with [`EngineError::SigningKeyMissing`] when a tenant
    /// with bundles has lost its key. Hosts call it for every tenant at start, so a lost key
    /// stops the host instead of surfacing at the next closure.
    pub async fn prepare_signing_key(&self, tenant: &TenantId) -> Result<KeySet, EngineError> {
        let turn = self.chain_lock(tenant);
        let _turn = turn.lock().await;
        self.settle_rotation(tenant).await?;
        let head = self.ports.store.chain_head(tenant).await?;
        self.current_signer(tenant, &head).await?;
        self.published_key_set(tenant).await
    }

    /// The tenant's published key set.
    pub async fn published_key_set(&self, tenant: &TenantId) -> Result<KeySet, EngineError> {
        self.ports
            .keys
            .key_set(tenant)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("key set of tenant {tenant}")))
    }

    /// Replaces the tenant's key: a new key is made, and a link signed by the current key
    /// naming it is added to the chain; from then on the new key signs. A new key left waiting
    /// by an interrupted rotation is the one used.
    pub async fn rotate_signing_key(&self, tenant: &TenantId) -> Result<Rotated, EngineError> {
        let turn = self.chain_lock(tenant);
        let _turn = turn.lock().await;
        // Settle first: a rotation left half-done is finished, not stacked on.
        self.settle_rotation(tenant).await?;
        let head = self.ports.store.chain_head(tenant).await?;
        let old = self.current_signer(tenant, &head).await?;
        match self.ports.keys.create(tenant, KeySlot::Next).await {
            Ok(_) | Err(KeyError::Exists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let sequence = self
            .settle_rotation(tenant)
            .await?
            .ok_or_else(|| EngineError::Bundle("the new key vanished from the vault".into()))?;
        let head = self.ports.store.chain_head(tenant).await?;
        let new = self.current_signer(tenant, &head).await?;
        Ok(Rotated {
            old_key_sha256: fingerprint(old.as_ref())?,
            new_key_sha256: fingerprint(new.as_ref())?,
            sequence,
        })
    }

    /// With a new key waiting, puts a rotation link naming it in the chain (unless one already
    /// is the chain's head) and makes it current. Returns the link's sequence. The caller holds
    /// the tenant's chain turn.
    pub(super) async fn settle_rotation(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<u64>, EngineError> {
        let Some(next) = self.ports.keys.key(tenant, KeySlot::Next).await? else {
            return Ok(None);
        };
        let next_sha256 = fingerprint(next.as_ref())?;
        let link_id = RunId::new(rotation_link_id(&next_sha256));
        for _ in 0..self.settings.conflict_retries {
            let head = self.ports.store.chain_head(tenant).await?;
            if let Some(at) = self.committed_rotation(tenant, &link_id, &head).await? {
                self.hand_over(tenant, next.as_ref(), at, head.sequence)
                    .await?;
                return Ok(Some(head.sequence));
            }
            let current = self.current_signer(tenant, &head).await?;
            let now = self.now();
            let (files, statement) = build_rotation(&RotationInput {
                tenant: tenant.as_str(),
                sequence: head.sequence + 1,
                prev_manifest_sha256: &head.manifest_sha256,
                key_id: &current.key_id(),
                public_key_pem: &current.public_key_pem(),
                next_key_id: &next.key_id(),
                next_public_key_pem: &next.public_key_pem(),
                created_at: now,
            })
            .map_err(EngineError::Bundle)?;
            let files = self.sealed(files, &statement, current.as_ref()).await?;
            self.ports
                .evidence
                .put_bundle(tenant, &link_id, &files)
                .await?;
            let moved = ChainHead {
                sequence: statement.sequence,
                manifest_sha256: statement.manifest_sha256.clone(),
            };
            let commit = Commit {
                chain: Some((tenant.clone(), head, moved)),
                ..Commit::default()
            };
            if self.try_commit(commit).await? {
                self.hand_over(tenant, next.as_ref(), now, statement.sequence)
                    .await?;
                return Ok(Some(statement.sequence));
            }
        }
        Err(EngineError::Contended(self.settings.conflict_retries))
    }

    /// When the chain's head is the rotation link `link_id`, the time it was signed.
    async fn committed_rotation(
        &self,
        tenant: &TenantId,
        link_id: &RunId,
        head: &ChainHead,
    ) -> Result<Option<Timestamp>, EngineError> {
        let Some(manifest) = self
            .ports
            .evidence
            .get_file(tenant, link_id, "manifest.json")
            .await?
        else {
            return Ok(None);
        };
        if hex::encode(Sha256::digest(&manifest)) != head.manifest_sha256 {
            // Stored by an attempt that lost the chain to another link: not in the chain.
            return Ok(None);
        }
        let value: serde_json::Value = serde_json::from_slice(&manifest)
            .map_err(|e| EngineError::Bundle(format!("stored rotation link: {e}")))?;
        value["created_at"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .map(Some)
            .ok_or_else(|| EngineError::Bundle("stored rotation link has no created_at".into()))
    }

    /// Publishes the key set with `next` taking over at `at`, then makes it current. Both
    /// steps repeat harmlessly, so an interrupted hand-over is finished by the next writer.
    async fn hand_over(
        &self,
        tenant: &TenantId,
        next: &dyn Signer,
        at: Timestamp,
        sequence: u64,
    ) -> Result<(), EngineError> {
        let set = self.published_key_set(tenant).await?;
        let key = PublishedKey::from_pem(&next.key_id(), &next.public_key_pem(), None, None)
            .map_err(EngineError::Bundle)?;
        let rotated = set.rotated(key, at, sequence);
        if rotated != set {
            self.ports.keys.publish_key_set(tenant, &rotated).await?;
        }
        self.ports.keys.promote(tenant).await?;
        Ok(())
    }

    /// The key that signs the tenant's next link after `head`: its current key, created for a
    /// tenant without bundles, adopted from an earlier release's installation key for one whose
    /// chain began with it, and otherwise refused. It must be the current key of the published
    /// set, which is published here when it is not yet.
    pub(super) async fn current_signer(
        &self,
        tenant: &TenantId,
        head: &ChainHead,
    ) -> Result<Arc<dyn Signer>, EngineError> {
        let keys = &self.ports.keys;
        let published = keys.key_set(tenant).await?;
        let signer = match keys.key(tenant, KeySlot::Current).await? {
            Some(signer) => signer,
            None if published.is_none() && head.sequence == 0 => {
                match keys.create(tenant, KeySlot::Current).await {
                    Ok(signer) => signer,
                    Err(KeyError::Exists { .. }) => self.existing(tenant).await?,
                    Err(e) => return Err(e.into()),
                }
            }
            None if published.is_none() && keys.adopt_installation_key(tenant).await? => {
                self.existing(tenant).await?
            }
            None => {
                return Err(EngineError::SigningKeyMissing {
                    tenant: tenant.to_string(),
                    bundles: head.sequence,
                });
            }
        };
        let found = fingerprint(signer.as_ref())?;
        match published.as_ref().and_then(KeySet::current) {
            Some(current) if current.key_sha256 == found => {}
            Some(current) => {
                return Err(EngineError::SigningKeyMismatch {
                    tenant: tenant.to_string(),
                    found,
                    published: current.key_sha256.clone(),
                });
            }
            None => {
                // A key with no set yet: valid from now if it has signed nothing, or from
                // an unknown start if it signed bundles before sets were published.
                let from = (head.sequence == 0).then(|| self.now());
                let key =
                    PublishedKey::from_pem(&signer.key_id(), &signer.public_key_pem(), from, None)
                        .map_err(EngineError::Bundle)?;
                keys.publish_key_set(tenant, &KeySet::first(tenant.as_str(), key))
                    .await?;
            }
        }
        Ok(signer)
    }

    async fn existing(&self, tenant: &TenantId) -> Result<Arc<dyn Signer>, EngineError> {
        self.ports
            .keys
            .key(tenant, KeySlot::Current)
            .await?
            .ok_or_else(|| EngineError::Keys(KeyError::Backend("a created key vanished".into())))
    }

    /// Adds the statement, its signature, the signature's timestamp (with a timestamp
    /// authority) and the public key to a link's files.
    pub(super) async fn sealed(
        &self,
        mut files: BundleFiles,
        statement: &Statement,
        signer: &dyn Signer,
    ) -> Result<BundleFiles, EngineError> {
        let text = statement.render();
        let sig = signer.sign(text.as_bytes()).await?;
        let bad = |e: crate::evidence::PathError| EngineError::Bundle(e.to_string());
        if let Some(tsa) = &self.ports.timestamps {
            let token = tsa.timestamp(&sig).await?;
            files
                .insert(crate::evidence::TIMESTAMP_FILE, token)
                .map_err(bad)?;
        }
        files
            .insert("statement.txt", text.into_bytes())
            .map_err(bad)?;
        files.insert("statement.sig", sig).map_err(bad)?;
        files
            .insert("signing-key.pem", signer.public_key_pem().into_bytes())
            .map_err(bad)?;
        Ok(files)
    }

    /// Signs and publishes a checkpoint of the tenant's chain head as it is now.
    pub async fn checkpoint(&self, tenant: &TenantId) -> Result<SignedCheckpoint, EngineError> {
        let turn = self.chain_lock(tenant);
        let _turn = turn.lock().await;
        self.settle_rotation(tenant).await?;
        let head = self.ports.store.chain_head(tenant).await?;
        let signer = self.current_signer(tenant, &head).await?;
        let signed = self.sign_checkpoint(tenant, &head, signer.as_ref()).await?;
        self.ports.keys.publish_checkpoint(tenant, &signed).await?;
        Ok(signed)
    }

    /// A checkpoint of `head`, signed by `signer`.
    pub(super) async fn sign_checkpoint(
        &self,
        tenant: &TenantId,
        head: &ChainHead,
        signer: &dyn Signer,
    ) -> Result<SignedCheckpoint, EngineError> {
        let checkpoint = Checkpoint {
            tenant: tenant.to_string(),
            sequence: head.sequence,
            head_sha256: head.manifest_sha256.clone(),
            at: self.now(),
            key_sha256: fingerprint(signer)?,
        };
        let sig = signer.sign(checkpoint.render().as_bytes()).await?;
        Ok(SignedCheckpoint::new(
            &checkpoint,
            &sig,
            &signer.public_key_pem(),
        ))
    }

    /// After a bundle joined the chain: publishes a checkpoint of the new head, unless a newer
    /// one is already published. A failure here loses nothing (the bundle is in the chain and
    /// the next closure or `passage keys checkpoint` publishes again), so it is only logged.
    pub(super) async fn publish_checkpoint_after(
        &self,
        tenant: &TenantId,
        head: &ChainHead,
        signer: &dyn Signer,
    ) {
        let result = async {
            if let Some(published) = self.ports.keys.checkpoint(tenant).await?
                && Checkpoint::parse(&published.checkpoint)
                    .is_ok_and(|c| c.sequence >= head.sequence)
            {
                return Ok(());
            }
            let signed = self.sign_checkpoint(tenant, head, signer).await?;
            self.ports.keys.publish_checkpoint(tenant, &signed).await?;
            Ok::<_, EngineError>(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(%tenant, sequence = head.sequence, error = %e, "checkpoint not published");
        }
    }
}
