//! Connectors per tenant, built from configuration on first use and kept for reuse (each holds
//! a connection pool and cached tokens).

use crate::google::{GoogleConnector, GoogleSettings};
use crate::jumpcloud::{JumpCloudConnector, JumpCloudSettings};
use crate::microsoft::{MicrosoftConnector, MicrosoftSettings};
use crate::okta::{OktaConnector, OktaSettings};
use passage_core::ports::{Connector, ConnectorRegistry};
use passage_core::{Provider, TenantId, TenantPolicy};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How to reach each provider for one tenant. What to *do* there (the policy) comes from the
/// tenant's policy, so the plan and the connector never disagree.
#[derive(Clone, Debug, Default)]
pub struct ConnectionSettings {
    pub okta: Option<OktaSettings>,
    pub microsoft: Option<MicrosoftSettings>,
    pub google: Option<GoogleSettings>,
    pub jumpcloud: Option<JumpCloudSettings>,
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
        let http = self.http.clone();
        let connector: Arc<dyn Connector> = match provider {
            Provider::Okta => Arc::new(OktaConnector::new(settings.okta.clone()?, http)),
            Provider::Microsoft => {
                let mut s = settings.microsoft.clone()?;
                s.policy = tenant.microsoft.clone()?;
                Arc::new(MicrosoftConnector::new(s, http))
            }
            Provider::Google => {
                let mut s = settings.google.clone()?;
                s.policy = tenant.google.clone()?;
                Arc::new(GoogleConnector::new(s, http))
            }
            Provider::Jumpcloud => {
                let mut s = settings.jumpcloud.clone()?;
                s.policy = tenant.jumpcloud.clone()?;
                Arc::new(JumpCloudConnector::new(s, http))
            }
            // People confirm human steps; the engine never asks a connector to.
            Provider::Human => return None,
        };
        built.insert(key, connector.clone());
        Some(connector)
    }
}
