//! An Okta Management API emulator served over real HTTP on loopback.
//!
//! It implements the endpoints an offboarding run uses — user lookup and
//! search, group membership, sessions, grants and tokens, suspend,
//! unsuspend and deactivate, MFA factors (list, unenrol, reset), app
//! assignments (read, unassign), and the System Log — with Okta's paths,
//! methods, status codes, error bodies, `Link` pagination, request ids and
//! rate-limit headers, so connector code can be exercised against it
//! unchanged. Tests read the org back through [`OktaEmulator`]'s accessors
//! and steer failures through [`Knobs`].
//!
//! Requests authenticate with the `SSWS` API token or, for service apps
//! registered with [`OktaEmulator::register_service_app`], with OAuth 2.0
//! access tokens from `POST /oauth2/v1/token` (`private_key_jwt`, optional
//! DPoP), checked against each operation's scope; see the `oauth` module
//! docs for the exact rules.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use passage_sandbox::okta::{OktaConfig, OktaEmulator, demo_seed};
//!
//! let okta = OktaEmulator::start(OktaConfig::default()).await?;
//! let demo = demo_seed(&okta);
//! let url = format!("{}/api/v1/users/{}", okta.base_url(), demo.leaver_login);
//! // GET `url` with `Authorization: SSWS {okta.api_token()}` …
//! okta.shutdown().await;
//! # Ok(()) }
//! ```

mod errors;
mod gate;
mod limits;
mod model;
mod oauth;
mod oidc;
mod pagination;
mod render;
mod roles;
mod routes;
mod scopes;
mod search;
mod seed;
mod service;
mod sign_in;
mod state;
mod syslog;
mod views;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use rand::SeedableRng;
use rand::rngs::StdRng;

pub use crate::common::counters::{EffectCount, RequestCounters, effect};
use crate::common::knobs;
pub use crate::common::knobs::{FaultConfig, Knobs, Latency, LostResponse, Storm};
use crate::common::lock;
use crate::common::ratelimit::MinuteWindow;
use crate::common::server::ServerHandle;
pub use crate::common::timeline::Timeline;
use crate::common::{counters, ids};
pub use errors::OktaError;
pub use gate::{RATE_LIMIT_LIMIT, RATE_LIMIT_REMAINING, RATE_LIMIT_RESET, REQUEST_ID_HEADER};
pub use model::{AssignmentScope, FactorKind, GroupType, UnknownStatus, UserStatus};
pub use oauth::{
    ACCESS_TOKEN_TTL_SECS, ClientKey, DPOP_NONCE_HEADER, JWT_BEARER, KeyMaterial, ServiceAppError,
    SigningAlg, TOKEN_PATH, access_token_hash,
};
pub use roles::UNASSIGN_ROLE;
pub use seed::{DEMO_LEAVER, DemoOrg, SeedError, SeedGroup, SeedGroupApp, SeedUser, demo_seed};
use service::{AppState, Shared};
pub use sign_in::SignInSpec;
pub use state::OktaState;
pub use syslog::{
    LogActor, LogDebugContext, LogEvent, LogOutcome, LogTarget, LogTransaction, event_type,
};
pub use views::{AppAssignmentView, FactorView, GroupView, UserView};

/// No org-wide cap by default: Okta meters each endpoint on its own (see `limits`), and the
/// org-wide window counts requests for the benches without refusing any.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = u32::MAX;

/// Seed used when none is configured, so the demo org has stable ids.
pub const DEFAULT_SEED: u64 = 0x0C7A_5EED;

/// How to start an emulator.
#[derive(Clone, Debug)]
pub struct OktaConfig {
    /// Address to bind; port 0 picks a free port. Default `127.0.0.1:0`.
    pub bind: SocketAddr,
    /// Origin used in `_links` and `Link` headers. Default
    /// `http://<bound address>` (with an unspecified IP shown as 127.0.0.1).
    pub public_url: Option<String>,
    /// The accepted API token. Default: derived from `seed`, shaped like an
    /// Okta token (`00` + 40 characters).
    pub api_token: Option<String>,
    /// An org-wide per-minute cap on every management request, on top of Okta's
    /// per-endpoint limits (unlimited by default; tests set a tight one).
    pub rate_limit_per_minute: u32,
    /// Seed for object ids and the default token.
    pub seed: u64,
    /// Faults to start with (none by default); adjustable later through
    /// [`OktaEmulator::knobs`].
    pub faults: FaultConfig,
}

impl Default for OktaConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            public_url: None,
            api_token: None,
            rate_limit_per_minute: DEFAULT_RATE_LIMIT_PER_MINUTE,
            seed: DEFAULT_SEED,
            faults: FaultConfig::default(),
        }
    }
}

impl OktaConfig {
    /// Loopback on a fixed port, for standalone use.
    pub fn on_port(port: u16) -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            ..Self::default()
        }
    }
}

/// A running Okta emulator. Dropping it stops the server; prefer
/// [`OktaEmulator::shutdown`] to wait for in-flight requests.
#[derive(Debug)]
pub struct OktaEmulator {
    server: ServerHandle,
    shared: Arc<Shared>,
    org: Arc<Mutex<OktaState>>,
}

impl OktaEmulator {
    /// Binds and starts serving in a background task.
    ///
    /// # Errors
    /// If the address cannot be bound.
    pub async fn start(config: OktaConfig) -> io::Result<Self> {
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
        let api_token = config.api_token.clone().unwrap_or_else(|| {
            let mut rng = StdRng::seed_from_u64(config.seed ^ 0x70CE_4000);
            format!("00{}", ids::url_safe(&mut rng, 40))
        });
        let shared = Arc::new(Shared {
            knobs: knobs::Knobs::with_faults(config.rate_limit_per_minute, &config.faults),
            counters: counters::RequestCounters::new(),
            bucket: MinuteWindow::new(),
            limits: limits::EndpointLimits::default(),
            api_token,
            oauth: Mutex::new(oauth::AuthServer::new(&base_url)),
            oidc: Mutex::new(oidc::SignInServer::new(&base_url)),
            base_url: base_url.clone(),
        });
        let timeline = Arc::clone(shared.knobs.timeline());
        let org = Arc::new(Mutex::new(OktaState::new(base_url, config.seed, timeline)));
        let app = AppState {
            org: Arc::clone(&org),
            shared: Arc::clone(&shared),
        };
        let server = ServerHandle::serve(listener, service::router(app))?;
        tracing::debug!(addr = %server.addr(), "okta emulator listening");
        Ok(Self {
            server,
            shared,
            org,
        })
    }

    /// The org origin, e.g. `http://127.0.0.1:49152`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The API token the emulator accepts.
    pub fn api_token(&self) -> String {
        self.shared.api_token.clone()
    }

    /// The full `Authorization` header value (`SSWS <token>`).
    pub fn authorization(&self) -> String {
        format!("SSWS {}", self.shared.api_token)
    }

    /// The org authorization server's token endpoint
    /// (`<base_url>/oauth2/v1/token`), which is also the `aud` client
    /// assertions must name and the `htu` of token-request DPoP proofs.
    pub fn token_url(&self) -> String {
        self.shared.oauth().token_url().to_owned()
    }

    /// Registers (or replaces) an OAuth 2.0 service app: `client_id`
    /// authenticates with `private_key_jwt` assertions signed by `key`, may
    /// request any of `scopes`, and, with `require_dpop`, must present DPoP
    /// proofs (with the server nonce) at the token endpoint and gets
    /// DPoP-bound tokens.
    ///
    /// # Panics
    /// If the client id is blank or the key cannot be read; use
    /// [`OktaEmulator::try_register_service_app`] to handle that instead.
    pub fn register_service_app(
        &self,
        client_id: &str,
        key: ClientKey,
        scopes: Vec<String>,
        require_dpop: bool,
    ) {
        if let Err(e) = self.try_register_service_app(client_id, key, scopes, require_dpop) {
            panic!("cannot register Okta service app: {e}");
        }
    }

    /// Registers (or replaces) an OAuth 2.0 service app.
    ///
    /// # Errors
    /// If the client id is blank or the key cannot be read.
    pub fn try_register_service_app(
        &self,
        client_id: &str,
        key: ClientKey,
        scopes: Vec<String>,
        require_dpop: bool,
    ) -> Result<(), ServiceAppError> {
        self.shared
            .oauth()
            .register(client_id, &key, scopes, require_dpop)
    }

    /// Registers (or replaces) an OpenID Connect web app: `client_id` signs people in with
    /// `client_secret` (basic or post) and gets codes only at one of `redirect_uris`.
    pub fn register_web_app(&self, client_id: &str, client_secret: &str, redirect_uris: &[String]) {
        self.shared
            .oidc()
            .register(client_id, client_secret, redirect_uris);
    }

    /// Sets the password a user (by login) signs in with on the sign-in form; a user without
    /// one cannot sign in.
    pub fn set_password(&self, login: &str, password: &str) {
        self.shared.oidc().set_password(login, password);
    }

    /// Signs later ID tokens with a key the key set does not publish (same `kid`), as a forged
    /// token would be.
    pub fn sign_id_tokens_with_unpublished_key(&self, on: bool) {
        self.shared.oidc().sign_with_unpublished_key(on);
    }

    /// The DPoP nonce the token endpoint currently demands.
    pub fn dpop_nonce(&self) -> String {
        self.shared.oauth().nonce().to_owned()
    }

    /// Issues a new DPoP nonce and returns it; proofs carrying the previous
    /// one are still accepted until the next rotation.
    pub fn rotate_dpop_nonce(&self) -> String {
        self.shared.oauth().rotate_nonce()
    }

    /// Expires every access token issued so far (later requests with them
    /// get 401 E0000011), as if an hour had passed.
    pub fn expire_access_tokens(&self) {
        self.shared.oauth().expire_tokens();
    }

    /// Runtime fault and pacing controls.
    pub fn knobs(&self) -> &Knobs {
        &self.shared.knobs
    }

    /// Served-request counters. Route templates name every user path
    /// parameter `{id}` (e.g. `/api/v1/users/{id}/sessions`) and group
    /// paths `{groupId}` / `{userId}`; token requests count under
    /// `/oauth2/v1/token`.
    pub fn counters(&self) -> &RequestCounters {
        &self.shared.counters
    }

    /// Refills the rate-limit windows (the org's and every endpoint's) immediately.
    pub fn reset_rate_limit(&self) {
        self.shared.bucket.reset();
        self.shared.limits.reset();
    }

    /// How each documented endpoint limit was used since the last reset.
    pub fn limit_usage(&self) -> Vec<crate::common::ratelimit::WindowUse> {
        self.shared.limits.usage()
    }

    /// Turns Okta's documented per-endpoint limits off (or on again), leaving only the
    /// org-wide window: for benches that model an org whose limits were raised.
    pub fn enforce_endpoint_limits(&self, on: bool) {
        self.shared.limits.enforce(on);
    }

    /// Requests served in each one-minute rate-limit window since the last reset, the
    /// window in force last.
    pub fn rate_windows(&self) -> Vec<u32> {
        self.shared.bucket.windows()
    }

    /// Shared handle on the org, for assertions the accessors do not cover.
    pub fn state(&self) -> Arc<Mutex<OktaState>> {
        Arc::clone(&self.org)
    }

    /// The org, with operations whose time has come completed.
    fn org(&self) -> MutexGuard<'_, OktaState> {
        let mut org = lock(&self.org);
        org.settle();
        org
    }

    /// The emulator's clock, read lag and long-operation settings (also reachable through
    /// [`Knobs::timeline`]); tests move time forward with [`Timeline::advance`].
    pub fn timeline(&self) -> &Arc<Timeline> {
        self.shared.knobs.timeline()
    }

    /// Times `effect` (see [`effect`]) took hold on a user (by id or login), over every
    /// object (group, app, client, factor).
    pub fn effects_applied(&self, effect: &str, user: &str) -> u64 {
        let org = self.org();
        let id = org.user(user).map_or_else(|| user.to_owned(), |u| u.id);
        org.effects.applied(effect, &id)
    }

    /// Times `effect` was asked for on a user (by id or login) when it already held: a
    /// suspend of a suspended user, a removal of an absent membership, a session clear with
    /// nothing to clear, a grant revocation with no grants.
    pub fn effects_repeated(&self, effect: &str, user: &str) -> u64 {
        let org = self.org();
        let id = org.user(user).map_or_else(|| user.to_owned(), |u| u.id);
        org.effects.repeated(effect, &id)
    }

    /// Every effect recorded, first times and repeats apart.
    pub fn effects(&self) -> Vec<EffectCount> {
        self.org().effects.rows()
    }

    /// Creates a user directly (no request, no log event); returns its id.
    ///
    /// # Panics
    /// If the login is blank or already taken; use
    /// [`OktaEmulator::try_seed_user`] to handle that instead.
    pub fn seed_user(&self, user: SeedUser) -> String {
        match self.try_seed_user(user) {
            Ok(id) => id,
            Err(e) => panic!("cannot seed Okta user: {e}"),
        }
    }

    /// Creates a user directly; returns its id.
    ///
    /// # Errors
    /// If the login is blank or already taken.
    pub fn try_seed_user(&self, user: SeedUser) -> Result<String, SeedError> {
        let mut org = self.org();
        let index = org.insert_user(&user)?;
        Ok(org.users[index].id.clone())
    }

    /// Creates a group (or finds the one with that name); returns its id.
    pub fn seed_group(&self, group: SeedGroup) -> String {
        let mut org = self.org();
        let index = org.insert_group(&group);
        org.groups[index].id.clone()
    }

    /// A user by id, login or unambiguous shortname.
    pub fn user(&self, id_or_login: &str) -> Option<UserView> {
        self.org().user(id_or_login)
    }

    /// Deletes an app (by id or label) as an administrator does in the console: its id
    /// answers 404 from then on and nobody holds it. Returns whether the app existed.
    pub fn delete_app(&self, id_or_label: &str) -> bool {
        self.org().delete_app(id_or_label)
    }

    /// The groups a user (by id or login) belongs to; empty if unknown.
    pub fn user_groups(&self, id_or_login: &str) -> Vec<GroupView> {
        self.user(id_or_login).map(|u| u.groups).unwrap_or_default()
    }

    /// Assigns an administrator role (`SUPER_ADMIN`, `ORG_ADMIN`, `APP_ADMIN`, …) to a user
    /// (by id or login); returns the assignment id, `None` for an unknown user.
    pub fn seed_admin_role(&self, id_or_login: &str, kind: &str) -> Option<String> {
        let mut org = self.org();
        let user = org.find_user(id_or_login)?;
        let now = org.now_ms();
        Some(org.roles.assign(user, kind, now))
    }

    /// The role types a user (by id or login) holds now, in assignment order.
    pub fn admin_roles(&self, id_or_login: &str) -> Vec<String> {
        let org = self.org();
        let Some(user) = org.find_user(id_or_login) else {
            return Vec::new();
        };
        org.roles.of(user).map(|a| a.kind.clone()).collect()
    }

    /// A group by id or name.
    pub fn group(&self, id_or_name: &str) -> Option<GroupView> {
        self.org().group(id_or_name)
    }

    /// Live sessions of a user (by id or login).
    pub fn sessions(&self, id_or_login: &str) -> Option<u32> {
        self.user(id_or_login).map(|u| u.sessions)
    }

    /// Consent grants of a user (by id or login).
    pub fn grants(&self, id_or_login: &str) -> Option<usize> {
        self.user(id_or_login).map(|u| u.grants)
    }

    /// Enrolled MFA factors of a user (by id or login).
    pub fn factors(&self, id_or_login: &str) -> Option<Vec<FactorView>> {
        self.user(id_or_login).map(|u| u.factors)
    }

    /// App assignments of a user (by id or login), with scope and source
    /// group.
    pub fn app_assignments(&self, id_or_login: &str) -> Option<Vec<AppAssignmentView>> {
        self.user(id_or_login).map(|u| u.app_assignments)
    }

    /// The id of an app, by label.
    pub fn app_id(&self, label: &str) -> Option<String> {
        self.org()
            .apps
            .iter()
            .find(|a| a.label == label)
            .map(|a| a.id.clone())
    }

    /// Live OAuth tokens of a user (by id or login).
    pub fn oauth_tokens(&self, id_or_login: &str) -> Option<usize> {
        self.user(id_or_login).map(|u| u.oauth_tokens)
    }

    /// Every System Log event, oldest first.
    pub fn system_log(&self) -> Vec<LogEvent> {
        self.org().system_log()
    }

    /// Test knob: records a sign-in by a user (by id or login) in the System Log, as Okta
    /// would after an authentication; returns the event's `uuid` and request id, or `None`
    /// for an unknown user.
    pub fn inject_sign_in(&self, id_or_login: &str, spec: SignInSpec) -> Option<(String, String)> {
        let mut org = self.org();
        let user = org.find_user(id_or_login)?;
        Some(org.record_sign_in(user, &spec))
    }

    /// How many System Log events of `event_type` target `target_id`.
    pub fn count_events(&self, event_type: &str, target_id: &str) -> usize {
        self.org()
            .log
            .iter()
            .filter(|e| e.event.event_type == event_type && e.event.targets(target_id))
            .count()
    }

    /// Stops the server, letting in-flight requests finish.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Runs an emulator seeded with the demo org until Ctrl-C, logging its URL
/// and token. For a CLI command that serves the sandbox on a fixed port.
///
/// # Errors
/// If the address cannot be bound or the Ctrl-C handler cannot be
/// installed.
pub async fn serve_forever(config: OktaConfig) -> io::Result<()> {
    let emulator = OktaEmulator::start(config).await?;
    let demo = demo_seed(&emulator);
    tracing::info!(
        base_url = %emulator.base_url(),
        api_token = %emulator.api_token(),
        leaver = %demo.leaver_login,
        "okta sandbox serving; press Ctrl-C to stop"
    );
    let stopped = tokio::signal::ctrl_c().await;
    emulator.shutdown().await;
    stopped
}
