//! JumpCloud emulator (API v1 and v2, x-api-key and service-account OAuth).
//!
//! One loopback server speaks the parts of JumpCloud an offboarding run
//! uses, with JumpCloud's paths, methods, status codes, error bodies and
//! `limit`/`skip` pagination:
//!
//! - auth: `x-api-key` (admin API key) or a service-account token from
//!   `POST /oauth2/token` (client credentials, HTTP Basic, `scope=api`) sent
//!   as `Authorization: Bearer`; `x-org-id` for multi-tenant credentials;
//!   admin roles (read-only admins get 403 on writes);
//! - v1: `GET /api/systemusers` (`filter`, `search`, `fields`, `sort`,
//!   `{totalCount, results}`), `POST /api/search/systemusers`,
//!   `GET|PUT /api/systemusers/{id}` (suspend with `{"suspended": true}` or
//!   `{"state": "SUSPENDED"}`, `account_locked`, profile fields),
//!   `GET /api/systems[/{id}]`, `POST /api/systems/{id}/command/builtin/
//!   {lock,erase}` (Windows and Linux; 400 for macOS), command results
//!   (`GET /api/commandresults[/{id}]`, `POST /api/search/commandresults`),
//!   `GET /api/organizations[/{id}]`;
//! - v2: `GET /api/v2/users/{id}/memberof`, `GET /api/v2/users/{id}/systems`,
//!   `GET /api/v2/usergroups[/{id}]`, `GET|POST /api/v2/usergroups/{id}/
//!   members`, `GET /api/v2/applemdms`, `GET /api/v2/applemdms/{id}/devices
//!   [/{device_id}]`, `POST …/devices/{device_id}/{lock,erase}`;
//! - Directory Insights: `POST /insights/directory/v1/events` over an audit
//!   trail written for every real state change.
//!
//! Tests read the tenant back through [`JumpCloudEmulator`]'s accessors and
//! steer failures through [`Knobs`].
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use passage_sandbox::jumpcloud::{JumpCloudConfig, JumpCloudEmulator, demo_seed};
//!
//! let jc = JumpCloudEmulator::start(JumpCloudConfig::default()).await?;
//! let demo = demo_seed(&jc);
//! let url = format!("{}/api/systemusers/{}", jc.base_url(), demo.leaver_id);
//! // PUT `url` with `x-api-key: {jc.api_key()}` and {"suspended": true} …
//! jc.shutdown().await;
//! # Ok(()) }
//! ```

mod audit;
mod auth;
mod declared;
mod errors;
mod gate;
mod insights;
mod model;
mod query;
mod render;
mod seed;
mod service;
mod sign_ins;
mod state;
mod v1;
mod v2;
mod views;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;

pub use crate::common::counters::{EffectCount, RequestCounters, effect};
use crate::common::knobs;
pub use crate::common::knobs::{FaultConfig, Knobs, Latency, LostResponse, Storm};
use crate::common::lock;
use crate::common::ratelimit::MinuteWindow;
use crate::common::server::ServerHandle;
pub use crate::common::timeline::Timeline;
pub use audit::{AuditEvent, event_type};
use auth::{Credential, PrincipalKind, Registry};
pub use auth::{Role, TOKEN_LIFETIME_SECS};
pub use errors::{ApiFamily, JcError};
pub use gate::{API_KEY_HEADER, ORG_HEADER};
pub use model::{CommandChannel, CommandKind, OsFamily, UserState};
pub use query::{DEFAULT_LIMIT, MAX_LIMIT};
pub use seed::{
    DEMO_LEAVER, DEMO_MANAGER, DemoOrg, SeedError, SeedGroup, SeedSystem, SeedUser, demo_seed,
};
use service::{AppState, Shared};
pub use sign_ins::SignInSpec;
pub use state::{JumpCloudState, Org};
pub use views::{CommandView, GroupView, SystemView, UserView};

/// JumpCloud publishes no numeric rate limit; this per-minute budget (all
/// API routes share one bucket) is an assumption, adjustable per test.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 600;

/// Seed used when none is configured, so the demo tenant has stable ids.
pub const DEFAULT_SEED: u64 = 0x1C_5EED;

/// E-mail of the administrator who owns the default API key.
pub const DEFAULT_ADMIN_EMAIL: &str = "it.admin@example.com";

/// How to start an emulator.
#[derive(Clone, Debug)]
pub struct JumpCloudConfig {
    /// Address to bind; port 0 picks a free port. Default `127.0.0.1:0`.
    pub bind: SocketAddr,
    /// Origin reported by [`JumpCloudEmulator::base_url`]. Default
    /// `http://<bound address>`.
    pub public_url: Option<String>,
    /// The default admin API key. Default: derived from `seed`, shaped like
    /// JumpCloud's (`jca_` + 36 characters).
    pub api_key: Option<String>,
    /// The default service account's (client id, secret). Default: derived
    /// from `seed`.
    pub service_account: Option<(String, String)>,
    /// Display name of the primary organisation.
    pub org_name: String,
    /// Per-minute request budget for the API routes.
    pub rate_limit_per_minute: u32,
    /// Lifetime of service-account access tokens.
    pub token_lifetime: Duration,
    /// Seed for object ids and default credentials.
    pub seed: u64,
    /// Faults to start with (none by default); adjustable later through
    /// [`JumpCloudEmulator::knobs`]. Long operations, when set, delay every
    /// device command's completion by that long (and until its device is
    /// online).
    pub faults: FaultConfig,
}

impl Default for JumpCloudConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            public_url: None,
            api_key: None,
            service_account: None,
            org_name: "Example Corp".to_owned(),
            rate_limit_per_minute: DEFAULT_RATE_LIMIT_PER_MINUTE,
            token_lifetime: Duration::from_secs(TOKEN_LIFETIME_SECS),
            seed: DEFAULT_SEED,
            faults: FaultConfig::default(),
        }
    }
}

impl JumpCloudConfig {
    /// Loopback on a fixed port, for standalone use.
    pub fn on_port(port: u16) -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            ..Self::default()
        }
    }
}

/// A running JumpCloud emulator. Dropping it stops the server; prefer
/// [`JumpCloudEmulator::shutdown`] to wait for in-flight requests.
#[derive(Debug)]
pub struct JumpCloudEmulator {
    server: ServerHandle,
    shared: Arc<Shared>,
    tenant: Arc<Mutex<JumpCloudState>>,
    api_key: String,
    client_id: String,
    secrets: [String; 2],
}

impl JumpCloudEmulator {
    /// Binds and starts serving in a background task.
    ///
    /// # Errors
    /// If the address cannot be bound.
    pub async fn start(config: JumpCloudConfig) -> io::Result<Self> {
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

        let knobs = knobs::Knobs::with_faults(config.rate_limit_per_minute, &config.faults);
        let timeline = Arc::clone(knobs.timeline());
        let mut tenant = JumpCloudState::new(config.seed, &config.org_name, timeline);
        let primary = tenant.primary_org().id().to_owned();
        let mut rng = StdRng::seed_from_u64(config.seed ^ 0x0A11_CE55);
        let api_key = config
            .api_key
            .clone()
            .unwrap_or_else(|| auth::new_api_key(&mut rng));
        let (client_id, secret) = config
            .service_account
            .clone()
            .unwrap_or_else(|| auth::new_client(&mut rng));
        let second_secret = auth::new_client(&mut rng).1;

        let mut registry = Registry::default();
        registry.orgs.push(primary.clone());
        registry.add_api_key(
            api_key.clone(),
            Credential {
                kind: PrincipalKind::Admin,
                id: tenant.next_id(),
                label: DEFAULT_ADMIN_EMAIL.to_owned(),
                role: Role::Administrator,
                orgs: vec![primary.clone()],
            },
        );
        registry.add_service_account(
            client_id.clone(),
            vec![secret.clone(), second_secret.clone()],
            Credential {
                kind: PrincipalKind::ServiceAccount,
                id: tenant.next_id(),
                label: "passage-offboarding".to_owned(),
                role: Role::Administrator,
                orgs: vec![primary],
            },
        );
        registry.default_key.clone_from(&api_key);
        registry.default_client.clone_from(&client_id);

        let shared = Arc::new(Shared {
            knobs,
            counters: RequestCounters::new(),
            bucket: MinuteWindow::new(),
            base_url,
            token_lifetime: config.token_lifetime,
            registry: Mutex::new(registry),
            storm_retry_after: AtomicBool::new(false),
        });
        let tenant = Arc::new(Mutex::new(tenant));
        let app = AppState {
            tenant: Arc::clone(&tenant),
            shared: Arc::clone(&shared),
        };
        let server = ServerHandle::serve(listener, service::router(app))?;
        tracing::debug!(addr = %server.addr(), "jumpcloud emulator listening");
        Ok(Self {
            server,
            shared,
            tenant,
            api_key,
            client_id,
            secrets: [secret, second_secret],
        })
    }

    /// The origin, e.g. `http://127.0.0.1:49152`; v1 lives under `/api`,
    /// v2 under `/api/v2`, Directory Insights under
    /// `/insights/directory/v1`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The service-account token endpoint (`{base_url}/oauth2/token`).
    pub fn token_url(&self) -> String {
        format!("{}/oauth2/token", self.shared.base_url)
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The default admin's API key (Administrator of the primary
    /// organisation, and of every organisation added with
    /// [`JumpCloudEmulator::add_org`]).
    pub fn api_key(&self) -> String {
        self.api_key.clone()
    }

    /// The default service account's (client id, client secret), with the
    /// same reach as the default API key.
    pub fn service_account(&self) -> (String, String) {
        (self.client_id.clone(), self.secrets[0].clone())
    }

    /// The default service account's second (rotation) secret.
    pub fn service_account_second_secret(&self) -> String {
        self.secrets[1].clone()
    }

    /// The primary organisation's id.
    pub fn org_id(&self) -> String {
        self.tenant().primary_org().id().to_owned()
    }

    /// Adds an organisation and gives the default API key and service
    /// account access to it, which makes them multi-tenant (MSP): from then
    /// on they must send `x-org-id`. Returns the new organisation's id.
    pub fn add_org(&self, name: &str) -> String {
        let id = self.tenant().add_org(name);
        let mut registry = self.shared.registry();
        registry.orgs.push(id.clone());
        registry.extend_defaults(&id);
        id
    }

    /// Adds an admin API key with `role` on `orgs` (ids; empty means the
    /// primary organisation). Returns the key.
    pub fn add_api_key(&self, role: Role, orgs: &[&str]) -> String {
        let (admin_id, key, orgs) = {
            let mut tenant = self.tenant();
            let key = auth::new_api_key(tenant.rng());
            (tenant.next_id(), key, self.orgs_or_primary(&tenant, orgs))
        };
        self.shared.registry().add_api_key(
            key.clone(),
            Credential {
                kind: PrincipalKind::Admin,
                label: format!("admin-{}@example.com", &admin_id[18..]),
                id: admin_id,
                role,
                orgs,
            },
        );
        key
    }

    /// Changes the role of the administrator behind an API key, as an owner does in the
    /// Admin Portal (a Read Only key is refused every write with 403). Returns whether the
    /// key exists.
    pub fn set_api_key_role(&self, key: &str, role: Role) -> bool {
        self.shared.registry().set_api_key_role(key, role)
    }

    /// Adds a service account with `role` on `orgs` (ids; empty means the
    /// primary organisation). Returns (client id, secret).
    pub fn add_service_account(&self, role: Role, orgs: &[&str]) -> (String, String) {
        let (account_id, (client_id, secret), second, orgs) = {
            let mut tenant = self.tenant();
            let pair = auth::new_client(tenant.rng());
            let second = auth::new_client(tenant.rng()).1;
            (
                tenant.next_id(),
                pair,
                second,
                self.orgs_or_primary(&tenant, orgs),
            )
        };
        self.shared.registry().add_service_account(
            client_id.clone(),
            vec![secret.clone(), second],
            Credential {
                kind: PrincipalKind::ServiceAccount,
                label: format!("service-account-{}", &account_id[18..]),
                id: account_id,
                role,
                orgs,
            },
        );
        (client_id, secret)
    }

    fn orgs_or_primary(&self, tenant: &JumpCloudState, orgs: &[&str]) -> Vec<String> {
        if orgs.is_empty() {
            vec![tenant.primary_org().id().to_owned()]
        } else {
            orgs.iter().map(|o| (*o).to_owned()).collect()
        }
    }

    /// Expires every issued service-account token now.
    pub fn expire_tokens(&self) {
        self.shared.registry().expire_tokens();
    }

    /// Runtime fault and pacing controls. Applied to the API routes (v1,
    /// v2, Directory Insights); the token endpoint gets latency only.
    pub fn knobs(&self) -> &Knobs {
        &self.shared.knobs
    }

    /// Served-request counters, keyed by method and route template, e.g.
    /// `("PUT", "/api/systemusers/{id}")`,
    /// `("POST", "/api/v2/usergroups/{id}/members")`,
    /// `("POST", "/api/systems/{id}/command/builtin/lock")`.
    pub fn counters(&self) -> &RequestCounters {
        &self.shared.counters
    }

    /// Refills the rate-limit bucket immediately.
    pub fn reset_rate_limit(&self) {
        self.shared.bucket.reset();
    }

    /// How the org's one limit was used since the last reset.
    pub fn limit_usage(&self) -> Vec<crate::common::ratelimit::WindowUse> {
        vec![self.shared.bucket.usage("org")]
    }

    /// Shared handle on the tenant, for assertions the accessors do not
    /// cover.
    pub fn state(&self) -> Arc<Mutex<JumpCloudState>> {
        Arc::clone(&self.tenant)
    }

    /// The tenant, with commands whose time has come carried out.
    fn tenant(&self) -> MutexGuard<'_, JumpCloudState> {
        let mut tenant = lock(&self.tenant);
        tenant.settle();
        tenant
    }

    /// The emulator's clock, read lag and long-operation settings (also reachable through
    /// [`Knobs::timeline`]); tests move time forward with [`Timeline::advance`].
    pub fn timeline(&self) -> &Arc<Timeline> {
        self.shared.knobs.timeline()
    }

    /// Makes storm 429s carry a `Retry-After` naming the storm's end. JumpCloud documents no
    /// throttling header, so by default (false) they carry none, as JumpCloud's do.
    pub fn set_storm_retry_after(&self, send: bool) {
        self.shared.storm_retry_after.store(send, Ordering::Relaxed);
    }

    /// Times `effect` (see [`effect`]) took hold on a user (by id or e-mail), or for
    /// [`effect::SECURE_DEVICE`] on a system (by id), over every object.
    pub fn effects_applied(&self, effect: &str, subject: &str) -> u64 {
        let tenant = self.tenant();
        let id = subject_id(&tenant, subject);
        tenant.effects.applied(effect, &id)
    }

    /// Times `effect` was asked for when it already held: a suspend of a suspended user, a
    /// removal of an absent membership.
    pub fn effects_repeated(&self, effect: &str, subject: &str) -> u64 {
        let tenant = self.tenant();
        let id = subject_id(&tenant, subject);
        tenant.effects.repeated(effect, &id)
    }

    /// Every effect recorded, first times and repeats apart.
    pub fn effects(&self) -> Vec<EffectCount> {
        self.tenant().effects.rows()
    }

    /// Creates a user directly (no request, no audit event); returns its id.
    ///
    /// # Panics
    /// If the seed is refused; use [`JumpCloudEmulator::try_seed_user`] to
    /// handle that instead.
    pub fn seed_user(&self, user: SeedUser) -> String {
        self.try_seed_user(user)
            .unwrap_or_else(|e| panic!("cannot seed JumpCloud user: {e}"))
    }

    /// Creates a user directly; returns its id.
    ///
    /// # Errors
    /// Blank or duplicate e-mail, unknown organisation or manager.
    pub fn try_seed_user(&self, user: SeedUser) -> Result<String, SeedError> {
        self.tenant().insert_user(&user)
    }

    /// Creates a user group (or finds the one with that name); returns its
    /// id.
    ///
    /// # Panics
    /// If the organisation does not exist.
    pub fn seed_group(&self, group: SeedGroup) -> String {
        self.tenant()
            .insert_group(&group)
            .unwrap_or_else(|e| panic!("cannot seed JumpCloud group: {e}"))
    }

    /// Creates a system (and its Apple MDM device when asked); returns its
    /// id.
    ///
    /// # Panics
    /// If the seed is refused; see [`JumpCloudEmulator::try_seed_system`].
    pub fn seed_system(&self, system: SeedSystem) -> String {
        self.try_seed_system(system)
            .unwrap_or_else(|e| panic!("cannot seed JumpCloud system: {e}"))
    }

    /// Creates a system; returns its id.
    ///
    /// # Errors
    /// Unknown organisation or bound user, or MDM asked for a non-Apple
    /// device.
    pub fn try_seed_system(&self, system: SeedSystem) -> Result<String, SeedError> {
        self.tenant().insert_system(&system)
    }

    /// Test knob: records a sign-in by a user (by id or e-mail) in Directory Insights; returns
    /// the event's id, or `None` for an unknown user.
    pub fn inject_sign_in(&self, id_or_email: &str, spec: SignInSpec) -> Option<String> {
        let mut tenant = self.tenant();
        let (org, user) = tenant.locate_user(id_or_email)?;
        Some(tenant.record_sign_in(org, user, &spec))
    }

    /// Test knob: activates a suspended user again, as an administrator might by mistake
    /// after a lockout (no event); `false` for an unknown user.
    pub fn reactivate_user(&self, id_or_email: &str) -> bool {
        let mut tenant = self.tenant();
        let Some((org, user)) = tenant.locate_user(id_or_email) else {
            return false;
        };
        tenant.orgs[org].users[user].state = crate::jumpcloud::model::UserState::Activated;
        true
    }

    /// A user by id (any organisation) or e-mail (primary organisation
    /// first).
    pub fn user(&self, id_or_email: &str) -> Option<UserView> {
        let tenant = self.tenant();
        tenant
            .locate_user(id_or_email)
            .map(|(o, u)| tenant.user_view(o, u))
    }

    /// A user of one organisation, by id or e-mail.
    pub fn user_in(&self, org_id: &str, id_or_email: &str) -> Option<UserView> {
        let tenant = self.tenant();
        let o = tenant.org_index(org_id)?;
        let u = tenant.orgs[o].find_user(id_or_email)?;
        Some(tenant.user_view(o, u))
    }

    /// The user groups a user belongs to; empty if unknown.
    pub fn user_groups(&self, id_or_email: &str) -> Vec<GroupView> {
        self.user(id_or_email).map(|u| u.groups).unwrap_or_default()
    }

    /// A user group by id or name (any organisation).
    pub fn group(&self, id_or_name: &str) -> Option<GroupView> {
        self.tenant().group_view(id_or_name)
    }

    /// Systems bound to a user; empty if unknown.
    pub fn systems(&self, id_or_email: &str) -> Vec<SystemView> {
        let ids = self
            .user(id_or_email)
            .map(|u| u.system_ids)
            .unwrap_or_default();
        ids.iter().filter_map(|id| self.system(id)).collect()
    }

    /// A system by id.
    pub fn system(&self, id: &str) -> Option<SystemView> {
        self.tenant().system_view(id)
    }

    /// Connects or disconnects a device's agent. Connecting carries out the
    /// commands queued for it (and their results and audit events appear).
    /// Returns false for an unknown system.
    pub fn set_system_online(&self, id: &str, online: bool) -> bool {
        self.tenant().set_system_online(id, online)
    }

    /// Every security command issued through the API, oldest first.
    pub fn commands(&self) -> Vec<CommandView> {
        self.tenant().command_views()
    }

    /// Every audit event, oldest first.
    pub fn audit_log(&self) -> Vec<AuditEvent> {
        self.tenant().events.clone()
    }

    /// How many audit events of `event_type` are about `target` (a user,
    /// group, system, device or command id).
    pub fn count_events(&self, event_type: &str, target: &str) -> usize {
        self.tenant()
            .events
            .iter()
            .filter(|e| e.event_type == event_type && e.targets(target))
            .count()
    }

    /// Stops the server, letting in-flight requests finish.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

fn subject_id(tenant: &JumpCloudState, subject: &str) -> String {
    tenant.locate_user(subject).map_or_else(
        || subject.to_owned(),
        |(o, u)| tenant.orgs[o].users[u].id.clone(),
    )
}

/// Runs an emulator seeded with the demo tenant until Ctrl-C, logging its
/// URL and credentials. For a CLI command that serves the sandbox on a
/// fixed port.
///
/// # Errors
/// If the address cannot be bound or the Ctrl-C handler cannot be
/// installed.
pub async fn serve_forever(config: JumpCloudConfig) -> io::Result<()> {
    let emulator = JumpCloudEmulator::start(config).await?;
    let demo = demo_seed(&emulator);
    let (client_id, _) = emulator.service_account();
    tracing::info!(
        base_url = %emulator.base_url(),
        api_key = %emulator.api_key(),
        client_id = %client_id,
        leaver = %demo.leaver_email,
        "jumpcloud sandbox serving; press Ctrl-C to stop"
    );
    let stopped = tokio::signal::ctrl_c().await;
    emulator.shutdown().await;
    stopped
}
