//! Tenants on AWS: each read from its own secret when first asked for, kept for a few
//! minutes, then read again. A new tenant or a rotated credential takes effect within that
//! time on every warm function, with no restart; a tenant whose secret does not parse is
//! refused alone, with the reason, while every other tenant goes on.
//!
//! One [`LazyTenants`] serves the engine as its tenant directory, its connector registry and its
//! HR source registry, so the connectors a step uses are always the ones built from the policy
//! the directory just handed out.

use async_trait::async_trait;
use passage_aws::{SecretError, TenantSecrets};
use passage_connectors::{Pacing, Registry};
use passage_core::ports::{
    Connector, ConnectorRegistry, HrSource, HrSourceRegistry, TenantDirectory, TenantError,
};
use passage_core::{Provider, TenantId, TenantPolicy};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a tenant read from its secret is used before it is read again.
pub const TENANT_CACHE_TTL: Duration = Duration::from_secs(300);
/// How long "no such tenant" is believed: short, so a tenant added a moment ago is found.
const MISSING_TTL: Duration = Duration::from_secs(30);

/// Where the tenants' texts come from: Secrets Manager in production, a map in unit tests.
#[async_trait]
pub trait TenantSource: Send + Sync {
    /// The tenant's configuration text, `None` when it has none.
    async fn text(&self, tenant: &TenantId) -> Result<Option<String>, SecretError>;
    /// Where the tenant's text lives, for messages.
    fn location(&self, tenant: &TenantId) -> String;
}

#[async_trait]
impl TenantSource for TenantSecrets {
    async fn text(&self, tenant: &TenantId) -> Result<Option<String>, SecretError> {
        self.read(tenant).await
    }

    fn location(&self, tenant: &TenantId) -> String {
        format!("secret {}", self.name_of(tenant))
    }
}

/// A tenant as loaded: its policy and what was built from its connections.
#[derive(Clone)]
struct Loaded {
    policy: TenantPolicy,
    connectors: Arc<Registry>,
    hr: Option<Arc<dyn HrSource>>,
}

/// What the last read of a tenant found.
#[derive(Clone)]
enum Found {
    Tenant(Box<Loaded>),
    Missing,
    Broken(TenantError),
}

struct Entry {
    found: Found,
    read_at: Instant,
    /// The last good load, kept through later failures: connectors handed out for a policy
    /// stay reachable even if the tenant's secret breaks between two calls of one step.
    last_good: Option<Box<Loaded>>,
}

/// Tenants read on demand from a [`TenantSource`], each cached for `ttl`.
pub struct LazyTenants {
    source: Arc<dyn TenantSource>,
    ttl: Duration,
    /// Every tenant's connectors draw on the same budgets: two tenants of one provider org
    /// share its limit.
    pacing: Pacing,
    cache: Mutex<HashMap<TenantId, Entry>>,
}

impl LazyTenants {
    pub fn new(source: Arc<dyn TenantSource>, ttl: Duration, pacing: Pacing) -> Self {
        Self {
            source,
            ttl,
            pacing,
            cache: Mutex::default(),
        }
    }

    /// The cached answer for `id`, if it is still fresh.
    fn fresh(&self, id: &TenantId) -> Option<Found> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let entry = cache.get(id)?;
        let ttl = match entry.found {
            Found::Missing => MISSING_TTL.min(self.ttl),
            _ => self.ttl,
        };
        (entry.read_at.elapsed() < ttl).then(|| entry.found.clone())
    }

    fn last_good(&self, id: &TenantId) -> Option<Box<Loaded>> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(id).and_then(|e| e.last_good.clone())
    }

    fn remember(&self, id: &TenantId, found: Found) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let last_good = match &found {
            Found::Tenant(t) => Some(t.clone()),
            _ => cache.get(id).and_then(|e| e.last_good.clone()),
        };
        cache.insert(
            id.clone(),
            Entry {
                found,
                read_at: Instant::now(),
                last_good,
            },
        );
    }

    /// Reads the tenant's text and builds what it describes.
    async fn load(&self, id: &TenantId) -> Result<Found, TenantError> {
        let text = self
            .source
            .text(id)
            .await
            .map_err(|e| TenantError::Unavailable {
                tenant: id.to_string(),
                detail: e.to_string(),
            })?;
        let Some(text) = text else {
            return Ok(Found::Missing);
        };
        let broken = |e: anyhow::Error| {
            Found::Broken(TenantError::Misconfigured {
                tenant: id.to_string(),
                detail: format!("{}: {e:#}", self.source.location(id)),
            })
        };
        let parts = match passage_config::resolve_tenant(&text, id) {
            Ok(parts) => parts,
            Err(e) => return Ok(broken(e)),
        };
        let hr = parts.hr_api.as_ref().map(passage_hrapi::source);
        Ok(Found::Tenant(Box::new(Loaded {
            connectors: Arc::new(Registry::paced(
                HashMap::from([(parts.policy.id.clone(), parts.connections)]),
                self.pacing.clone(),
            )),
            policy: parts.policy,
            hr,
        })))
    }

    /// The tenant as the directory last loaded it, reading it again once stale. A read that
    /// fails for want of Secrets Manager keeps serving the tenant's last good configuration.
    async fn current(&self, id: &TenantId) -> Result<Option<Box<Loaded>>, TenantError> {
        let found = match self.fresh(id) {
            Some(found) => found,
            None => match self.load(id).await {
                Ok(found) => {
                    if let Found::Broken(e) = &found {
                        tracing::error!(tenant = %id, error = %e, "tenant configuration unusable");
                    }
                    self.remember(id, found.clone());
                    found
                }
                Err(e) => match self.last_good(id) {
                    Some(good) => {
                        tracing::warn!(tenant = %id, error = %e, "serving the tenant's last good configuration");
                        return Ok(Some(good));
                    }
                    None => return Err(e),
                },
            },
        };
        match found {
            Found::Tenant(t) => Ok(Some(t)),
            Found::Missing => Ok(None),
            Found::Broken(e) => Err(e),
        }
    }

    /// Whether the tenant has an HR system API (the reconcile visits only those).
    pub async fn has_hr_api(&self, id: &TenantId) -> Result<bool, TenantError> {
        Ok(self.current(id).await?.is_some_and(|t| t.hr.is_some()))
    }
}

#[async_trait]
impl TenantDirectory for LazyTenants {
    async fn tenant(&self, id: &TenantId) -> Result<Option<TenantPolicy>, TenantError> {
        Ok(self.current(id).await?.map(|t| t.policy))
    }

    /// The longest lead among the tenants this instance has loaded. The AWS sweep works per
    /// tenant and asks each tenant's own policy instead.
    fn longest_early_lead(&self) -> Option<Duration> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .values()
            .filter_map(|e| e.last_good.as_ref())
            .filter_map(|t| t.policy.early.as_ref().map(|e| e.lead))
            .max()
    }
}

impl ConnectorRegistry for LazyTenants {
    fn connector(&self, tenant: &TenantPolicy, provider: Provider) -> Option<Arc<dyn Connector>> {
        self.last_good(&tenant.id)?
            .connectors
            .connector(tenant, provider)
    }
}

impl HrSourceRegistry for LazyTenants {
    fn source(&self, tenant: &TenantPolicy) -> Option<Arc<dyn HrSource>> {
        self.last_good(&tenant.id)?.hr.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Default)]
    struct Texts {
        map: Mutex<HashMap<String, String>>,
        reads: AtomicUsize,
        down: std::sync::atomic::AtomicBool,
    }

    #[async_trait]
    impl TenantSource for Texts {
        async fn text(&self, tenant: &TenantId) -> Result<Option<String>, SecretError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                return Err(SecretError::NotText("down".into()));
            }
            Ok(self.map.lock().unwrap().get(tenant.as_str()).cloned())
        }
        fn location(&self, tenant: &TenantId) -> String {
            format!("secret t/{tenant}")
        }
    }

    fn text(id: &str, name: &str) -> String {
        format!(
            "[[tenants]]\nid = \"{id}\"\nname = \"{name}\"\nwebhook_secrets = [\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"]\n[tenants.okta]\norg_url = \"https://{id}.okta.com\"\napi_token = \"t\"\n"
        )
    }

    fn world(ttl: Duration) -> (Arc<Texts>, LazyTenants) {
        let texts = Arc::new(Texts::default());
        let tenants = LazyTenants::new(texts.clone(), ttl, Pacing::off());
        (texts, tenants)
    }

    #[tokio::test]
    async fn a_tenant_is_read_once_per_ttl_and_changes_are_seen_after_it() {
        let (texts, tenants) = world(Duration::from_millis(200));
        let acme = TenantId::new("acme");
        texts
            .map
            .lock()
            .unwrap()
            .insert("acme".into(), text("acme", "Acme"));
        for _ in 0..5 {
            assert_eq!(tenants.tenant(&acme).await.unwrap().unwrap().name, "Acme");
        }
        assert_eq!(texts.reads.load(Ordering::SeqCst), 1);
        let policy = tenants.tenant(&acme).await.unwrap().unwrap();
        assert!(tenants.connector(&policy, Provider::Okta).is_some());
        texts
            .map
            .lock()
            .unwrap()
            .insert("acme".into(), text("acme", "Acme Rotated"));
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(
            tenants.tenant(&acme).await.unwrap().unwrap().name,
            "Acme Rotated"
        );
    }

    #[tokio::test]
    async fn a_broken_tenant_is_refused_alone_and_names_its_secret() {
        let (texts, tenants) = world(Duration::from_secs(60));
        texts
            .map
            .lock()
            .unwrap()
            .insert("acme".into(), text("acme", "Acme"));
        texts.map.lock().unwrap().insert(
            "globex".into(),
            "[[tenants]]\nid = \"globex\"\nwebhok_secrets = [\n".into(),
        );
        let err = tenants.tenant(&TenantId::new("globex")).await.unwrap_err();
        assert!(matches!(err, TenantError::Misconfigured { .. }), "{err}");
        assert!(err.to_string().contains("secret t/globex"), "{err}");
        assert!(
            tenants
                .tenant(&TenantId::new("acme"))
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            tenants
                .tenant(&TenantId::new("initech"))
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn an_outage_serves_the_last_good_configuration_and_a_new_tenant_is_found_soon() {
        let (texts, tenants) = world(Duration::from_millis(50));
        let acme = TenantId::new("acme");
        assert!(tenants.tenant(&acme).await.unwrap().is_none());
        texts
            .map
            .lock()
            .unwrap()
            .insert("acme".into(), text("acme", "Acme"));
        // "Missing" is believed for at most the TTL (here shorter than MISSING_TTL).
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(tenants.tenant(&acme).await.unwrap().is_some());
        texts.down.store(true, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(tenants.tenant(&acme).await.unwrap().is_some());
        let never = tenants
            .tenant(&TenantId::new("never-loaded"))
            .await
            .unwrap_err();
        assert!(matches!(never, TenantError::Unavailable { .. }), "{never}");
    }
}
