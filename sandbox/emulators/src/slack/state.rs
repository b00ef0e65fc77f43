//! The Slack organisation: its members, their sessions, and what each request does to them.
//!
//! Facts the emulator keeps to (docs.slack.dev, the SDK's recorded SCIM shapes): SCIM `DELETE
//! /Users/{id}` deactivates rather than deletes, and the member stays readable with
//! `active: false`; a deactivated member is signed out everywhere; the primary owner cannot be
//! deactivated; guests carry the `…:slack:guest:2.0:User` extension; deactivated members and
//! single-channel guests are not billed.

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

use crate::common::counters::{EffectBook, effect};
use crate::common::ids;

pub const GUEST_URN: &str = "urn:ietf:params:scim:schemas:extension:slack:guest:2.0:User";
pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// A member's role in the organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberKind {
    Member,
    Admin,
    Owner,
    /// Cannot be deactivated: ownership must be transferred first.
    PrimaryOwner,
    /// `is_restricted`: billed like a member.
    MultiChannelGuest,
    /// `is_ultra_restricted`: free.
    SingleChannelGuest,
}

impl MemberKind {
    fn guest_type(self) -> Option<&'static str> {
        match self {
            MemberKind::MultiChannelGuest => Some("multi"),
            MemberKind::SingleChannelGuest => Some("single"),
            _ => None,
        }
    }
}

/// A member to create directly.
#[derive(Clone, Debug)]
pub struct SeedMember {
    pub email: String,
    pub real_name: String,
    pub kind: MemberKind,
    /// Live sign-in sessions (devices).
    pub sessions: usize,
}

impl SeedMember {
    pub fn new(email: &str, real_name: &str) -> Self {
        Self {
            email: email.into(),
            real_name: real_name.into(),
            kind: MemberKind::Member,
            sessions: 2,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Member {
    pub id: String,
    pub email: String,
    pub handle: String,
    pub real_name: String,
    pub kind: MemberKind,
    pub deleted: bool,
    pub sessions: Vec<String>,
}

impl Member {
    /// Whether the member takes a paid seat.
    pub fn billed(&self) -> bool {
        !self.deleted && self.kind != MemberKind::SingleChannelGuest
    }
}

#[derive(Debug)]
pub(crate) struct SlackState {
    pub team_id: String,
    pub enterprise_id: Option<String>,
    pub members: Vec<Member>,
    pub effects: EffectBook,
    rng: StdRng,
}

/// Why Slack refused a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    NotFound,
    PrimaryOwner,
}

impl SlackState {
    pub fn new(seed: u64, grid: bool) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let team_id = format!("T{}", ids::alnum(&mut rng, 10).to_uppercase());
        let enterprise_id = grid.then(|| format!("E{}", ids::alnum(&mut rng, 10).to_uppercase()));
        Self {
            team_id,
            enterprise_id,
            members: Vec::new(),
            effects: EffectBook::default(),
            rng,
        }
    }

    pub fn seed(&mut self, seed: &SeedMember) -> String {
        // Enterprise Grid ids are organisation-wide (`W…`); a workspace's are `U…`.
        let prefix = if self.enterprise_id.is_some() {
            "W"
        } else {
            "U"
        };
        let id = format!("{prefix}{}", ids::alnum(&mut self.rng, 10).to_uppercase());
        let sessions = (0..seed.sessions)
            .map(|_| format!("S{}", ids::alnum(&mut self.rng, 12)))
            .collect();
        let handle = seed.email.split('@').next().unwrap_or_default().to_owned();
        self.members.push(Member {
            id: id.clone(),
            email: seed.email.clone(),
            handle,
            real_name: seed.real_name.clone(),
            kind: seed.kind,
            deleted: false,
            sessions,
        });
        id
    }

    pub fn by_email(&self, email: &str) -> Option<&Member> {
        self.members
            .iter()
            .find(|m| m.email.eq_ignore_ascii_case(email))
    }

    pub fn by_id(&self, id: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }

    fn by_id_mut(&mut self, id: &str) -> Result<&mut Member, Refusal> {
        self.members
            .iter_mut()
            .find(|m| m.id == id)
            .ok_or(Refusal::NotFound)
    }

    pub fn billed_seats(&self) -> usize {
        self.members.iter().filter(|m| m.billed()).count()
    }

    /// The Web API's user object.
    pub fn web_user(&self, m: &Member) -> Value {
        let mut user = json!({
            "id": m.id,
            "team_id": self.team_id,
            "name": m.handle,
            "real_name": m.real_name,
            "deleted": m.deleted,
            "is_admin": matches!(m.kind, MemberKind::Admin | MemberKind::Owner | MemberKind::PrimaryOwner),
            "is_owner": matches!(m.kind, MemberKind::Owner | MemberKind::PrimaryOwner),
            "is_primary_owner": m.kind == MemberKind::PrimaryOwner,
            "is_restricted": m.kind.guest_type().is_some(),
            "is_ultra_restricted": m.kind == MemberKind::SingleChannelGuest,
            "is_bot": false,
            "profile": {"email": m.email, "real_name": m.real_name},
        });
        if let Some(e) = &self.enterprise_id {
            user["enterprise_user"] =
                json!({"id": m.id, "enterprise_id": e, "teams": [self.team_id]});
        }
        user
    }

    /// The SCIM 2.0 user.
    pub fn scim_user(&self, m: &Member, base: &str) -> Value {
        let mut schemas = vec![json!(USER_URN)];
        let mut user = json!({
            "id": m.id,
            "userName": m.handle,
            "displayName": m.real_name,
            "name": {"givenName": m.real_name.split(' ').next().unwrap_or(""),
                "familyName": m.real_name.split(' ').nth(1).unwrap_or("")},
            "active": !m.deleted,
            "emails": [{"value": m.email, "type": "work", "primary": true}],
            "groups": [],
            "meta": {"created": "2024-01-08T09:00:00-00:00", "location": format!("{base}/Users/{}", m.id)},
        });
        if let Some(guest) = m.kind.guest_type() {
            schemas.push(json!(GUEST_URN));
            user[GUEST_URN] = json!({"type": guest, "expiration": ""});
        }
        user["schemas"] = Value::Array(schemas);
        user
    }

    /// `admin.users.session.reset`: every session ended.
    pub fn reset_sessions(&mut self, id: &str) -> Result<(), Refusal> {
        let member = self.by_id_mut(id)?;
        let had = !member.sessions.is_empty();
        member.sessions.clear();
        self.effects.record(effect::REVOKE_SESSIONS, id, "", had);
        Ok(())
    }

    /// SCIM deactivation (`DELETE`, or `PATCH active=false`): signed out everywhere, not
    /// billed, still readable. Reactivation (`active=true`) restores the member.
    pub fn set_active(&mut self, id: &str, active: bool) -> Result<(), Refusal> {
        let member = self.by_id_mut(id)?;
        if !active && member.kind == MemberKind::PrimaryOwner {
            return Err(Refusal::PrimaryOwner);
        }
        let changed = member.deleted == active;
        member.deleted = !active;
        if !active {
            member.sessions.clear();
            self.effects.record(effect::SUSPEND, id, "", changed);
        }
        Ok(())
    }
}
