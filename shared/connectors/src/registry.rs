//! Connectors per tenant, built from configuration on first use and kept for reuse (each holds
//! a connection pool).

use crate::okta::{OktaConnector, OktaSettings};
use passage_core::ports::{Connector, ConnectorRegistry};
use passage_core::{Provider, TenantId, TenantPolicy};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How to reach each provider for one tenant.
#[derive(Clone, Debug, Default)]
pub struct ConnectionSettings {
    pub okta: Option<OktaSettings>,
}

pub struct Registry {
    settings: HashMap<TenantId, ConnectionSettings>,
    built: Mutex<HashMap<(TenantId, Provider), Arc<dyn Connector>>>,
    http: reqwest::Client,
}

impl Registry {
    pub fn new(settings: HashMap<TenantId, ConnectionSettings>) -> Self {
        Self {
            settings,
            built: Mutex::new(HashMap::new()),
            http: crate::http::client(),
        }
    }
}

impl ConnectorRegistry for Registry {
    fn connector(&self, tenant: &TenantPolicy, provider: Provider) -> Option<Arc<dyn Connector>> {
        let key = (tenant.id.clone(), provider);
        let mut built = self.built.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = built.get(&key) {
            return Some(c.clone());
        }
        let settings = self.settings.get(&tenant.id)?;
        let connector: Arc<dyn Connector> = match provider {
            Provider::Okta => Arc::new(OktaConnector::new(
                settings.okta.clone()?,
                self.http.clone(),
            )),
            Provider::Microsoft | Provider::Google | Provider::Jumpcloud => return None,
        };
        built.insert(key, connector.clone());
        Some(connector)
    }
}
