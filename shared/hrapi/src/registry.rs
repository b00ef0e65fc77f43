//! Each tenant's HR system client, built once from configuration.

use crate::{HrSettings, source};
use passage_core::TenantId;
use passage_core::TenantPolicy;
use passage_core::ports::{HrSource, HrSourceRegistry};
use std::collections::HashMap;
use std::sync::Arc;

/// The HR sources of a deployment, by tenant.
#[derive(Clone, Default)]
pub struct HrRegistry(HashMap<TenantId, Arc<dyn HrSource>>);

impl HrRegistry {
    pub fn new(settings: HashMap<TenantId, HrSettings>) -> Self {
        Self(
            settings
                .into_iter()
                .map(|(tenant, s)| (tenant, source(&s)))
                .collect(),
        )
    }
}

impl HrSourceRegistry for HrRegistry {
    fn source(&self, tenant: &TenantPolicy) -> Option<Arc<dyn HrSource>> {
        self.0.get(&tenant.id).cloned()
    }
}
