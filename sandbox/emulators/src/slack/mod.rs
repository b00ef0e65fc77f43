//! A Slack emulator served over real HTTP on loopback: the Web API methods a leaver run uses
//! (`users.lookupByEmail`, `users.info`, `admin.users.session.reset` and `.list`) and the
//! SCIM 2.0 API, with Slack's plan gates, its `ok:false` error bodies, scope checks with
//! `needed`/`provided`, `Retry-After` on every 429, `x-slack-req-id` request ids, and the
//! organisation's billed seats for tests to read back.

mod routes;
mod state;

use std::collections::BTreeSet;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

pub use crate::common::counters::{EffectCount, RequestCounters, effect};
use crate::common::gate::GateParts;
pub use crate::common::knobs::{FaultConfig, Knobs, LostResponse, Storm};
use crate::common::lock;
use crate::common::server::ServerHandle;
pub use routes::REQUEST_ID_HEADER;
use state::SlackState;
pub use state::{GUEST_URN, MemberKind, SeedMember};

/// The leaver of the demo.
pub const DEMO_LEAVER: &str = "jane.doe@example.com";

/// The scopes of an Org Owner's user token that has installed the SCIM app and may use the
/// Admin API.
pub const ADMIN_SCOPES: &[&str] = &[
    "admin",
    "admin.users:read",
    "admin.users:write",
    "users:read",
    "users:read.email",
];

/// Slack's plans, as far as they decide what the API allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlackPlan {
    Free,
    Pro,
    BusinessPlus,
    EnterpriseGrid,
}

impl SlackPlan {
    pub fn has_scim(self) -> bool {
        matches!(self, SlackPlan::BusinessPlus | SlackPlan::EnterpriseGrid)
    }
}

#[derive(Clone, Debug)]
pub struct SlackConfig {
    pub bind: SocketAddr,
    pub plan: SlackPlan,
    /// The `xoxp-` user token the emulator accepts.
    pub token: String,
    pub scopes: Vec<String>,
    /// Slack's SCIM allows 180 writes to one user route a minute (burst 20); the emulator
    /// keeps one budget for everything.
    pub rate_limit_per_minute: u32,
    pub seed: u64,
    pub faults: FaultConfig,
}

impl SlackConfig {
    pub fn new(plan: SlackPlan) -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            plan,
            token: format!("xoxp-{}", uuid::Uuid::new_v4().simple()),
            scopes: ADMIN_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            rate_limit_per_minute: 180,
            seed: 0x51AC,
            faults: FaultConfig::default(),
        }
    }
}

/// A member as the organisation holds them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberView {
    pub id: String,
    pub email: String,
    pub kind: MemberKind,
    /// Deactivated.
    pub deleted: bool,
    pub sessions: usize,
    pub billed: bool,
}

#[derive(Debug)]
pub struct SlackEmulator {
    server: ServerHandle,
    parts: Arc<GateParts>,
    state: Arc<Mutex<SlackState>>,
    scopes: Arc<Mutex<BTreeSet<String>>>,
    base_url: String,
    token: String,
}

impl SlackEmulator {
    /// Binds and starts serving in a background task.
    ///
    /// # Errors
    /// If the address cannot be bound.
    pub async fn start(config: SlackConfig) -> io::Result<Self> {
        let listener = ServerHandle::bind(config.bind).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let parts = Arc::new(GateParts::new(config.rate_limit_per_minute, &config.faults));
        let grid = config.plan == SlackPlan::EnterpriseGrid;
        let state = Arc::new(Mutex::new(SlackState::new(config.seed, grid)));
        let scopes = Arc::new(Mutex::new(config.scopes.iter().cloned().collect()));
        let app = routes::AppState {
            state: Arc::clone(&state),
            parts: Arc::clone(&parts),
            token: Arc::new(config.token.clone()),
            scopes: Arc::clone(&scopes),
            plan: config.plan,
            scim_base: Arc::new(format!("{base_url}/scim/v2")),
        };
        let server = ServerHandle::serve(listener, routes::router(app))?;
        Ok(Self {
            server,
            parts,
            state,
            scopes,
            base_url,
            token: config.token,
        })
    }

    /// The Web API base (`…/api`), as `https://slack.com/api`.
    pub fn api_url(&self) -> String {
        format!("{}/api", self.base_url)
    }

    /// The SCIM base (`…/scim/v2`), as `https://api.slack.com/scim/v2`.
    pub fn scim_url(&self) -> String {
        format!("{}/scim/v2", self.base_url)
    }

    pub fn token(&self) -> String {
        self.token.clone()
    }

    fn state(&self) -> MutexGuard<'_, SlackState> {
        lock(&self.state)
    }

    /// Replaces the token's scopes (to make one missing).
    pub fn set_scopes(&self, scopes: &[&str]) {
        *lock(&self.scopes) = scopes.iter().map(|s| (*s).to_owned()).collect();
    }

    pub fn seed_member(&self, member: SeedMember) -> String {
        self.state().seed(&member)
    }

    /// A member by id or e-mail.
    pub fn member(&self, key: &str) -> Option<MemberView> {
        let state = self.state();
        let m = state.by_id(key).or_else(|| state.by_email(key))?;
        Some(MemberView {
            id: m.id.clone(),
            email: m.email.clone(),
            kind: m.kind,
            deleted: m.deleted,
            sessions: m.sessions.len(),
            billed: m.billed(),
        })
    }

    /// Seats the organisation is billed for now.
    pub fn billed_seats(&self) -> usize {
        self.state().billed_seats()
    }

    pub fn knobs(&self) -> &Knobs {
        &self.parts.knobs
    }

    pub fn counters(&self) -> &RequestCounters {
        &self.parts.counters
    }

    /// Times `effect` took hold on a member (by id or e-mail).
    pub fn effects_applied(&self, effect: &str, key: &str) -> u64 {
        let id = self.member(key).map_or_else(|| key.to_owned(), |m| m.id);
        self.state().effects.applied(effect, &id)
    }

    /// Times `effect` was asked for on a member (by id or e-mail) when it already held.
    pub fn effects_repeated(&self, effect: &str, key: &str) -> u64 {
        let id = self.member(key).map_or_else(|| key.to_owned(), |m| m.id);
        self.state().effects.repeated(effect, &id)
    }

    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// The demo organisation: the leaver, a primary owner, a colleague, and a multi-channel and a
/// single-channel guest.
pub fn demo_seed(slack: &SlackEmulator) -> String {
    let leaver = slack.seed_member(SeedMember::new(DEMO_LEAVER, "Jane Doe"));
    slack.seed_member(SeedMember {
        kind: MemberKind::PrimaryOwner,
        ..SeedMember::new("founder@example.com", "Alex Founder")
    });
    slack.seed_member(SeedMember::new("sam.lee@example.com", "Sam Lee"));
    slack.seed_member(SeedMember {
        kind: MemberKind::MultiChannelGuest,
        ..SeedMember::new("contractor@agency.example", "Casey Contractor")
    });
    slack.seed_member(SeedMember {
        kind: MemberKind::SingleChannelGuest,
        ..SeedMember::new("auditor@firm.example", "Avery Auditor")
    });
    leaver
}
