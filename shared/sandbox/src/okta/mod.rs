//! An Okta Management API emulator served over real HTTP on loopback.
//!
//! It implements the endpoints an offboarding run uses — user lookup and
//! search, group membership, sessions, grants and tokens, suspend,
//! unsuspend and deactivate, and the System Log — with Okta's paths,
//! methods, status codes, error bodies, `Link` pagination, request ids and
//! rate-limit headers, so connector code can be exercised against it
//! unchanged. Tests read the org back through [`OktaEmulator`]'s accessors
//! and steer failures through [`Knobs`].
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
mod model;
mod pagination;
mod render;
mod routes;
mod search;
mod seed;
mod service;
mod state;
mod syslog;
mod views;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use rand::SeedableRng;
use rand::rngs::StdRng;

pub use crate::common::counters::RequestCounters;
use crate::common::knobs;
pub use crate::common::knobs::Knobs;
use crate::common::ratelimit::MinuteWindow;
use crate::common::server::ServerHandle;
use crate::common::{counters, ids};
pub use errors::OktaError;
pub use gate::{RATE_LIMIT_LIMIT, RATE_LIMIT_REMAINING, RATE_LIMIT_RESET, REQUEST_ID_HEADER};
pub use model::{GroupType, UnknownStatus, UserStatus};
pub use seed::{DEMO_LEAVER, DemoOrg, SeedError, SeedGroup, SeedUser, demo_seed};
use service::{AppState, Shared};
pub use state::OktaState;
pub use syslog::{
    LogActor, LogDebugContext, LogEvent, LogOutcome, LogTarget, LogTransaction, event_type,
};
pub use views::{GroupView, UserView};

/// Okta's documented default per-minute budget for most management
/// endpoints on Enterprise orgs.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 600;

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
    /// Per-minute request budget for the org (all `/api/v1` routes share
    /// one bucket).
    pub rate_limit_per_minute: u32,
    /// Seed for object ids and the default token.
    pub seed: u64,
}

impl Default for OktaConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            public_url: None,
            api_token: None,
            rate_limit_per_minute: DEFAULT_RATE_LIMIT_PER_MINUTE,
            seed: DEFAULT_SEED,
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
            knobs: knobs::Knobs::new(config.rate_limit_per_minute),
            counters: counters::RequestCounters::new(),
            bucket: MinuteWindow::new(),
            api_token,
            base_url: base_url.clone(),
        });
        let org = Arc::new(Mutex::new(OktaState::new(base_url, config.seed)));
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

    /// Runtime fault and pacing controls.
    pub fn knobs(&self) -> &Knobs {
        &self.shared.knobs
    }

    /// Served-request counters. Route templates name every user path
    /// parameter `{id}` (e.g. `/api/v1/users/{id}/sessions`) and group
    /// paths `{groupId}` / `{userId}`.
    pub fn counters(&self) -> &RequestCounters {
        &self.shared.counters
    }

    /// Refills the rate-limit bucket immediately.
    pub fn reset_rate_limit(&self) {
        self.shared.bucket.reset();
    }

    /// Shared handle on the org, for assertions the accessors do not cover.
    pub fn state(&self) -> Arc<Mutex<OktaState>> {
        Arc::clone(&self.org)
    }

    fn org(&self) -> MutexGuard<'_, OktaState> {
        self.org.lock().unwrap_or_else(|e| e.into_inner())
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

    /// The groups a user (by id or login) belongs to; empty if unknown.
    pub fn user_groups(&self, id_or_login: &str) -> Vec<GroupView> {
        self.user(id_or_login).map(|u| u.groups).unwrap_or_default()
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

    /// Live OAuth tokens of a user (by id or login).
    pub fn oauth_tokens(&self, id_or_login: &str) -> Option<usize> {
        self.user(id_or_login).map(|u| u.oauth_tokens)
    }

    /// Every System Log event, oldest first.
    pub fn system_log(&self) -> Vec<LogEvent> {
        self.org().system_log()
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
