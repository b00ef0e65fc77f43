//! Microsoft emulator (Graph, Intune, the Exchange Online admin endpoint, the identity platform token endpoint).
//!
//! One loopback server answers:
//!
//! - `POST /{tenant}/oauth2/v2.0/token`: client credentials with a secret
//!   or a signed certificate assertion (RS256/PS256, `x5t`/`x5t#S256`),
//!   for `https://graph.microsoft.com/.default` or
//!   `https://outlook.office365.com/.default`;
//! - `/v1.0/...`: the Graph calls an offboarding run makes: users
//!   (`$select`, `PATCH accountEnabled`, `revokeSignInSessions`,
//!   `manager`), `memberOf` (paged with `$top` / `@odata.nextLink`), group
//!   member removal, `licenseDetails`, `assignLicense`, `subscribedSkus`,
//!   authentication methods, `mailboxSettings`, inbox rules, Intune managed
//!   devices and their `retire` / `wipe` / `remoteLock` actions, and
//!   `auditLogs/directoryAudits`;
//! - `POST /adminapi/beta/{tenantId}/InvokeCommand`: Exchange cmdlets
//!   (`Set-Mailbox -Type Shared`, …).
//!
//! So a connector whose login and Graph base URLs both point at
//! [`MicrosoftEmulator::base_url`] runs unchanged. Responses carry
//! `request-id`, echo `client-request-id`, add `x-ms-ags-diagnostic`, and
//! use each workload's own error body. Throttling is per app per tenant
//! (429 `TooManyRequests` with `Retry-After`). Tests read the tenant back
//! through the accessors, steer failures through [`Knobs`], and count real
//! changes in the audit log.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use passage_sandbox::microsoft::{AppCredential, MicrosoftConfig, MicrosoftEmulator, demo_seed};
//!
//! let ms = MicrosoftEmulator::start(MicrosoftConfig::default()).await?;
//! let demo = demo_seed(&ms);
//! ms.register_app("11111111-2222-3333-4444-555555555555", AppCredential::Secret("s3cret".into()));
//! // POST {ms.token_url()} with client_id, client_secret, scope, grant_type …
//! ms.shutdown().await;
//! # Ok(()) }
//! ```

mod audit;
mod calendar;
mod cloud;
mod errors;
mod exchange;
mod exchange_grants;
mod gate;
mod intune;
mod limits;
mod mail;
mod mail_seed;
mod model;
mod odata;
mod render;
mod routes;
mod seed;
mod sensitive;
mod service;
mod sign_ins;
mod state;
mod sweep;
mod sweep_seed;
mod thumbprint;
mod token;

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub use crate::common::counters::{EffectCount, RequestCounters, effect};
pub use crate::common::knobs::{FaultConfig, Knobs, Latency, LostResponse, Storm};
use crate::common::lock;
use crate::common::server::ServerHandle;
pub use crate::common::timeline::Timeline;
pub use audit::{AuditEvent, AuditService, AuditTarget, ModifiedProperty, activity};
pub use cloud::Cloud;
pub use errors::GraphError;
pub use gate::{CLIENT_REQUEST_ID_HEADER, DIAGNOSTIC_HEADER, REQUEST_ID_HEADER};
pub use mail_seed::CalendarPermissionView;
pub use model::{
    ActionState, AuthMethodView, DeviceAction, DeviceActionView, DeviceView, GroupKind, GroupView,
    LicenseView, MailboxPurpose, MailboxView, MethodKind, RuleView, UserView,
};
pub use seed::{
    DEMO_EXTERNAL_FORWARD, DEMO_LEAVER, DEMO_MANAGER, DEMO_SHARED_MAILBOX, DemoTenant, SeedDevice,
    SeedError, SeedGroup, SeedMethod, SeedUser, demo_seed,
};
use service::{AppState, Shared};
pub use sign_ins::{DEFAULT_PAGE as SIGN_IN_PAGE, SignInSpec};
pub use state::TenantState;
pub use sweep_seed::{DrivePermissionView, MailboxRight};
pub use thumbprint::key_thumbprints;
pub use token::{
    AppCredential, AppRegistration, EXCHANGE_MANAGE_AS_APP, OFFBOARDING_GRAPH_ROLES, Resource,
    TOKEN_LIFETIME_SECS, directory_roles,
};

/// No per-app cap on all routes together by default: Graph meters each service on its own
/// (see `limits`); the per-app window still counts requests.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = u32::MAX;

/// Seed used when none is configured, so the demo tenant has stable ids.
pub const DEFAULT_SEED: u64 = 0x0E17_2A5E;

/// How to start an emulator.
#[derive(Clone, Debug)]
pub struct MicrosoftConfig {
    /// Address to bind; port 0 picks a free port. Default `127.0.0.1:0`.
    pub bind: SocketAddr,
    /// Origin used in `@odata.nextLink`, `@odata.context` and the accepted
    /// assertion audience. Default `http://<bound address>`.
    pub public_url: Option<String>,
    /// Directory (tenant) id. Default: derived from `seed`.
    pub tenant_id: Option<String>,
    /// Initial domain, accepted in place of the tenant id.
    pub tenant_domain: String,
    /// Verified domains, also accepted in place of the tenant id.
    pub verified_domains: Vec<String>,
    /// A per-app cap per minute on every Graph and Exchange request together, on top of
    /// Graph's per-service limits (unlimited by default; tests set a tight one).
    pub rate_limit_per_minute: u32,
    /// Seed for object ids and the tenant id.
    pub seed: u64,
    /// How far ahead a client assertion's `exp` may be.
    pub max_assertion_lifetime: Duration,
    /// How long an Intune action stays `pending` (it also completes on the
    /// read after one that showed it pending) unless long operations are
    /// configured in `faults`, which then decide alone.
    pub device_action_delay: Duration,
    /// Rows per page of an Exchange cmdlet's answer before `@odata.nextLink`
    /// (Exchange pages at 1000).
    pub exchange_page_size: usize,
    /// Faults to start with (none by default); adjustable later through
    /// [`MicrosoftEmulator::knobs`].
    pub faults: FaultConfig,
    /// The cloud played: its Graph and Exchange token audiences are the only ones the token
    /// endpoint issues and the APIs accept. Default: the global cloud.
    pub cloud: Cloud,
}

impl Default for MicrosoftConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            public_url: None,
            tenant_id: None,
            tenant_domain: "example.onmicrosoft.com".to_owned(),
            verified_domains: vec!["example.com".to_owned()],
            rate_limit_per_minute: DEFAULT_RATE_LIMIT_PER_MINUTE,
            seed: DEFAULT_SEED,
            max_assertion_lifetime: Duration::from_secs(600),
            device_action_delay: Duration::from_secs(2),
            exchange_page_size: 1000,
            faults: FaultConfig::default(),
            cloud: Cloud::Global,
        }
    }
}

impl MicrosoftConfig {
    /// Loopback on a fixed port, for standalone use.
    pub fn on_port(port: u16) -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            ..Self::default()
        }
    }
}

/// A running Microsoft emulator. Dropping it stops the server; prefer
/// [`MicrosoftEmulator::shutdown`] to wait for in-flight requests.
#[derive(Debug)]
pub struct MicrosoftEmulator {
    server: ServerHandle,
    shared: Arc<Shared>,
    tenant: Arc<Mutex<TenantState>>,
}

impl MicrosoftEmulator {
    /// Binds and starts serving in a background task.
    ///
    /// # Errors
    /// If the address cannot be bound.
    pub async fn start(config: MicrosoftConfig) -> io::Result<Self> {
        let listener = ServerHandle::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let base_url = config.public_url.clone().map_or_else(
            || {
                let shown = if addr.ip().is_unspecified() {
                    SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port()))
                } else {
                    addr
                };
                format!("http://{shown}")
            },
            |url| url.trim_end_matches('/').to_owned(),
        );
        let mut rng = StdRng::seed_from_u64(config.seed ^ 0x7E4A_4E70);
        let tenant_id = config.tenant_id.clone().unwrap_or_else(|| {
            uuid::Builder::from_random_bytes(rng.r#gen())
                .into_uuid()
                .to_string()
        });
        let token_key: [u8; 32] = rand::thread_rng().r#gen();
        let shared = Arc::new(Shared {
            knobs: Knobs::with_faults(config.rate_limit_per_minute, &config.faults),
            counters: RequestCounters::new(),
            buckets: Mutex::new(HashMap::new()),
            service_limits: std::sync::atomic::AtomicBool::new(true),
            base_url,
            tenant_id,
            tenant_domain: config.tenant_domain.clone(),
            verified_domains: config.verified_domains.clone(),
            token_key: token_key.to_vec(),
            apps: Mutex::new(BTreeMap::new()),
            jtis: Mutex::new(HashMap::new()),
            max_assertion_lifetime_secs: i64::try_from(config.max_assertion_lifetime.as_secs())
                .unwrap_or(i64::MAX),
            device_action_delay: config.device_action_delay,
            exchange_page_size: config.exchange_page_size.max(1),
            storm_status: AtomicU16::new(429),
            expiry: Mutex::new(token::Expiry::default()),
            cloud: config.cloud,
        });
        let timeline = Arc::clone(shared.knobs.timeline());
        let tenant = Arc::new(Mutex::new(TenantState::new(config.seed, timeline)));
        let app = AppState {
            tenant: Arc::clone(&tenant),
            shared: Arc::clone(&shared),
        };
        let server = ServerHandle::serve(listener, service::router(app))?;
        tracing::debug!(addr = %server.addr(), "microsoft emulator listening");
        Ok(Self {
            server,
            shared,
            tenant,
        })
    }

    /// The origin, e.g. `http://127.0.0.1:49152`: use it as both the login
    /// base URL and the Graph base URL.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Directory (tenant) id.
    pub fn tenant_id(&self) -> String {
        self.shared.tenant_id.clone()
    }

    /// Initial domain (`example.onmicrosoft.com`).
    pub fn tenant_domain(&self) -> String {
        self.shared.tenant_domain.clone()
    }

    /// `{base}/{tenantId}/oauth2/v2.0/token`, also the `aud` client
    /// assertions must carry.
    pub fn token_url(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.shared.base_url, self.shared.tenant_id
        )
    }

    /// `{base}/v1.0`.
    pub fn graph_url(&self) -> String {
        format!("{}/v1.0", self.shared.base_url)
    }

    /// `{base}/adminapi/beta/{tenantId}/InvokeCommand`.
    pub fn exchange_url(&self) -> String {
        format!(
            "{}/adminapi/beta/{}/InvokeCommand",
            self.shared.base_url, self.shared.tenant_id
        )
    }

    // ----- apps --------------------------------------------------------------

    /// Registers (or replaces) an app with one credential and the default
    /// offboarding permissions ([`OFFBOARDING_GRAPH_ROLES`] and
    /// `Exchange.ManageAsApp`).
    pub fn register_app(&self, client_id: &str, credential: AppCredential) {
        self.register(AppRegistration::new(client_id, credential));
    }

    /// Registers (or replaces) an app exactly as described.
    pub fn register(&self, registration: AppRegistration) {
        // Service principal ids are random so that registering apps never
        // shifts the seeded tenant's object ids.
        let sp = uuid::Uuid::new_v4().to_string();
        let record = token::AppRecord::new(registration.clone(), sp);
        lock(&self.shared.apps).insert(registration.client_id, record);
    }

    /// Adds a credential to a registered app; false if unknown.
    pub fn add_credential(&self, client_id: &str, credential: AppCredential) -> bool {
        match lock(&self.shared.apps).get_mut(client_id) {
            Some(app) => {
                app.reg.credentials.push(credential);
                true
            }
            None => false,
        }
    }

    /// Replaces an app's Graph permissions; tokens issued afterwards carry
    /// them (tokens already issued keep their roles, as in production).
    pub fn set_graph_roles(&self, client_id: &str, roles: &[&str]) -> bool {
        match lock(&self.shared.apps).get_mut(client_id) {
            Some(app) => {
                app.reg.graph_roles = roles.iter().map(|r| (*r).to_owned()).collect();
                true
            }
            None => false,
        }
    }

    /// Replaces an app's Exchange permissions.
    pub fn set_exchange_roles(&self, client_id: &str, roles: &[&str]) -> bool {
        match lock(&self.shared.apps).get_mut(client_id) {
            Some(app) => {
                app.reg.exchange_roles = roles.iter().map(|r| (*r).to_owned()).collect();
                true
            }
            None => false,
        }
    }

    /// Replaces the directory roles (template ids, see [`directory_roles`]) of
    /// an app's service principal; tokens issued afterwards list them in
    /// `wids`.
    pub fn set_directory_roles(&self, client_id: &str, roles: &[&str]) -> bool {
        match lock(&self.shared.apps).get_mut(client_id) {
            Some(app) => {
                app.reg.directory_roles = roles.iter().map(|r| (*r).to_owned()).collect();
                true
            }
            None => false,
        }
    }

    /// A valid access token for a registered app without a token request
    /// (for tests that are not about authentication).
    pub fn access_token(&self, client_id: &str, resource: Resource) -> Option<String> {
        self.access_token_valid_for(client_id, resource, TOKEN_LIFETIME_SECS)
    }

    /// An access token valid for `secs` seconds from now; negative values
    /// give an already expired token.
    pub fn access_token_valid_for(
        &self,
        client_id: &str,
        resource: Resource,
        secs: i64,
    ) -> Option<String> {
        let app = self.shared.app(client_id)?;
        Some(token::mint(&self.shared, &app, resource, secs, "1"))
    }

    // ----- controls -------------------------------------------------------------

    /// Makes every access token issued so far expire now, as a token's lifetime can run out
    /// (or an admin can revoke it) in the middle of a run: Graph and Exchange answer 401
    /// `InvalidAuthenticationToken` to it, and tokens issued afterwards work.
    pub fn expire_issued_tokens(&self) {
        lock(&self.shared.expiry).expire_issued();
    }

    /// While on, every access token (also ones issued later) is refused as expired, so a
    /// client that fetches a fresh token after a 401 is refused again.
    pub fn refuse_every_token(&self, on: bool) {
        lock(&self.shared.expiry).refuse_all = on;
    }

    /// Runtime fault and pacing controls.
    pub fn knobs(&self) -> &Knobs {
        &self.shared.knobs
    }

    /// Served-request counters. Templates are the registered routes, e.g.
    /// `/v1.0/users/{id}`, `/v1.0/groups/{id}/members/{member}/$ref`,
    /// `/{tenant}/oauth2/v2.0/token`,
    /// `/adminapi/beta/{tenant}/InvokeCommand`.
    pub fn counters(&self) -> &RequestCounters {
        &self.shared.counters
    }

    /// The emulator's clock, read lag and long-operation settings (also reachable through
    /// [`Knobs::timeline`]); tests move time forward with [`Timeline::advance`].
    pub fn timeline(&self) -> &Arc<Timeline> {
        self.shared.knobs.timeline()
    }

    /// Makes storms answer 503 `serviceNotAvailable` (true) instead of 429 `TooManyRequests`;
    /// Graph sends `Retry-After` on both.
    pub fn set_storm_as_503(&self, as_503: bool) {
        let status = if as_503 { 503 } else { 429 };
        self.shared.storm_status.store(status, Ordering::Relaxed);
    }

    /// Times `effect` (see [`effect`]) took hold on a user (by object id or UPN), over every
    /// object (group, SKU, method, device, address).
    pub fn effects_applied(&self, effect: &str, user: &str) -> u64 {
        let tenant = self.tenant();
        let id = self.subject_id(&tenant, user);
        tenant.effects.applied(effect, &id)
    }

    /// Times `effect` was asked for on a user (by object id or UPN) when it already held: a
    /// disable of a disabled account, a removal of an absent membership, a repeated session
    /// revocation, a conversion of a shared mailbox.
    pub fn effects_repeated(&self, effect: &str, user: &str) -> u64 {
        let tenant = self.tenant();
        let id = self.subject_id(&tenant, user);
        tenant.effects.repeated(effect, &id)
    }

    /// Every effect recorded, first times and repeats apart.
    pub fn effects(&self) -> Vec<EffectCount> {
        self.tenant().effects.rows()
    }

    fn subject_id(&self, tenant: &TenantState, user: &str) -> String {
        tenant
            .find_user(user)
            .map_or_else(|| user.to_owned(), |u| tenant.users[u].id.clone())
    }

    /// Refills every app's rate-limit windows.
    pub fn reset_rate_limit(&self) {
        lock(&self.shared.buckets).clear();
    }

    /// How each app's service limits (and its per-app window) were used since the last reset.
    pub fn limit_usage(&self) -> Vec<crate::common::ratelimit::WindowUse> {
        let buckets = lock(&self.shared.buckets);
        let mut out: Vec<_> = buckets
            .iter()
            .map(|(key, window)| {
                let name = key.split_once('\n').map_or("all", |(_, name)| name);
                window.usage(name)
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Turns Graph's documented per-service limits off (or on again), leaving only the
    /// per-app window: for benches that model a tenant whose limits were raised.
    pub fn enforce_service_limits(&self, on: bool) {
        self.shared
            .service_limits
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Shared handle on the tenant, for assertions the accessors do not
    /// cover.
    pub fn state(&self) -> Arc<Mutex<TenantState>> {
        Arc::clone(&self.tenant)
    }

    fn tenant(&self) -> MutexGuard<'_, TenantState> {
        lock(&self.tenant)
    }

    // ----- seeding -----------------------------------------------------------------

    /// Creates a user directly (no request, no audit event); returns its id.
    ///
    /// # Panics
    /// If the seed is refused; use [`MicrosoftEmulator::try_seed_user`] to
    /// handle that instead.
    pub fn seed_user(&self, user: SeedUser) -> String {
        match self.try_seed_user(user) {
            Ok(id) => id,
            Err(e) => panic!("cannot seed Microsoft user: {e}"),
        }
    }

    /// Creates a user directly; returns its id.
    ///
    /// # Errors
    /// Blank or duplicate UPN, unknown SKU or manager, or a password method.
    pub fn try_seed_user(&self, user: SeedUser) -> Result<String, SeedError> {
        let mut tenant = self.tenant();
        let index = tenant.insert_user(&user)?;
        Ok(tenant.users[index].id.clone())
    }

    /// Creates a group (or finds the one with that name); returns its id.
    ///
    /// # Panics
    /// If a licence names an unknown SKU.
    pub fn seed_group(&self, group: SeedGroup) -> String {
        let mut tenant = self.tenant();
        match tenant.insert_group(&group) {
            Ok(index) => tenant.groups[index].id.clone(),
            Err(e) => panic!("cannot seed Microsoft group: {e}"),
        }
    }

    /// Adds an existing user to an existing group (by id or name) without
    /// a request or audit event; false if either is unknown.
    pub fn seed_membership(&self, group: &str, user: &str) -> bool {
        let mut tenant = self.tenant();
        let g = tenant.find_group(group).or_else(|| {
            tenant
                .groups
                .iter()
                .position(|g| g.display_name.eq_ignore_ascii_case(group))
        });
        match (g, tenant.find_user(user)) {
            (Some(g), Some(u)) => {
                tenant.add_member(g, u);
                true
            }
            _ => false,
        }
    }

    /// The `skuId` of a SKU part number in the tenant's catalogue
    /// (`SPE_E3`, `ENTERPRISEPACK`, `EXCHANGESTANDARD`, `AAD_PREMIUM_P2`,
    /// `AAD_PREMIUM`).
    pub fn sku_id(&self, part_number: &str) -> Option<String> {
        let tenant = self.tenant();
        tenant
            .find_sku_by_part(part_number)
            .map(|s| tenant.skus[s].sku_id.clone())
    }

    /// Sets how many seats a SKU's subscription holds (`prepaidUnits.enabled`), so a test can
    /// leave none free; `false` for an unknown SKU.
    pub fn set_sku_units(&self, sku_id: &str, units: u32) -> bool {
        let mut tenant = self.tenant();
        match tenant.skus.iter_mut().find(|s| s.sku_id == sku_id) {
            Some(sku) => {
                sku.enabled_units = units;
                true
            }
            None => false,
        }
    }

    // ----- accessors -------------------------------------------------------------------

    /// A user by object id or UPN.
    pub fn user(&self, id_or_upn: &str) -> Option<UserView> {
        let tenant = self.tenant();
        tenant.find_user(id_or_upn).map(|u| tenant.user_view(u))
    }

    /// Groups a user is a direct member of, oldest membership first.
    pub fn user_groups(&self, id_or_upn: &str) -> Vec<GroupView> {
        let tenant = self.tenant();
        tenant
            .find_user(id_or_upn)
            .map(|u| {
                tenant
                    .memberships_of(u)
                    .iter()
                    .map(|m| tenant.group_view(m.group))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A group by object id or display name.
    pub fn group(&self, id_or_name: &str) -> Option<GroupView> {
        let tenant = self.tenant();
        let index = tenant.find_group(id_or_name).or_else(|| {
            tenant
                .groups
                .iter()
                .position(|g| g.display_name.eq_ignore_ascii_case(id_or_name))
        });
        index.map(|g| tenant.group_view(g))
    }

    /// A user's licences, one entry per assignment path.
    pub fn licenses(&self, id_or_upn: &str) -> Vec<LicenseView> {
        self.user(id_or_upn).map(|u| u.licenses).unwrap_or_default()
    }

    /// A user's mailbox: type, reachability, auto-reply, rules, forwarding.
    pub fn mailbox(&self, id_or_upn: &str) -> Option<MailboxView> {
        let tenant = self.tenant();
        tenant
            .find_user(id_or_upn)
            .and_then(|u| tenant.mailbox_view(u))
    }

    /// A user's Intune devices with their action results (as last shown to
    /// a client; reading here does not advance them).
    pub fn devices(&self, id_or_upn: &str) -> Vec<DeviceView> {
        let tenant = self.tenant();
        tenant
            .find_user(id_or_upn)
            .map(|u| tenant.device_views(u))
            .unwrap_or_default()
    }

    /// A user's authentication methods, password first.
    pub fn auth_methods(&self, id_or_upn: &str) -> Vec<AuthMethodView> {
        let tenant = self.tenant();
        tenant
            .find_user(id_or_upn)
            .map(|u| tenant.method_views(u))
            .unwrap_or_default()
    }

    /// Every audit event, oldest first (directory, authentication methods,
    /// Exchange and Intune).
    pub fn audit_log(&self) -> Vec<AuditEvent> {
        self.tenant().audit.clone()
    }

    /// Test knob: records a sign-in by a user (by id or UPN) in the sign-in log; returns the
    /// entry's id and correlation id, or `None` for an unknown user.
    pub fn inject_sign_in(&self, id_or_upn: &str, spec: SignInSpec) -> Option<(String, String)> {
        let mut state = self.tenant();
        let user = state.find_user(id_or_upn)?;
        Some(state.record_sign_in(user, &spec))
    }

    /// Test knob: turns a user's account back on, as an administrator might by mistake after
    /// a lockout (no audit event); `false` for an unknown user.
    pub fn reenable_user(&self, id_or_upn: &str) -> bool {
        let mut state = self.tenant();
        let Some(user) = state.find_user(id_or_upn) else {
            return false;
        };
        state.users[user].account_enabled = true;
        true
    }

    /// How many audit events of `activity` (see [`activity`]) target
    /// `target` (object id, UPN or display name).
    pub fn count_events(&self, activity: &str, target: &str) -> usize {
        self.tenant()
            .audit
            .iter()
            .filter(|e| e.activity == activity && e.targets(target))
            .count()
    }

    /// Stops the server, letting in-flight requests finish.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Runs an emulator seeded with the demo tenant and one app until Ctrl-C,
/// logging its URL, tenant id and app credentials.
///
/// # Errors
/// If the address cannot be bound or the Ctrl-C handler cannot be
/// installed.
pub async fn serve_forever(
    config: MicrosoftConfig,
    client_id: &str,
    secret: &str,
) -> io::Result<()> {
    let emulator = MicrosoftEmulator::start(config).await?;
    let demo = demo_seed(&emulator);
    emulator.register_app(client_id, AppCredential::Secret(secret.to_owned()));
    tracing::info!(
        base_url = %emulator.base_url(),
        tenant_id = %emulator.tenant_id(),
        client_id,
        leaver = %demo.leaver_upn,
        "microsoft sandbox serving; press Ctrl-C to stop"
    );
    let stopped = tokio::signal::ctrl_c().await;
    emulator.shutdown().await;
    stopped
}
