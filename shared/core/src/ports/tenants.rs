use crate::domain::TenantPolicy;
use crate::ids::TenantId;
use async_trait::async_trait;
use std::collections::HashMap;
use std::time::Duration;

/// Why a tenant's policy could not be had. Either way only that tenant is affected: the
/// directory answers for every other tenant as before.
#[derive(Clone, Debug, thiserror::Error)]
pub enum TenantError {
    /// The tenant's configuration exists but cannot be used (a syntax error, a bad value). It
    /// stays so until an administrator fixes it.
    #[error("the configuration of tenant {tenant} is unusable: {detail}")]
    Misconfigured { tenant: String, detail: String },
    /// Where the configuration lives did not answer (throttled, down): try again shortly.
    #[error("the configuration of tenant {tenant} could not be read: {detail}")]
    Unavailable { tenant: String, detail: String },
}

/// The tenants this deployment serves. Unknown tenants get a clear error at intake.
///
/// Asynchronous because a directory may load a tenant on first use (the AWS host reads one
/// secret per tenant, on demand); the configured hosts answer from memory.
#[async_trait]
pub trait TenantDirectory: Send + Sync {
    /// The tenant's policy; `Ok(None)` when no such tenant is configured.
    async fn tenant(&self, id: &TenantId) -> Result<Option<TenantPolicy>, TenantError>;

    /// The longest early-window lead of any tenant this directory knows: how far ahead of now
    /// the sweep must look for scheduled runs whose early steps are due, should their timer
    /// have been lost.
    fn longest_early_lead(&self) -> Option<Duration>;
}

/// Tenants from configuration, fixed for the life of the process (the embedded host reads its
/// configuration once at start).
pub struct StaticTenants(HashMap<TenantId, TenantPolicy>);

impl StaticTenants {
    pub fn new(policies: Vec<TenantPolicy>) -> Self {
        Self(policies.into_iter().map(|p| (p.id.clone(), p)).collect())
    }
}

#[async_trait]
impl TenantDirectory for StaticTenants {
    async fn tenant(&self, id: &TenantId) -> Result<Option<TenantPolicy>, TenantError> {
        Ok(self.0.get(id).cloned())
    }

    fn longest_early_lead(&self) -> Option<Duration> {
        self.0
            .values()
            .filter_map(|p| p.early.as_ref().map(|e| e.lead))
            .max()
    }
}
