//! The GitHub organisation (and its enterprise's managed users): who is a member, an outside
//! collaborator or invited, which credentials are authorised for SAML SSO, who holds a Copilot
//! seat, and what each request does to them.
//!
//! Facts the emulator keeps to (the GHEC OpenAPI descriptions): removing a membership also
//! cancels a pending invitation; an outside collaborator cannot be an organisation member;
//! revoking credential authorizations answers 202 and happens in a background job; a cancelled
//! Copilot seat stays until the end of the billing cycle (`pending_cancellation_date`), and
//! one assigned through a team cannot be cancelled directly; a managed user suspended through
//! SCIM (`active: false`) can be reactivated, a deleted one is anonymised for good.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use crate::common::counters::{EffectBook, effect};
use crate::common::timeline::Timeline;

/// An organisation role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrgRole {
    Admin,
    Member,
}

impl OrgRole {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Admin => "admin",
            OrgRole::Member => "member",
        }
    }
}

/// A GitHub account.
#[derive(Clone, Debug)]
pub struct Account {
    pub login: String,
    pub id: u64,
    /// The e-mail the user made public, if any: the only one the REST API shows.
    pub public_email: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Invitation {
    pub id: u64,
    pub login: Option<String>,
    pub email: Option<String>,
    pub role: OrgRole,
}

#[derive(Clone, Debug)]
pub struct Credential {
    pub id: u64,
    pub login: String,
    pub kind: &'static str,
    pub last_eight: String,
    /// When the background job of a revocation removes it.
    pub revoked_at: Option<Timestamp>,
}

#[derive(Clone, Debug)]
pub struct CopilotSeat {
    pub created_at: Timestamp,
    /// The team the seat comes through, if not assigned directly.
    pub team: Option<String>,
    /// `YYYY-MM-DD`: the start of the next billing cycle, once cancelled.
    pub pending_cancellation: Option<String>,
}

/// A managed user of the enterprise (Enterprise Managed Users), as its SCIM holds it.
#[derive(Clone, Debug)]
pub struct ManagedUser {
    pub scim_id: String,
    pub user_name: String,
    pub login: String,
    pub active: bool,
}

#[derive(Debug)]
pub(crate) struct GithubState {
    pub org: String,
    pub enterprise: String,
    pub accounts: Vec<Account>,
    pub members: BTreeMap<String, OrgRole>,
    pub outside: BTreeSet<String>,
    pub invitations: Vec<Invitation>,
    pub credentials: Vec<Credential>,
    pub copilot: BTreeMap<String, CopilotSeat>,
    /// Whether Copilot Business is set up for the organisation.
    pub copilot_enabled: bool,
    pub managed: Vec<ManagedUser>,
    /// SCIM ids of managed users deleted (anonymised).
    pub deleted: BTreeSet<String>,
    pub effects: EffectBook,
    pub timeline: Arc<Timeline>,
    next_id: u64,
}

/// Why GitHub refused a change, with the message it gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    NotFound,
    Forbidden(String),
    Unprocessable(String),
}

/// How long the credential-revocation job takes when no long-operation time is set.
const REVOKE_JOB: Duration = Duration::from_millis(150);

impl GithubState {
    pub fn new(org: &str, enterprise: &str, timeline: Arc<Timeline>) -> Self {
        Self {
            org: org.to_owned(),
            enterprise: enterprise.to_owned(),
            accounts: Vec::new(),
            members: BTreeMap::new(),
            outside: BTreeSet::new(),
            invitations: Vec::new(),
            credentials: Vec::new(),
            copilot: BTreeMap::new(),
            copilot_enabled: true,
            managed: Vec::new(),
            deleted: BTreeSet::new(),
            effects: EffectBook::default(),
            timeline,
            next_id: 583_231,
        }
    }

    pub fn next_id(&mut self) -> u64 {
        self.next_id += 17;
        self.next_id
    }

    pub fn account(&self, login: &str) -> Option<&Account> {
        self.accounts
            .iter()
            .find(|a| a.login.eq_ignore_ascii_case(login))
    }

    /// Runs the background jobs whose time has come.
    pub fn settle(&mut self) {
        let now = self.timeline.now();
        self.credentials
            .retain(|c| c.revoked_at.is_none_or(|at| at > now));
    }

    /// `DELETE /orgs/{org}/memberships/{username}`: a member leaves (with their team-given
    /// Copilot seat; a direct one is cancelled at the cycle's end), or an invitation is
    /// cancelled.
    pub fn remove_membership(&mut self, login: &str) -> Result<(), Refusal> {
        let key = login.to_ascii_lowercase();
        if let Some(role) = self.members.get(&key).copied() {
            let admins = self
                .members
                .values()
                .filter(|r| **r == OrgRole::Admin)
                .count();
            if role == OrgRole::Admin && admins == 1 {
                return Err(Refusal::Forbidden(
                    "You cannot remove the last owner of an organization.".into(),
                ));
            }
            self.members.remove(&key);
            self.effects
                .record(effect::REMOVE_MEMBERSHIP, &key, &self.org.clone(), true);
            self.end_copilot_on_leaving(&key);
            return Ok(());
        }
        let before = self.invitations.len();
        self.invitations.retain(|i| {
            i.login
                .as_deref()
                .is_none_or(|l| !l.eq_ignore_ascii_case(login))
        });
        if self.invitations.len() < before {
            self.effects
                .record(effect::CANCEL_INVITATION, &key, "", true);
            return Ok(());
        }
        Err(Refusal::NotFound)
    }

    fn end_copilot_on_leaving(&mut self, login: &str) {
        let cycle_end = self.cycle_end();
        match self.copilot.get_mut(login) {
            Some(seat) if seat.team.is_some() => {
                self.copilot.remove(login);
            }
            Some(seat) => {
                seat.pending_cancellation.get_or_insert(cycle_end);
            }
            None => {}
        }
    }

    /// The first day of the next billing cycle (the first of next month).
    pub fn cycle_end(&self) -> String {
        let today = self.timeline.now().to_zoned(jiff::tz::TimeZone::UTC).date();
        let first = today.first_of_month();
        first
            .checked_add(jiff::Span::new().months(1))
            .unwrap_or(first)
            .to_string()
    }

    /// `DELETE /orgs/{org}/outside_collaborators/{username}`.
    pub fn remove_outside(&mut self, login: &str) -> Result<(), Refusal> {
        let key = login.to_ascii_lowercase();
        if self.members.contains_key(&key) {
            return Err(Refusal::Unprocessable(
                "You cannot specify an organization member to remove as an outside collaborator."
                    .into(),
            ));
        }
        let had = self.outside.remove(&key);
        self.effects
            .record(effect::REMOVE_COLLABORATOR, &key, "", had);
        Ok(())
    }

    /// `DELETE /orgs/{org}/invitations/{invitation_id}`.
    pub fn cancel_invitation(&mut self, id: u64) -> Result<(), Refusal> {
        let Some(i) = self.invitations.iter().position(|i| i.id == id) else {
            return Err(Refusal::NotFound);
        };
        let gone = self.invitations.remove(i);
        let who = gone
            .login
            .or(gone.email)
            .unwrap_or_default()
            .to_ascii_lowercase();
        self.effects
            .record(effect::CANCEL_INVITATION, &who, &id.to_string(), true);
        Ok(())
    }

    /// `POST …/credential-authorizations/{username}/revoke`: queued; the job removes them.
    pub fn revoke_credentials(&mut self, login: &str) -> Result<(), Refusal> {
        let key = login.to_ascii_lowercase();
        if !self.members.contains_key(&key) {
            return Err(Refusal::NotFound);
        }
        let at = Timeline::after(
            self.timeline.now(),
            self.timeline.long_ops().unwrap_or(REVOKE_JOB),
        );
        let mut queued = false;
        for c in self
            .credentials
            .iter_mut()
            .filter(|c| c.login.eq_ignore_ascii_case(login) && c.revoked_at.is_none())
        {
            c.revoked_at = Some(at);
            queued = true;
        }
        self.effects.record(effect::REVOKE_GRANTS, &key, "", queued);
        Ok(())
    }

    /// `DELETE /orgs/{org}/copilot/billing/selected_users`: how many seats were set to pending
    /// cancellation.
    pub fn cancel_copilot(&mut self, logins: &[String]) -> Result<usize, Refusal> {
        if !self.copilot_enabled {
            return Err(Refusal::Unprocessable(
                "Copilot Business is not enabled for this organization.".into(),
            ));
        }
        let cycle_end = self.cycle_end();
        let mut cancelled = 0;
        for login in logins {
            let key = login.to_ascii_lowercase();
            if !self.members.contains_key(&key) {
                return Err(Refusal::Unprocessable(format!(
                    "{login} is not a member of the organization."
                )));
            }
            let Some(seat) = self.copilot.get_mut(&key) else {
                continue;
            };
            if let Some(team) = &seat.team {
                return Err(Refusal::Unprocessable(format!(
                    "{login} has a Copilot seat through the team {team}; remove them from the team instead."
                )));
            }
            let fresh = seat.pending_cancellation.is_none();
            seat.pending_cancellation.get_or_insert(cycle_end.clone());
            self.effects
                .record(effect::REMOVE_LICENSE, &key, "copilot", fresh);
            cancelled += usize::from(fresh);
        }
        Ok(cancelled)
    }

    pub fn managed(&self, scim_id: &str) -> Option<&ManagedUser> {
        self.managed.iter().find(|u| u.scim_id == scim_id)
    }

    /// SCIM `active` of a managed user: `false` suspends (and ends the membership's use),
    /// `true` reactivates.
    pub fn set_managed_active(&mut self, scim_id: &str, active: bool) -> Result<(), Refusal> {
        let user = self
            .managed
            .iter_mut()
            .find(|u| u.scim_id == scim_id)
            .ok_or(Refusal::NotFound)?;
        let changed = user.active != active;
        user.active = active;
        if !active {
            let login = user.login.to_ascii_lowercase();
            self.effects.record(effect::SUSPEND, &login, "", changed);
        }
        Ok(())
    }

    /// SCIM `DELETE` of a managed user: anonymised, memberships and seats gone, for good.
    pub fn delete_managed(&mut self, scim_id: &str) -> Result<(), Refusal> {
        let i = self
            .managed
            .iter()
            .position(|u| u.scim_id == scim_id)
            .ok_or(Refusal::NotFound)?;
        let gone = self.managed.remove(i);
        let login = gone.login.to_ascii_lowercase();
        self.members.remove(&login);
        self.copilot.remove(&login);
        self.credentials
            .retain(|c| !c.login.eq_ignore_ascii_case(&login));
        self.deleted.insert(scim_id.to_owned());
        self.effects
            .record(effect::REMOVE_ACCOUNT, &login, "", true);
        Ok(())
    }
}
