use crate::domain::TenantPolicy;
use crate::ids::TenantId;

/// The tenants this deployment serves. Unknown tenants get a clear error at intake.
pub trait TenantDirectory: Send + Sync {
    fn tenant(&self, id: &TenantId) -> Option<TenantPolicy>;
}
