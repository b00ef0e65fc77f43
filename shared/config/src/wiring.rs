//! What both hosts build from the resolved configuration, built in one place: the engine's
//! outside ports (provider connectors, HR system APIs, notice channels, the tenant directory),
//! who may operate, and which tenants the HR reconcile visits. The embedded host and the
//! Lambda host differ only in their storage, queue, signer and timer, and in where the budgets
//! that pace provider calls are kept (the [`Pacing`] each hands in).

use crate::file::Config;
use crate::resolve::Resolved;
use anyhow::{Context, Result};
use passage_connectors::{ConnectionSettings, Pacing, Registry};
use passage_core::engine::ConfirmLinks;
use passage_core::ports::{
    ConnectorRegistry, HrSourceRegistry, NoHrSources, NoNotifier, Notifier, StaticTenants,
    TenantDirectory,
};
use passage_core::secret::Secret;
use passage_core::{TenantId, TenantPolicy};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The engine's ports to the outside world, as opposed to its own storage: the same on both
/// hosts.
#[derive(Clone)]
pub struct Integrations {
    pub connectors: Arc<dyn ConnectorRegistry>,
    pub tenants: Arc<dyn TenantDirectory>,
    pub hr: Arc<dyn HrSourceRegistry>,
    pub notifier: Arc<dyn Notifier>,
}

impl Integrations {
    /// No tenants and no outside systems: for commands that only read the store.
    pub fn none() -> Self {
        Self::providers_only(Vec::new(), HashMap::new())
    }

    /// Tenants and their provider connections only, unpaced: no HR system API and no notice
    /// channels.
    pub fn providers_only(
        policies: Vec<TenantPolicy>,
        connections: HashMap<TenantId, ConnectionSettings>,
    ) -> Self {
        Self::providers(policies, connections, Pacing::off())
    }

    /// Tenants and their provider connections, paced by `pacing`: no HR system API and no
    /// notice channels.
    pub fn providers(
        policies: Vec<TenantPolicy>,
        connections: HashMap<TenantId, ConnectionSettings>,
        pacing: Pacing,
    ) -> Self {
        Self {
            connectors: Arc::new(Registry::paced(connections, pacing)),
            tenants: Arc::new(StaticTenants::new(policies)),
            hr: Arc::new(NoHrSources),
            notifier: Arc::new(NoNotifier),
        }
    }
}

/// Everything a host takes from the configuration besides its own adapters.
pub struct Wiring {
    pub integrations: Integrations,
    /// Who may use the operator API.
    pub operators: passage_http::Operators,
    /// Tenants with an HR system API, in the order the file lists them: the HR reconcile
    /// compares each with Passage.
    pub reconcile: Vec<TenantId>,
}

impl Config {
    /// Resolves the configuration and wires what it describes, pacing provider calls in the
    /// host's budgets.
    pub fn wiring(&self, pacing: Pacing) -> Result<Wiring> {
        self.resolve_all()?.wire(pacing)
    }
}

impl Resolved {
    /// Builds the connectors (paced by `pacing`), HR registry, notifier, tenant directory and
    /// operators.
    pub fn wire(self, pacing: Pacing) -> Result<Wiring> {
        let notifier = passage_notify::ChannelNotifier::new(&self.notify)
            .context("notify settings are unusable")?;
        let reconcile = self
            .policies
            .iter()
            .map(|p| p.id.clone())
            .filter(|id| self.hr_apis.contains_key(id))
            .collect();
        Ok(Wiring {
            integrations: Integrations {
                connectors: Arc::new(Registry::paced(self.connections, pacing)),
                tenants: Arc::new(StaticTenants::new(self.policies)),
                hr: Arc::new(passage_hrapi::HrRegistry::new(self.hr_apis)),
                notifier: Arc::new(notifier),
            },
            operators: passage_http::Operators::new(self.operators).with_oidc(self.oidc),
            reconcile,
        })
    }
}

/// How long a manager's hand-over confirmation link stays usable, on either host.
pub const CONFIRM_LINKS_VALID_FOR: Duration = Duration::from_secs(14 * 86_400);

/// Confirmation links in hand-over reminders, pointing at `base_url` and signed with `key`.
pub fn confirm_links(base_url: String, key: Secret) -> ConfirmLinks {
    ConfirmLinks {
        base_url,
        key,
        valid_for: CONFIRM_LINKS_VALID_FOR,
    }
}
