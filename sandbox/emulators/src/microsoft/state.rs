//! The emulated tenant: users, groups, licences, authentication methods,
//! mailboxes, Intune devices and the audit log, with the rules the real
//! services enforce on them.
//!
//! Mutations return a [`GraphError`] exactly where the service refuses the
//! operation and append an audit event only when they change something.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::common::counters::{EffectBook, effect};
use crate::common::ids;
use crate::common::lag::LagBook;
use crate::common::timeline::Timeline;
use crate::microsoft::audit::{self, Actor, AuditEvent, AuditService, EventSpec, activity};
use crate::microsoft::errors::GraphError;
use crate::microsoft::model::{
    ActionRecord, ActionState, AuthMethodView, AutoReplyRecord, DeviceAction, DeviceActionView,
    DeviceRecord, DeviceView, GroupKind, GroupRecord, GroupView, LicenseGrant, LicenseView,
    MailboxPurpose, MailboxRecord, MailboxView, Membership, MethodKind, MethodRecord, PlanRecord,
    RuleRecord, RuleView, SkuRecord, UserRecord, UserView,
};
use crate::microsoft::seed::{SeedError, SeedGroup, SeedUser};

/// The well-known id Graph gives every user's password method.
pub(crate) const PASSWORD_METHOD_ID: &str = "28c10230-6103-485e-b985-444c60001490";

/// All tenant data behind the emulator's mutex.
#[derive(Debug)]
pub struct TenantState {
    rng: StdRng,
    pub(crate) users: Vec<UserRecord>,
    upns: HashMap<String, usize>,
    user_ids: HashMap<String, usize>,
    pub(crate) groups: Vec<GroupRecord>,
    pub(crate) memberships: Vec<Membership>,
    next_membership_seq: u64,
    pub(crate) skus: Vec<SkuRecord>,
    pub(crate) devices: Vec<DeviceRecord>,
    pub(crate) audit: Vec<AuditEvent>,
    /// The sign-in log (`/auditLogs/signIns`), oldest first.
    pub(crate) sign_ins: Vec<crate::microsoft::sign_ins::SignInRecord>,
    timeline: Arc<Timeline>,
    /// Every effect requested through the API, first times and repeats apart.
    pub(crate) effects: EffectBook,
    /// `memberOf` lags behind membership changes: (group, user) → the membership before.
    member_lag: LagBook<(usize, usize), Option<Membership>>,
    /// Graph's `userPurpose` lags behind Exchange: user → the purpose Graph still reports.
    purpose_lag: LagBook<usize, MailboxPurpose>,
    /// Grants on others' mailboxes, ownership, app registrations, OneDrives.
    pub(crate) sweep: crate::microsoft::sweep::SweepBook,
}

/// The fields of a `PATCH /users/{id}` the emulator applies.
#[derive(Debug, Default)]
pub(crate) struct UserPatch {
    pub account_enabled: Option<bool>,
    pub strings: Vec<(&'static str, Option<String>)>,
}

impl TenantState {
    pub(crate) fn new(seed: u64, timeline: Arc<Timeline>) -> Self {
        let mut state = Self {
            rng: StdRng::seed_from_u64(seed),
            users: Vec::new(),
            upns: HashMap::new(),
            user_ids: HashMap::new(),
            groups: Vec::new(),
            memberships: Vec::new(),
            next_membership_seq: 1,
            skus: Vec::new(),
            devices: Vec::new(),
            audit: Vec::new(),
            sign_ins: Vec::new(),
            timeline,
            effects: EffectBook::default(),
            member_lag: LagBook::default(),
            purpose_lag: LagBook::default(),
            sweep: Default::default(),
        };
        state.skus = sku_catalogue();
        state
    }

    /// A GUID from the seeded generator.
    pub(crate) fn new_guid(&mut self) -> String {
        let bytes: [u8; 16] = self.rng.r#gen();
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }

    // ----- lookup ------------------------------------------------------------

    /// A user by object id or UPN (case-insensitive).
    pub(crate) fn find_user(&self, id_or_upn: &str) -> Option<usize> {
        let key = id_or_upn.to_ascii_lowercase();
        self.user_ids
            .get(&key)
            .or_else(|| self.upns.get(&key))
            .copied()
    }

    /// A group by object id.
    pub(crate) fn find_group(&self, id: &str) -> Option<usize> {
        self.groups
            .iter()
            .position(|g| g.id.eq_ignore_ascii_case(id))
    }

    /// A group by display name, mail or mail nickname (Exchange identities).
    pub(crate) fn find_group_by_identity(&self, identity: &str) -> Option<usize> {
        self.find_group(identity).or_else(|| {
            self.groups.iter().position(|g| {
                g.display_name.eq_ignore_ascii_case(identity)
                    || g.mail_nickname.eq_ignore_ascii_case(identity)
                    || g.mail
                        .as_deref()
                        .is_some_and(|m| m.eq_ignore_ascii_case(identity))
            })
        })
    }

    pub(crate) fn find_sku_by_part(&self, part: &str) -> Option<usize> {
        self.skus
            .iter()
            .position(|s| s.part_number.eq_ignore_ascii_case(part))
    }

    pub(crate) fn find_sku_by_id(&self, sku_id: &str) -> Option<usize> {
        self.skus
            .iter()
            .position(|s| s.sku_id.eq_ignore_ascii_case(sku_id))
    }

    pub(crate) fn find_device(&self, id: &str) -> Option<usize> {
        self.devices
            .iter()
            .position(|d| d.id.eq_ignore_ascii_case(id))
    }

    /// Memberships of a user, oldest first.
    pub(crate) fn memberships_of(&self, user: usize) -> Vec<Membership> {
        let mut out: Vec<Membership> = self
            .memberships
            .iter()
            .filter(|m| m.user == user)
            .copied()
            .collect();
        out.sort_by_key(|m| m.seq);
        out
    }

    /// Memberships `memberOf` lists for a user, oldest first: each as it was before a change
    /// for the read lag after it.
    pub(crate) fn listed_memberships_of(&self, user: usize) -> Vec<Membership> {
        let now = self.timeline.now();
        let mut out: Vec<Membership> = self
            .memberships_of(user)
            .into_iter()
            .filter(|m| self.member_lag.seen(&(m.group, user), now).is_none())
            .collect();
        out.extend(
            self.member_lag
                .lagging(now)
                .filter(|((_, u), _)| *u == user)
                .filter_map(|(_, before)| *before),
        );
        out.sort_by_key(|m| m.seq);
        out
    }

    /// The mailbox type Graph's `userPurpose` reports: Exchange's, once a conversion has
    /// reached Graph.
    pub(crate) fn graph_purpose(&self, user: usize) -> Option<MailboxPurpose> {
        let actual = self.users[user].mailbox.as_ref()?.purpose;
        Some(
            self.purpose_lag
                .seen(&user, self.timeline.now())
                .copied()
                .unwrap_or(actual),
        )
    }

    fn effect(&mut self, name: &str, user: usize, object: &str, applied: bool) {
        let subject = self.users[user].id.clone();
        self.effects.record(name, &subject, object, applied);
    }

    pub(crate) fn is_member(&self, group: usize, user: usize) -> bool {
        self.memberships
            .iter()
            .any(|m| m.group == group && m.user == user)
    }

    /// Whether any of the user's licences carries an Exchange plan.
    pub(crate) fn has_exchange_license(&self, user: usize) -> bool {
        self.users[user]
            .licenses
            .iter()
            .any(|l| self.skus[l.sku].has_exchange())
    }

    /// Whether Graph and Exchange can reach the user's mailbox: it exists
    /// and is shared (no licence needed) or still licensed.
    pub(crate) fn mailbox_accessible(&self, user: usize) -> bool {
        match &self.users[user].mailbox {
            None => false,
            Some(mb) => mb.purpose != MailboxPurpose::User || self.has_exchange_license(user),
        }
    }

    /// Distinct SKUs a user holds, in first-assignment order.
    pub(crate) fn distinct_skus(&self, user: usize) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        for grant in &self.users[user].licenses {
            if !out.contains(&grant.sku) {
                out.push(grant.sku);
            }
        }
        out
    }

    // ----- seeding -------------------------------------------------------------

    pub(crate) fn insert_group(&mut self, seed: &SeedGroup) -> Result<usize, SeedError> {
        if let Some(existing) = self
            .groups
            .iter()
            .position(|g| g.display_name.eq_ignore_ascii_case(&seed.name))
        {
            return Ok(existing);
        }
        let mut licenses = Vec::new();
        for part in &seed.licenses {
            licenses.push(
                self.find_sku_by_part(part)
                    .ok_or_else(|| SeedError::UnknownSku(part.clone()))?,
            );
        }
        let nickname: String = seed
            .name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        let mail_enabled = matches!(
            seed.kind,
            GroupKind::Microsoft365 | GroupKind::MailEnabledSecurity | GroupKind::Distribution
        );
        let mail = if mail_enabled {
            Some(
                seed.mail
                    .clone()
                    .unwrap_or_else(|| format!("{nickname}@example.com")),
            )
        } else {
            None
        };
        let mail_nickname = mail
            .as_deref()
            .and_then(|m| m.split('@').next())
            .map_or(nickname, str::to_owned);
        let id = self.new_guid();
        self.groups.push(GroupRecord {
            id,
            display_name: seed.name.clone(),
            description: seed.description.clone(),
            mail,
            mail_nickname,
            kind: seed.kind,
            membership_rule: seed.membership_rule.clone().or_else(|| {
                (seed.kind == GroupKind::DynamicSecurity)
                    .then(|| "(user.accountEnabled -eq true)".to_owned())
            }),
            on_prem_synced: seed.on_prem_synced,
            created: self.timeline.now(),
            licenses,
        });
        Ok(self.groups.len() - 1)
    }

    pub(crate) fn insert_user(&mut self, seed: &SeedUser) -> Result<usize, SeedError> {
        let upn = seed.upn.trim();
        if upn.is_empty() {
            return Err(SeedError::EmptyUpn);
        }
        if self.find_user(upn).is_some() {
            return Err(SeedError::DuplicateUpn(upn.to_owned()));
        }
        let manager = match &seed.manager {
            None => None,
            Some(m) => Some(
                self.find_user(m)
                    .ok_or_else(|| SeedError::UnknownManager(m.clone()))?,
            ),
        };
        let mut direct = Vec::new();
        for part in &seed.licenses {
            direct.push(
                self.find_sku_by_part(part)
                    .ok_or_else(|| SeedError::UnknownSku(part.clone()))?,
            );
        }
        if seed.methods.iter().any(|m| m.kind == MethodKind::Password) {
            return Err(SeedError::PasswordMethod);
        }
        let mut groups = Vec::new();
        for name in &seed.groups {
            groups.push(self.insert_group(&SeedGroup::new(name, GroupKind::Security))?);
        }

        let now = self.timeline.now();
        let id = self.new_guid();
        let mut methods = vec![MethodRecord {
            id: PASSWORD_METHOD_ID.to_owned(),
            kind: MethodKind::Password,
            label: String::new(),
            is_default: false,
            created: now,
        }];
        for m in &seed.methods {
            let method_id = self.new_guid();
            methods.push(MethodRecord {
                id: method_id,
                kind: m.kind,
                label: m.label.clone(),
                is_default: m.is_default,
                created: now,
            });
        }
        let (given_name, surname) = match seed.display.split_once(' ') {
            Some((g, s)) => (Some(g.to_owned()), Some(s.to_owned())),
            None => (None, None),
        };
        let on_prem_immutable_id = seed.on_prem_synced.then(|| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(self.rng.r#gen::<[u8; 16]>())
        });
        self.users.push(UserRecord {
            id: id.clone(),
            upn: upn.to_owned(),
            mail: Some(seed.mail.clone().unwrap_or_else(|| upn.to_owned())),
            display_name: seed.display.clone(),
            given_name,
            surname,
            job_title: seed.job_title.clone(),
            department: seed.department.clone(),
            usage_location: seed.usage_location.clone(),
            account_enabled: seed.account_enabled,
            on_prem_synced: seed.on_prem_synced,
            on_prem_immutable_id,
            created: now,
            sessions_valid_from: now,
            manager,
            licenses: direct
                .into_iter()
                .map(|sku| LicenseGrant {
                    sku,
                    by_group: None,
                    updated: now,
                })
                .collect(),
            methods,
            mailbox: None,
            directory_roles: seed.directory_roles.clone(),
            aliases: seed.aliases.clone(),
        });
        let user = self.users.len() - 1;
        self.user_ids.insert(id.to_ascii_lowercase(), user);
        self.upns.insert(upn.to_ascii_lowercase(), user);
        for group in groups {
            self.add_member(group, user);
        }
        let purpose = match seed.mailbox {
            Some(p) => Some(p),
            None => self
                .has_exchange_license(user)
                .then_some(MailboxPurpose::User),
        };
        if let Some(purpose) = purpose {
            let guid = self.new_guid();
            self.users[user].mailbox = Some(MailboxRecord {
                purpose,
                exchange_guid: guid,
                auto_reply: AutoReplyRecord::default_disabled(now),
                rules: Vec::new(),
                forwarding_smtp: None,
                deliver_and_forward: false,
                full_access: Vec::new(),
                time_zone: "UTC".to_owned(),
            });
        }
        for d in &seed.devices {
            let id = self.new_guid();
            let aad = self.new_guid();
            let serial = ids::alnum(&mut self.rng, 12).to_ascii_uppercase();
            let os_version = match d.operating_system.as_str() {
                "Windows" => "10.0.22631.4317",
                "macOS" => "14.6.1",
                "iOS" => "17.6.1",
                "Android" => "14",
                _ => "1.0",
            };
            let manufacturer = match d.operating_system.as_str() {
                "macOS" | "iOS" => "Apple",
                "Android" => "Google",
                _ => "Microsoft Corporation",
            };
            self.devices.push(DeviceRecord {
                id,
                azure_ad_device_id: aad,
                name: d.name.clone(),
                user,
                operating_system: d.operating_system.clone(),
                os_version: os_version.to_owned(),
                model: d.model.clone(),
                manufacturer: manufacturer.to_owned(),
                serial_number: serial,
                owner_type: d.owner_type.clone(),
                enrolled: now,
                last_sync: now,
                actions: Vec::new(),
            });
        }
        Ok(user)
    }

    /// Adds a membership (and the group's licences); no audit event.
    pub(crate) fn add_member(&mut self, group: usize, user: usize) {
        if self.is_member(group, user) {
            return;
        }
        let seq = self.next_membership_seq;
        self.next_membership_seq += 1;
        self.memberships.push(Membership { seq, group, user });
        let now = self.timeline.now();
        for sku in self.groups[group].licenses.clone() {
            self.users[user].licenses.push(LicenseGrant {
                sku,
                by_group: Some(group),
                updated: now,
            });
        }
    }

    // ----- audit ---------------------------------------------------------------

    fn record(&mut self, spec: EventSpec, actor: &Actor) {
        let id = self.new_guid();
        let seq = self.audit.len() as u64 + 1;
        let at = self.timeline.now();
        self.audit.push(spec.finish(id, seq, at, actor));
    }

    fn user_target(
        &self,
        user: usize,
        modified: Vec<audit::ModifiedProperty>,
    ) -> audit::AuditTarget {
        let u = &self.users[user];
        audit::target(&u.id, "User", &u.display_name, Some(&u.upn), modified)
    }

    fn license_names(&self, user: usize) -> String {
        let names: Vec<String> = self
            .distinct_skus(user)
            .into_iter()
            .map(|s| format!("\"{}\"", self.skus[s].part_number))
            .collect();
        format!("[{}]", names.join(","))
    }

    // ----- directory mutations ----------------------------------------------------

    /// `PATCH /users/{id}`. A no-op patch answers 204 and logs nothing.
    pub(crate) fn update_user(
        &mut self,
        user: usize,
        patch: UserPatch,
        actor: &Actor,
    ) -> Result<(), GraphError> {
        let u = &self.users[user];
        if u.on_prem_synced
            && (patch.account_enabled.is_some()
                || patch
                    .strings
                    .iter()
                    .any(|(name, _)| ON_PREM_MASTERED.contains(name)))
        {
            return Err(GraphError::on_prem_mastered());
        }
        if patch.account_enabled == Some(false) {
            let applied = u.account_enabled;
            self.effect(effect::SUSPEND, user, "", applied);
        }
        let u = &self.users[user];
        let mut modified = Vec::new();
        if let Some(enabled) = patch.account_enabled
            && enabled != u.account_enabled
        {
            modified.push(audit::changed(
                "AccountEnabled",
                format!("[{}]", u.account_enabled),
                format!("[{enabled}]"),
            ));
        }
        let mut string_changes = Vec::new();
        for (name, value) in patch.strings {
            let current = user_string(u, name);
            if current != value {
                modified.push(audit::changed(
                    &capitalise(name),
                    format!("[\"{}\"]", current.unwrap_or_default()),
                    format!("[\"{}\"]", value.clone().unwrap_or_default()),
                ));
                string_changes.push((name, value));
            }
        }
        if modified.is_empty() {
            return Ok(());
        }
        let enabled_change = patch
            .account_enabled
            .filter(|e| *e != self.users[user].account_enabled);
        let u = &mut self.users[user];
        if let Some(enabled) = enabled_change {
            u.account_enabled = enabled;
        }
        for (name, value) in string_changes {
            set_user_string(u, name, value);
        }
        let activity = match enabled_change {
            Some(false) => activity::DISABLE_ACCOUNT,
            Some(true) => activity::ENABLE_ACCOUNT,
            None => activity::UPDATE_USER,
        };
        let target = self.user_target(user, modified);
        self.record(
            EventSpec {
                activity,
                category: "UserManagement",
                service: AuditService::CoreDirectory,
                operation_type: "Update",
                targets: vec![target],
            },
            actor,
        );
        Ok(())
    }

    /// `revokeSignInSessions`: every call resets the timestamp and is logged.
    pub(crate) fn revoke_sessions(&mut self, user: usize, actor: &Actor) {
        let now = self.timeline.now();
        let now = Timestamp::from_second(now.as_second()).unwrap_or(now);
        let old = graph_time(self.users[user].sessions_valid_from);
        let first = self
            .effects
            .applied(effect::REVOKE_SESSIONS, &self.users[user].id)
            == 0;
        self.effect(effect::REVOKE_SESSIONS, user, "", first);
        self.users[user].sessions_valid_from = now;
        let target = self.user_target(
            user,
            vec![audit::changed(
                "StsRefreshTokensValidFrom",
                format!("[\"{old}\"]"),
                format!("[\"{}\"]", graph_time(now)),
            )],
        );
        self.record(
            EventSpec {
                activity: activity::REVOKE_SESSIONS,
                category: "UserManagement",
                service: AuditService::CoreDirectory,
                operation_type: "Update",
                targets: vec![target],
            },
            actor,
        );
    }

    /// `DELETE /groups/{g}/members/{u}/$ref` with Graph's refusals.
    pub(crate) fn remove_member_graph(
        &mut self,
        group: usize,
        user: usize,
        actor: &Actor,
    ) -> Result<(), GraphError> {
        let g = &self.groups[group];
        if g.kind == GroupKind::DynamicSecurity {
            return Err(GraphError::directory_denied());
        }
        if g.on_prem_synced {
            return Err(GraphError::on_prem_mastered());
        }
        if matches!(
            g.kind,
            GroupKind::Distribution | GroupKind::MailEnabledSecurity
        ) {
            return Err(GraphError::mail_enabled_group());
        }
        let group_id = self.groups[group].id.clone();
        if !self.is_member(group, user) {
            self.effect(effect::REMOVE_MEMBERSHIP, user, &group_id, false);
            return Err(GraphError::resource_not_found(&group_id));
        }
        self.effect(effect::REMOVE_MEMBERSHIP, user, &group_id, true);
        self.remove_member(group, user, actor);
        Ok(())
    }

    /// `POST /groups/{id}/members/$ref`: the same groups Graph may remove members from, and
    /// Graph's 400 when the member is already there.
    pub(crate) fn add_member_graph(
        &mut self,
        group: usize,
        user: usize,
        actor: &Actor,
    ) -> Result<(), GraphError> {
        let g = &self.groups[group];
        if g.kind == GroupKind::DynamicSecurity {
            return Err(GraphError::directory_denied());
        }
        if g.on_prem_synced {
            return Err(GraphError::on_prem_mastered());
        }
        if matches!(
            g.kind,
            GroupKind::Distribution | GroupKind::MailEnabledSecurity
        ) {
            return Err(GraphError::mail_enabled_group());
        }
        if self.is_member(group, user) {
            return Err(GraphError::bad_request(
                "One or more added object references already exist for the following modified properties: 'members'.",
            ));
        }
        self.join(group, user, actor);
        Ok(())
    }

    /// Adds a membership (with the group's licences), as a read-after-write lag shows it
    /// late, and logs it.
    pub(crate) fn join(&mut self, group: usize, user: usize, actor: &Actor) {
        let (now, lag) = (self.timeline.now(), self.timeline.read_lag());
        self.member_lag.wrote((group, user), || None, now, lag);
        self.add_member(group, user);
        let g = &self.groups[group];
        let group_target = audit::target(&g.id, "Group", &g.display_name, None, Vec::new());
        let user_modified = vec![audit::changed(
            "Group.DisplayName",
            "",
            format!("\"{}\"", g.display_name),
        )];
        let service = if g_is_exchange(g) {
            AuditService::Exchange
        } else {
            AuditService::CoreDirectory
        };
        let user_target = self.user_target(user, user_modified);
        self.record(
            EventSpec {
                activity: activity::ADD_MEMBER,
                category: "GroupManagement",
                service,
                operation_type: "Assign",
                targets: vec![user_target, group_target],
            },
            actor,
        );
    }

    /// Removes a membership, drops licences inherited through it, logs it.
    pub(crate) fn remove_member(&mut self, group: usize, user: usize, actor: &Actor) {
        let membership = self
            .memberships
            .iter()
            .find(|m| m.group == group && m.user == user)
            .copied();
        let (now, lag) = (self.timeline.now(), self.timeline.read_lag());
        self.member_lag
            .wrote((group, user), || membership, now, lag);
        let before = self.license_names(user);
        self.memberships
            .retain(|m| !(m.group == group && m.user == user));
        self.users[user]
            .licenses
            .retain(|l| l.by_group != Some(group));
        let after = self.license_names(user);
        let g = &self.groups[group];
        let group_target = audit::target(&g.id, "Group", &g.display_name, None, Vec::new());
        let mut user_modified = vec![audit::changed(
            "Group.DisplayName",
            "",
            format!("\"{}\"", g.display_name),
        )];
        if before != after {
            user_modified.push(audit::changed("AssignedLicense", before, after));
        }
        let user_target = self.user_target(user, user_modified);
        self.record(
            EventSpec {
                activity: activity::REMOVE_MEMBER,
                category: "GroupManagement",
                service: if g_is_exchange(g) {
                    AuditService::Exchange
                } else {
                    AuditService::CoreDirectory
                },
                operation_type: "Unassign",
                targets: vec![user_target, group_target],
            },
            actor,
        );
    }

    /// `assignLicense` after the request body has been validated into SKU
    /// indexes. All-or-nothing, as Graph applies it.
    pub(crate) fn assign_license(
        &mut self,
        user: usize,
        add: &[usize],
        remove: &[usize],
        actor: &Actor,
    ) -> Result<(), GraphError> {
        if !add.is_empty() && self.users[user].usage_location.is_none() {
            return Err(GraphError::bad_request(
                "License assignment cannot be done for user with invalid usage location.",
            ));
        }
        for &sku in add {
            let holds = self.users[user].licenses.iter().any(|l| l.sku == sku);
            let consumed = self
                .users
                .iter()
                .filter(|u| u.licenses.iter().any(|l| l.sku == sku))
                .count();
            if !holds && consumed >= self.skus[sku].enabled_units as usize {
                return Err(GraphError::bad_request(format!(
                    "License assignment failed because there are not enough licenses available for {}.",
                    self.skus[sku].part_number
                )));
            }
        }
        for &sku in remove {
            let grants: Vec<&LicenseGrant> = self.users[user]
                .licenses
                .iter()
                .filter(|l| l.sku == sku)
                .collect();
            if grants.is_empty() {
                let sku_id = self.skus[sku].sku_id.clone();
                self.effect(effect::REMOVE_LICENSE, user, &sku_id, false);
                return Err(GraphError::bad_request(
                    "User does not have a corresponding license.",
                ));
            }
            if grants.iter().all(|l| l.by_group.is_some()) {
                return Err(GraphError::bad_request(
                    "User license is inherited from group membership and cannot be removed directly from the user.",
                ));
            }
        }
        let before = self.license_names(user);
        let had_direct: Vec<usize> = self.users[user]
            .licenses
            .iter()
            .filter(|l| l.by_group.is_none())
            .map(|l| l.sku)
            .collect();
        let now = self.timeline.now();
        let u = &mut self.users[user];
        u.licenses
            .retain(|l| !(l.by_group.is_none() && remove.contains(&l.sku)));
        for &sku in remove {
            let sku_id = self.skus[sku].sku_id.clone();
            self.effect(
                effect::REMOVE_LICENSE,
                user,
                &sku_id,
                had_direct.contains(&sku),
            );
        }
        let u = &mut self.users[user];
        let mut changed_direct = remove.iter().any(|s| had_direct.contains(s));
        for &sku in add {
            if !u
                .licenses
                .iter()
                .any(|l| l.by_group.is_none() && l.sku == sku)
            {
                u.licenses.push(LicenseGrant {
                    sku,
                    by_group: None,
                    updated: now,
                });
                changed_direct = true;
            }
        }
        if !changed_direct {
            return Ok(());
        }
        let after = self.license_names(user);
        let target = self.user_target(user, vec![audit::changed("AssignedLicense", before, after)]);
        self.record(
            EventSpec {
                activity: activity::CHANGE_LICENSE,
                category: "UserManagement",
                service: AuditService::CoreDirectory,
                operation_type: "Update",
                targets: vec![target],
            },
            actor,
        );
        Ok(())
    }

    /// Deletes an authentication method through its type-specific path.
    pub(crate) fn delete_method(
        &mut self,
        user: usize,
        kind: MethodKind,
        method_id: &str,
        actor: &Actor,
    ) -> Result<(), GraphError> {
        let u = &self.users[user];
        let Some(pos) = u
            .methods
            .iter()
            .position(|m| m.kind == kind && m.id.eq_ignore_ascii_case(method_id))
        else {
            self.effect(effect::RESET_FACTORS, user, method_id, false);
            return Err(GraphError::auth_methods(
                axum::http::StatusCode::NOT_FOUND,
                "itemNotFound",
                &format!("Authentication method '{method_id}' was not found for the user."),
            ));
        };
        let others = u
            .methods
            .iter()
            .enumerate()
            .filter(|(i, m)| *i != pos && m.kind != MethodKind::Password)
            .count();
        if u.methods[pos].is_default && others > 0 {
            return Err(GraphError::auth_methods(
                axum::http::StatusCode::BAD_REQUEST,
                "badRequest",
                "Cannot delete default method with other methods configured. Please change default method before deletion.",
            ));
        }
        let removed = self.users[user].methods.remove(pos);
        self.effect(effect::RESET_FACTORS, user, &removed.id, true);
        let target = self.user_target(
            user,
            vec![audit::changed(
                "StrongAuthenticationMethod",
                format!("[\"{}\"]", removed.kind.segment()),
                "[]",
            )],
        );
        self.record(
            EventSpec {
                activity: activity::DELETE_AUTH_METHOD,
                category: "UserManagement",
                service: AuditService::AuthenticationMethods,
                operation_type: "Delete",
                targets: vec![target],
            },
            actor,
        );
        Ok(())
    }

    // ----- mailbox ------------------------------------------------------------------

    /// Applies an `automaticRepliesSetting` patch; logs only a real change.
    pub(crate) fn set_auto_reply(&mut self, user: usize, next: AutoReplyRecord, actor: &Actor) {
        let Some(mb) = self.users[user].mailbox.as_ref() else {
            return;
        };
        let changed = mb.auto_reply != next;
        self.effect(effect::SET_AUTO_REPLY, user, "", changed);
        let Some(mb) = self.users[user].mailbox.as_mut() else {
            return;
        };
        if !changed {
            return;
        }
        let old = mb.auto_reply.status.clone();
        let new = next.status.clone();
        mb.auto_reply = next;
        let target = self.mailbox_target(user, vec![audit::changed("AutoReplyState", old, new)]);
        self.record(
            EventSpec {
                activity: activity::SET_AUTO_REPLY,
                category: "ExchangeAdmin",
                service: AuditService::Exchange,
                operation_type: "Update",
                targets: vec![target],
            },
            actor,
        );
    }

    pub(crate) fn set_time_zone(&mut self, user: usize, tz: String) {
        if let Some(mb) = self.users[user].mailbox.as_mut() {
            mb.time_zone = tz;
        }
    }

    fn mailbox_target(
        &self,
        user: usize,
        modified: Vec<audit::ModifiedProperty>,
    ) -> audit::AuditTarget {
        let u = &self.users[user];
        audit::target(&u.id, "Mailbox", &u.display_name, Some(&u.upn), modified)
    }

    pub(crate) fn create_rule(
        &mut self,
        user: usize,
        mut rule: RuleRecord,
        actor: &Actor,
    ) -> RuleRecord {
        rule.id = self.new_rule_id();
        let name = rule.display_name.clone();
        if let Some(mb) = self.users[user].mailbox.as_mut() {
            mb.rules.push(rule.clone());
            mb.rules.sort_by_key(|r| r.sequence);
        }
        let target = self.mailbox_target(user, vec![audit::changed("RuleName", "", name)]);
        self.record(
            EventSpec {
                activity: activity::NEW_INBOX_RULE,
                category: "ExchangeAdmin",
                service: AuditService::Exchange,
                operation_type: "Add",
                targets: vec![target],
            },
            actor,
        );
        rule
    }

    /// Puts a generator of its own in place of the tenant's, returning the tenant's: what is
    /// seeded meanwhile shifts no id drawn later (restore it with [`Self::restore_rng`]).
    pub(crate) fn rng_aside(&mut self, salt: u64) -> StdRng {
        let side = StdRng::seed_from_u64(self.rng.clone().r#gen::<u64>() ^ salt);
        std::mem::replace(&mut self.rng, side)
    }

    pub(crate) fn restore_rng(&mut self, rng: StdRng) {
        self.rng = rng;
    }

    pub(crate) fn new_rule_id(&mut self) -> String {
        use base64::Engine;
        let bytes: [u8; 8] = self.rng.r#gen();
        base64::engine::general_purpose::STANDARD
            .encode([[0x01, 0x00, 0x00, 0x00].as_slice(), &bytes].concat())
    }

    pub(crate) fn update_rule(&mut self, user: usize, rule: RuleRecord, actor: &Actor) {
        let Some(mb) = self.users[user].mailbox.as_mut() else {
            return;
        };
        let Some(slot) = mb.rules.iter_mut().find(|r| r.id == rule.id) else {
            return;
        };
        let unchanged = slot.display_name == rule.display_name
            && slot.sequence == rule.sequence
            && slot.is_enabled == rule.is_enabled
            && slot.conditions == rule.conditions
            && slot.actions == rule.actions
            && slot.exceptions == rule.exceptions;
        if unchanged {
            return;
        }
        let name = rule.display_name.clone();
        *slot = rule;
        mb.rules.sort_by_key(|r| r.sequence);
        let target =
            self.mailbox_target(user, vec![audit::changed("RuleName", name.clone(), name)]);
        self.record(
            EventSpec {
                activity: activity::SET_INBOX_RULE,
                category: "ExchangeAdmin",
                service: AuditService::Exchange,
                operation_type: "Update",
                targets: vec![target],
            },
            actor,
        );
    }

    pub(crate) fn delete_rule(&mut self, user: usize, rule_id: &str, actor: &Actor) -> bool {
        let Some(mb) = self.users[user].mailbox.as_mut() else {
            return false;
        };
        let Some(pos) = mb.rules.iter().position(|r| r.id == rule_id) else {
            return false;
        };
        let removed = mb.rules.remove(pos);
        let target = self.mailbox_target(
            user,
            vec![audit::changed("RuleName", removed.display_name, "")],
        );
        self.record(
            EventSpec {
                activity: activity::REMOVE_INBOX_RULE,
                category: "ExchangeAdmin",
                service: AuditService::Exchange,
                operation_type: "Delete",
                targets: vec![target],
            },
            actor,
        );
        true
    }

    /// `Set-Mailbox`: applies the changes that differ; returns whether
    /// anything changed.
    pub(crate) fn set_mailbox(
        &mut self,
        user: usize,
        purpose: Option<MailboxPurpose>,
        forwarding: Option<Option<String>>,
        deliver_and_forward: Option<bool>,
        actor: &Actor,
    ) -> bool {
        let Some(mb) = self.users[user].mailbox.as_ref() else {
            return false;
        };
        let was = mb.purpose;
        let forwarded_to = mb.forwarding_smtp.clone();
        if purpose == Some(MailboxPurpose::Shared) {
            self.effect(
                effect::CONVERT_MAILBOX,
                user,
                "",
                was != MailboxPurpose::Shared,
            );
        }
        if let Some(Some(address)) = &forwarding {
            let applied = forwarded_to.as_ref() != Some(address);
            self.effect(effect::FORWARD_MAIL, user, address, applied);
        }
        if purpose.is_some_and(|p| p != was) {
            let now = self.timeline.now();
            let reaches_graph = self
                .timeline
                .read_lag()
                .max(self.timeline.long_ops().unwrap_or_default());
            self.purpose_lag.wrote(user, || was, now, reaches_graph);
        }
        let Some(mb) = self.users[user].mailbox.as_mut() else {
            return false;
        };
        let mut modified = Vec::new();
        if let Some(p) = purpose
            && p != mb.purpose
        {
            modified.push(audit::changed(
                "RecipientTypeDetails",
                mb.purpose.recipient_type_details(),
                p.recipient_type_details(),
            ));
            mb.purpose = p;
        }
        if let Some(f) = forwarding
            && f != mb.forwarding_smtp
        {
            modified.push(audit::changed(
                "ForwardingSmtpAddress",
                mb.forwarding_smtp.clone().unwrap_or_default(),
                f.clone().unwrap_or_default(),
            ));
            mb.forwarding_smtp = f;
        }
        if let Some(d) = deliver_and_forward
            && d != mb.deliver_and_forward
        {
            modified.push(audit::changed(
                "DeliverToMailboxAndForward",
                mb.deliver_and_forward.to_string(),
                d.to_string(),
            ));
            mb.deliver_and_forward = d;
        }
        if modified.is_empty() {
            return false;
        }
        let target = self.mailbox_target(user, modified);
        self.record(
            EventSpec {
                activity: activity::SET_MAILBOX,
                category: "ExchangeAdmin",
                service: AuditService::Exchange,
                operation_type: "Update",
                targets: vec![target],
            },
            actor,
        );
        true
    }

    /// `Add-MailboxPermission -AccessRights FullAccess`; returns whether it
    /// was new.
    pub(crate) fn grant_full_access(&mut self, user: usize, delegate: &str, actor: &Actor) -> bool {
        let Some(mb) = self.users[user].mailbox.as_ref() else {
            return false;
        };
        let known = mb
            .full_access
            .iter()
            .any(|d| d.eq_ignore_ascii_case(delegate));
        self.effect(effect::DELEGATE_MAILBOX, user, delegate, !known);
        let Some(mb) = self.users[user].mailbox.as_mut() else {
            return false;
        };
        if known {
            return false;
        }
        mb.full_access.push(delegate.to_owned());
        let target = self.mailbox_target(
            user,
            vec![audit::changed("FullAccess", "", delegate.to_owned())],
        );
        self.record(
            EventSpec {
                activity: activity::ADD_MAILBOX_PERMISSION,
                category: "ExchangeAdmin",
                service: AuditService::Exchange,
                operation_type: "Add",
                targets: vec![target],
            },
            actor,
        );
        true
    }

    // ----- Intune ---------------------------------------------------------------------

    /// Issues a remote action. A repeat while the same action is still
    /// pending is accepted and changes nothing; once done, a repeat starts
    /// a new action.
    pub(crate) fn issue_device_action(
        &mut self,
        device: usize,
        action: DeviceAction,
        actor: &Actor,
    ) {
        let now = self.timeline.now();
        let (owner, device_id) = (self.devices[device].user, self.devices[device].id.clone());
        let repeat = self.devices[device]
            .actions
            .iter()
            .any(|a| a.action == action && a.state == ActionState::Pending);
        self.effect(effect::SECURE_DEVICE, owner, &device_id, !repeat);
        let d = &mut self.devices[device];
        if let Some(existing) = d.actions.iter_mut().find(|a| a.action == action) {
            if existing.state == ActionState::Pending {
                return;
            }
            existing.state = ActionState::Pending;
            existing.started = now;
            existing.updated = now;
            existing.seen_pending = false;
        } else {
            d.actions.push(ActionRecord {
                action,
                state: ActionState::Pending,
                started: now,
                updated: now,
                seen_pending: false,
            });
        }
        let activity = match action {
            DeviceAction::Wipe => activity::WIPE_DEVICE,
            DeviceAction::Retire => activity::RETIRE_DEVICE,
            DeviceAction::RemoteLock => activity::LOCK_DEVICE,
        };
        let d = &self.devices[device];
        let owner = &self.users[d.user];
        let target = audit::target(
            &d.id,
            "Device",
            &d.name,
            Some(&owner.upn),
            vec![audit::changed("ActionState", "", "pending")],
        );
        self.record(
            EventSpec {
                activity,
                category: "Device",
                service: AuditService::Intune,
                operation_type: "Action",
                targets: vec![target],
            },
            actor,
        );
    }

    /// A client read the device: pending actions complete once the device
    /// has checked in. With long operations configured that is exactly that
    /// long after the action was issued; otherwise after `delay`, or on the
    /// read after one that already showed the action pending.
    pub(crate) fn observe_device(&mut self, device: usize, delay: Duration) {
        let now = self.timeline.now();
        let check_in = self.timeline.long_ops();
        for a in &mut self.devices[device].actions {
            if a.state != ActionState::Pending {
                continue;
            }
            let elapsed = now.duration_since(a.started);
            let takes = check_in.unwrap_or(delay);
            let due = elapsed.as_millis() >= i128::try_from(takes.as_millis()).unwrap_or(i128::MAX);
            if due || (check_in.is_none() && a.seen_pending) {
                a.state = ActionState::Done;
                a.updated = now;
            } else {
                a.seen_pending = true;
            }
        }
    }

    // ----- views -----------------------------------------------------------------------

    pub(crate) fn user_view(&self, user: usize) -> UserView {
        let u = &self.users[user];
        UserView {
            id: u.id.clone(),
            upn: u.upn.clone(),
            mail: u.mail.clone(),
            display_name: u.display_name.clone(),
            department: u.department.clone(),
            account_enabled: u.account_enabled,
            on_prem_synced: u.on_prem_synced,
            sign_in_sessions_valid_from: graph_time(u.sessions_valid_from),
            manager: u.manager.map(|m| self.users[m].upn.clone()),
            groups: self
                .memberships_of(user)
                .iter()
                .map(|m| self.groups[m.group].display_name.clone())
                .collect(),
            licenses: u
                .licenses
                .iter()
                .map(|l| LicenseView {
                    sku_id: self.skus[l.sku].sku_id.clone(),
                    sku_part_number: self.skus[l.sku].part_number.clone(),
                    assigned_by_group: l.by_group.map(|g| self.groups[g].display_name.clone()),
                })
                .collect(),
        }
    }

    pub(crate) fn group_view(&self, group: usize) -> GroupView {
        let g = &self.groups[group];
        let mut members: Vec<&Membership> = self
            .memberships
            .iter()
            .filter(|m| m.group == group)
            .collect();
        members.sort_by_key(|m| m.seq);
        GroupView {
            id: g.id.clone(),
            display_name: g.display_name.clone(),
            kind: g.kind,
            mail: g.mail.clone(),
            on_prem_synced: g.on_prem_synced,
            members: members
                .iter()
                .map(|m| self.users[m.user].upn.clone())
                .collect(),
            licenses: g
                .licenses
                .iter()
                .map(|s| self.skus[*s].part_number.clone())
                .collect(),
        }
    }

    pub(crate) fn mailbox_view(&self, user: usize) -> Option<MailboxView> {
        let mb = self.users[user].mailbox.as_ref()?;
        Some(MailboxView {
            purpose: mb.purpose,
            accessible: self.mailbox_accessible(user),
            auto_reply_status: mb.auto_reply.status.clone(),
            auto_reply_external_audience: mb.auto_reply.external_audience.clone(),
            auto_reply_internal: mb.auto_reply.internal_message.clone(),
            auto_reply_external: mb.auto_reply.external_message.clone(),
            rules: mb
                .rules
                .iter()
                .map(|r| RuleView {
                    id: r.id.clone(),
                    display_name: r.display_name.clone(),
                    sequence: r.sequence,
                    is_enabled: r.is_enabled,
                    forward_to: addresses(&r.actions, "forwardTo"),
                    redirect_to: addresses(&r.actions, "redirectTo"),
                })
                .collect(),
            forwarding_smtp_address: mb.forwarding_smtp.clone(),
            full_access: mb.full_access.clone(),
        })
    }

    pub(crate) fn device_views(&self, user: usize) -> Vec<DeviceView> {
        self.devices
            .iter()
            .filter(|d| d.user == user)
            .map(|d| DeviceView {
                id: d.id.clone(),
                name: d.name.clone(),
                operating_system: d.operating_system.clone(),
                user_principal_name: self.users[d.user].upn.clone(),
                actions: d
                    .actions
                    .iter()
                    .map(|a| DeviceActionView {
                        action: a.action,
                        state: a.state,
                        started: graph_time(a.started),
                    })
                    .collect(),
            })
            .collect()
    }

    pub(crate) fn method_views(&self, user: usize) -> Vec<AuthMethodView> {
        self.users[user]
            .methods
            .iter()
            .map(|m| AuthMethodView {
                id: m.id.clone(),
                kind: m.kind,
                label: m.label.clone(),
                is_default: m.is_default,
            })
            .collect()
    }
}

impl AutoReplyRecord {
    pub(crate) fn default_disabled(start: Timestamp) -> Self {
        let end = start
            .checked_add(jiff::SignedDuration::from_hours(24))
            .unwrap_or(start);
        Self {
            status: "disabled".to_owned(),
            external_audience: "all".to_owned(),
            internal_message: String::new(),
            external_message: String::new(),
            scheduled_start: json!({ "dateTime": graph_local(start), "timeZone": "UTC" }),
            scheduled_end: json!({ "dateTime": graph_local(end), "timeZone": "UTC" }),
        }
    }
}

fn g_is_exchange(g: &GroupRecord) -> bool {
    matches!(
        g.kind,
        GroupKind::Distribution | GroupKind::MailEnabledSecurity
    )
}

/// User attributes that AD Connect masters for synced users.
const ON_PREM_MASTERED: &[&str] = &[
    "displayName",
    "givenName",
    "surname",
    "jobTitle",
    "department",
    "mail",
];

/// String user properties `PATCH /users/{id}` accepts.
pub(crate) const WRITABLE_STRINGS: &[&str] = &[
    "displayName",
    "givenName",
    "surname",
    "jobTitle",
    "department",
    "usageLocation",
    "mail",
];

fn user_string(u: &UserRecord, name: &str) -> Option<String> {
    match name {
        "displayName" => Some(u.display_name.clone()),
        "givenName" => u.given_name.clone(),
        "surname" => u.surname.clone(),
        "jobTitle" => u.job_title.clone(),
        "department" => u.department.clone(),
        "usageLocation" => u.usage_location.clone(),
        "mail" => u.mail.clone(),
        _ => None,
    }
}

fn set_user_string(u: &mut UserRecord, name: &str, value: Option<String>) {
    match name {
        "displayName" => u.display_name = value.unwrap_or_default(),
        "givenName" => u.given_name = value,
        "surname" => u.surname = value,
        "jobTitle" => u.job_title = value,
        "department" => u.department = value,
        "usageLocation" => u.usage_location = value,
        "mail" => u.mail = value,
        _ => {}
    }
}

fn capitalise(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_ascii_uppercase().to_string() + chars.as_str()
    })
}

fn addresses(actions: &Value, key: &str) -> Vec<String> {
    actions
        .get(key)
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|r| r.pointer("/emailAddress/address").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Directory timestamps: whole seconds, `Z`.
pub(crate) fn graph_time(ts: Timestamp) -> String {
    let secs = Timestamp::from_second(ts.as_second()).unwrap_or(ts);
    format!("{secs:.0}")
}

/// `dateTimeTimeZone.dateTime`: local time with seven fractional digits.
pub(crate) fn graph_local(ts: Timestamp) -> String {
    let secs = Timestamp::from_second(ts.as_second()).unwrap_or(ts);
    format!("{}", secs.strftime("%Y-%m-%dT%H:%M:%S.0000000"))
}

/// The subscribed SKUs of the tenant, with Microsoft's published ids.
fn sku_catalogue() -> Vec<SkuRecord> {
    let plan = |id: &str, name: &str, exchange: bool| PlanRecord {
        id: id.to_owned(),
        name: name.to_owned(),
        exchange,
    };
    vec![
        SkuRecord {
            sku_id: "05e9a617-0261-4cee-bb44-138d3ef5d965".to_owned(),
            part_number: "SPE_E3".to_owned(),
            plans: vec![
                plan(
                    "efb87545-963c-4e0d-99df-69c6916d9eb0",
                    "EXCHANGE_S_ENTERPRISE",
                    true,
                ),
                plan(
                    "5dbe027f-2339-4123-9542-606e4d348a72",
                    "SHAREPOINTENTERPRISE",
                    false,
                ),
                plan("c1ec4a95-1f05-45b3-a911-aa3fa01094f5", "INTUNE_A", false),
                plan("41781fb2-bc02-4b7c-bd55-b576c07bb09d", "AAD_PREMIUM", false),
            ],
            enabled_units: 250,
        },
        SkuRecord {
            sku_id: "6fd2c87f-b296-42f0-b197-1e91e994b900".to_owned(),
            part_number: "ENTERPRISEPACK".to_owned(),
            plans: vec![
                plan(
                    "efb87545-963c-4e0d-99df-69c6916d9eb0",
                    "EXCHANGE_S_ENTERPRISE",
                    true,
                ),
                plan(
                    "5dbe027f-2339-4123-9542-606e4d348a72",
                    "SHAREPOINTENTERPRISE",
                    false,
                ),
            ],
            enabled_units: 100,
        },
        SkuRecord {
            sku_id: "4b9405b0-7788-4568-add1-99614e613b69".to_owned(),
            part_number: "EXCHANGESTANDARD".to_owned(),
            plans: vec![plan(
                "9aaf7827-d63c-4b61-89c3-182f06f82e5c",
                "EXCHANGE_S_STANDARD",
                true,
            )],
            enabled_units: 50,
        },
        SkuRecord {
            sku_id: "84a661c4-e949-4bd2-a560-ed7766fcaf2b".to_owned(),
            part_number: "AAD_PREMIUM_P2".to_owned(),
            plans: vec![plan(
                "eec0eb4f-6444-4f95-aba0-50c24d67f998",
                "AAD_PREMIUM_P2",
                false,
            )],
            enabled_units: 250,
        },
        SkuRecord {
            sku_id: "078d2b04-f1bd-4111-bbd4-b4b1b354cef4".to_owned(),
            part_number: "AAD_PREMIUM".to_owned(),
            plans: vec![plan(
                "41781fb2-bc02-4b7c-bd55-b576c07bb09d",
                "AAD_PREMIUM",
                false,
            )],
            enabled_units: 250,
        },
    ]
}
