//! Where each tenant's signing keys live, and what is published about them.

use super::{SignError, Signer};
use crate::evidence::{KeySet, SignedCheckpoint};
use crate::ids::TenantId;
use async_trait::async_trait;
use std::sync::Arc;

/// A tenant has at most two keys: the one that signs, and one made for a rotation that the
/// chain has not handed over to yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySlot {
    Current,
    Next,
}

impl std::fmt::Display for KeySlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeySlot::Current => "current",
            KeySlot::Next => "next",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("tenant {tenant} already has a {slot} signing key")]
    Exists { tenant: TenantId, slot: KeySlot },
    #[error("signing keys: {0}")]
    Backend(String),
}

impl From<SignError> for KeyError {
    fn from(e: SignError) -> Self {
        KeyError::Backend(e.0)
    }
}

/// One signing key per tenant (a key file each, or a KMS key behind a per-tenant alias), the
/// tenant's published key set and its latest signed checkpoint.
///
/// Adapters never create a key on their own: a key that disappears must be noticed, not
/// replaced, because a new key would sign a chain its auditors do not trust. The engine
/// decides when a key may be created (a tenant without bundles) and how a rotation proceeds.
#[async_trait]
pub trait KeyVault: Send + Sync {
    /// The tenant's key in `slot`, if it has one.
    async fn key(
        &self,
        tenant: &TenantId,
        slot: KeySlot,
    ) -> Result<Option<Arc<dyn Signer>>, KeyError>;
    /// A new P-256 key in `slot`. Never replaces a key: [`KeyError::Exists`] if there is one.
    async fn create(&self, tenant: &TenantId, slot: KeySlot) -> Result<Arc<dyn Signer>, KeyError>;
    /// Makes the next key current; the current one is retired and signs no more. Does nothing
    /// without a next key, so an interrupted promotion is completed by repeating it.
    async fn promote(&self, tenant: &TenantId) -> Result<(), KeyError>;
    /// Gives the tenant the installation-wide key an earlier release signed every tenant's
    /// bundles with, if there is one, so a chain begun with it continues. `false` when none.
    async fn adopt_installation_key(&self, tenant: &TenantId) -> Result<bool, KeyError>;
    /// The tenant's published key set, if one was published.
    async fn key_set(&self, tenant: &TenantId) -> Result<Option<KeySet>, KeyError>;
    /// Replaces the tenant's published key set.
    async fn publish_key_set(&self, tenant: &TenantId, set: &KeySet) -> Result<(), KeyError>;
    /// The tenant's latest published checkpoint.
    async fn checkpoint(&self, tenant: &TenantId) -> Result<Option<SignedCheckpoint>, KeyError>;
    async fn publish_checkpoint(
        &self,
        tenant: &TenantId,
        checkpoint: &SignedCheckpoint,
    ) -> Result<(), KeyError>;
}

/// An RFC 3161 timestamp authority.
#[async_trait]
pub trait TimestampAuthority: Send + Sync {
    /// The authority's time-stamp response (DER `TimeStampResp`, status granted) over the
    /// SHA-256 of `data`.
    async fn timestamp(&self, data: &[u8]) -> Result<Vec<u8>, SignError>;
}
