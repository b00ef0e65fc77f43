//! Google Workspace emulator (Admin SDK Directory, Licensing, Data Transfer,
//! Reports, Gmail settings, Drive's shared drives and the OAuth token
//! endpoint) served over real HTTP on loopback.
//!
//! One server answers every API under its discovery path (`servicePath` +
//! `flatPath`, e.g. `/admin/directory/v1/users/{userKey}`,
//! `/apps/licensing/v1/product/{productId}/sku/{skuId}/user/{userId}`,
//! `/gmail/v1/users/{userId}/settings/delegates`) plus `POST /token`, which
//! exchanges a service account's RS256 assertion (domain-wide delegation
//! via `sub`) for a bearer token. Errors, pagination
//! (`maxResults`/`pageToken`/`nextPageToken`) and throttling (403
//! `userRateLimitExceeded`/`rateLimitExceeded`/`quotaExceeded`, 429) follow
//! Google; tests read the domain back through [`GoogleEmulator`]'s
//! accessors and the [`AuditEvent`] log, and steer failures through
//! [`Knobs`] and [`QuotaKnobs`].
//!
//! ```no_run
//! # async fn demo(public_key_pem: &str) -> std::io::Result<()> {
//! use passage_sandbox::google::{GoogleConfig, GoogleEmulator, demo_seed, scopes};
//!
//! let google = GoogleEmulator::start(GoogleConfig::default()).await?;
//! let demo = demo_seed(&google);
//! google
//!     .register_service_account(
//!         "offboarder@passage-demo.iam.gserviceaccount.com",
//!         "104729305811209384756",
//!         public_key_pem,
//!         "5f1c0d8a2b",
//!         &[scopes::DIRECTORY_USER, scopes::GMAIL_SETTINGS_SHARING],
//!     )
//!     .expect("valid key");
//! // POST a signed assertion (aud = google.token_url()) to google.token_url(),
//! // then call e.g. {base_url}/admin/directory/v1/users/{demo.leaver_email}.
//! google.shutdown().await;
//! # Ok(()) }
//! ```

mod audit;
mod auth;
mod datatransfer;
mod directory;
mod errors;
mod gate;
mod gmail;
mod licensing;
mod model;
mod query;
mod quota;
mod reports;
pub mod scopes;
mod seed;
mod service;
mod sign_ins;
mod state;
mod sweep;
mod sweep_seed;
mod views;

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub use crate::common::counters::{EffectCount, RequestCounters, effect};
pub use crate::common::knobs::{FaultConfig, Knobs, Latency, LostResponse, Storm};
use crate::common::lock;
use crate::common::server::ServerHandle;
pub use crate::common::timeline::Timeline;
pub use audit::{AuditEvent, event_name};
pub use auth::{ACCESS_TOKEN_LIFETIME, GOOGLE_TOKEN_URL, JWT_BEARER, ServiceAccountError};
pub use errors::{GoogleError, QuotaReason, TokenError};
pub use model::{
    APP_CALENDAR, APP_DRIVE, PRODUCT_GOOGLE_APPS, SKU_BUSINESS_PLUS, SKU_BUSINESS_STANDARD,
    SKU_BUSINESS_STARTER, SKU_ENTERPRISE_PLUS, SKU_ENTERPRISE_STANDARD, TransferStatus,
};
pub use quota::QuotaKnobs;
pub use seed::{
    DEMO_CO_OWNED_GROUP, DEMO_LEAVER, DEMO_MANAGER, DEMO_OWNED_GROUP, DemoDomain, SeedDevice,
    SeedError, SeedToken, SeedUser, demo_seed,
};
use service::{AppState, Shared};
pub use sign_ins::SignInSpec;
pub use state::GoogleState;
pub use views::{
    AspView, AutoForwardingView, DelegateView, DeviceView, ForwardingView, LicenseView, TokenView,
    TransferView, UserView, VacationView,
};

/// Directory's documented default budget: 2,400 queries per minute per
/// user per Google Cloud project.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 2400;

/// Seed used when none is configured, so the demo domain has stable ids.
pub const DEFAULT_SEED: u64 = 0x0060_061E_5EED;

/// How to start an emulator.
#[derive(Clone, Debug)]
pub struct GoogleConfig {
    /// Address to bind; port 0 picks a free port. Default `127.0.0.1:0`.
    pub bind: SocketAddr,
    /// Origin used in `selfLink`s and as the token URL's base. Default
    /// `http://<bound address>`.
    pub public_url: Option<String>,
    /// The primary domain. Default `example.com`.
    pub domain: String,
    /// The super administrator created at start, to impersonate for Admin
    /// SDK calls. Default `admin@<domain>`.
    pub admin_email: Option<String>,
    /// Per-minute budget for each (service account, impersonated user, API).
    pub rate_limit_per_minute: u32,
    /// How long one step of an asynchronous operation (data transfer,
    /// device wipe) takes when nobody reads it back. Each read also moves
    /// it one step.
    pub async_step: Duration,
    /// Seed for ids.
    pub seed: u64,
    /// Faults to start with (none by default); adjustable later through
    /// [`GoogleEmulator::knobs`]. Long operations, when set, replace
    /// `async_step` for transfers and wipes and also make pending forwarding
    /// addresses verify themselves after that long.
    pub faults: FaultConfig,
}

impl Default for GoogleConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            public_url: None,
            domain: "example.com".to_owned(),
            admin_email: None,
            rate_limit_per_minute: DEFAULT_RATE_LIMIT_PER_MINUTE,
            async_step: Duration::from_secs(2),
            seed: DEFAULT_SEED,
            faults: FaultConfig::default(),
        }
    }
}

impl GoogleConfig {
    /// Loopback on a fixed port, for standalone use.
    pub fn on_port(port: u16) -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            ..Self::default()
        }
    }
}

/// A running Google Workspace emulator. Dropping it stops the server;
/// prefer [`GoogleEmulator::shutdown`] to wait for in-flight requests.
#[derive(Debug)]
pub struct GoogleEmulator {
    server: ServerHandle,
    shared: Arc<Shared>,
    state: Arc<Mutex<GoogleState>>,
    admin_email: String,
}

impl GoogleEmulator {
    /// Binds and starts serving in a background task.
    ///
    /// # Errors
    /// If the address cannot be bound, or the configured admin address is
    /// not in the configured domain.
    pub async fn start(config: GoogleConfig) -> io::Result<Self> {
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
        let token_url = format!("{base_url}/token");
        let knobs = Knobs::with_faults(config.rate_limit_per_minute, &config.faults);
        let mut domain = GoogleState::new(
            &config.domain,
            base_url.clone(),
            config.seed,
            config.async_step,
            Arc::clone(knobs.timeline()),
        );
        let admin_email = config
            .admin_email
            .clone()
            .unwrap_or_else(|| format!("admin@{}", config.domain.to_ascii_lowercase()));
        domain
            .insert_user(&SeedUser {
                licenses: Vec::new(),
                ..SeedUser::new(&admin_email, "Sandbox", "Admin").admin()
            })
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let shared = Arc::new(Shared {
            knobs,
            quota: QuotaKnobs::default(),
            counters: RequestCounters::new(),
            buckets: Mutex::new(HashMap::new()),
            base_url,
            token_url,
        });
        let state = Arc::new(Mutex::new(domain));
        let app = AppState {
            state: Arc::clone(&state),
            shared: Arc::clone(&shared),
        };
        let server = ServerHandle::serve(listener, service::router(app))?;
        tracing::debug!(addr = %server.addr(), "google emulator listening");
        Ok(Self {
            server,
            shared,
            state,
            admin_email: admin_email.to_ascii_lowercase(),
        })
    }

    /// The API origin, e.g. `http://127.0.0.1:49152`; every API lives
    /// under its discovery path below it.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The token endpoint (`{base_url}/token`), also the `aud` an
    /// assertion must carry (Google's own URL is accepted too).
    pub fn token_url(&self) -> String {
        self.shared.token_url.clone()
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The primary domain.
    pub fn domain(&self) -> String {
        self.lock().domain.clone()
    }

    /// The customer id (`C0…`); `my_customer` is accepted wherever Google
    /// accepts it.
    pub fn customer_id(&self) -> String {
        self.lock().customer_id.clone()
    }

    /// The super administrator created at start (unlicensed, so it has no
    /// mailbox).
    pub fn admin_email(&self) -> String {
        self.admin_email.clone()
    }

    /// The Cloud project number quoted in quota errors.
    pub fn project_number(&self) -> String {
        self.lock().project_number.clone()
    }

    /// The domain, with time-based progress (transfers, wipes, forwarding verification)
    /// caught up.
    fn lock(&self) -> MutexGuard<'_, GoogleState> {
        let mut state = lock(&self.state);
        state.advance_all();
        state
    }

    /// Registers a service-account key and authorises the account's client
    /// id for domain-wide delegation of `scopes` (replacing any earlier
    /// allow-list; an empty list leaves the account without delegation).
    /// Registering another key id for the same account adds a key.
    ///
    /// # Errors
    /// If the key is not an RSA public key in PEM form, or the e-mail is
    /// already registered under another client id.
    pub fn register_service_account(
        &self,
        client_email: &str,
        client_id: &str,
        public_key_pem: &str,
        key_id: &str,
        scopes: &[&str],
    ) -> Result<(), ServiceAccountError> {
        self.lock()
            .auth
            .register(client_email, client_id, public_key_pem, key_id, scopes)
    }

    /// Replaces a client id's delegation allow-list (Admin console →
    /// Security → API controls → Domain-wide delegation).
    pub fn set_delegated_scopes(&self, client_id: &str, scopes: &[&str]) {
        self.lock().auth.delegate(client_id, scopes);
    }

    /// Disables (or re-enables) a service-account key; assertions signed
    /// with it answer `disabled_client`. Returns whether the key exists.
    pub fn set_key_disabled(&self, key_id: &str, disabled: bool) -> bool {
        self.lock().auth.set_key_disabled(key_id, disabled)
    }

    /// Expires every issued access token now (APIs answer 401 until the
    /// client mints a new one).
    pub fn expire_access_tokens(&self) {
        self.lock().auth.expire_all();
    }

    /// Access tokens still live.
    pub fn live_access_tokens(&self) -> usize {
        self.lock().auth.live_tokens()
    }

    /// Runtime fault and pacing controls: latency, 5xx rate, 429 bursts,
    /// lost responses and the per-minute budget.
    pub fn knobs(&self) -> &Knobs {
        &self.shared.knobs
    }

    /// Forced 403 throttling bursts (`userRateLimitExceeded`,
    /// `rateLimitExceeded`, `quotaExceeded`).
    pub fn quota_knobs(&self) -> &QuotaKnobs {
        &self.shared.quota
    }

    /// Served-request counters, keyed by method and discovery path
    /// template (`/admin/directory/v1/users/{userKey}`, `/token`, …).
    pub fn counters(&self) -> &RequestCounters {
        &self.shared.counters
    }

    /// The emulator's clock, read lag and long-operation settings (also reachable through
    /// [`Knobs::timeline`]); tests move time forward with [`Timeline::advance`].
    pub fn timeline(&self) -> &Arc<Timeline> {
        self.shared.knobs.timeline()
    }

    /// Times `effect` (see [`effect`]) took hold on a user (by address or id), over every
    /// object (group, client, SKU, device, transfer, address).
    pub fn effects_applied(&self, effect: &str, user: &str) -> u64 {
        let state = self.lock();
        let id = subject_id(&state, user);
        state.effects.applied(effect, &id)
    }

    /// Times `effect` was asked for on a user (by address or id) when it already held: a
    /// suspend of a suspended user, a removal of an absent membership, a sign-out with no
    /// session, a revocation of a token already gone.
    pub fn effects_repeated(&self, effect: &str, user: &str) -> u64 {
        let state = self.lock();
        let id = subject_id(&state, user);
        state.effects.repeated(effect, &id)
    }

    /// Every effect recorded, first times and repeats apart.
    pub fn effects(&self) -> Vec<EffectCount> {
        self.lock().effects.rows()
    }

    /// Refills every per-minute budget.
    pub fn reset_rate_limit(&self) {
        lock(&self.shared.buckets).clear();
    }

    /// How each (impersonated user, API) quota was used since the last reset.
    pub fn limit_usage(&self) -> Vec<crate::common::ratelimit::WindowUse> {
        let buckets = lock(&self.shared.buckets);
        let mut out: Vec<_> = buckets
            .iter()
            .map(|(key, window)| {
                let name = key.split_once('\n').map_or(key.as_str(), |(_, rest)| rest);
                window.usage(name.replace('\n', " "))
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Shared handle on the domain, for assertions the accessors do not
    /// cover.
    pub fn state(&self) -> Arc<Mutex<GoogleState>> {
        Arc::clone(&self.state)
    }

    /// Creates a user directly (no request, no audit event); returns its
    /// numeric id.
    ///
    /// # Panics
    /// If the address is malformed, outside the domain or taken; use
    /// [`GoogleEmulator::try_seed_user`] to handle that instead.
    pub fn seed_user(&self, user: SeedUser) -> String {
        match self.try_seed_user(user) {
            Ok(id) => id,
            Err(e) => panic!("cannot seed Google user: {e}"),
        }
    }

    /// Creates a user directly; returns its numeric id.
    ///
    /// # Errors
    /// If the address is malformed, outside the domain or taken.
    pub fn try_seed_user(&self, user: SeedUser) -> Result<String, SeedError> {
        let mut state = self.lock();
        let index = state.insert_user(&user)?;
        Ok(state.users[index].id.clone())
    }

    /// Creates a group (or updates the one with that address); returns its
    /// id.
    pub fn seed_group(&self, email: &str, name: &str, description: &str) -> String {
        let mut state = self.lock();
        let index = state.insert_group(email, name, description);
        state.groups[index].id.clone()
    }

    /// A user by primary address, alias or id. Time-based progress of
    /// pending device wipes is applied first.
    pub fn user(&self, key: &str) -> Option<UserView> {
        let mut state = self.lock();
        state.advance_all();
        let index = state.find_user(key)?;
        Some(state.user_view(index))
    }

    /// Members of a group (primary addresses), by address or id.
    pub fn group_members(&self, key: &str) -> Option<Vec<String>> {
        let state = self.lock();
        let group = state.find_group(key)?;
        Some(
            state.groups[group]
                .members
                .iter()
                .map(|&u| state.users[u].primary_email.clone())
                .collect(),
        )
    }

    /// Marks an external forwarding address as confirmed by its recipient
    /// (what clicking the verification mail does). Returns whether it
    /// existed.
    pub fn confirm_forwarding_address(&self, owner: &str, address: &str) -> bool {
        let mut state = self.lock();
        state
            .find_user(owner)
            .is_some_and(|u| state.confirm_forwarding(u, address))
    }

    /// Records a completed Drive transfer from `old_owner` to `new_owner` (addresses or ids)
    /// requested `ago` before now on the emulator's clock, as an earlier offboarding or
    /// another admin would have left it; `None` if either user is unknown. Google keeps old
    /// transfers listed, so a run finds it.
    pub fn seed_past_transfer(
        &self,
        old_owner: &str,
        new_owner: &str,
        ago: std::time::Duration,
    ) -> Option<String> {
        let mut state = self.lock();
        let old = state.find_user(old_owner)?;
        let new = state.find_user(new_owner)?;
        let at = state
            .timeline
            .now()
            .checked_sub(jiff::SignedDuration::try_from(ago).ok()?)
            .ok()?;
        Some(state.seed_past_transfer(old, new, at))
    }

    /// Every data transfer, oldest first, after time-based progress.
    pub fn transfers(&self) -> Vec<TransferView> {
        let mut state = self.lock();
        state.advance_all();
        state.transfer_views()
    }

    /// Every audit event, oldest first.
    pub fn audit_log(&self) -> Vec<AuditEvent> {
        self.lock().audit.clone()
    }

    /// Test knob: records a login by a user (by id or e-mail) in the Reports API's login
    /// activity; returns its `uniqueQualifier`, or `None` for an unknown user.
    pub fn inject_sign_in(&self, key: &str, spec: SignInSpec) -> Option<String> {
        let mut state = self.lock();
        let user = state.find_user(key)?;
        Some(state.record_sign_in(user, &spec))
    }

    /// Test knob: lifts a user's suspension, as an administrator might by mistake after a
    /// lockout (no audit event); `false` for an unknown user.
    pub fn unsuspend_user(&self, key: &str) -> bool {
        let mut state = self.lock();
        let Some(user) = state.find_user(key) else {
            return false;
        };
        state.users[user].suspended = false;
        state.users[user].suspension_reason = None;
        true
    }

    /// How many audit events named `name` (see [`event_name`]) concern
    /// `target` (a user's address or id, a group address, a client id, a
    /// device resource id or a transfer id).
    pub fn count_events(&self, name: &str, target: &str) -> usize {
        self.lock()
            .audit
            .iter()
            .filter(|e| e.name == name && e.targets(target))
            .count()
    }

    /// Stops the server, letting in-flight requests finish.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

fn subject_id(state: &GoogleState, user: &str) -> String {
    state
        .find_user(user)
        .map_or_else(|| user.to_owned(), |u| state.users[u].id.clone())
}
