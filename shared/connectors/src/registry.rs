//! Connectors per tenant, built from configuration on first use and kept for reuse (each holds
//! a connection pool and cached tokens).

use crate::github::{GithubConnector, GithubSettings};
use crate::google::{GoogleConnector, GoogleSettings};
use crate::jumpcloud::{JumpCloudConnector, JumpCloudSettings};
use crate::microsoft::{MicrosoftConnector, MicrosoftSettings};
use crate::okta::{OktaConnector, OktaSettings};
use crate::scim::{ScimConnector, ScimSettings};
use crate::slack::{SlackConnector, SlackSettings};
use passage_core::ports::{Connector, ConnectorRegistry};
use passage_core::{Provider, Step, TenantId, TenantPolicy};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// How to reach each provider for one tenant. What to *do* there (the policy) comes from the
/// tenant's policy, so the plan and the connector never disagree.
#[derive(Clone, Debug, Default)]
pub struct ConnectionSettings {
    pub okta: Option<OktaSettings>,
    pub microsoft: Option<MicrosoftSettings>,
    pub google: Option<GoogleSettings>,
    pub jumpcloud: Option<JumpCloudSettings>,
    pub slack: Option<SlackSettings>,
    pub github: Option<GithubSettings>,
    /// SCIM apps by the tenant's name for each.
    pub scim: BTreeMap<String, ScimSettings>,
}

/// A built connector's key: tenant, provider, and the app for a provider serving several.
type Key = (TenantId, Provider, Option<String>);

pub struct Registry {
    settings: HashMap<TenantId, ConnectionSettings>,
    built: Mutex<HashMap<Key, Arc<dyn Connector>>>,
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

impl Registry {
    /// The connector for `provider` (and `app`), built on first use.
    fn get(
        &self,
        tenant: &TenantPolicy,
        provider: Provider,
        app: Option<&str>,
    ) -> Option<Arc<dyn Connector>> {
        let key = (tenant.id.clone(), provider, app.map(str::to_owned));
        let mut built = self.built.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = built.get(&key) {
            return Some(c.clone());
        }
        let settings = self.settings.get(&tenant.id)?;
        let connector = self.build(tenant, settings, provider, app)?;
        built.insert(key, connector.clone());
        Some(connector)
    }

    /// Each connector's settings with the tenant's policy for it, so the plan and the connector
    /// never disagree.
    fn build(
        &self,
        tenant: &TenantPolicy,
        settings: &ConnectionSettings,
        provider: Provider,
        app: Option<&str>,
    ) -> Option<Arc<dyn Connector>> {
        let http = self.http.clone();
        Some(match provider {
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
            Provider::Slack => {
                let mut s = settings.slack.clone()?;
                s.policy = tenant.saas.slack.clone()?;
                Arc::new(SlackConnector::new(s, http))
            }
            Provider::Github => {
                let mut s = settings.github.clone()?;
                s.policy = tenant.saas.github.clone()?;
                Arc::new(GithubConnector::new(s, http))
            }
            Provider::Scim => {
                let app = app?;
                let mut s = settings.scim.get(app)?.clone();
                s.policy = tenant.saas.scim_app(app)?.clone();
                Arc::new(ScimConnector::new(s, http))
            }
            // People confirm human steps; the engine never asks a connector to.
            Provider::Human => return None,
        })
    }
}

impl ConnectorRegistry for Registry {
    fn connector(&self, tenant: &TenantPolicy, provider: Provider) -> Option<Arc<dyn Connector>> {
        self.get(tenant, provider, None)
    }

    fn connector_for(&self, tenant: &TenantPolicy, step: &Step) -> Option<Arc<dyn Connector>> {
        self.get(tenant, step.provider, step.app.as_deref())
    }
}
