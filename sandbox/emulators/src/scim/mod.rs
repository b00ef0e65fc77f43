//! A generic SCIM 2.0 service provider (RFC 7643/7644) served over real HTTP on loopback, in
//! two behaviours ([`Flavor`]): a strict RFC server, and a lenient one with the gaps real
//! servers have (no `PATCH`, no e-mail filters, case-exact `userName`, tiny pages, no ETags,
//! plural discovery, integer error statuses). A connector that works against both works
//! against most apps that claim SCIM.
//!
//! `DELETE` removes the user for good: every later request for it is a 404, as RFC 7644 §3.6
//! says. Whether a deactivation frees the paid seat is the app's billing rule
//! ([`SeatBilling`]), which the tests read back with [`ScimEmulator::seats_held`].

mod errors;
mod flavor;
mod model;
mod routes;
mod state;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

pub use crate::common::counters::{EffectCount, RequestCounters, effect};
use crate::common::gate::GateParts;
pub use crate::common::knobs::{FaultConfig, Knobs, LostResponse, Storm};
use crate::common::lock;
use crate::common::server::ServerHandle;
pub use crate::common::timeline::Timeline;
pub use errors::ERROR_URN;
pub use flavor::Flavor;
pub use model::{LIST_URN, PATCH_URN, USER_URN};
pub use state::{SeatBilling, SeedUser};

/// The leaver of the demo, present in every SCIM app.
pub const DEMO_LEAVER: &str = "jane.doe@example.com";

/// How to start a SCIM server.
#[derive(Clone, Debug)]
pub struct ScimConfig {
    pub bind: SocketAddr,
    pub flavor: Flavor,
    pub billing: SeatBilling,
    /// Where the SCIM endpoints live on the server (`/scim/v2`).
    pub base_path: String,
    /// The bearer token the server accepts.
    pub token: String,
    pub rate_limit_per_minute: u32,
    /// What `ServiceProviderConfig` claims about `PATCH`, when it is not the truth: servers
    /// that advertise a feature they refuse are common, so clients must treat the flags as
    /// hints.
    pub advertise_patch: Option<bool>,
    pub seed: u64,
    pub faults: FaultConfig,
}

impl ScimConfig {
    pub fn new(flavor: Flavor) -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            flavor,
            billing: SeatBilling::default(),
            base_path: "/scim/v2".into(),
            token: format!("scim-{}", uuid::Uuid::new_v4().simple()),
            rate_limit_per_minute: 600,
            advertise_patch: None,
            seed: 0x5C1A,
            faults: FaultConfig::default(),
        }
    }
}

/// A user as the server holds it, for assertions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserView {
    pub id: String,
    pub user_name: String,
    pub emails: Vec<String>,
    pub active: bool,
    pub version: u64,
}

/// A running SCIM server.
#[derive(Debug)]
pub struct ScimEmulator {
    server: ServerHandle,
    parts: Arc<GateParts>,
    state: Arc<Mutex<ScimState>>,
    base_url: String,
    token: String,
}

use state::ScimState;

impl ScimEmulator {
    /// Binds and starts serving in a background task.
    ///
    /// # Errors
    /// If the address cannot be bound.
    pub async fn start(config: ScimConfig) -> io::Result<Self> {
        let listener = ServerHandle::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let base_path = format!("/{}", config.base_path.trim_matches('/'));
        let base_url = format!("http://{addr}{base_path}");
        let parts = Arc::new(GateParts::new(config.rate_limit_per_minute, &config.faults));
        let state = Arc::new(Mutex::new(ScimState::new(
            config.flavor,
            config.billing,
            base_url.clone(),
            config.seed,
            Arc::clone(parts.knobs.timeline()),
        )));
        let app = routes::AppState {
            state: Arc::clone(&state),
            parts: Arc::clone(&parts),
            token: Arc::new(config.token.clone()),
            flavor: config.flavor,
            advertise_patch: config.advertise_patch,
        };
        let server = ServerHandle::serve(listener, routes::router(app, &base_path))?;
        Ok(Self {
            server,
            parts,
            state,
            base_url,
            token: config.token,
        })
    }

    /// The SCIM base URL (`http://127.0.0.1:PORT/scim/v2`): what a tenant configures.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    pub fn token(&self) -> String {
        self.token.clone()
    }

    fn state(&self) -> MutexGuard<'_, ScimState> {
        lock(&self.state)
    }

    /// Creates a user directly; returns its id.
    pub fn seed_user(&self, user: SeedUser) -> String {
        self.state().seed(&user)
    }

    /// A user by id, `userName` or e-mail (case-insensitively); `None` once deleted.
    pub fn user(&self, key: &str) -> Option<UserView> {
        self.state().lookup(key).map(|u| UserView {
            id: u.id.clone(),
            user_name: u.user_name.clone(),
            emails: u.emails.iter().map(|e| e.value.clone()).collect(),
            active: u.active,
            version: u.version,
        })
    }

    /// Whether a user with this id was deleted.
    pub fn was_deleted(&self, id: &str) -> bool {
        self.state().deleted.contains(id)
    }

    /// Paid seats held now, by the server's billing rule.
    pub fn seats_held(&self) -> usize {
        self.state().seats_held()
    }

    /// Moves a user's version on, as another administrator's edit would: a write that names
    /// the ETag read before meets 412.
    pub fn concurrent_change(&self, id: &str) {
        self.state().concurrent_change(id);
    }

    /// Makes another administrator's edit of a user land just before the next write to it,
    /// after the client has read its version: that write's `If-Match` is stale (412).
    pub fn race_next_write(&self, id: &str) {
        self.state().races.insert(id.to_owned());
    }

    pub fn knobs(&self) -> &Knobs {
        &self.parts.knobs
    }

    pub fn counters(&self) -> &RequestCounters {
        &self.parts.counters
    }

    /// Times `effect` took hold on a user id.
    pub fn effects_applied(&self, effect: &str, id: &str) -> u64 {
        self.state().effects.applied(effect, id)
    }

    /// Times `effect` was asked for on a user id when it already held.
    pub fn effects_repeated(&self, effect: &str, id: &str) -> u64 {
        self.state().effects.repeated(effect, id)
    }

    pub fn effects(&self) -> Vec<EffectCount> {
        self.state().effects.rows()
    }

    /// Stops the server, letting in-flight requests finish.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// The demo app's people: the leaver (whose `userName` is written in mixed case, as some
/// directories keep it) and enough colleagues that a listing takes more than one page.
pub fn demo_seed(scim: &ScimEmulator) -> String {
    let leaver = scim.seed_user(SeedUser {
        user_name: "Jane.Doe@example.com".into(),
        groups: vec!["Engineering".into(), "All staff".into()],
        ..SeedUser::new(DEMO_LEAVER, "Jane", "Doe")
    });
    for (email, given, family) in [
        ("sam.lee@example.com", "Sam", "Lee"),
        ("priya.patel@example.com", "Priya", "Patel"),
        ("omar.haddad@example.com", "Omar", "Haddad"),
        ("li.wei@example.com", "Li", "Wei"),
    ] {
        scim.seed_user(SeedUser::new(email, given, family));
    }
    leaver
}
