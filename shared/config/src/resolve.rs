//! The file turned into what the engine and the HTTP API take: each section converted by its
//! own module, every secret read and every value checked before anything starts.

use crate::file::{Config, TenantConfig};
use crate::operators::{oidc_providers, operators};
use crate::policy::tenant_policy;
use crate::providers::connection_settings;
use crate::secrets::settings_from_table;
use anyhow::Result;
use passage_connectors::ConnectionSettings;
use passage_core::{TenantId, TenantPolicy};
use std::collections::HashMap;

/// Everything a host needs from the configuration, secrets read.
pub struct Resolved {
    pub policies: Vec<TenantPolicy>,
    pub connections: HashMap<TenantId, ConnectionSettings>,
    /// Each tenant's HR system API, by tenant.
    pub hr_apis: HashMap<TenantId, passage_hrapi::HrSettings>,
    /// Operators as the HTTP API checks them (tokens kept only as hashes).
    pub operators: Vec<passage_http::Operator>,
    /// The OpenID Connect providers operators sign in to the console with.
    pub oidc: Vec<passage_http::OidcProvider>,
    /// Notice delivery settings (the SMTP relay).
    pub notify: passage_notify::NotifySettings,
}

impl Config {
    /// Resolves every tenant's policy and connections (reading secret references).
    pub fn resolve(&self) -> Result<(Vec<TenantPolicy>, HashMap<TenantId, ConnectionSettings>)> {
        let r = self.resolve_all()?;
        Ok((r.policies, r.connections))
    }

    /// Resolves everything: policies, connections, HR APIs, operators and notice settings.
    pub fn resolve_all(&self) -> Result<Resolved> {
        let mut resolved = Resolved {
            policies: Vec::new(),
            connections: HashMap::new(),
            hr_apis: HashMap::new(),
            operators: Vec::new(),
            oidc: Vec::new(),
            notify: passage_notify::NotifySettings::default(),
        };
        for t in &self.tenants {
            resolved.add_tenant(t)?;
        }
        resolved.oidc = oidc_providers(&self.oidc)?;
        resolved.operators = operators(&self.operators, &self.tenants, &resolved.oidc)?;
        if let Some(table) = &self.notify {
            resolved.notify = settings_from_table(table, "notify")?;
        }
        Ok(resolved)
    }
}

impl Resolved {
    fn add_tenant(&mut self, t: &TenantConfig) -> Result<()> {
        let at = format!("tenant {}", t.id);
        let policy = tenant_policy(t, &at)?;
        let connection = connection_settings(t, &at)?;
        if let Some(api) = &t.hr_api {
            let settings = settings_from_table(api, &format!("{at}: hr_api"))?;
            self.hr_apis.insert(policy.id.clone(), settings);
        }
        self.connections.insert(policy.id.clone(), connection);
        self.policies.push(policy);
        Ok(())
    }
}
