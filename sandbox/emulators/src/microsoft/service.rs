//! The pieces every handler and gate share, and the router that ties the
//! token endpoint, Graph, the Exchange admin endpoint and the fallbacks
//! together.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::middleware;
use axum::routing::post;

use crate::common::counters::RequestCounters;
use crate::common::knobs::Knobs;
use crate::common::lock;
use crate::common::ratelimit::MinuteWindow;
use crate::microsoft::state::TenantState;
use crate::microsoft::token::AppRecord;
use crate::microsoft::{exchange, gate, routes, token};

/// Everything about the emulator that is not tenant data.
#[derive(Debug)]
pub(crate) struct Shared {
    pub knobs: Knobs,
    pub counters: RequestCounters,
    /// Windows per app (Graph throttles per app per tenant): one per minute for all its
    /// requests, and one per documented service limit.
    pub buckets: Mutex<HashMap<String, Arc<MinuteWindow>>>,
    /// Whether the per-service limits are enforced.
    pub service_limits: std::sync::atomic::AtomicBool,
    pub base_url: String,
    pub tenant_id: String,
    /// The initial domain (`contoso.onmicrosoft.com`).
    pub tenant_domain: String,
    /// Other verified domains accepted in place of the tenant id.
    pub verified_domains: Vec<String>,
    /// HS256 key of issued access tokens.
    pub token_key: Vec<u8>,
    pub apps: Mutex<BTreeMap<String, AppRecord>>,
    /// Spent assertion ids: (client id, jti) → epoch second they may be
    /// forgotten.
    pub jtis: Mutex<HashMap<(String, String), i64>>,
    pub max_assertion_lifetime_secs: i64,
    pub device_action_delay: Duration,
    pub exchange_page_size: usize,
    /// The status storms answer with: 429, or 503 (Graph sends `Retry-After` on both).
    pub storm_status: AtomicU16,
    /// Which issued access tokens Graph and Exchange now refuse as expired.
    pub expiry: Mutex<token::Expiry>,
    /// The cloud whose token audiences this emulator issues and accepts.
    pub cloud: crate::microsoft::cloud::Cloud,
}

impl Shared {
    pub(crate) fn storm_status(&self) -> u16 {
        self.storm_status.load(Ordering::Relaxed)
    }

    pub(crate) fn is_tenant(&self, tenant: &str) -> bool {
        tenant.eq_ignore_ascii_case(&self.tenant_id)
            || tenant.eq_ignore_ascii_case(&self.tenant_domain)
            || self
                .verified_domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(tenant))
    }

    pub(crate) fn app(&self, client_id: &str) -> Option<AppRecord> {
        lock(&self.apps).get(client_id).cloned()
    }

    /// Assertion audiences the token endpoint accepts: its own URL under
    /// the tenant id or a domain, or the v2.0 issuer.
    pub(crate) fn accepted_assertion_audiences(&self) -> Vec<String> {
        let mut tenants = vec![self.tenant_id.clone(), self.tenant_domain.clone()];
        tenants.extend(self.verified_domains.iter().cloned());
        let mut out = Vec::new();
        for t in tenants {
            out.push(format!("{}/{t}/oauth2/v2.0/token", self.base_url));
        }
        out.push(format!("{}/{}/v2.0", self.base_url, self.tenant_id));
        out
    }

    /// Records a `jti`; false if it was already spent.
    pub(crate) fn spend_jti(&self, client_id: &str, jti: &str, keep_until: i64, now: i64) -> bool {
        let mut jtis = lock(&self.jtis);
        jtis.retain(|_, until| *until >= now);
        jtis.insert((client_id.to_owned(), jti.to_owned()), keep_until)
            .is_none()
    }

    pub(crate) fn bucket(&self, app_id: &str) -> Arc<MinuteWindow> {
        Arc::clone(
            lock(&self.buckets)
                .entry(app_id.to_owned())
                .or_insert_with(|| Arc::new(MinuteWindow::new())),
        )
    }

    /// The app's window for one documented service limit, when those are enforced.
    pub(crate) fn service_bucket(
        &self,
        app_id: &str,
        limit: crate::microsoft::limits::Limit,
    ) -> Option<Arc<MinuteWindow>> {
        if !self
            .service_limits
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return None;
        }
        Some(Arc::clone(
            lock(&self.buckets)
                .entry(format!("{app_id}\n{}", limit.name))
                .or_insert_with(|| Arc::new(MinuteWindow::lasting(limit.window_ms))),
        ))
    }
}

/// Axum state: the tenant behind a mutex plus the shared controls.
#[derive(Clone, Debug)]
pub(crate) struct AppState {
    pub tenant: Arc<Mutex<TenantState>>,
    pub shared: Arc<Shared>,
}

impl AppState {
    /// Locks the tenant. A panic in one handler must not take the emulator
    /// down for every later request, so poisoning is ignored.
    pub fn tenant(&self) -> MutexGuard<'_, TenantState> {
        lock(&self.tenant)
    }
}

/// The full router: the token endpoint (envelope only), Graph and the
/// Exchange admin endpoint (each behind its own authenticating gate), and a
/// Graph-style fallback; the envelope (ids, latency, error bodies,
/// counters) wraps everything.
pub(crate) fn router(app: AppState) -> Router {
    let token = Router::new().route("/{tenant}/oauth2/v2.0/token", post(token::token_endpoint));
    let graph = routes::graph()
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(middleware::from_fn_with_state(
            app.clone(),
            gate::graph_gate,
        ));
    let exchange = exchange::routes()
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(middleware::from_fn_with_state(
            app.clone(),
            gate::exchange_gate,
        ));
    Router::new()
        .merge(token)
        .merge(graph)
        .merge(exchange)
        .fallback(routes::unknown_endpoint)
        .layer(middleware::from_fn_with_state(app.clone(), gate::envelope))
        .with_state(app)
}
