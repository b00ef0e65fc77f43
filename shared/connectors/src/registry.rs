//! Connectors per tenant, built from configuration on first use and kept for reuse (each holds
//! a connection pool and cached tokens), each paced in its provider org's budgets.

use crate::github::{GithubConnector, GithubSettings};
use crate::google::{GoogleConnector, GoogleSettings};
use crate::jumpcloud::{JumpCloudConnector, JumpCloudSettings};
use crate::microsoft::{MicrosoftConnector, MicrosoftSettings};
use crate::okta::{OktaConnector, OktaSettings};
use crate::pace::{PacePlan, Pacing};
use crate::scim::{ScimConnector, ScimSettings};
use crate::slack::{SlackConnector, SlackSettings};
use passage_core::ports::{Connector, ConnectorRegistry, SignInLog};
use passage_core::{Provider, Step, TenantId, TenantPolicy};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// A connector that also reads its provider's sign-in log: the identity providers.
trait IdentityProvider: Connector + SignInLog {}
impl<T: Connector + SignInLog> IdentityProvider for T {}

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
    /// How fast each provider's org may be called.
    pub pace: PacePlans,
}

/// Each provider's budgets for one tenant: the documented limits unless configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacePlans {
    pub okta: PacePlan,
    pub microsoft: PacePlan,
    pub google: PacePlan,
    pub jumpcloud: PacePlan,
}

impl Default for PacePlans {
    fn default() -> Self {
        Self {
            okta: PacePlan::documented(Provider::Okta),
            microsoft: PacePlan::documented(Provider::Microsoft),
            google: PacePlan::documented(Provider::Google),
            jumpcloud: PacePlan::documented(Provider::Jumpcloud),
        }
    }
}

/// A built connector's key: tenant, provider, and the app for a provider serving several.
type Key = (TenantId, Provider, Option<String>);

pub struct Registry {
    settings: HashMap<TenantId, ConnectionSettings>,
    built: Mutex<HashMap<Key, Arc<dyn Connector>>>,
    /// Each tenant's sign-in log readers, built on first use like the connectors.
    logs: Mutex<HashMap<(TenantId, Provider), Arc<dyn SignInLog>>>,
    http: reqwest::Client,
    pacing: Pacing,
}

impl Registry {
    /// Connectors whose calls go at once: for tests and tools that call a provider alone.
    pub fn new(settings: HashMap<TenantId, ConnectionSettings>) -> Self {
        Self::paced(settings, Pacing::off())
    }

    /// Connectors whose calls wait their turn in the host's budgets, which every connector to
    /// the same provider org shares (two tenants on one Okta org draw from one budget).
    pub fn paced(settings: HashMap<TenantId, ConnectionSettings>, pacing: Pacing) -> Self {
        Self {
            settings,
            built: Mutex::new(HashMap::new()),
            logs: Mutex::new(HashMap::new()),
            http: crate::http::client(),
            pacing,
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
        if let Some(idp) = self.identity_provider(tenant, settings, provider) {
            return Some(idp);
        }
        Some(match provider {
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
            // People confirm human steps; the engine never asks a connector to. The identity
            // providers were built above, when the tenant connects them.
            Provider::Human
            | Provider::Okta
            | Provider::Microsoft
            | Provider::Google
            | Provider::Jumpcloud => return None,
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

    fn sign_in_log(&self, tenant: &TenantPolicy, provider: Provider) -> Option<Arc<dyn SignInLog>> {
        let key = (tenant.id.clone(), provider);
        let mut logs = self.logs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(log) = logs.get(&key) {
            return Some(log.clone());
        }
        let log = self.build_log(tenant, self.settings.get(&tenant.id)?, provider)?;
        logs.insert(key, log.clone());
        Some(log)
    }
}

impl Registry {
    /// A reader of `provider`'s sign-in log over the tenant's connection, paced in the same
    /// budgets as its connector. `None` for a provider without one.
    fn build_log(
        &self,
        tenant: &TenantPolicy,
        settings: &ConnectionSettings,
        provider: Provider,
    ) -> Option<Arc<dyn SignInLog>> {
        Some(self.identity_provider(tenant, settings, provider)?)
    }

    /// The connector of an identity provider (Okta, Microsoft, Google, JumpCloud): it both acts
    /// and reads the sign-in log, with the tenant's policy for it and paced in its org's
    /// budgets. `None` for another provider or one the tenant does not connect.
    fn identity_provider(
        &self,
        tenant: &TenantPolicy,
        settings: &ConnectionSettings,
        provider: Provider,
    ) -> Option<Arc<dyn IdentityProvider>> {
        let (http, pacing, plans) = (self.http.clone(), self.pacing.clone(), &settings.pace);
        Some(match provider {
            Provider::Okta => {
                let s = settings.okta.clone()?;
                let org = okta_org(&s);
                let unassigns = tenant.okta.as_ref().is_some_and(|o| o.unassign_apps);
                let okta = OktaConnector::new(s, http)
                    .sweeping(&tenant.sweep)
                    .unassigning_apps(unassigns);
                Arc::new(okta.paced(pacing, org, plans.okta.clone()))
            }
            Provider::Microsoft => {
                let mut s = settings.microsoft.clone()?;
                s.policy = tenant.microsoft.clone()?;
                let org = s.tenant_id.clone();
                let plan = plans.microsoft.clone();
                let ms = MicrosoftConnector::new(s, http).sweeping(&tenant.sweep);
                Arc::new(ms.paced(pacing, org, plan))
            }
            Provider::Google => {
                let mut s = settings.google.clone()?;
                s.policy = tenant.google.clone()?;
                let org = google_org(&s);
                let google = GoogleConnector::new(s, http).sweeping(&tenant.sweep);
                Arc::new(google.paced(pacing, org, plans.google.clone()))
            }
            Provider::Jumpcloud => {
                let mut s = settings.jumpcloud.clone()?;
                s.policy = tenant.jumpcloud.clone()?;
                let org = jumpcloud_org(&s, &tenant.id);
                let plan = plans.jumpcloud.clone();
                let jc = JumpCloudConnector::new(s, http).sweeping(&tenant.sweep);
                Arc::new(jc.paced(pacing, org, plan))
            }
            _ => return None,
        })
    }
}

/// An Okta org is its host (with the port, which only the sandbox has).
fn okta_org(settings: &OktaSettings) -> String {
    let url = &settings.org_url;
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => url.as_str().to_owned(),
    }
}

/// A Google customer is its id; `my_customer` is everyone's alias for their own, so then the
/// administrator's domain names it.
fn google_org(settings: &GoogleSettings) -> String {
    if settings.customer_id != "my_customer" {
        return settings.customer_id.clone();
    }
    let admin = settings.admin_subject.as_str();
    admin
        .rsplit_once('@')
        .map_or(admin, |(_, domain)| domain)
        .to_owned()
}

/// A JumpCloud org is its id when the credential names one (an MSP's); a single-org key
/// belongs to the one org the tenant has.
fn jumpcloud_org(settings: &JumpCloudSettings, tenant: &TenantId) -> String {
    match &settings.org_id {
        Some(org) if !org.trim().is_empty() => org.clone(),
        _ => format!("tenant:{tenant}"),
    }
}
