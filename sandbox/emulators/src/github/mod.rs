//! A GitHub Enterprise Cloud emulator served over real HTTP on loopback: one organisation
//! (members, outside collaborators, invitations, SAML SSO credential authorizations, Copilot
//! seats) and its enterprise's managed users (EMU SCIM), with GitHub's classic token scopes,
//! `x-ratelimit-*` headers, primary and secondary rate limits, `x-github-request-id` and
//! `Link` pagination. Tests read the organisation back through [`GithubEmulator`].

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
pub use crate::common::timeline::Timeline;
pub use routes::REQUEST_ID_HEADER;
pub use state::OrgRole;
use state::{Account, CopilotSeat, Credential, GithubState, Invitation, ManagedUser};

/// The demo leaver's work address and GitHub login.
pub const DEMO_LEAVER: &str = "jane.doe@example.com";
pub const DEMO_LOGIN: &str = "jane-doe";

/// What an organisation owner's classic token for offboarding carries.
pub const OWNER_SCOPES: &[&str] = &["admin:org", "manage_billing:copilot", "scim:enterprise"];

#[derive(Clone, Debug)]
pub struct GithubConfig {
    pub bind: SocketAddr,
    pub org: String,
    pub enterprise: String,
    pub token: String,
    pub scopes: Vec<String>,
    /// Requests a minute before the primary limit answers 403.
    pub rate_limit_per_minute: u32,
    pub faults: FaultConfig,
}

impl Default for GithubConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            org: "acme-corp".into(),
            enterprise: "acme".into(),
            token: format!("ghp_{}", uuid::Uuid::new_v4().simple()),
            scopes: OWNER_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            rate_limit_per_minute: 5000,
            faults: FaultConfig::default(),
        }
    }
}

/// How a seeded member holds Copilot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CopilotSource {
    Direct,
    Team(String),
}

/// An organisation member to create directly.
#[derive(Clone, Debug)]
pub struct SeedMember {
    pub login: String,
    /// Shown by the API only when public.
    pub public_email: Option<String>,
    pub role: OrgRole,
    pub copilot: Option<CopilotSource>,
    /// SAML SSO credential authorizations (tokens, SSH keys).
    pub credentials: usize,
}

impl SeedMember {
    pub fn new(login: &str) -> Self {
        Self {
            login: login.into(),
            public_email: None,
            role: OrgRole::Member,
            copilot: None,
            credentials: 0,
        }
    }
}

/// A Copilot seat as the organisation holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeatView {
    pub team: Option<String>,
    pub pending_cancellation: Option<String>,
}

#[derive(Debug)]
pub struct GithubEmulator {
    server: ServerHandle,
    parts: Arc<GateParts>,
    state: Arc<Mutex<GithubState>>,
    scopes: Arc<Mutex<BTreeSet<String>>>,
    base_url: String,
    token: String,
}

impl GithubEmulator {
    /// Binds and starts serving in a background task.
    ///
    /// # Errors
    /// If the address cannot be bound.
    pub async fn start(config: GithubConfig) -> io::Result<Self> {
        let listener = ServerHandle::bind(config.bind).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let parts = Arc::new(GateParts::new(config.rate_limit_per_minute, &config.faults));
        let state = Arc::new(Mutex::new(GithubState::new(
            &config.org,
            &config.enterprise,
            Arc::clone(parts.knobs.timeline()),
        )));
        let scopes = Arc::new(Mutex::new(config.scopes.iter().cloned().collect()));
        let app = routes::AppState {
            state: Arc::clone(&state),
            parts: Arc::clone(&parts),
            token: Arc::new(config.token.clone()),
            scopes: Arc::clone(&scopes),
            base_url: Arc::new(base_url.clone()),
        };
        let server = ServerHandle::serve(listener, routes::router(app))?;
        let emulator = Self {
            server,
            parts,
            state,
            scopes,
            base_url,
            token: config.token,
        };
        emulator.seed_member(SeedMember {
            role: OrgRole::Admin,
            ..SeedMember::new("octo-admin")
        });
        Ok(emulator)
    }

    /// The API root (`https://api.github.com`).
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    pub fn token(&self) -> String {
        self.token.clone()
    }

    pub fn org(&self) -> String {
        self.state().org.clone()
    }

    pub fn enterprise(&self) -> String {
        self.state().enterprise.clone()
    }

    fn state(&self) -> MutexGuard<'_, GithubState> {
        let mut state = lock(&self.state);
        state.settle();
        state
    }

    /// Replaces the token's scopes (to make one missing).
    pub fn set_scopes(&self, scopes: &[&str]) {
        *lock(&self.scopes) = scopes.iter().map(|s| (*s).to_owned()).collect();
    }

    fn ensure_account(state: &mut GithubState, login: &str, email: Option<String>) {
        if state.account(login).is_none() {
            let id = state.next_id();
            state.accounts.push(Account {
                login: login.into(),
                id,
                public_email: email,
            });
        }
    }

    pub fn seed_member(&self, member: SeedMember) {
        let mut state = self.state();
        let key = member.login.to_ascii_lowercase();
        Self::ensure_account(&mut state, &member.login, member.public_email.clone());
        state.members.insert(key.clone(), member.role);
        let now = state.timeline.now();
        if let Some(source) = member.copilot {
            let team = match source {
                CopilotSource::Direct => None,
                CopilotSource::Team(t) => Some(t),
            };
            state.copilot.insert(
                key.clone(),
                CopilotSeat {
                    created_at: now,
                    team,
                    pending_cancellation: None,
                },
            );
        }
        for n in 0..member.credentials {
            let id = state.next_id();
            let kind = if n % 2 == 0 {
                "personal access token"
            } else {
                "SSH key"
            };
            state.credentials.push(Credential {
                id,
                login: member.login.clone(),
                kind,
                last_eight: format!("{id:08}"),
                revoked_at: None,
            });
        }
    }

    pub fn seed_outside_collaborator(&self, login: &str) {
        let mut state = self.state();
        Self::ensure_account(&mut state, login, None);
        state.outside.insert(login.to_ascii_lowercase());
    }

    /// An invitation to a login or to an e-mail address; returns its id.
    pub fn seed_invitation(&self, login: Option<&str>, email: Option<&str>) -> u64 {
        let mut state = self.state();
        let id = state.next_id();
        state.invitations.push(Invitation {
            id,
            login: login.map(str::to_owned),
            email: email.map(str::to_owned),
            role: OrgRole::Member,
        });
        id
    }

    /// A managed user of the enterprise (EMU), also an organisation member; returns its SCIM id.
    pub fn seed_managed_user(&self, user_name: &str, login: &str) -> String {
        let mut state = self.state();
        let scim_id = uuid::Uuid::new_v4().to_string();
        state.managed.push(ManagedUser {
            scim_id: scim_id.clone(),
            user_name: user_name.into(),
            login: login.into(),
            active: true,
        });
        drop(state);
        self.seed_member(SeedMember::new(login));
        scim_id
    }

    /// Turns Copilot Business off for the organisation.
    pub fn disable_copilot(&self) {
        self.state().copilot_enabled = false;
    }

    /// `active` or `pending` while the login is a member or invited.
    pub fn membership(&self, login: &str) -> Option<&'static str> {
        let state = self.state();
        let key = login.to_ascii_lowercase();
        if state.members.contains_key(&key) {
            return Some("active");
        }
        state
            .invitations
            .iter()
            .any(|i| {
                i.login
                    .as_deref()
                    .is_some_and(|l| l.eq_ignore_ascii_case(login))
            })
            .then_some("pending")
    }

    pub fn is_outside_collaborator(&self, login: &str) -> bool {
        self.state().outside.contains(&login.to_ascii_lowercase())
    }

    /// Invitations outstanding for a login or e-mail address.
    pub fn invitations_for(&self, who: &str) -> usize {
        self.state()
            .invitations
            .iter()
            .filter(|i| {
                i.login
                    .as_deref()
                    .is_some_and(|l| l.eq_ignore_ascii_case(who))
                    || i.email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(who))
            })
            .count()
    }

    /// Credential authorizations still in force for a login.
    pub fn credentials(&self, login: &str) -> usize {
        self.state()
            .credentials
            .iter()
            .filter(|c| c.login.eq_ignore_ascii_case(login))
            .count()
    }

    pub fn copilot_seat(&self, login: &str) -> Option<SeatView> {
        self.state()
            .copilot
            .get(&login.to_ascii_lowercase())
            .map(|s| SeatView {
                team: s.team.clone(),
                pending_cancellation: s.pending_cancellation.clone(),
            })
    }

    /// A managed user's SCIM `active`; `None` once deleted.
    pub fn managed_active(&self, scim_id: &str) -> Option<bool> {
        self.state().managed(scim_id).map(|u| u.active)
    }

    pub fn managed_deleted(&self, scim_id: &str) -> bool {
        self.state().deleted.contains(scim_id)
    }

    /// Paid organisation seats: members, pending invitations and outside collaborators.
    pub fn seats_in_use(&self) -> usize {
        let state = self.state();
        state.members.len() + state.invitations.len() + state.outside.len()
    }

    pub fn knobs(&self) -> &Knobs {
        &self.parts.knobs
    }

    pub fn timeline(&self) -> &Arc<Timeline> {
        self.parts.knobs.timeline()
    }

    pub fn counters(&self) -> &RequestCounters {
        &self.parts.counters
    }

    pub fn reset_rate_limit(&self) {
        self.parts.bucket.reset();
    }

    /// Times `effect` took hold on a login.
    pub fn effects_applied(&self, effect: &str, login: &str) -> u64 {
        self.state()
            .effects
            .applied(effect, &login.to_ascii_lowercase())
    }

    /// Times `effect` was asked for on a login when it already held.
    pub fn effects_repeated(&self, effect: &str, login: &str) -> u64 {
        self.state()
            .effects
            .repeated(effect, &login.to_ascii_lowercase())
    }

    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// The demo organisation: the leaver (a member with a direct Copilot seat and two SAML
/// credential authorizations, public e-mail hidden), a colleague, and the leaver's old
/// e-mail invitation still pending.
pub fn demo_seed(github: &GithubEmulator) {
    github.seed_member(SeedMember {
        copilot: Some(CopilotSource::Direct),
        credentials: 2,
        ..SeedMember::new(DEMO_LOGIN)
    });
    github.seed_member(SeedMember {
        public_email: Some("sam.lee@example.com".into()),
        copilot: Some(CopilotSource::Team("Platform".into())),
        ..SeedMember::new("sam-lee")
    });
    github.seed_outside_collaborator("agency-dev");
    github.seed_invitation(None, Some(DEMO_LEAVER));
}
