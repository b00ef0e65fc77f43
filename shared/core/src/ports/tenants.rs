use crate::domain::TenantPolicy;
use crate::ids::TenantId;
use std::collections::HashMap;
use std::time::Duration;

/// The tenants this deployment serves. Unknown tenants get a clear error at intake.
pub trait TenantDirectory: Send + Sync {
    fn tenant(&self, id: &TenantId) -> Option<TenantPolicy>;

    /// The longest early-window lead of any tenant: how far ahead of now the sweep must look
    /// for scheduled runs whose early steps are due, should their timer have been lost.
    fn longest_early_lead(&self) -> Option<Duration>;
}

/// Tenants from configuration, fixed for the life of the process (both hosts read their
/// configuration once at start).
pub struct StaticTenants(HashMap<TenantId, TenantPolicy>);

impl StaticTenants {
    pub fn new(policies: Vec<TenantPolicy>) -> Self {
        Self(policies.into_iter().map(|p| (p.id.clone(), p)).collect())
    }
}

impl TenantDirectory for StaticTenants {
    fn tenant(&self, id: &TenantId) -> Option<TenantPolicy> {
        self.0.get(id).cloned()
    }

    fn longest_early_lead(&self) -> Option<Duration> {
        self.0
            .values()
            .filter_map(|p| p.early.as_ref().map(|e| e.lead))
            .max()
    }
}
