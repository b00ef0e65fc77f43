//! The emulated org: users, groups, apps, grants, tokens, sessions and the
//! System Log, with the lifecycle rules Okta enforces on them.
//!
//! Mutations return `OktaError` exactly where Okta refuses the operation and
//! write a System Log event only when they change something.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::common::counters::{EffectBook, effect};
use crate::common::lag::LagBook;
use crate::common::timeline::Timeline;
use crate::common::{clock, ids};
use crate::okta::errors::OktaError;
use crate::okta::gate::RequestCtx;
use crate::okta::model::{
    AppAssignment, AppRecord, FactorKind, FactorRecord, GivenAppUser, GrantRecord, GroupRecord,
    GroupType, OAuthToken, UserRecord, UserStatus,
};
use crate::okta::seed::{SeedError, SeedGroup, SeedUser};
use crate::okta::syslog::{
    self, EventSpec, LogActor, LogEvent, LogTarget, StoredEvent, event_type,
};
use crate::okta::views::{AppAssignmentView, FactorView, GroupView, UserView};

/// OIDC clients that seeded grants and tokens are issued to, in rotation.
const SEED_CLIENTS: [&str; 3] = ["Expense Portal", "Engineering Wiki", "Support Console"];
/// Scopes that seeded consent grants cover, in rotation.
const SEED_SCOPES: [&str; 5] = [
    "openid",
    "profile",
    "email",
    "offline_access",
    "okta.users.read",
];

/// All org data behind the emulator's mutex.
#[derive(Debug)]
pub struct OktaState {
    base_url: String,
    rng: StdRng,
    /// Ids for objects added after the original seeding model (factors,
    /// assignments created through groups), drawn separately so that the
    /// ids of users, groups, apps and grants stay what they always were
    /// for a given seed.
    aux_rng: StdRng,
    user_type_id: String,
    admin: LogActor,
    pub(crate) users: Vec<UserRecord>,
    user_ids: HashMap<String, usize>,
    logins: HashMap<String, usize>,
    pub(crate) groups: Vec<GroupRecord>,
    group_ids: HashMap<String, usize>,
    pub(crate) apps: Vec<AppRecord>,
    app_ids: HashMap<String, usize>,
    grant_seqs: HashMap<String, u64>,
    next_grant_seq: u64,
    pub(crate) log: Vec<StoredEvent>,
    next_log_seq: u64,
    timeline: Arc<Timeline>,
    /// Every effect requested through the API, first times and repeats apart.
    pub(crate) effects: EffectBook,
    /// Membership listings lag behind membership changes: (group, user) → was a member.
    member_lag: LagBook<(usize, usize), bool>,
    /// Deactivations accepted but not yet complete, oldest first.
    transitions: Vec<Transition>,
    /// Administrator role assignments (`/users/{userId}/roles`).
    pub(crate) roles: crate::okta::roles::RoleBook,
}

/// A deactivation under way: the user, when it completes, and the request that asked for it
/// (its System Log event names that request).
#[derive(Debug)]
struct Transition {
    user: usize,
    at: Timestamp,
    ctx: RequestCtx,
}

impl OktaState {
    /// A fresh org whose only group is the built-in `Everyone`. Object ids
    /// come from a generator seeded with `seed`, so the same seeding
    /// sequence yields the same ids on every run.
    pub(crate) fn new(base_url: String, seed: u64, timeline: Arc<Timeline>) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let aux_rng = StdRng::seed_from_u64(seed ^ 0xFAC7_0A55_A551_6E00);
        let user_type_id = ids::okta_object_id(&mut rng, "oty");
        let admin = LogActor {
            id: ids::okta_object_id(&mut rng, "00u"),
            kind: "User".to_owned(),
            alternate_id: "sandbox.admin@example.com".to_owned(),
            display_name: "Sandbox Admin".to_owned(),
            detail_entry: None,
        };
        let mut state = Self {
            base_url,
            rng,
            aux_rng,
            user_type_id,
            admin,
            users: Vec::new(),
            user_ids: HashMap::new(),
            logins: HashMap::new(),
            groups: Vec::new(),
            group_ids: HashMap::new(),
            apps: Vec::new(),
            app_ids: HashMap::new(),
            grant_seqs: HashMap::new(),
            next_grant_seq: 0,
            log: Vec::new(),
            next_log_seq: 0,
            timeline,
            effects: EffectBook::default(),
            member_lag: LagBook::default(),
            transitions: Vec::new(),
            roles: crate::okta::roles::RoleBook::new(seed),
        };
        state.insert_group(&SeedGroup {
            name: "Everyone".to_owned(),
            description: "All users in your organization".to_owned(),
            group_type: GroupType::BuiltIn,
        });
        state
    }

    /// Now on the emulator's clock, truncated to milliseconds so stored times compare exactly
    /// like their rendered form.
    pub(crate) fn now_ms(&self) -> Timestamp {
        self.timeline.now_ms()
    }

    /// Completes the asynchronous changes whose time has come. Called before every request
    /// and every accessor, so nobody sees an operation late.
    pub(crate) fn settle(&mut self) {
        let now = self.timeline.now();
        let (due, waiting): (Vec<Transition>, Vec<Transition>) =
            std::mem::take(&mut self.transitions)
                .into_iter()
                .partition(|t| t.at <= now);
        self.transitions = waiting;
        for t in due {
            self.users[t.user].transitioning = None;
            self.complete_deactivation(t.user, &t.ctx);
        }
    }

    // ----- listings that lag ----------------------------------------------

    /// Whether a membership listing shows `user` in `group`: the membership as it was before
    /// a change for the read lag after it, the membership itself otherwise.
    pub(crate) fn listed_member(&self, group: usize, user: usize) -> bool {
        self.member_lag
            .seen(&(group, user), self.timeline.now())
            .copied()
            .unwrap_or_else(|| self.groups[group].members.contains(&user))
    }

    /// The groups `GET /users/{id}/groups` lists for a user.
    pub(crate) fn listed_groups_of(&self, user: usize) -> Vec<usize> {
        (0..self.groups.len())
            .filter(|&g| self.listed_member(g, user))
            .collect()
    }

    /// The members `GET /groups/{id}/users` lists, in user order.
    pub(crate) fn listed_members(&self, group: usize) -> Vec<usize> {
        let now = self.timeline.now();
        let lagging = self
            .member_lag
            .lagging(now)
            .filter(|((g, _), _)| *g == group)
            .map(|((_, u), _)| *u);
        let mut users: Vec<usize> = self.groups[group]
            .members
            .iter()
            .copied()
            .chain(lagging)
            .filter(|&u| self.listed_member(group, u))
            .collect();
        users.sort_unstable();
        users.dedup();
        users
    }

    fn note_membership_write(&mut self, group: usize, user: usize) {
        let was = self.groups[group].members.contains(&user);
        let (now, lag) = (self.timeline.now(), self.timeline.read_lag());
        self.member_lag.wrote((group, user), || was, now, lag);
    }

    fn effect(&mut self, name: &str, user: usize, object: &str, applied: bool) {
        let subject = self.users[user].id.clone();
        self.effects.record(name, &subject, object, applied);
    }

    /// The org's absolute origin, used in `_links`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The id of the org's default user type (`type.id` on users).
    pub fn user_type_id(&self) -> &str {
        &self.user_type_id
    }

    /// The admin that owns the API token, as it appears as log actor.
    pub fn admin(&self) -> &LogActor {
        &self.admin
    }

    // ----- lookups ------------------------------------------------------

    /// Resolves a `{id}` path segment the way Okta does for `pathId`
    /// parameters: an id, a login (case-insensitive), or an unambiguous
    /// login shortname (the part before `@`).
    pub(crate) fn find_user(&self, id_or_login: &str) -> Option<usize> {
        if let Some(&i) = self.user_ids.get(id_or_login) {
            return Some(i);
        }
        let lower = id_or_login.to_lowercase();
        if let Some(&i) = self.logins.get(&lower) {
            return Some(i);
        }
        if lower.contains('@') {
            return None;
        }
        let mut matches = self
            .users
            .iter()
            .enumerate()
            .filter(|(_, u)| shortname(&u.login) == lower);
        match (matches.next(), matches.next()) {
            (Some((i, _)), None) => Some(i),
            _ => None,
        }
    }

    /// Resolves a `{userId}` path segment, which only accepts ids.
    pub(crate) fn user_by_id(&self, id: &str) -> Option<usize> {
        self.user_ids.get(id).copied()
    }

    pub(crate) fn group_by_id(&self, id: &str) -> Option<usize> {
        self.group_ids.get(id).copied()
    }

    pub(crate) fn group_by_name(&self, name: &str) -> Option<usize> {
        self.groups
            .iter()
            .position(|g| g.name.eq_ignore_ascii_case(name))
    }

    pub(crate) fn app_by_id(&self, id: &str) -> Option<usize> {
        self.app_ids.get(id).copied()
    }

    pub(crate) fn grant_seq(&self, id: &str) -> Option<u64> {
        self.grant_seqs.get(id).copied()
    }

    /// Indexes of the groups a user belongs to, in group creation order.
    pub(crate) fn groups_of(&self, user: usize) -> Vec<usize> {
        self.groups
            .iter()
            .enumerate()
            .filter(|(_, g)| g.members.contains(&user))
            .map(|(i, _)| i)
            .collect()
    }

    /// Indexes of the OIDC clients a user has grants or tokens for, in app
    /// creation order.
    pub(crate) fn clients_of(&self, user: usize) -> Vec<usize> {
        let u = &self.users[user];
        let clients: BTreeSet<usize> = u
            .grants
            .iter()
            .map(|g| g.client)
            .chain(u.oauth_tokens.iter().map(|t| t.client))
            .collect();
        clients.into_iter().collect()
    }

    // ----- seeding ------------------------------------------------------

    /// Adds a group, or returns the existing group with that name.
    pub(crate) fn insert_group(&mut self, seed: &SeedGroup) -> usize {
        if let Some(existing) = self.group_by_name(&seed.name) {
            return existing;
        }
        let now = self.timeline.now();
        let created = ago(now, 24 * 900);
        let source_app = (seed.group_type == GroupType::AppGroup)
            .then(|| self.ensure_app("Active Directory", "active_directory"));
        let id = ids::okta_object_id(&mut self.rng, "00g");
        let index = self.groups.len();
        self.group_ids.insert(id.clone(), index);
        self.groups.push(GroupRecord {
            id,
            kind: seed.group_type,
            name: seed.name.clone(),
            description: seed.description.clone(),
            created,
            last_updated: created,
            last_membership_updated: created,
            members: BTreeSet::new(),
            source_app,
            apps: Vec::new(),
        });
        index
    }

    /// Adds an app by label, or returns the existing one.
    pub(crate) fn ensure_app(&mut self, label: &str, name: &str) -> usize {
        if let Some(i) = self.apps.iter().position(|a| a.label == label) {
            return i;
        }
        let id = ids::okta_object_id(&mut self.rng, "0oa");
        let index = self.apps.len();
        self.app_ids.insert(id.clone(), index);
        self.apps.push(AppRecord {
            id,
            name: name.to_owned(),
            label: label.to_owned(),
        });
        index
    }

    /// Adds a user with its memberships, sessions, grants, tokens and app
    /// assignments. Every user also joins `Everyone`, as in a real org.
    pub(crate) fn insert_user(&mut self, seed: &SeedUser) -> Result<usize, SeedError> {
        let login = seed.login.trim().to_owned();
        if login.is_empty() {
            return Err(SeedError::EmptyLogin);
        }
        if self.logins.contains_key(&login.to_lowercase()) {
            return Err(SeedError::DuplicateLogin(login));
        }
        let now = self.timeline.now();
        let ordinal = i64::try_from(self.users.len()).unwrap_or(0);
        let created = ago(now, 24 * (400 + 7 * ordinal));
        let activated = seed.status.was_activated().then(|| ago(created, -1));
        let status_changed = match seed.status {
            UserStatus::Active | UserStatus::Staged => activated,
            _ => Some(ago(now, 24 * 3)),
        };
        let last_login = matches!(seed.status, UserStatus::Active).then(|| ago(now, 2 + ordinal));
        let id = ids::okta_object_id(&mut self.rng, "00u");
        let index = self.users.len();

        let mut grants = Vec::new();
        for i in 0..seed.grants as usize {
            let client = self.seed_client(i);
            let grant_id = ids::okta_object_id(&mut self.rng, "oag");
            let seq = self.next_grant_seq;
            self.next_grant_seq += 1;
            self.grant_seqs.insert(grant_id.clone(), seq);
            grants.push(GrantRecord {
                id: grant_id,
                seq,
                client,
                scope_id: SEED_SCOPES[i % SEED_SCOPES.len()].to_owned(),
                created: ago(now, 24 * 30),
            });
        }
        let oauth_tokens = (0..seed.oauth_tokens as usize)
            .map(|i| OAuthToken {
                client: self.seed_client(i),
            })
            .collect();
        let assigned_at = ago(now, 24 * 90);
        let mut apps = Vec::new();
        for label in &seed.apps {
            let app = self.ensure_app(label, &catalog_name(label));
            let assignment_id = ids::okta_object_id(&mut self.rng, "0ua");
            let source_group = seed
                .group_apps
                .iter()
                .find(|ga| ga.app == *label)
                .map(|ga| self.ensure_okta_group(&ga.group));
            apps.push(AppAssignment {
                app,
                assignment_id,
                created: assigned_at,
                source_group,
                given: None,
            });
        }
        let mut app_groups = Vec::new();
        for ga in &seed.group_apps {
            let app = self.ensure_app(&ga.app, &catalog_name(&ga.app));
            let group = self.ensure_okta_group(&ga.group);
            app_groups.push((app, group));
            if !apps.iter().any(|a| a.app == app) {
                apps.push(AppAssignment {
                    app,
                    assignment_id: ids::okta_object_id(&mut self.aux_rng, "0ua"),
                    created: assigned_at,
                    source_group: Some(group),
                    given: None,
                });
            }
        }
        let factors = seed
            .factors
            .iter()
            .map(|&kind| FactorRecord {
                id: ids::okta_object_id(&mut self.aux_rng, kind.id_prefix()),
                kind,
                created: ago(now, 24 * 60),
                last_updated: ago(now, 24 * 60),
            })
            .collect();

        self.user_ids.insert(id.clone(), index);
        self.logins.insert(login.to_lowercase(), index);
        self.users.push(UserRecord {
            id,
            status: seed.status,
            created,
            activated,
            status_changed,
            last_login,
            last_updated: status_changed.unwrap_or(created),
            password_changed: activated,
            email: if seed.email.is_empty() {
                login.clone()
            } else {
                seed.email.clone()
            },
            login,
            first_name: seed.first.clone(),
            last_name: seed.last.clone(),
            sessions: seed.sessions,
            remembered_devices: seed.sessions,
            oauth_tokens,
            grants,
            apps,
            factors,
            transitioning: None,
        });

        let everyone = self.group_by_name("Everyone");
        let named: Vec<usize> = seed
            .groups
            .iter()
            .map(|name| self.ensure_okta_group(name))
            .collect();
        let joined: Vec<usize> = everyone
            .into_iter()
            .chain(named)
            .chain(app_groups.iter().map(|&(_, g)| g))
            .collect();
        for &g in &joined {
            self.groups[g].members.insert(index);
        }
        // Assigning an app to a group reaches every member, not only the
        // user whose seed declared it.
        for (app, group) in app_groups {
            if !self.groups[group].apps.contains(&app) {
                self.groups[group].apps.push(app);
                let members: Vec<usize> = self.groups[group].members.iter().copied().collect();
                for member in members {
                    self.grant_group_apps(member, group);
                }
            }
        }
        for g in joined {
            self.grant_group_apps(index, g);
        }
        Ok(index)
    }

    /// A group by name, created as an OKTA_GROUP when unknown.
    fn ensure_okta_group(&mut self, name: &str) -> usize {
        self.group_by_name(name).unwrap_or_else(|| {
            self.insert_group(&SeedGroup {
                name: name.to_owned(),
                description: String::new(),
                group_type: GroupType::OktaGroup,
            })
        })
    }

    /// Gives `user` a `GROUP`-scoped assignment for every app assigned to
    /// `group` that the user does not hold yet; returns the apps added.
    /// Deactivated users are deprovisioned from every app and get none.
    fn grant_group_apps(&mut self, user: usize, group: usize) -> Vec<usize> {
        let mut added = Vec::new();
        if self.users[user].status == UserStatus::Deprovisioned {
            return added;
        }
        for app in self.groups[group].apps.clone() {
            if self.users[user].apps.iter().any(|a| a.app == app) {
                continue;
            }
            let assignment = AppAssignment {
                app,
                assignment_id: ids::okta_object_id(&mut self.aux_rng, "0ua"),
                created: self.now_ms(),
                source_group: Some(group),
                given: None,
            };
            self.users[user].apps.push(assignment);
            added.push(app);
        }
        added
    }

    /// After `user` left `group`: assignments held through it move to
    /// another group of the user's that assigns the same app, or are
    /// removed. Returns the apps removed.
    fn revoke_group_apps(&mut self, user: usize, group: usize) -> Vec<usize> {
        let other_sources: Vec<(usize, Vec<usize>)> = self
            .groups_of(user)
            .into_iter()
            .map(|g| (g, self.groups[g].apps.clone()))
            .collect();
        let mut removed = Vec::new();
        self.users[user].apps.retain_mut(|a| {
            if a.source_group != Some(group) {
                return true;
            }
            match other_sources.iter().find(|(_, apps)| apps.contains(&a.app)) {
                Some(&(g, _)) => {
                    a.source_group = Some(g);
                    true
                }
                None => {
                    removed.push(a.app);
                    false
                }
            }
        });
        removed
    }

    /// Whether any group `user` belongs to assigns `app`.
    fn group_grants_app(&self, user: usize, app: usize) -> bool {
        self.groups
            .iter()
            .any(|g| g.members.contains(&user) && g.apps.contains(&app))
    }

    fn seed_client(&mut self, i: usize) -> usize {
        self.ensure_app(SEED_CLIENTS[i % SEED_CLIENTS.len()], "oidc_client")
    }

    // ----- lifecycle ----------------------------------------------------

    /// `POST /users/{id}/lifecycle/suspend`: only from ACTIVE.
    pub(crate) fn suspend(&mut self, user: usize, ctx: &RequestCtx) -> Result<(), OktaError> {
        if self.users[user].status == UserStatus::Suspended {
            self.effect(effect::SUSPEND, user, "", false);
        }
        if self.users[user].status != UserStatus::Active {
            return Err(OktaError::lifecycle(
                "Cannot suspend a user that is not active",
            ));
        }
        self.set_status(user, UserStatus::Suspended);
        self.effect(effect::SUSPEND, user, "", true);
        self.record(
            EventSpec {
                event_type: event_type::USER_SUSPEND,
                display_message: "Suspend Okta user",
                legacy_event_type: Some("core.user.config.user_status.suspended"),
                targets: vec![self.user_target(user)],
                details: vec![],
            },
            ctx,
        );
        Ok(())
    }

    /// `POST /users/{id}/lifecycle/unsuspend`: only from SUSPENDED.
    pub(crate) fn unsuspend(&mut self, user: usize, ctx: &RequestCtx) -> Result<(), OktaError> {
        if self.users[user].status != UserStatus::Suspended {
            return Err(OktaError::lifecycle(
                "Cannot unsuspend a user that is not suspended",
            ));
        }
        self.set_status(user, UserStatus::Active);
        self.record(
            EventSpec {
                event_type: event_type::USER_UNSUSPEND,
                display_message: "Unsuspend Okta user",
                legacy_event_type: Some("core.user.config.user_status.unsuspended"),
                targets: vec![self.user_target(user)],
                details: vec![],
            },
            ctx,
        );
        Ok(())
    }

    /// `POST /users/{id}/lifecycle/deactivate`: from any status but
    /// DEPROVISIONED, where Okta answers 404 as if the user were gone.
    /// Deactivation also ends sessions, revokes tokens and removes app
    /// assignments (Okta deprovisions the user from every app); group
    /// memberships and consent grants are kept. With long operations
    /// configured it is asynchronous, as Okta documents it: the user shows
    /// `transitioningToStatus: DEPROVISIONED` until it completes.
    pub(crate) fn deactivate(
        &mut self,
        user: usize,
        as_requested: &str,
        ctx: &RequestCtx,
    ) -> Result<(), OktaError> {
        if self.users[user].status == UserStatus::Deprovisioned {
            self.effect(effect::DEACTIVATE, user, "", false);
            return Err(OktaError::not_found(as_requested, "User"));
        }
        if self.users[user].transitioning.is_some() {
            self.effect(effect::DEACTIVATE, user, "", false);
            return Ok(());
        }
        self.effect(effect::DEACTIVATE, user, "", true);
        match self.timeline.long_ops().filter(|d| !d.is_zero()) {
            Some(takes) => {
                self.users[user].transitioning = Some(UserStatus::Deprovisioned);
                let at = Timeline::after(self.timeline.now(), takes);
                self.transitions.push(Transition {
                    user,
                    at,
                    ctx: ctx.clone(),
                });
            }
            None => self.complete_deactivation(user, ctx),
        }
        Ok(())
    }

    fn complete_deactivation(&mut self, user: usize, ctx: &RequestCtx) {
        let previous = self.users[user].status;
        self.set_status(user, UserStatus::Deprovisioned);
        let u = &mut self.users[user];
        u.sessions = 0;
        u.remembered_devices = 0;
        u.oauth_tokens.clear();
        u.apps.clear();
        self.record(
            EventSpec {
                event_type: event_type::USER_DEACTIVATE,
                display_message: "Deactivate Okta user",
                legacy_event_type: Some("core.user.config.user_deactivated"),
                targets: vec![self.user_target(user)],
                details: vec![("previousStatus", previous.as_str().to_owned())],
            },
            ctx,
        );
    }

    fn set_status(&mut self, user: usize, status: UserStatus) {
        let now = self.now_ms();
        let u = &mut self.users[user];
        u.status = status;
        u.status_changed = Some(now);
        u.last_updated = now;
        if status.was_activated() && u.activated.is_none() {
            u.activated = Some(now);
        }
    }

    // ----- sessions, tokens, grants --------------------------------------

    /// `DELETE /users/{id}/sessions`. Returns whether anything was cleared
    /// (and therefore logged).
    pub(crate) fn clear_sessions(
        &mut self,
        user: usize,
        oauth_tokens: bool,
        forget_devices: bool,
        ctx: &RequestCtx,
    ) -> bool {
        let u = &mut self.users[user];
        let sessions = u.sessions;
        let tokens = if oauth_tokens {
            u.oauth_tokens.len()
        } else {
            0
        };
        let devices = if forget_devices {
            u.remembered_devices
        } else {
            0
        };
        if sessions == 0 && tokens == 0 && devices == 0 {
            self.effect(effect::REVOKE_SESSIONS, user, "", false);
            return false;
        }
        self.effect(effect::REVOKE_SESSIONS, user, "", true);
        let u = &mut self.users[user];
        u.sessions = 0;
        if oauth_tokens {
            u.oauth_tokens.clear();
        }
        if forget_devices {
            u.remembered_devices = 0;
        }
        self.record(
            EventSpec {
                event_type: event_type::SESSION_CLEAR,
                display_message: "Clear user session",
                legacy_event_type: Some("core.user_auth.session_clear"),
                targets: vec![self.user_target(user)],
                details: vec![
                    ("sessionsCleared", sessions.to_string()),
                    ("oauthTokensRevoked", tokens.to_string()),
                    ("rememberedDevicesForgotten", devices.to_string()),
                ],
            },
            ctx,
        );
        true
    }

    /// `DELETE /users/{id}/grants`. Logs one event per revoked grant and
    /// returns how many were revoked.
    pub(crate) fn revoke_grants(&mut self, user: usize, ctx: &RequestCtx) -> usize {
        let grants = std::mem::take(&mut self.users[user].grants);
        self.effect(effect::REVOKE_GRANTS, user, "", !grants.is_empty());
        for grant in &grants {
            let targets = vec![self.app_target(grant.client), self.user_target(user)];
            self.record(
                EventSpec {
                    event_type: event_type::CONSENT_REVOKE,
                    display_message: "Revoke user consent grant",
                    legacy_event_type: None,
                    targets,
                    details: vec![
                        ("grantId", grant.id.clone()),
                        ("scopeId", grant.scope_id.clone()),
                    ],
                },
                ctx,
            );
        }
        grants.len()
    }

    /// `DELETE /users/{id}/clients/{clientId}/tokens`. Returns how many
    /// tokens were revoked.
    pub(crate) fn revoke_client_tokens(
        &mut self,
        user: usize,
        client: usize,
        ctx: &RequestCtx,
    ) -> usize {
        let u = &mut self.users[user];
        let before = u.oauth_tokens.len();
        u.oauth_tokens.retain(|t| t.client != client);
        let revoked = before - u.oauth_tokens.len();
        let client_id = self.apps[client].id.clone();
        self.effect(effect::REVOKE_GRANTS, user, &client_id, revoked > 0);
        if revoked > 0 {
            let targets = vec![self.user_target(user), self.app_target(client)];
            self.record(
                EventSpec {
                    event_type: event_type::TOKEN_REVOKE,
                    display_message: "Revoke OAuth 2.0 tokens for user and client",
                    legacy_event_type: None,
                    targets,
                    details: vec![("tokensRevoked", revoked.to_string())],
                },
                ctx,
            );
        }
        revoked
    }

    // ----- group membership ----------------------------------------------

    /// `DELETE /groups/{gid}/users/{uid}`. Only OKTA_GROUP memberships may
    /// change (403 otherwise); removing a non-member succeeds silently.
    pub(crate) fn remove_member(
        &mut self,
        group: usize,
        user: usize,
        ctx: &RequestCtx,
    ) -> Result<bool, OktaError> {
        if self.groups[group].kind != GroupType::OktaGroup {
            return Err(OktaError::access_denied());
        }
        self.note_membership_write(group, user);
        let removed = self.groups[group].members.remove(&user);
        let group_id = self.groups[group].id.clone();
        self.effect(effect::REMOVE_MEMBERSHIP, user, &group_id, removed);
        if !removed {
            return Ok(false);
        }
        self.groups[group].last_membership_updated = self.now_ms();
        self.record(
            EventSpec {
                event_type: event_type::GROUP_MEMBERSHIP_REMOVE,
                display_message: "Remove user from group membership",
                legacy_event_type: Some("core.user_group_member.user_remove"),
                targets: vec![self.user_target(user), self.group_target(group)],
                details: vec![],
            },
            ctx,
        );
        for app in self.revoke_group_apps(user, group) {
            self.record_app_membership(user, app, false, Some(group), ctx);
        }
        Ok(true)
    }

    /// `PUT /groups/{gid}/users/{uid}`, the mirror of
    /// [`OktaState::remove_member`].
    pub(crate) fn add_member(
        &mut self,
        group: usize,
        user: usize,
        ctx: &RequestCtx,
    ) -> Result<bool, OktaError> {
        if self.groups[group].kind != GroupType::OktaGroup {
            return Err(OktaError::access_denied());
        }
        self.note_membership_write(group, user);
        if !self.groups[group].members.insert(user) {
            return Ok(false);
        }
        self.groups[group].last_membership_updated = self.now_ms();
        self.record(
            EventSpec {
                event_type: event_type::GROUP_MEMBERSHIP_ADD,
                display_message: "Add user to group membership",
                legacy_event_type: Some("core.user_group_member.user_add"),
                targets: vec![self.user_target(user), self.group_target(group)],
                details: vec![],
            },
            ctx,
        );
        for app in self.grant_group_apps(user, group) {
            self.record_app_membership(user, app, true, Some(group), ctx);
        }
        Ok(true)
    }

    // ----- app assignments -------------------------------------------------

    /// Position of `user`'s assignment to `app`, if any.
    pub(crate) fn assignment(&self, user: usize, app: usize) -> Option<usize> {
        self.users[user].apps.iter().position(|a| a.app == app)
    }

    /// `DELETE /apps/{appId}/users/{userId}`: removes a direct assignment.
    /// A user who is not assigned gets 404 (`AppUser`). While a group the
    /// user belongs to assigns the app — a `GROUP`-scoped assignment, or a
    /// direct one the group also covers — Okta refuses with 403 E0000046.
    pub(crate) fn unassign_app(
        &mut self,
        user: usize,
        app: usize,
        ctx: &RequestCtx,
    ) -> Result<(), OktaError> {
        let app_id = self.apps[app].id.clone();
        let Some(position) = self.assignment(user, app) else {
            self.effect(effect::UNASSIGN_APP, user, &app_id, false);
            return Err(OktaError::not_found(&self.users[user].id, "AppUser"));
        };
        if self.users[user].apps[position].source_group.is_some()
            || self.group_grants_app(user, app)
        {
            return Err(OktaError::app_assigned_through_group());
        }
        self.users[user].apps.remove(position);
        self.effect(effect::UNASSIGN_APP, user, &app_id, true);
        self.record_app_membership(user, app, false, None, ctx);
        Ok(())
    }

    /// `POST /apps/{appId}/users`: assigns `app` to `user` directly with what the request
    /// gives (username, profile) and answers the assignment's position. A user who already
    /// holds the app keeps the assignment, its given fields updated (Okta answers 200 either
    /// way). A deprovisioned user cannot be assigned apps (403 E0000006).
    pub(crate) fn assign_app(
        &mut self,
        user: usize,
        app: usize,
        given: GivenAppUser,
        ctx: &RequestCtx,
    ) -> Result<usize, OktaError> {
        let app_id = self.apps[app].id.clone();
        if self.users[user].status == UserStatus::Deprovisioned {
            return Err(OktaError::access_denied());
        }
        if let Some(position) = self.assignment(user, app) {
            self.effect(effect::ASSIGN_APP, user, &app_id, false);
            self.users[user].apps[position].given = Some(given);
            return Ok(position);
        }
        let assignment = AppAssignment {
            app,
            assignment_id: ids::okta_object_id(&mut self.aux_rng, "0ua"),
            created: self.now_ms(),
            source_group: None,
            given: Some(given),
        };
        self.users[user].apps.push(assignment);
        self.effect(effect::ASSIGN_APP, user, &app_id, true);
        self.record_app_membership(user, app, true, None, ctx);
        Ok(self.users[user].apps.len() - 1)
    }

    /// Deletes an app from the org, as an administrator does in the console (deactivate,
    /// then delete): its id no longer resolves (404 `AppInstance`), and every user and
    /// group assignment of it is gone. Returns whether an app had that id or label.
    pub fn delete_app(&mut self, id_or_label: &str) -> bool {
        let Some(app) = self
            .app_by_id(id_or_label)
            .or_else(|| self.apps.iter().position(|a| a.label == id_or_label))
        else {
            return false;
        };
        self.app_ids.remove(&self.apps[app].id);
        for user in &mut self.users {
            user.apps.retain(|a| a.app != app);
        }
        for group in &mut self.groups {
            group.apps.retain(|&a| a != app);
        }
        true
    }

    fn record_app_membership(
        &mut self,
        user: usize,
        app: usize,
        added: bool,
        via_group: Option<usize>,
        ctx: &RequestCtx,
    ) {
        let mut details = vec![(
            "assignmentScope",
            if via_group.is_some() { "GROUP" } else { "USER" }.to_owned(),
        )];
        if let Some(g) = via_group {
            details.push(("groupId", self.groups[g].id.clone()));
        }
        let (event_type, display_message) = if added {
            (
                event_type::APP_MEMBERSHIP_ADD,
                "Add user to application membership",
            )
        } else {
            (
                event_type::APP_MEMBERSHIP_REMOVE,
                "Remove user from application membership",
            )
        };
        self.record(
            EventSpec {
                event_type,
                display_message,
                legacy_event_type: None,
                targets: vec![self.user_target(user), self.app_target(app)],
                details,
            },
            ctx,
        );
    }

    // ----- factors -----------------------------------------------------------

    /// Factor operations on a DEPROVISIONED user answer 404 for the user,
    /// as Okta does (`listFactors` on a deactivated user returns
    /// E0000007 "Resource not found: <id> (User)", okta/okta-sdk-java#646;
    /// the spec: "You can't unenroll a factor from a deactivated user").
    pub(crate) fn factor_user(&self, user: usize, as_requested: &str) -> Result<(), OktaError> {
        if self.users[user].status == UserStatus::Deprovisioned {
            return Err(OktaError::not_found(as_requested, "User"));
        }
        Ok(())
    }

    /// Position of a user's factor by id.
    pub(crate) fn factor(&self, user: usize, factor_id: &str) -> Result<usize, OktaError> {
        self.users[user]
            .factors
            .iter()
            .position(|f| f.id == factor_id)
            .ok_or_else(|| OktaError::not_found(factor_id, "UserFactor"))
    }

    /// `DELETE /users/{userId}/factors/{factorId}`. Unenrolling Okta Verify
    /// push also unenrols the user's other Okta Verify factors (spec note on
    /// `unenrollFactor`); each removed factor is logged.
    pub(crate) fn delete_factor(
        &mut self,
        user: usize,
        factor_id: &str,
        as_requested: &str,
        ctx: &RequestCtx,
    ) -> Result<(), OktaError> {
        self.factor_user(user, as_requested)?;
        let position = self.factor(user, factor_id).inspect_err(|_| {
            self.effects.record(
                effect::RESET_FACTORS,
                &self.users[user].id,
                factor_id,
                false,
            );
        })?;
        self.effect(effect::RESET_FACTORS, user, factor_id, true);
        let factors = &mut self.users[user].factors;
        let target = factors.remove(position);
        let mut removed = vec![target.clone()];
        if target.kind == FactorKind::OktaVerifyPush {
            let (cascade, kept): (Vec<FactorRecord>, Vec<FactorRecord>) = std::mem::take(factors)
                .into_iter()
                .partition(|f| f.kind.is_okta_verify());
            *factors = kept;
            removed.extend(cascade);
        }
        self.users[user].last_updated = self.now_ms();
        for factor in removed {
            self.record(
                EventSpec {
                    event_type: event_type::FACTOR_DEACTIVATE,
                    display_message: "Reset factor for user",
                    legacy_event_type: None,
                    targets: vec![self.user_target(user)],
                    details: vec![
                        ("factorId", factor.id.clone()),
                        ("factorType", factor.kind.factor_type().to_owned()),
                        ("factorProvider", factor.kind.provider().to_owned()),
                    ],
                },
                ctx,
            );
        }
        Ok(())
    }

    /// `POST /users/{id}/lifecycle/reset_factors`: unenrols every factor.
    /// Returns how many were removed; logs one `user.mfa.factor.reset_all`
    /// event only when there was something to reset.
    pub(crate) fn reset_factors(
        &mut self,
        user: usize,
        as_requested: &str,
        ctx: &RequestCtx,
    ) -> Result<usize, OktaError> {
        self.factor_user(user, as_requested)?;
        let removed = std::mem::take(&mut self.users[user].factors);
        self.effect(effect::RESET_FACTORS, user, "", !removed.is_empty());
        if removed.is_empty() {
            return Ok(0);
        }
        self.users[user].last_updated = self.now_ms();
        let types: Vec<&str> = removed.iter().map(|f| f.kind.factor_type()).collect();
        self.record(
            EventSpec {
                event_type: event_type::FACTOR_RESET_ALL,
                display_message: "Reset all factors for user",
                legacy_event_type: None,
                targets: vec![self.user_target(user)],
                details: vec![
                    ("factorsReset", removed.len().to_string()),
                    ("factorTypes", types.join(",")),
                ],
            },
            ctx,
        );
        Ok(removed.len())
    }

    // ----- System Log ----------------------------------------------------

    /// Writes an event. The actor is the admin owning the API token, or the
    /// service app when the request came with an OAuth access token.
    fn record(&mut self, spec: EventSpec<'_>, ctx: &RequestCtx) {
        let at = self.now_ms();
        let actor = ctx.actor.as_ref().unwrap_or(&self.admin);
        let event = syslog::build(spec, actor, ctx, at, uuid::Uuid::new_v4().to_string());
        self.push_log(at, at, event);
    }

    /// Appends an event that happened at `at` and shows in the log from `visible_from` on.
    pub(crate) fn push_log(&mut self, at: Timestamp, visible_from: Timestamp, event: LogEvent) {
        let seq = self.next_log_seq;
        self.next_log_seq += 1;
        self.log.push(StoredEvent {
            seq,
            at,
            visible_from,
            event,
        });
    }

    /// The highest log sequence number written so far, if any.
    pub(crate) fn last_log_seq(&self) -> Option<u64> {
        self.log.last().map(|e| e.seq)
    }

    fn user_target(&self, user: usize) -> LogTarget {
        let u = &self.users[user];
        LogTarget {
            id: u.id.clone(),
            kind: "User".to_owned(),
            alternate_id: u.login.clone(),
            display_name: u.display_name(),
            detail_entry: None,
        }
    }

    fn group_target(&self, group: usize) -> LogTarget {
        let g = &self.groups[group];
        LogTarget {
            id: g.id.clone(),
            kind: "UserGroup".to_owned(),
            alternate_id: "unknown".to_owned(),
            display_name: g.name.clone(),
            detail_entry: None,
        }
    }

    fn app_target(&self, app: usize) -> LogTarget {
        let a = &self.apps[app];
        LogTarget {
            id: a.id.clone(),
            kind: "AppInstance".to_owned(),
            alternate_id: a.label.clone(),
            display_name: a.label.clone(),
            detail_entry: None,
        }
    }

    // ----- views -----------------------------------------------------------

    /// A snapshot of one user, found by id, login or unambiguous shortname.
    pub fn user(&self, id_or_login: &str) -> Option<UserView> {
        self.find_user(id_or_login).map(|i| self.user_view(i))
    }

    /// Snapshots of every user, in creation order.
    pub fn users(&self) -> Vec<UserView> {
        (0..self.users.len()).map(|i| self.user_view(i)).collect()
    }

    /// A snapshot of one group, found by id or name.
    pub fn group(&self, id_or_name: &str) -> Option<GroupView> {
        self.group_by_id(id_or_name)
            .or_else(|| self.group_by_name(id_or_name))
            .map(|g| self.group_view(g))
    }

    /// Snapshots of every group, in creation order.
    pub fn groups(&self) -> Vec<GroupView> {
        (0..self.groups.len()).map(|g| self.group_view(g)).collect()
    }

    /// Every System Log event, oldest first.
    pub fn system_log(&self) -> Vec<LogEvent> {
        self.log.iter().map(|e| e.event.clone()).collect()
    }

    fn user_view(&self, i: usize) -> UserView {
        let u = &self.users[i];
        UserView {
            id: u.id.clone(),
            login: u.login.clone(),
            email: u.email.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            status: u.status,
            status_changed: u.status_changed.map(clock::format_millis),
            last_updated: clock::format_millis(u.last_updated),
            groups: self
                .groups_of(i)
                .into_iter()
                .map(|g| self.group_view(g))
                .collect(),
            sessions: u.sessions,
            remembered_devices: u.remembered_devices,
            oauth_tokens: u.oauth_tokens.len(),
            grants: u.grants.len(),
            apps: u
                .apps
                .iter()
                .map(|a| self.apps[a.app].label.clone())
                .collect(),
            app_assignments: u
                .apps
                .iter()
                .map(|a| AppAssignmentView {
                    app_id: self.apps[a.app].id.clone(),
                    label: self.apps[a.app].label.clone(),
                    scope: a.scope(),
                    group: a.source_group.map(|g| self.groups[g].name.clone()),
                })
                .collect(),
            factors: u
                .factors
                .iter()
                .map(|f| FactorView {
                    id: f.id.clone(),
                    kind: f.kind,
                    factor_type: f.kind.factor_type().to_owned(),
                    provider: f.kind.provider().to_owned(),
                })
                .collect(),
        }
    }

    fn group_view(&self, g: usize) -> GroupView {
        let group = &self.groups[g];
        GroupView {
            id: group.id.clone(),
            name: group.name.clone(),
            group_type: group.kind,
            members: group.members.len(),
        }
    }
}

/// `hours` before `from` (after it, for negative values).
fn ago(from: Timestamp, hours: i64) -> Timestamp {
    let truncated = Timestamp::from_millisecond(from.as_millisecond()).unwrap_or(from);
    truncated
        .checked_sub(SignedDuration::from_hours(hours))
        .unwrap_or(truncated)
}

fn shortname(login: &str) -> String {
    login.split('@').next().unwrap_or_default().to_lowercase()
}

/// Okta catalog names are lower-case identifiers (`slack`, `zoomus`);
/// derive a plausible one from a label.
fn catalog_name(label: &str) -> String {
    label
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}
