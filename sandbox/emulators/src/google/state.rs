//! The emulated domain: users, groups, devices, licences, transfers, Gmail
//! settings, service accounts and the audit log, with the rules Google
//! enforces on them.
//!
//! Mutations return `GoogleError` exactly where Google refuses the
//! operation and write an audit event only when they change something.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::common::counters::{EffectBook, effect};
use crate::common::lag::LagBook;
use crate::common::timeline::Timeline;
use crate::google::audit::{AuditEvent, event_name};
use crate::google::auth::AuthState;
use crate::google::errors::GoogleError;
use crate::google::model::{
    self, APP_CALENDAR, APP_DRIVE, AppTransfer, AspRecord, DeviceRecord, GroupRecord,
    LicenseRecord, MailSettings, OAuthGrant, TransferRecord, TransferStatus, UserRecord,
};
use crate::google::seed::{SeedError, SeedUser};
use crate::google::views::{
    AspView, AutoForwardingView, DelegateView, DeviceView, ForwardingView, LicenseView, TokenView,
    TransferView, UserView, VacationView,
};

/// Who is calling: the impersonated user (or the bare service account),
/// as established from the access token.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    /// The impersonated user's index; `None` when the token was minted
    /// without `sub`.
    pub subject: Option<usize>,
    /// E-mail recorded as the audit actor.
    pub actor: String,
}

/// All domain data behind the emulator's mutex.
#[derive(Debug)]
pub struct GoogleState {
    pub(crate) domain: String,
    pub(crate) customer_id: String,
    pub(crate) project_number: String,
    pub(crate) base_url: String,
    pub(crate) async_step: Duration,
    rng: StdRng,
    pub(crate) users: Vec<UserRecord>,
    pub(crate) groups: Vec<GroupRecord>,
    pub(crate) devices: Vec<DeviceRecord>,
    pub(crate) transfers: Vec<TransferRecord>,
    pub(crate) audit: Vec<AuditEvent>,
    pub(crate) auth: AuthState,
    next_seq: u64,
    next_asp: i32,
    pub(crate) timeline: Arc<Timeline>,
    /// Every effect requested through the API, first times and repeats apart.
    pub(crate) effects: EffectBook,
    /// `users.get` lags behind writes: user → the resource as it was rendered before.
    user_lag: LagBook<usize, serde_json::Value>,
    /// `groups.list?userKey=` lags behind membership changes: (group, user) → was a member.
    member_lag: LagBook<(usize, usize), bool>,
    /// Shared drives and the sweep's knob (`sweep.rs`).
    pub(crate) sweep: crate::google::sweep::SweepBook,
}

impl GoogleState {
    pub(crate) fn new(
        domain: &str,
        base_url: String,
        seed: u64,
        async_step: Duration,
        timeline: Arc<Timeline>,
    ) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let customer_id = model::customer_id(&mut rng);
        let project_number = model::project_number(&mut rng);
        Self {
            domain: domain.to_ascii_lowercase(),
            customer_id,
            project_number,
            base_url,
            async_step,
            rng,
            users: Vec::new(),
            groups: Vec::new(),
            devices: Vec::new(),
            transfers: Vec::new(),
            audit: Vec::new(),
            auth: AuthState::default(),
            next_seq: 0,
            next_asp: 0,
            timeline,
            effects: EffectBook::default(),
            user_lag: LagBook::default(),
            member_lag: LagBook::default(),
            sweep: crate::google::sweep::SweepBook::default(),
        }
    }

    fn effect(&mut self, name: &str, user: usize, object: &str, applied: bool) {
        let subject = self.users[user].id.clone();
        self.effects.record(name, &subject, object, applied);
    }

    /// Notes a write to a user: `users.get` keeps answering `before` for the read lag.
    pub(crate) fn note_user_write(&mut self, user: usize, before: serde_json::Value) {
        let (now, lag) = (self.timeline.now(), self.timeline.read_lag());
        self.user_lag.wrote(user, || before, now, lag);
    }

    /// What `users.get` still answers for a user after a recent write, if anything.
    pub(crate) fn lagged_user(&self, user: usize) -> Option<&serde_json::Value> {
        self.user_lag.seen(&user, self.timeline.now())
    }

    /// A user's groups as `groups.list?userKey=` lists them: each membership as it was
    /// before a change for the read lag after it.
    pub(crate) fn listed_groups_of(&self, user: usize) -> Vec<usize> {
        let now = self.timeline.now();
        (0..self.groups.len())
            .filter(|&g| {
                self.member_lag
                    .seen(&(g, user), now)
                    .copied()
                    .unwrap_or_else(|| self.groups[g].members.contains(&user))
            })
            .collect()
    }

    /// The primary domain.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The customer id.
    pub fn customer_id(&self) -> &str {
        &self.customer_id
    }

    fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    pub(crate) fn fresh_etag(&mut self) -> String {
        model::etag(&mut self.rng)
    }

    // ----- lookups ---------------------------------------------------------

    /// A user by primary address, alias or id.
    pub(crate) fn find_user(&self, key: &str) -> Option<usize> {
        self.users.iter().position(|u| u.answers_to(key))
    }

    /// Whether an address belongs to the emulated domain.
    pub(crate) fn in_domain(&self, email: &str) -> bool {
        email
            .rsplit_once('@')
            .is_some_and(|(_, d)| d.eq_ignore_ascii_case(&self.domain))
    }

    /// Resolves a Directory `userKey`: 404 for an unknown user of the
    /// domain, 403 for an address in a domain the customer does not own.
    pub(crate) fn resolve_user_key(&self, key: &str, param: &str) -> Result<usize, GoogleError> {
        if let Some(i) = self.find_user(key) {
            return Ok(i);
        }
        if key.contains('@') && !self.in_domain(key) {
            return Err(GoogleError::not_authorized());
        }
        Err(GoogleError::not_found(param))
    }

    /// A group by e-mail or id.
    pub(crate) fn find_group(&self, key: &str) -> Option<usize> {
        self.groups
            .iter()
            .position(|g| g.id == key || g.email.eq_ignore_ascii_case(key))
    }

    /// Whether `customer` names this customer (`my_customer` or the id).
    pub(crate) fn is_customer(&self, customer: &str) -> bool {
        customer == "my_customer" || customer == self.customer_id
    }

    /// Groups a user directly belongs to, in creation order.
    pub(crate) fn groups_of(&self, user: usize) -> Vec<usize> {
        (0..self.groups.len())
            .filter(|&g| self.groups[g].members.contains(&user))
            .collect()
    }

    // ----- seeding ---------------------------------------------------------

    pub(crate) fn insert_user(&mut self, seed: &SeedUser) -> Result<usize, SeedError> {
        let email = seed.primary_email.trim().to_ascii_lowercase();
        if !email.contains('@') {
            return Err(SeedError::NotAnAddress(seed.primary_email.clone()));
        }
        if !self.in_domain(&email) {
            return Err(SeedError::ForeignAddress(email));
        }
        for address in std::iter::once(&email).chain(seed.aliases.iter()) {
            if self.find_user(address).is_some() {
                return Err(SeedError::Duplicate(address.clone()));
            }
        }
        let id = loop {
            let candidate = model::user_id(&mut self.rng);
            if self.find_user(&candidate).is_none() {
                break candidate;
            }
        };
        let now = Timestamp::now();
        let etag = self.fresh_etag();
        let tokens = seed
            .oauth_tokens
            .iter()
            .map(|t| OAuthGrant {
                client_id: t.client_id.clone(),
                display_text: t.display_text.clone(),
                scopes: t.scopes.clone(),
                native_app: t.native_app,
                anonymous: false,
            })
            .collect();
        let mut asps = Vec::new();
        for name in &seed.asps {
            self.next_asp += 1;
            let created = now.as_millisecond() - 86_400_000 * 30;
            asps.push(AspRecord {
                code_id: self.next_asp,
                name: name.clone(),
                creation_time_ms: created,
                last_time_used_ms: now.as_millisecond() - 3_600_000,
            });
        }
        let backup_codes = (0..seed.backup_codes)
            .map(|_| model::backup_code(&mut self.rng))
            .collect();
        let mut licenses = Vec::new();
        for (product_id, sku_id) in &seed.licenses {
            let seq = self.seq();
            licenses.push(LicenseRecord {
                product_id: product_id.clone(),
                sku_id: sku_id.clone(),
                seq,
            });
        }
        let org_unit_path = if seed.org_unit_path.trim().is_empty() {
            "/".to_owned()
        } else {
            seed.org_unit_path.clone()
        };
        self.users.push(UserRecord {
            id,
            primary_email: email.clone(),
            aliases: seed
                .aliases
                .iter()
                .map(|a| a.to_ascii_lowercase())
                .collect(),
            given_name: seed.given_name.clone(),
            family_name: seed.family_name.clone(),
            org_unit_path,
            is_admin: seed.is_admin,
            suspended: seed.suspended,
            suspension_reason: seed.suspended.then(|| "ADMIN".to_owned()),
            archived: false,
            change_password_at_next_login: false,
            include_in_gal: true,
            auto_license: seed.auto_license,
            creation_time: now,
            last_login_time: Some(now),
            etag,
            sessions: seed.sessions,
            tokens,
            asps,
            backup_codes,
            licenses,
            drive_private_files: seed.drive_private_files,
            drive_shared_files: seed.drive_shared_files,
            calendar_events: seed.calendar_events,
            mail: MailSettings::default(),
        });
        let user = self.users.len() - 1;
        for group in &seed.groups {
            let g = self.insert_group(group, "", "");
            if !self.groups[g].members.contains(&user) {
                self.groups[g].members.push(user);
            }
        }
        for device in &seed.devices {
            let seq = self.seq();
            let resource_id = model::device_resource_id(&mut self.rng);
            let device_id = crate::common::ids::alnum(&mut self.rng, 16).to_ascii_lowercase();
            let etag = self.fresh_etag();
            self.devices.push(DeviceRecord {
                resource_id,
                device_id,
                owner: user,
                model: device.model.clone(),
                os: device.os.clone(),
                device_type: device.device_type.clone(),
                status: device.status.clone(),
                first_sync: now,
                last_sync: now,
                etag,
                pending: None,
                seq,
            });
        }
        Ok(user)
    }

    /// Finds the group with this address or creates it.
    pub(crate) fn insert_group(&mut self, email: &str, name: &str, description: &str) -> usize {
        if let Some(g) = self.find_group(email) {
            if !name.is_empty() {
                self.groups[g].name = name.to_owned();
            }
            if !description.is_empty() {
                self.groups[g].description = description.to_owned();
            }
            return g;
        }
        let email = email.trim().to_ascii_lowercase();
        let id = model::group_id(&mut self.rng);
        let etag = self.fresh_etag();
        let name = if name.is_empty() {
            email.split('@').next().unwrap_or_default().to_owned()
        } else {
            name.to_owned()
        };
        self.groups.push(GroupRecord {
            id,
            email,
            name,
            description: description.to_owned(),
            etag,
            members: Vec::new(),
            roles: Vec::new(),
        });
        self.groups.len() - 1
    }

    // ----- audit -----------------------------------------------------------

    fn log(
        &mut self,
        kind: (&str, &str, &str),
        actor: &str,
        targets: Vec<String>,
        parameters: &[(&str, &str)],
    ) {
        let seq = u64::try_from(self.audit.len()).unwrap_or(u64::MAX) + 1;
        let parameters = parameters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.audit.push(AuditEvent::new(
            seq,
            self.timeline.now(),
            kind,
            actor,
            targets,
            parameters,
        ));
    }

    fn user_targets(&self, user: usize) -> Vec<String> {
        let u = &self.users[user];
        vec![u.primary_email.clone(), u.id.clone()]
    }

    fn log_user(
        &mut self,
        user: usize,
        (application, event_type, name): (&str, &str, &str),
        actor: &str,
        extra_targets: &[&str],
        extra: &[(&str, &str)],
    ) {
        let mut targets = self.user_targets(user);
        targets.extend(extra_targets.iter().map(|t| (*t).to_owned()));
        let email = self.users[user].primary_email.clone();
        let mut parameters: Vec<(&str, &str)> = vec![("USER_EMAIL", email.as_str())];
        parameters.extend_from_slice(extra);
        self.log((application, event_type, name), actor, targets, &parameters);
    }

    // ----- directory: users ------------------------------------------------

    /// Applies a `users.update`/`users.patch` body. Both have patch
    /// semantics: absent fields are kept. Read-only fields are ignored.
    pub(crate) fn update_user(
        &mut self,
        user: usize,
        body: &serde_json::Map<String, serde_json::Value>,
        caller: &Caller,
    ) -> Result<(), GoogleError> {
        use serde_json::Value;
        let flag = |field: &str| -> Result<Option<bool>, GoogleError> {
            match body.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Bool(b)) => Ok(Some(*b)),
                Some(_) => Err(GoogleError::invalid_input(field)),
            }
        };
        let suspended = flag("suspended")?;
        let archived = flag("archived")?;
        let change_password = flag("changePasswordAtNextLogin")?;
        let gal = flag("includeInGlobalAddressList")?;
        let org_unit = match body.get("orgUnitPath") {
            None | Some(Value::Null) => None,
            Some(Value::String(path)) if path.starts_with('/') => Some(path.clone()),
            Some(_) => return Err(GoogleError::invalid_input("orgUnitPath")),
        };
        let names = match body.get("name") {
            None | Some(Value::Null) => (None, None),
            Some(Value::Object(name)) => {
                let part = |key: &str| match name.get(key) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
                    Some(_) => Err(GoogleError::invalid_input(&format!("name.{key}"))),
                };
                (part("givenName")?, part("familyName")?)
            }
            Some(_) => return Err(GoogleError::invalid_input("name")),
        };
        if let Some(Value::String(email)) = body.get("primaryEmail")
            && !self.users[user].primary_email.eq_ignore_ascii_case(email)
        {
            // Renames are out of scope for offboarding; refuse rather than
            // half-apply.
            return Err(GoogleError::invalid_input("primaryEmail"));
        }

        let actor = caller.actor.clone();
        let mut changed = false;
        if suspended == Some(true) {
            let applied = !self.users[user].suspended;
            self.effect(effect::SUSPEND, user, "", applied);
        }
        if let Some(s) = suspended
            && s != self.users[user].suspended
        {
            self.users[user].suspended = s;
            self.users[user].suspension_reason = s.then(|| "ADMIN".to_owned());
            let name = if s {
                event_name::SUSPEND_USER
            } else {
                event_name::UNSUSPEND_USER
            };
            self.log_user(user, ("admin", "USER_SETTINGS", name), &actor, &[], &[]);
            changed = true;
        }
        if let Some(a) = archived
            && a != self.users[user].archived
        {
            self.users[user].archived = a;
            let name = if a {
                event_name::ARCHIVE_USER
            } else {
                event_name::UNARCHIVE_USER
            };
            self.log_user(user, ("admin", "USER_SETTINGS", name), &actor, &[], &[]);
            changed = true;
        }
        if let Some(path) = org_unit
            && path != self.users[user].org_unit_path
        {
            self.users[user].org_unit_path = path.clone();
            // Auto-licensing belongs to the OU the user left.
            self.users[user].auto_license = false;
            self.log_user(
                user,
                ("admin", "USER_SETTINGS", event_name::MOVE_USER_TO_ORG_UNIT),
                &actor,
                &[],
                &[("ORG_UNIT_NAME", path.as_str())],
            );
            changed = true;
        }
        let u = &mut self.users[user];
        for (value, slot) in [
            (change_password, &mut u.change_password_at_next_login),
            (gal, &mut u.include_in_gal),
        ] {
            if let Some(v) = value
                && v != *slot
            {
                *slot = v;
                changed = true;
            }
        }
        if let Some(g) = names.0
            && g != u.given_name
        {
            u.given_name = g;
            changed = true;
        }
        if let Some(f) = names.1
            && f != u.family_name
        {
            u.family_name = f;
            changed = true;
        }
        if changed {
            self.users[user].etag = self.fresh_etag();
        }
        Ok(())
    }

    /// `users.signOut`: ends every web session.
    pub(crate) fn sign_out(&mut self, user: usize, caller: &Caller) {
        let live = self.users[user].sessions > 0;
        self.effect(effect::REVOKE_SESSIONS, user, "", live);
        if live {
            self.users[user].sessions = 0;
            self.log_user(
                user,
                ("admin", "USER_SETTINGS", event_name::RESET_SIGNIN_COOKIES),
                &caller.actor,
                &[],
                &[],
            );
        }
    }

    /// `tokens.delete`.
    pub(crate) fn delete_token(
        &mut self,
        user: usize,
        client_id: &str,
        caller: &Caller,
    ) -> Result<(), GoogleError> {
        let position = self.users[user]
            .tokens
            .iter()
            .position(|t| t.client_id == client_id);
        self.effect(effect::REVOKE_GRANTS, user, client_id, position.is_some());
        let position = position.ok_or_else(|| GoogleError::not_found("clientId"))?;
        self.users[user].tokens.remove(position);
        self.log_user(
            user,
            ("admin", "USER_SETTINGS", event_name::REVOKE_3LO_TOKEN),
            &caller.actor,
            &[client_id],
            &[("APP_ID", client_id)],
        );
        Ok(())
    }

    /// `asps.delete`.
    pub(crate) fn delete_asp(
        &mut self,
        user: usize,
        code_id: i32,
        caller: &Caller,
    ) -> Result<(), GoogleError> {
        let position = self.users[user]
            .asps
            .iter()
            .position(|a| a.code_id == code_id);
        let object = format!("asp:{code_id}");
        self.effect(effect::REVOKE_GRANTS, user, &object, position.is_some());
        let position = position.ok_or_else(|| GoogleError::not_found("codeId"))?;
        self.users[user].asps.remove(position);
        let id = code_id.to_string();
        self.log_user(
            user,
            ("admin", "USER_SETTINGS", event_name::REVOKE_ASP),
            &caller.actor,
            &[],
            &[("ASP_ID", id.as_str())],
        );
        Ok(())
    }

    /// `verificationCodes.invalidate`.
    pub(crate) fn invalidate_codes(&mut self, user: usize, caller: &Caller) {
        if !self.users[user].backup_codes.is_empty() {
            self.users[user].backup_codes.clear();
            self.log_user(
                user,
                (
                    "admin",
                    "USER_SETTINGS",
                    event_name::DELETE_2SV_SCRATCH_CODES,
                ),
                &caller.actor,
                &[],
                &[],
            );
        }
    }

    // ----- directory: groups -----------------------------------------------

    /// `members.delete`: 404 `groupKey` for an unknown group, 404
    /// `memberKey` when the member is not (or no longer) in it.
    pub(crate) fn remove_member(
        &mut self,
        group_key: &str,
        member_key: &str,
        caller: &Caller,
    ) -> Result<(), GoogleError> {
        let group = self
            .find_group(group_key)
            .ok_or_else(|| GoogleError::not_found("groupKey"))?;
        let user = self
            .find_user(member_key)
            .ok_or_else(|| GoogleError::not_found("memberKey"))?;
        let position = self.groups[group].members.iter().position(|&m| m == user);
        let group_id = self.groups[group].id.clone();
        self.effect(
            effect::REMOVE_MEMBERSHIP,
            user,
            &group_id,
            position.is_some(),
        );
        let position = position.ok_or_else(|| GoogleError::not_found("memberKey"))?;
        let (now, lag) = (self.timeline.now(), self.timeline.read_lag());
        self.member_lag.wrote((group, user), || true, now, lag);
        self.groups[group].members.remove(position);
        self.groups[group].set_role(user, "MEMBER");
        self.groups[group].etag = self.fresh_etag();
        let group_email = self.groups[group].email.clone();
        let group_id = self.groups[group].id.clone();
        self.log_user(
            user,
            ("admin", "GROUP_SETTINGS", event_name::REMOVE_GROUP_MEMBER),
            &caller.actor,
            &[group_email.as_str(), group_id.as_str()],
            &[("GROUP_EMAIL", group_email.as_str())],
        );
        Ok(())
    }

    // ----- directory: mobile devices ---------------------------------------

    pub(crate) fn find_device(&self, resource_id: &str) -> Option<usize> {
        self.devices
            .iter()
            .position(|d| d.resource_id == resource_id)
    }

    /// `mobiledevices.action`. Wipes start in `WIPING`/`ACCOUNT_WIPING`
    /// and finish (`WIPED`/`ACCOUNT_WIPED`) as the device is read back or
    /// time passes. An action that changes nothing logs nothing.
    pub(crate) fn device_action(
        &mut self,
        device: usize,
        action: &str,
        caller: &Caller,
    ) -> Result<(), GoogleError> {
        let now = self.timeline.now();
        self.advance_device(device, false);
        let status = self.devices[device].status.clone();
        let wiping = matches!(status.as_str(), "WIPING" | "ACCOUNT_WIPING");
        let (next, pending): (Option<&str>, Option<&str>) = match action {
            "admin_remote_wipe" => match status.as_str() {
                "WIPING" | "WIPED" => (None, None),
                _ => (Some("WIPING"), Some("WIPED")),
            },
            "admin_account_wipe" => match status.as_str() {
                "ACCOUNT_WIPING" | "ACCOUNT_WIPED" | "WIPING" | "WIPED" => (None, None),
                _ => (Some("ACCOUNT_WIPING"), Some("ACCOUNT_WIPED")),
            },
            "approve" => match status.as_str() {
                "APPROVED" => (None, None),
                "PENDING" | "BLOCKED" => (Some("APPROVED"), None),
                _ => {
                    return Err(GoogleError::failed_precondition(
                        "Precondition check failed.",
                    ));
                }
            },
            "block" => match status.as_str() {
                "BLOCKED" => (None, None),
                "APPROVED" | "PENDING" => (Some("BLOCKED"), None),
                _ => {
                    return Err(GoogleError::failed_precondition(
                        "Precondition check failed.",
                    ));
                }
            },
            "cancel_remote_wipe_then_activate" if wiping => (Some("APPROVED"), None),
            "cancel_remote_wipe_then_block" if wiping => (Some("BLOCKED"), None),
            "cancel_remote_wipe_then_activate" | "cancel_remote_wipe_then_block" => (None, None),
            _ => return Err(GoogleError::invalid_input("action")),
        };
        let (owner, resource_id) = (
            self.devices[device].owner,
            self.devices[device].resource_id.clone(),
        );
        self.effect(effect::SECURE_DEVICE, owner, &resource_id, next.is_some());
        let Some(next) = next else {
            return Ok(());
        };
        let d = &mut self.devices[device];
        d.status = next.to_owned();
        d.pending = pending.map(|p| (p.to_owned(), now));
        let owner = d.owner;
        let resource_id = d.resource_id.clone();
        self.devices[device].etag = self.fresh_etag();
        self.log_user(
            owner,
            ("admin", "MOBILE_SETTINGS", event_name::MOBILE_DEVICE_ACTION),
            &caller.actor,
            &[resource_id.as_str()],
            &[("ACTION_TYPE", action), ("DEVICE_ID", resource_id.as_str())],
        );
        Ok(())
    }

    /// Moves a pending wipe forward: exactly when long operations say it
    /// is done if they are configured; otherwise on a read, or once
    /// `async_step` has elapsed without reads.
    pub(crate) fn advance_device(&mut self, device: usize, read: bool) {
        let now = self.timeline.now();
        let long = self.timeline.long_ops();
        let step = long.unwrap_or(self.async_step);
        let read = read && long.is_none();
        let d = &mut self.devices[device];
        if let Some((target, since)) = d.pending.clone()
            && (read || elapsed(now, since) >= step)
        {
            d.status = target;
            d.pending = None;
        }
    }

    // ----- licensing -------------------------------------------------------

    pub(crate) fn find_license(
        &self,
        user: usize,
        product_id: &str,
        sku_id: &str,
    ) -> Option<usize> {
        self.users[user]
            .licenses
            .iter()
            .position(|l| l.product_id == product_id && l.sku_id == sku_id)
    }

    /// `licenseAssignments.delete`: 404 when not assigned, 412 when the
    /// user's OU assigns licences automatically.
    /// `members.insert`: adds a user to a group with a role (`MEMBER`, `MANAGER`, `OWNER`);
    /// 409 `duplicate` when already a member.
    pub(crate) fn add_member(
        &mut self,
        group_key: &str,
        member_key: &str,
        role: &str,
        caller: &Caller,
    ) -> Result<(), GoogleError> {
        let group = self
            .find_group(group_key)
            .ok_or_else(|| GoogleError::not_found("groupKey"))?;
        let user = self
            .find_user(member_key)
            .ok_or_else(|| GoogleError::not_found("memberKey"))?;
        if self.groups[group].members.contains(&user) {
            return Err(GoogleError::duplicate("Member already exists."));
        }
        let (now, lag) = (self.timeline.now(), self.timeline.read_lag());
        self.member_lag.wrote((group, user), || false, now, lag);
        self.groups[group].members.push(user);
        self.groups[group].set_role(user, role);
        self.groups[group].etag = self.fresh_etag();
        let group_email = self.groups[group].email.clone();
        let group_id = self.groups[group].id.clone();
        self.log_user(
            user,
            ("admin", "GROUP_SETTINGS", event_name::ADD_GROUP_MEMBER),
            &caller.actor,
            &[group_email.as_str(), group_id.as_str()],
            &[("GROUP_EMAIL", group_email.as_str())],
        );
        Ok(())
    }

    /// `licenseAssignments.insert`: 409 `duplicate` for a licence the user already holds.
    pub(crate) fn insert_license(
        &mut self,
        user: usize,
        product_id: &str,
        sku_id: &str,
        caller: &Caller,
    ) -> Result<(), GoogleError> {
        if self.find_license(user, product_id, sku_id).is_some() {
            return Err(GoogleError::duplicate(
                "User already has a license for the specified product and SKU",
            ));
        }
        let seq = self.seq();
        self.users[user].licenses.push(LicenseRecord {
            product_id: product_id.to_owned(),
            sku_id: sku_id.to_owned(),
            seq,
        });
        let (product_name, sku_name) =
            model::sku_names(product_id, sku_id).unwrap_or((product_id, sku_id));
        self.log_user(
            user,
            (
                "admin",
                "LICENSES_SETTINGS",
                event_name::USER_LICENSE_ASSIGNMENT,
            ),
            &caller.actor,
            &[sku_id],
            &[("PRODUCT_NAME", product_name), ("SKU_NAME", sku_name)],
        );
        Ok(())
    }

    pub(crate) fn delete_license(
        &mut self,
        user: usize,
        product_id: &str,
        sku_id: &str,
        caller: &Caller,
    ) -> Result<(), GoogleError> {
        let position = self
            .find_license(user, product_id, sku_id)
            .ok_or_else(GoogleError::license_not_found)
            .inspect_err(|_| {
                let id = self.users[user].id.clone();
                self.effects
                    .record(effect::REMOVE_LICENSE, &id, sku_id, false);
            })?;
        if self.users[user].auto_license {
            return Err(GoogleError::condition_not_met(
                "Auto License un-assignment is not allowed.",
            ));
        }
        self.users[user].licenses.remove(position);
        self.effect(effect::REMOVE_LICENSE, user, sku_id, true);
        let (product_name, sku_name) =
            model::sku_names(product_id, sku_id).unwrap_or((product_id, sku_id));
        self.log_user(
            user,
            (
                "admin",
                "LICENSES_SETTINGS",
                event_name::USER_LICENSE_REVOKE,
            ),
            &caller.actor,
            &[sku_id],
            &[("PRODUCT_NAME", product_name), ("SKU_NAME", sku_name)],
        );
        Ok(())
    }

    // ----- data transfer ---------------------------------------------------

    pub(crate) fn find_transfer(&self, id: &str) -> Option<usize> {
        self.transfers.iter().position(|t| t.id == id)
    }

    /// A completed Drive transfer requested at `at`, before the test's run:
    /// no audit event and no effect, as if another admin had made it long ago.
    pub(crate) fn seed_past_transfer(
        &mut self,
        old_owner: usize,
        new_owner: usize,
        at: Timestamp,
    ) -> String {
        let id = model::transfer_id(&mut self.rng);
        let etag = self.fresh_etag();
        let seq = self.seq();
        self.transfers.push(TransferRecord {
            id: id.clone(),
            old_owner,
            new_owner,
            apps: vec![AppTransfer {
                application_id: APP_DRIVE.to_owned(),
                params: vec![("PRIVACY_LEVEL".to_owned(), vec!["SHARED".to_owned()])],
            }],
            status: TransferStatus::Completed,
            request_time: at,
            last_step: at,
            etag,
            seq,
        });
        id
    }

    /// `transfers.insert`. Every insert is a new transfer: the API is not
    /// idempotent.
    pub(crate) fn insert_transfer(
        &mut self,
        old_owner: usize,
        new_owner: usize,
        apps: Vec<AppTransfer>,
        caller: &Caller,
    ) -> usize {
        let id = model::transfer_id(&mut self.rng);
        let etag = self.fresh_etag();
        let seq = self.seq();
        let names: Vec<&str> = apps
            .iter()
            .map(|a| match a.application_id.as_str() {
                APP_DRIVE => "Drive and Docs",
                APP_CALENDAR => "Calendar",
                other => other,
            })
            .collect();
        let application_names = names.join(",");
        self.transfers.push(TransferRecord {
            id: id.clone(),
            old_owner,
            new_owner,
            apps,
            status: TransferStatus::New,
            request_time: self.timeline.now(),
            last_step: self.timeline.now(),
            etag,
            seq,
        });
        self.effect(effect::TRANSFER_DATA, old_owner, &id, true);
        let destination = self.users[new_owner].primary_email.clone();
        self.log_user(
            old_owner,
            (
                "admin",
                "USER_SETTINGS",
                event_name::CREATE_DATA_TRANSFER_REQUEST,
            ),
            &caller.actor,
            &[id.as_str()],
            &[
                ("DESTINATION_USER_EMAIL", destination.as_str()),
                ("APPLICATION_NAME", application_names.as_str()),
            ],
        );
        self.transfers.len() - 1
    }

    /// Moves a transfer forward (`new` → `inProgress` → `completed`): with
    /// long operations configured, it is `inProgress` from its first read
    /// until exactly that long after it was requested; otherwise one step
    /// per read, or one per elapsed `async_step`. Completion moves the data
    /// and logs it.
    pub(crate) fn advance_transfer(&mut self, transfer: usize, read: bool) {
        let now = self.timeline.now();
        if let Some(takes) = self.timeline.long_ops() {
            self.advance_long_transfer(transfer, now, takes, read);
            return;
        }
        let step = self.async_step;
        loop {
            let t = &self.transfers[transfer];
            if t.status == TransferStatus::Completed {
                return;
            }
            let due = !step.is_zero() && elapsed(now, t.last_step) >= step;
            if !(due || read) {
                return;
            }
            let next = match t.status {
                TransferStatus::New => TransferStatus::InProgress,
                _ => TransferStatus::Completed,
            };
            let last = if due {
                Timeline::after(t.last_step, step)
            } else {
                now
            };
            self.transfers[transfer].status = next;
            self.transfers[transfer].last_step = last;
            self.transfers[transfer].etag = model::etag(&mut self.rng);
            if next == TransferStatus::Completed {
                self.complete_transfer(transfer);
            }
            if !due {
                return;
            }
        }
    }

    fn advance_long_transfer(
        &mut self,
        transfer: usize,
        now: Timestamp,
        takes: Duration,
        read: bool,
    ) {
        let t = &self.transfers[transfer];
        let next = if t.status == TransferStatus::Completed {
            return;
        } else if elapsed(now, t.request_time) >= takes {
            TransferStatus::Completed
        } else if read || t.status == TransferStatus::InProgress {
            TransferStatus::InProgress
        } else {
            return;
        };
        if next == t.status {
            return;
        }
        self.transfers[transfer].status = next;
        self.transfers[transfer].last_step = now;
        self.transfers[transfer].etag = model::etag(&mut self.rng);
        if next == TransferStatus::Completed {
            self.complete_transfer(transfer);
        }
    }

    fn complete_transfer(&mut self, transfer: usize) {
        let t = self.transfers[transfer].clone();
        let (old, new) = (t.old_owner, t.new_owner);
        let new_email = self.users[new].primary_email.clone();
        for app in &t.apps {
            match app.application_id.as_str() {
                APP_DRIVE => {
                    let levels: Vec<String> = app
                        .params
                        .iter()
                        .find(|(k, _)| k == "PRIVACY_LEVEL")
                        .map(|(_, v)| v.iter().map(|s| s.to_ascii_uppercase()).collect())
                        .unwrap_or_else(|| vec!["SHARED".to_owned()]);
                    let mut moved = 0;
                    if levels.iter().any(|l| l == "PRIVATE") {
                        moved += std::mem::take(&mut self.users[old].drive_private_files);
                    }
                    if levels.iter().any(|l| l == "SHARED") {
                        moved += std::mem::take(&mut self.users[old].drive_shared_files);
                    }
                    self.users[new].drive_shared_files += moved;
                    let count = moved.to_string();
                    self.log_user(
                        old,
                        ("drive", "acl_change", event_name::CHANGE_OWNER),
                        "system",
                        &[t.id.as_str()],
                        &[
                            ("new_owner", new_email.as_str()),
                            ("doc_count", count.as_str()),
                        ],
                    );
                }
                APP_CALENDAR => {
                    let moved = std::mem::take(&mut self.users[old].calendar_events);
                    self.users[new].calendar_events += moved;
                    let count = moved.to_string();
                    self.log_user(
                        old,
                        ("calendar", "calendar_change", event_name::TRANSFER_CALENDAR),
                        "system",
                        &[t.id.as_str()],
                        &[
                            ("new_owner", new_email.as_str()),
                            ("event_count", count.as_str()),
                        ],
                    );
                }
                _ => {}
            }
        }
    }

    /// Lets time-based progress catch up everywhere (used by accessors).
    pub(crate) fn advance_all(&mut self) {
        for t in 0..self.transfers.len() {
            self.advance_transfer(t, false);
        }
        for d in 0..self.devices.len() {
            self.advance_device(d, false);
        }
        let now = self.timeline.now();
        for user in &mut self.users {
            for f in &mut user.mail.forwarding_addresses {
                if f.verify_at.is_some_and(|at| at <= now) {
                    f.verification_status = "accepted".to_owned();
                    f.verify_at = None;
                }
            }
        }
    }

    // ----- gmail -----------------------------------------------------------

    /// `settings.delegates.create`.
    pub(crate) fn add_delegate(
        &mut self,
        owner: usize,
        delegate_email: &str,
        caller: &Caller,
    ) -> Result<(), GoogleError> {
        let delegate = self
            .users
            .iter()
            .position(|u| u.primary_email.eq_ignore_ascii_case(delegate_email))
            // The delegate must be a primary address of an active user of
            // the same organisation, and not the owner.
            .filter(|&d| d != owner && !self.users[d].suspended)
            .ok_or_else(|| GoogleError::failed_precondition("Bad Request"))?;
        let email = self.users[delegate].primary_email.clone();
        if self.users[owner]
            .mail
            .delegates
            .iter()
            .any(|d| d.email == email)
        {
            self.effect(effect::DELEGATE_MAILBOX, owner, &email, false);
            return Err(GoogleError::already_exists("Delegate already exists."));
        }
        self.effect(effect::DELEGATE_MAILBOX, owner, &email, true);
        self.users[owner].mail.delegates.push(model::Delegate {
            email: email.clone(),
            verification_status: "accepted".to_owned(),
        });
        self.log_user(
            owner,
            ("gmail", "settings", event_name::ADD_DELEGATE),
            &caller.actor,
            &[email.as_str()],
            &[("DELEGATE_EMAIL", email.as_str())],
        );
        Ok(())
    }

    /// `settings.delegates.delete`.
    pub(crate) fn remove_delegate(
        &mut self,
        owner: usize,
        delegate_email: &str,
        caller: &Caller,
    ) -> Result<(), GoogleError> {
        let position = self.users[owner]
            .mail
            .delegates
            .iter()
            .position(|d| d.email.eq_ignore_ascii_case(delegate_email))
            .ok_or_else(GoogleError::entity_not_found)?;
        let removed = self.users[owner].mail.delegates.remove(position);
        self.log_user(
            owner,
            ("gmail", "settings", event_name::REMOVE_DELEGATE),
            &caller.actor,
            &[removed.email.as_str()],
            &[("DELEGATE_EMAIL", removed.email.as_str())],
        );
        Ok(())
    }

    /// `settings.forwardingAddresses.create`: addresses in the domain are
    /// accepted at once; others wait for the recipient to confirm.
    pub(crate) fn add_forwarding_address(
        &mut self,
        owner: usize,
        email: &str,
        caller: &Caller,
    ) -> Result<(), GoogleError> {
        let email = email.trim().to_ascii_lowercase();
        if self.users[owner]
            .mail
            .forwarding_addresses
            .iter()
            .any(|f| f.email == email)
        {
            self.effect(effect::FORWARD_MAIL, owner, &email, false);
            return Err(GoogleError::already_exists(
                "Forwarding address already exists.",
            ));
        }
        let status = if self.in_domain(&email) {
            "accepted"
        } else {
            "pending"
        };
        self.effect(effect::FORWARD_MAIL, owner, &email, true);
        let verify_at = (status == "pending")
            .then(|| self.timeline.long_ops())
            .flatten()
            .map(|takes| Timeline::after(self.timeline.now(), takes));
        self.users[owner]
            .mail
            .forwarding_addresses
            .push(model::ForwardingAddress {
                email: email.clone(),
                verification_status: status.to_owned(),
                verify_at,
            });
        self.log_user(
            owner,
            ("gmail", "settings", event_name::ADD_FORWARDING_ADDRESS),
            &caller.actor,
            &[email.as_str()],
            &[
                ("FORWARDING_EMAIL", email.as_str()),
                ("VERIFICATION_STATUS", status),
            ],
        );
        Ok(())
    }

    /// `settings.forwardingAddresses.delete`. Auto-forwarding to the
    /// removed address is switched off, as Gmail does.
    pub(crate) fn remove_forwarding_address(
        &mut self,
        owner: usize,
        email: &str,
        caller: &Caller,
    ) -> Result<(), GoogleError> {
        let mail = &mut self.users[owner].mail;
        let position = mail
            .forwarding_addresses
            .iter()
            .position(|f| f.email.eq_ignore_ascii_case(email))
            .ok_or_else(GoogleError::entity_not_found)?;
        let removed = mail.forwarding_addresses.remove(position);
        if mail
            .auto_forwarding
            .email_address
            .as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case(&removed.email))
        {
            mail.auto_forwarding = model::AutoForwarding::default();
        }
        self.log_user(
            owner,
            ("gmail", "settings", event_name::REMOVE_FORWARDING_ADDRESS),
            &caller.actor,
            &[removed.email.as_str()],
            &[("FORWARDING_EMAIL", removed.email.as_str())],
        );
        Ok(())
    }

    /// `settings.updateAutoForwarding`.
    pub(crate) fn set_auto_forwarding(
        &mut self,
        owner: usize,
        settings: model::AutoForwarding,
        caller: &Caller,
    ) -> Result<(), GoogleError> {
        if settings.enabled {
            let verified = settings.email_address.as_deref().is_some_and(|address| {
                self.users[owner].mail.forwarding_addresses.iter().any(|f| {
                    f.email.eq_ignore_ascii_case(address) && f.verification_status == "accepted"
                })
            });
            if !verified {
                return Err(GoogleError::failed_precondition(
                    "Unverified forwarding address",
                ));
            }
        }
        if self.users[owner].mail.auto_forwarding == settings {
            return Ok(());
        }
        let enabled = settings.enabled.to_string();
        let address = settings.email_address.clone().unwrap_or_default();
        self.users[owner].mail.auto_forwarding = settings;
        self.log_user(
            owner,
            ("gmail", "settings", event_name::CHANGE_AUTO_FORWARDING),
            &caller.actor,
            &[],
            &[
                ("ENABLED", enabled.as_str()),
                ("FORWARDING_EMAIL", address.as_str()),
            ],
        );
        Ok(())
    }

    /// `settings.updateVacation` (full replacement).
    pub(crate) fn set_vacation(
        &mut self,
        owner: usize,
        vacation: model::Vacation,
        caller: &Caller,
    ) {
        let same = self.users[owner].mail.vacation == vacation;
        self.effect(effect::SET_AUTO_REPLY, owner, "", !same);
        if same {
            return;
        }
        let enabled = vacation.enable_auto_reply.to_string();
        self.users[owner].mail.vacation = vacation;
        self.log_user(
            owner,
            ("gmail", "settings", event_name::CHANGE_VACATION),
            &caller.actor,
            &[],
            &[("ENABLE_AUTO_REPLY", enabled.as_str())],
        );
    }

    // ----- views -----------------------------------------------------------

    pub(crate) fn user_view(&self, user: usize) -> UserView {
        let u = &self.users[user];
        UserView {
            id: u.id.clone(),
            primary_email: u.primary_email.clone(),
            aliases: u.aliases.clone(),
            org_unit_path: u.org_unit_path.clone(),
            is_admin: u.is_admin,
            suspended: u.suspended,
            suspension_reason: u.suspension_reason.clone(),
            archived: u.archived,
            auto_license: u.auto_license,
            sessions: u.sessions,
            tokens: u
                .tokens
                .iter()
                .map(|t| TokenView {
                    client_id: t.client_id.clone(),
                    display_text: t.display_text.clone(),
                    scopes: t.scopes.clone(),
                })
                .collect(),
            asps: u
                .asps
                .iter()
                .map(|a| AspView {
                    code_id: a.code_id,
                    name: a.name.clone(),
                })
                .collect(),
            backup_codes: u.backup_codes.len(),
            groups: self
                .groups_of(user)
                .into_iter()
                .map(|g| self.groups[g].email.clone())
                .collect(),
            licenses: u
                .licenses
                .iter()
                .map(|l| LicenseView {
                    product_id: l.product_id.clone(),
                    sku_id: l.sku_id.clone(),
                })
                .collect(),
            delegates: u
                .mail
                .delegates
                .iter()
                .map(|d| DelegateView {
                    email: d.email.clone(),
                    verification_status: d.verification_status.clone(),
                })
                .collect(),
            forwarding_addresses: u
                .mail
                .forwarding_addresses
                .iter()
                .map(|f| ForwardingView {
                    email: f.email.clone(),
                    verification_status: f.verification_status.clone(),
                })
                .collect(),
            auto_forwarding: AutoForwardingView {
                enabled: u.mail.auto_forwarding.enabled,
                email_address: u.mail.auto_forwarding.email_address.clone(),
                disposition: u.mail.auto_forwarding.disposition.clone(),
            },
            vacation: VacationView {
                enable_auto_reply: u.mail.vacation.enable_auto_reply,
                response_subject: u.mail.vacation.response_subject.clone(),
                response_body_plain_text: u.mail.vacation.response_body_plain_text.clone(),
                restrict_to_domain: u.mail.vacation.restrict_to_domain,
            },
            devices: self
                .devices
                .iter()
                .filter(|d| d.owner == user)
                .map(|d| DeviceView {
                    resource_id: d.resource_id.clone(),
                    model: d.model.clone(),
                    status: d.status.clone(),
                })
                .collect(),
            drive_private_files: u.drive_private_files,
            drive_shared_files: u.drive_shared_files,
            calendar_events: u.calendar_events,
        }
    }

    pub(crate) fn transfer_views(&self) -> Vec<TransferView> {
        self.transfers
            .iter()
            .map(|t| TransferView {
                id: t.id.clone(),
                old_owner: self.users[t.old_owner].primary_email.clone(),
                new_owner: self.users[t.new_owner].primary_email.clone(),
                application_ids: t.apps.iter().map(|a| a.application_id.clone()).collect(),
                status: t.status,
            })
            .collect()
    }

    /// Marks a pending forwarding address as confirmed by its recipient.
    pub(crate) fn confirm_forwarding(&mut self, owner: usize, email: &str) -> bool {
        let mut found = false;
        for f in &mut self.users[owner].mail.forwarding_addresses {
            if f.email.eq_ignore_ascii_case(email) {
                f.verification_status = "accepted".to_owned();
                f.verify_at = None;
                found = true;
            }
        }
        found
    }
}

/// Time from `since` to `now`, zero if `since` is later.
fn elapsed(now: Timestamp, since: Timestamp) -> Duration {
    Duration::try_from(now.duration_since(since)).unwrap_or(Duration::ZERO)
}
