//! The emulated tenant: organisations with their users, user groups,
//! systems, Apple MDM devices, security commands and command results, plus
//! the audit trail.
//!
//! Mutations validate everything before changing anything, answer with
//! JumpCloud's status codes where it refuses, and write an audit event only
//! when state actually changes.

use std::sync::Arc;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};

use crate::common::counters::{EffectBook, effect};
use crate::common::timeline::Timeline;
use crate::common::{clock, ids};
use crate::jumpcloud::audit::{AuditEvent, EventSpec, Origin, event_type};
use crate::jumpcloud::errors::{ApiFamily, JcError};
use crate::jumpcloud::model::{
    AppleMdmRecord, CommandChannel, CommandKind, CommandRecord, CommandResultRecord, DeviceRecord,
    GroupRecord, ObjectIds, SystemRecord, UserRecord, UserState,
};
use crate::jumpcloud::seed::{SeedError, SeedGroup, SeedSystem, SeedUser};
use crate::jumpcloud::views::{CommandView, GroupView, SystemView, UserView};

/// `systemuserput` fields stored and echoed back as sent. Modelled fields
/// (state, names, e-mail, …) are handled separately; `password` is
/// accepted but never echoed.
const EXTRA_USER_FIELDS: &[&str] = &[
    "addresses",
    "allow_public_key",
    "alternateEmail",
    "attributes",
    "company",
    "costCenter",
    "description",
    "disableDeviceMaxLoginAttempts",
    "employeeType",
    "enable_managed_uid",
    "enable_user_portal_multifactor",
    "external_dn",
    "external_password_expiration_date",
    "external_source_type",
    "externally_managed",
    "ldap_binding_user",
    "location",
    "managedAppleId",
    "mfa",
    "middlename",
    "password_never_expires",
    "phoneNumbers",
    "public_key",
    "relationships",
    "samba_service_user",
    "sudo",
];

/// One organisation's data.
#[derive(Debug)]
pub struct Org {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) users: Vec<UserRecord>,
    pub(crate) groups: Vec<GroupRecord>,
    pub(crate) systems: Vec<SystemRecord>,
    pub(crate) mdm: Option<AppleMdmRecord>,
    pub(crate) devices: Vec<DeviceRecord>,
    pub(crate) commands: Vec<CommandRecord>,
    pub(crate) results: Vec<CommandResultRecord>,
}

impl Org {
    fn new(id: String, name: String) -> Self {
        Self {
            id,
            name,
            users: Vec::new(),
            groups: Vec::new(),
            systems: Vec::new(),
            mdm: None,
            devices: Vec::new(),
            commands: Vec::new(),
            results: Vec::new(),
        }
    }

    /// The organisation id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn user_by_id(&self, id: &str) -> Option<usize> {
        self.users.iter().position(|u| u.id == id)
    }

    /// By id, or e-mail (case-insensitive).
    pub(crate) fn find_user(&self, id_or_email: &str) -> Option<usize> {
        self.user_by_id(id_or_email).or_else(|| {
            self.users
                .iter()
                .position(|u| u.email.eq_ignore_ascii_case(id_or_email))
        })
    }

    pub(crate) fn group_by_id(&self, id: &str) -> Option<usize> {
        self.groups.iter().position(|g| g.id == id)
    }

    fn find_group(&self, id_or_name: &str) -> Option<usize> {
        self.group_by_id(id_or_name)
            .or_else(|| self.groups.iter().position(|g| g.name == id_or_name))
    }

    pub(crate) fn system_by_id(&self, id: &str) -> Option<usize> {
        self.systems.iter().position(|s| s.id == id)
    }

    pub(crate) fn device_by_id(&self, id: &str) -> Option<usize> {
        self.devices.iter().position(|d| d.id == id)
    }

    pub(crate) fn system_of_device(&self, device: usize) -> Option<&SystemRecord> {
        self.system_by_id(&self.devices[device].system_id)
            .map(|s| &self.systems[s])
    }

    /// Groups the user belongs to, in group (creation) order.
    pub(crate) fn groups_of(&self, user_id: &str) -> Vec<usize> {
        (0..self.groups.len())
            .filter(|&g| self.groups[g].members.iter().any(|m| m == user_id))
            .collect()
    }

    /// Systems bound to the user, with the sudo flag.
    pub(crate) fn systems_of(&self, user_id: &str) -> Vec<(usize, bool)> {
        self.systems
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.bound_users
                    .iter()
                    .find(|(u, _)| u == user_id)
                    .map(|(_, sudo)| (i, *sudo))
            })
            .collect()
    }
}

/// Everything behind the emulator's mutex.
#[derive(Debug)]
pub struct JumpCloudState {
    rng: StdRng,
    ids: ObjectIds,
    next_uid: u32,
    pub(crate) orgs: Vec<Org>,
    pub(crate) events: Vec<AuditEvent>,
    timeline: Arc<Timeline>,
    /// Every effect requested through the API, first times and repeats apart.
    pub(crate) effects: EffectBook,
}

impl JumpCloudState {
    /// A tenant with one (primary) organisation.
    pub(crate) fn new(seed: u64, primary_name: &str, timeline: Arc<Timeline>) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let ids = ObjectIds::new(&mut rng);
        let mut state = Self {
            rng,
            ids,
            next_uid: 5000,
            orgs: Vec::new(),
            events: Vec::new(),
            timeline,
            effects: EffectBook::default(),
        };
        state.add_org(primary_name);
        state
    }

    /// Carries out the queued commands whose time has come in every organisation. Called
    /// before every request and accessor, so nobody sees a command late.
    pub(crate) fn settle(&mut self) {
        for org in 0..self.orgs.len() {
            self.run_pending(org);
        }
    }

    pub(crate) fn next_id(&mut self) -> String {
        self.ids.next()
    }

    pub(crate) fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }

    /// Adds an organisation; returns its id.
    pub(crate) fn add_org(&mut self, name: &str) -> String {
        let id = self.next_id();
        self.orgs.push(Org::new(id.clone(), name.to_owned()));
        id
    }

    /// The first organisation.
    pub fn primary_org(&self) -> &Org {
        &self.orgs[0]
    }

    /// Every organisation, primary first.
    pub fn orgs(&self) -> &[Org] {
        &self.orgs
    }

    pub(crate) fn org_index(&self, id: &str) -> Option<usize> {
        self.orgs.iter().position(|o| o.id == id)
    }

    fn seed_org(&self, org: Option<&String>) -> Result<usize, SeedError> {
        match org {
            None => Ok(0),
            Some(id) => self
                .org_index(id)
                .ok_or_else(|| SeedError::UnknownOrg(id.clone())),
        }
    }

    // ----- seeding ------------------------------------------------------

    pub(crate) fn insert_group(&mut self, seed: &SeedGroup) -> Result<String, SeedError> {
        let org = self.seed_org(seed.org.as_ref())?;
        Ok(self.group_in(org, &seed.name, &seed.description))
    }

    fn group_in(&mut self, org: usize, name: &str, description: &str) -> String {
        if let Some(g) = self.orgs[org].find_group(name) {
            return self.orgs[org].groups[g].id.clone();
        }
        let id = self.next_id();
        let slug: String = name
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        self.orgs[org].groups.push(GroupRecord {
            id: id.clone(),
            name: name.to_owned(),
            description: description.to_owned(),
            email: format!("{slug}@groups.example.com"),
            members: Vec::new(),
        });
        id
    }

    pub(crate) fn insert_user(&mut self, seed: &SeedUser) -> Result<String, SeedError> {
        let org = self.seed_org(seed.org.as_ref())?;
        let email = seed.email.trim();
        if email.is_empty() {
            return Err(SeedError::EmptyEmail);
        }
        if self.orgs[org].find_user(email).is_some() {
            return Err(SeedError::DuplicateEmail(email.to_owned()));
        }
        let manager = match &seed.manager {
            None => None,
            Some(m) => Some(
                self.orgs[org]
                    .find_user(m)
                    .map(|i| self.orgs[org].users[i].id.clone())
                    .ok_or_else(|| SeedError::UnknownUser(m.clone()))?,
            ),
        };
        let username = if seed.username.is_empty() {
            email.split('@').next().unwrap_or(email).to_owned()
        } else {
            seed.username.clone()
        };
        let id = self.next_id();
        self.next_uid += 1;
        let now = clock::format_millis(self.timeline.now());
        self.orgs[org].users.push(UserRecord {
            id: id.clone(),
            username,
            email: email.to_owned(),
            firstname: seed.firstname.clone(),
            lastname: seed.lastname.clone(),
            displayname: format!("{} {}", seed.firstname, seed.lastname)
                .trim()
                .to_owned(),
            state: seed.state,
            account_locked: seed.account_locked,
            account_locked_date: seed.account_locked.then(|| now.clone()),
            created: now,
            manager,
            department: seed.department.clone(),
            job_title: seed.job_title.clone(),
            employee_identifier: seed.employee_identifier.clone(),
            unix_uid: self.next_uid,
            extra: seed
                .alternate_email
                .iter()
                .map(|a| ("alternateEmail".to_owned(), serde_json::json!(a)))
                .chain(
                    seed.sudo
                        .then(|| ("sudo".to_owned(), serde_json::json!(true))),
                )
                .collect(),
        });
        for name in &seed.groups {
            let gid = self.group_in(org, name, "");
            let g = self.orgs[org]
                .group_by_id(&gid)
                .expect("group was just found or created");
            self.orgs[org].groups[g].members.push(id.clone());
        }
        Ok(id)
    }

    pub(crate) fn insert_system(&mut self, seed: &SeedSystem) -> Result<String, SeedError> {
        let org = self.seed_org(seed.org.as_ref())?;
        if seed.apple_mdm && !seed.os_family.is_apple() {
            return Err(SeedError::NotApple);
        }
        let mut bound = Vec::new();
        for u in &seed.bound_users {
            let i = self.orgs[org]
                .find_user(u)
                .ok_or_else(|| SeedError::UnknownUser(u.clone()))?;
            bound.push((self.orgs[org].users[i].id.clone(), seed.sudo));
        }
        let id = self.next_id();
        let serial = if seed.serial.is_empty() {
            ids::alnum(&mut self.rng, 12).to_uppercase()
        } else {
            seed.serial.clone()
        };
        let hostname = if seed.hostname.is_empty() {
            seed.display_name.clone()
        } else {
            seed.hostname.clone()
        };
        let now = clock::format_millis(self.timeline.now());
        let device = if seed.apple_mdm {
            if self.orgs[org].mdm.is_none() {
                let mdm_id = self.next_id();
                let topic = format!("com.apple.mgmt.External.{}", uuid_like(&mut self.rng));
                self.orgs[org].mdm = Some(AppleMdmRecord {
                    id: mdm_id,
                    name: "JumpCloud MDM".to_owned(),
                    push_topic: topic,
                });
            }
            let device_id = self.next_id();
            let udid = uuid_like(&mut self.rng).to_uppercase();
            self.orgs[org].devices.push(DeviceRecord {
                id: device_id.clone(),
                system_id: id.clone(),
                udid,
                created: now.clone(),
                locked: false,
                erased: false,
            });
            Some(device_id)
        } else {
            None
        };
        self.orgs[org].systems.push(SystemRecord {
            id: id.clone(),
            display_name: seed.display_name.clone(),
            hostname,
            os_family: seed.os_family,
            version: seed.version.clone(),
            serial,
            active: seed.online,
            created: now.clone(),
            last_contact: now,
            bound_users: bound,
            locked: false,
            erased: false,
            mdm_device: device,
        });
        Ok(id)
    }

    // ----- views --------------------------------------------------------

    /// Finds a user by id in any organisation, or by e-mail (primary
    /// organisation first).
    pub(crate) fn locate_user(&self, id_or_email: &str) -> Option<(usize, usize)> {
        self.orgs
            .iter()
            .enumerate()
            .find_map(|(o, org)| org.user_by_id(id_or_email).map(|u| (o, u)))
            .or_else(|| {
                self.orgs
                    .iter()
                    .enumerate()
                    .find_map(|(o, org)| org.find_user(id_or_email).map(|u| (o, u)))
            })
    }

    pub(crate) fn user_view(&self, org: usize, user: usize) -> UserView {
        let o = &self.orgs[org];
        let u = &o.users[user];
        UserView {
            id: u.id.clone(),
            org_id: o.id.clone(),
            username: u.username.clone(),
            email: u.email.clone(),
            firstname: u.firstname.clone(),
            lastname: u.lastname.clone(),
            state: u.state,
            suspended: u.state == UserState::Suspended,
            account_locked: u.account_locked,
            manager_id: u.manager.clone(),
            groups: o
                .groups_of(&u.id)
                .into_iter()
                .map(|g| group_view(&o.groups[g]))
                .collect(),
            system_ids: o
                .systems_of(&u.id)
                .into_iter()
                .map(|(s, _)| o.systems[s].id.clone())
                .collect(),
            sudo: u.extra.get("sudo") == Some(&json!(true)),
            sudo_system_ids: o
                .systems_of(&u.id)
                .into_iter()
                .filter(|(_, sudo)| *sudo)
                .map(|(s, _)| o.systems[s].id.clone())
                .collect(),
        }
    }

    pub(crate) fn group_view(&self, id_or_name: &str) -> Option<GroupView> {
        self.orgs
            .iter()
            .find_map(|o| o.find_group(id_or_name).map(|g| group_view(&o.groups[g])))
    }

    pub(crate) fn system_view(&self, id: &str) -> Option<SystemView> {
        self.orgs.iter().find_map(|o| {
            o.system_by_id(id).map(|s| {
                let s = &o.systems[s];
                SystemView {
                    id: s.id.clone(),
                    org_id: o.id.clone(),
                    display_name: s.display_name.clone(),
                    os_family: s.os_family,
                    online: s.active,
                    locked: s.locked,
                    erased: s.erased,
                    bound_user_ids: s.bound_users.iter().map(|(u, _)| u.clone()).collect(),
                    apple_mdm_id: s
                        .mdm_device
                        .as_ref()
                        .and_then(|_| o.mdm.as_ref().map(|m| m.id.clone())),
                    mdm_device_id: s.mdm_device.clone(),
                }
            })
        })
    }

    pub(crate) fn command_views(&self) -> Vec<CommandView> {
        let mut views: Vec<CommandView> = self
            .orgs
            .iter()
            .flat_map(|o| {
                o.commands.iter().map(|c| CommandView {
                    id: c.id.clone(),
                    org_id: o.id.clone(),
                    kind: c.kind,
                    channel: c.channel,
                    system_id: c.system_id.clone(),
                    device_id: c.device_id.clone(),
                    pin: c.pin.clone(),
                    requested_at: clock::format_millis(c.requested_at),
                    completed: c.completed_at.is_some(),
                    result_id: c.result_id.clone(),
                })
            })
            .collect();
        views.sort_by(|a, b| a.id.cmp(&b.id));
        views
    }

    // ----- audit --------------------------------------------------------

    fn push_event(&mut self, org: usize, spec: EventSpec) {
        let id = self.next_id();
        let now = self.timeline.now();
        let timestamp = clock::format_millis(now);
        let mut body = Map::new();
        body.insert("id".into(), json!(id));
        body.insert("event_type".into(), json!(spec.event_type));
        body.insert("service".into(), json!(spec.service));
        body.insert("organization".into(), json!(self.orgs[org].id));
        body.insert("timestamp".into(), json!(timestamp));
        body.insert("@version".into(), json!("1"));
        for (k, v) in spec.fields {
            body.insert(k, v);
        }
        self.events.push(AuditEvent {
            id,
            org_id: self.orgs[org].id.clone(),
            event_type: spec.event_type.to_owned(),
            service: spec.service.to_owned(),
            timestamp,
            epoch_ms: now.as_millisecond(),
            targets: spec.targets,
            body: Value::Object(body),
            visible_from: None,
        });
    }

    // ----- v1 system users ----------------------------------------------

    /// `PUT /api/systemusers/{id}`.
    pub(crate) fn update_user(
        &mut self,
        org: usize,
        id: &str,
        body: &Value,
        origin: &Origin,
    ) -> Result<(), JcError> {
        let f = ApiFamily::V1;
        let bad = |m: &str| JcError::bad_request(f, m);
        let o = &self.orgs[org];
        let ui = o.user_by_id(id).ok_or_else(|| JcError::not_found(f))?;
        let Value::Object(body) = body else {
            return Err(bad("request body must be a JSON object"));
        };
        let current = &o.users[ui];

        let mut next_state = current.state;
        if let Some(v) = body.get("suspended") {
            let suspended = v
                .as_bool()
                .ok_or_else(|| bad("\"suspended\" must be a boolean"))?;
            if suspended {
                next_state = UserState::Suspended;
            } else if current.state == UserState::Suspended {
                next_state = UserState::Activated;
            }
        }
        if let Some(v) = body.get("state") {
            next_state = v
                .as_str()
                .and_then(UserState::parse)
                .filter(|s| *s != UserState::Staged)
                .ok_or_else(|| bad("\"state\" must be one of ACTIVATED, SUSPENDED"))?;
        }
        let locked = match body.get("account_locked") {
            None => None,
            Some(v) => Some(
                v.as_bool()
                    .ok_or_else(|| bad("\"account_locked\" must be a boolean"))?,
            ),
        };
        let mut texts: Vec<(&'static str, String)> = Vec::new();
        for field in [
            "email",
            "username",
            "firstname",
            "lastname",
            "displayname",
            "department",
            "jobTitle",
            "employeeIdentifier",
            "manager",
        ] {
            if let Some(v) = body.get(field) {
                let s = v
                    .as_str()
                    .ok_or_else(|| bad(&format!("\"{field}\" must be a string")))?;
                texts.push((field, s.to_owned()));
            }
        }
        for (field, value) in &texts {
            match *field {
                "email" => {
                    if value.trim().is_empty() {
                        return Err(bad("\"email\" must not be empty"));
                    }
                    if o.find_user(value).is_some_and(|other| other != ui) {
                        return Err(JcError::conflict(f));
                    }
                }
                "manager" if !value.is_empty() && o.user_by_id(value).is_none() => {
                    return Err(bad("\"manager\" must be the id of a user"));
                }
                _ => {}
            }
        }

        if next_state == UserState::Suspended {
            let user_id = self.orgs[org].users[ui].id.clone();
            let applied = self.orgs[org].users[ui].state != UserState::Suspended;
            self.effects.record(effect::SUSPEND, &user_id, "", applied);
        }
        let now = self.timeline.now();
        let mut changes = Vec::new();
        let mut sudo_taken = false;
        let user = &mut self.orgs[org].users[ui];
        let previous_state = user.state;
        user.state = next_state;
        if let Some(locked) = locked
            && locked != user.account_locked
        {
            changes.push(
                json!({"field": "account_locked", "from": user.account_locked, "to": locked}),
            );
            user.account_locked = locked;
            user.account_locked_date = locked.then(|| clock::format_millis(now));
        }
        for (field, value) in texts {
            let slot = match field {
                "email" => &mut user.email,
                "username" => &mut user.username,
                "firstname" => &mut user.firstname,
                "lastname" => &mut user.lastname,
                "displayname" => &mut user.displayname,
                "department" => &mut user.department,
                "jobTitle" => &mut user.job_title,
                "employeeIdentifier" => &mut user.employee_identifier,
                _ => {
                    let next = (!value.is_empty()).then_some(value);
                    if user.manager != next {
                        changes.push(json!({"field": "manager", "from": user.manager, "to": next}));
                        user.manager = next;
                    }
                    continue;
                }
            };
            if *slot != value {
                changes.push(json!({"field": field, "from": slot.clone(), "to": value}));
                *slot = value;
            }
        }
        for (k, v) in body {
            if EXTRA_USER_FIELDS.contains(&k.as_str()) && user.extra.get(k) != Some(v) {
                if k == "sudo" && user.extra.get(k) == Some(&json!(true)) {
                    sudo_taken = true;
                }
                changes.push(json!({"field": k, "from": user.extra.get(k), "to": v}));
                user.extra.insert(k.clone(), v.clone());
            }
        }
        let resource = json!({
            "type": "user",
            "id": user.id,
            "username": user.username,
            "email": user.email,
        });
        let user_id = user.id.clone();
        if sudo_taken {
            self.effects.record(effect::REMOVE_SUDO, &user_id, "", true);
        }

        if previous_state != next_state {
            let kind = match (previous_state, next_state) {
                (_, UserState::Suspended) => event_type::USER_SUSPENDED,
                (UserState::Suspended, _) => event_type::USER_UNSUSPENDED,
                _ => event_type::USER_ACTIVATED,
            };
            let spec = EventSpec::directory(kind, vec![user_id.clone()])
                .with("resource", resource.clone())
                .with(
                    "changes",
                    json!([{
                        "field": "state",
                        "from": previous_state.as_str(),
                        "to": next_state.as_str(),
                    }]),
                );
            self.push_event(org, origin.apply(spec));
        }
        if !changes.is_empty() {
            let spec = EventSpec::directory(event_type::USER_UPDATE, vec![user_id])
                .with("resource", resource)
                .with("changes", Value::Array(changes));
            self.push_event(org, origin.apply(spec));
        }
        Ok(())
    }

    // ----- v2 group membership --------------------------------------------

    /// `POST /api/v2/usergroups/{group_id}/members`.
    pub(crate) fn member_op(
        &mut self,
        org: usize,
        group_id: &str,
        body: &Value,
        origin: &Origin,
    ) -> Result<(), JcError> {
        let f = ApiFamily::V2;
        let (op, member) = graph_operation(body, "user", "\"type\" must be user")?;
        let (op, member) = (op.to_owned(), member.to_owned());
        let o = &self.orgs[org];
        let g = o
            .group_by_id(group_id)
            .ok_or_else(|| JcError::not_found(f))?;
        let u = o.user_by_id(&member).ok_or_else(|| JcError::not_found(f))?;
        let is_member = o.groups[g].members.contains(&member);
        if op == "remove" {
            let (user_id, group_id) = (o.users[u].id.clone(), o.groups[g].id.clone());
            self.effects
                .record(effect::REMOVE_MEMBERSHIP, &user_id, &group_id, is_member);
        }
        let o = &self.orgs[org];
        match (op.as_str(), is_member) {
            ("add", true) => return Err(JcError::conflict(f)),
            ("remove" | "update", false) => return Err(JcError::not_found(f)),
            ("update", true) => return Ok(()),
            _ => {}
        }
        let group = &o.groups[g];
        let user = &o.users[u];
        let association = json!({
            "op": op,
            "connection": {
                "from": { "type": "user_group", "object_id": group.id, "name": group.name },
                "to": { "type": "user", "object_id": user.id, "name": user.username },
            },
        });
        let resource = json!({ "type": "user_group", "id": group.id, "name": group.name });
        let targets = vec![group.id.clone(), user.id.clone()];
        let members = &mut self.orgs[org].groups[g].members;
        if op == "add" {
            members.push(member);
        } else {
            members.retain(|m| *m != member);
        }
        let spec = EventSpec::directory(event_type::ASSOCIATION_CHANGE, targets)
            .with("resource", resource)
            .with("association", association);
        self.push_event(org, origin.apply(spec));
        Ok(())
    }

    /// `POST /api/v2/users/{user_id}/associations` for `type: system` (`GraphOperation-User`):
    /// `add` binds the user to the system, `remove` unbinds, `update` sets the binding's
    /// `attributes.sudo` (`{"enabled", "withoutPassword"}`, both required, and
    /// `withoutPassword` only with `enabled`). Other target types are not emulated (400).
    pub(crate) fn user_system_op(
        &mut self,
        org: usize,
        user_id: &str,
        body: &Value,
    ) -> Result<(), JcError> {
        let f = ApiFamily::V2;
        let bad = |m: &str| JcError::bad_request(f, m);
        let (op, system_id) =
            graph_operation(body, "system", "only \"type\": \"system\" is emulated")?;
        let sudo = match &body.get("attributes").and_then(|a| a.get("sudo")) {
            None => None,
            Some(sudo) => {
                let enabled = sudo["enabled"].as_bool();
                let without = sudo["withoutPassword"].as_bool();
                match (enabled, without) {
                    (Some(false), Some(true)) => {
                        return Err(bad("withoutPassword requires enabled to be true"));
                    }
                    (Some(e), Some(_)) => Some(e),
                    _ => return Err(bad("sudo needs enabled and withoutPassword")),
                }
            }
        };
        let o = &mut self.orgs[org];
        o.user_by_id(user_id).ok_or_else(|| JcError::not_found(f))?;
        let s = o
            .system_by_id(system_id)
            .ok_or_else(|| JcError::not_found(f))?;
        let bound = &mut o.systems[s].bound_users;
        let at = bound.iter().position(|(u, _)| u == user_id);
        match (op, at) {
            ("add", Some(_)) => return Err(JcError::conflict(f)),
            ("add", None) => bound.push((user_id.to_owned(), sudo.unwrap_or(false))),
            (_, None) => return Err(JcError::not_found(f)),
            ("remove", Some(i)) => {
                bound.remove(i);
            }
            (_, Some(i)) => {
                let was = bound[i].1;
                bound[i].1 = sudo.unwrap_or(was);
                let taken = was && !bound[i].1;
                self.effects
                    .record(effect::REMOVE_SUDO, user_id, system_id, taken);
            }
        }
        Ok(())
    }

    // ----- security commands --------------------------------------------

    /// `POST /api/systems/{id}/command/builtin/{lock,erase}`.
    pub(crate) fn builtin_command(
        &mut self,
        org: usize,
        system_id: &str,
        kind: CommandKind,
        origin: &Origin,
    ) -> Result<(), JcError> {
        let f = ApiFamily::V1;
        let s = self.orgs[org]
            .system_by_id(system_id)
            .ok_or_else(|| JcError::not_found(f))?;
        let system = &self.orgs[org].systems[s];
        if !system.os_family.builtin_security_commands() {
            return Err(JcError::bad_request(
                f,
                "This command is only supported on Linux and Windows devices. Use Apple MDM \
                 security commands for macOS devices.",
            ));
        }
        let resource = json!({
            "type": "system",
            "id": system.id,
            "hostname": system.hostname,
            "displayName": system.display_name,
        });
        let command_id = self.next_id();
        self.orgs[org].commands.push(CommandRecord {
            id: command_id.clone(),
            kind,
            channel: CommandChannel::Builtin,
            system_id: system_id.to_owned(),
            device_id: None,
            mdm_id: None,
            pin: None,
            requested_at: self.timeline.now(),
            completed_at: None,
            result_id: None,
            initiated_by: origin.initiated_by.clone(),
        });
        let spec = EventSpec::directory(
            event_type::COMMAND_RUN,
            vec![system_id.to_owned(), command_id.clone()],
        )
        .with("resource", resource)
        .with(
            "command",
            json!({ "id": command_id, "name": kind.builtin_name(), "type": "security" }),
        );
        self.push_event(org, origin.apply(spec));
        self.effects
            .record(effect::SECURE_DEVICE, system_id, kind.builtin_name(), true);
        self.run_pending(org);
        Ok(())
    }

    /// `POST /api/v2/applemdms/{id}/devices/{device_id}/{lock,erase}`.
    pub(crate) fn mdm_command(
        &mut self,
        org: usize,
        mdm_id: &str,
        device_id: &str,
        kind: CommandKind,
        body: &Value,
        origin: &Origin,
    ) -> Result<(), JcError> {
        let f = ApiFamily::V2;
        let o = &self.orgs[org];
        if o.mdm.as_ref().is_none_or(|m| m.id != mdm_id) {
            return Err(JcError::not_found(f));
        }
        let d = o
            .device_by_id(device_id)
            .ok_or_else(|| JcError::not_found(f))?;
        let system = o.system_of_device(d).ok_or_else(|| JcError::not_found(f))?;
        let pin = match body {
            Value::Null => None,
            Value::Object(map) => match map.get("pin") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) if p.len() == 6 && p.bytes().all(|b| b.is_ascii_digit()) => {
                    Some(p.clone())
                }
                Some(_) => {
                    return Err(JcError::bad_request(f, "\"pin\" must be a 6-digit string"));
                }
            },
            _ => {
                return Err(JcError::bad_request(
                    f,
                    "request body must be a JSON object",
                ));
            }
        };
        if pin.is_none() && system.os_family == crate::jumpcloud::model::OsFamily::MacOs {
            return Err(JcError::bad_request(
                f,
                "a 6-digit \"pin\" is required to lock or erase a macOS device",
            ));
        }
        let system_id = system.id.clone();
        self.effects
            .record(effect::SECURE_DEVICE, &system_id, kind.builtin_name(), true);
        let command_id = self.next_id();
        self.orgs[org].commands.push(CommandRecord {
            id: command_id,
            kind,
            channel: CommandChannel::AppleMdm,
            system_id,
            device_id: Some(device_id.to_owned()),
            mdm_id: Some(mdm_id.to_owned()),
            pin,
            requested_at: self.timeline.now(),
            completed_at: None,
            result_id: None,
            initiated_by: origin.initiated_by.clone(),
        });
        self.run_pending(org);
        Ok(())
    }

    /// Connects or disconnects a device's agent; connecting runs whatever
    /// was queued for it.
    pub(crate) fn set_system_online(&mut self, system_id: &str, online: bool) -> bool {
        let Some((org, s)) = self
            .orgs
            .iter()
            .enumerate()
            .find_map(|(o, org)| org.system_by_id(system_id).map(|s| (o, s)))
        else {
            return false;
        };
        let system = &mut self.orgs[org].systems[s];
        system.active = online;
        if online {
            system.last_contact = clock::format_millis(self.timeline.now());
            self.run_pending(org);
        }
        true
    }

    /// Carries out queued commands for online devices, oldest first. With
    /// long operations configured, a command completes only once that long
    /// has passed since it was issued (and its device is online).
    fn run_pending(&mut self, org: usize) {
        let now = self.timeline.now();
        let takes = self.timeline.long_ops();
        let pending: Vec<usize> = (0..self.orgs[org].commands.len())
            .filter(|&c| {
                let cmd = &self.orgs[org].commands[c];
                cmd.completed_at.is_none()
                    && takes.is_none_or(|d| Timeline::after(cmd.requested_at, d) <= now)
                    && self.orgs[org]
                        .system_by_id(&cmd.system_id)
                        .is_some_and(|s| self.orgs[org].systems[s].active)
            })
            .collect();
        for c in pending {
            // An erase earlier in this batch takes the device offline.
            let online = {
                let o = &self.orgs[org];
                o.system_by_id(&o.commands[c].system_id)
                    .is_some_and(|s| o.systems[s].active)
            };
            if online {
                self.execute(org, c);
            }
        }
    }

    fn execute(&mut self, org: usize, c: usize) {
        let now = self.timeline.now();
        let result_id = self.next_id();
        let o = &mut self.orgs[org];
        let cmd = &mut o.commands[c];
        cmd.completed_at = Some(now);
        let (kind, channel, system_id) = (cmd.kind, cmd.channel, cmd.system_id.clone());
        let (device_id, mdm_id) = (cmd.device_id.clone(), cmd.mdm_id.clone());
        let (command_id, requested_at) = (cmd.id.clone(), cmd.requested_at);
        let initiated_by = cmd.initiated_by.clone();
        let Some(s) = o.system_by_id(&system_id) else {
            return;
        };
        let system = &mut o.systems[s];
        match kind {
            CommandKind::Lock => system.locked = true,
            CommandKind::Erase => {
                system.erased = true;
                system.active = false;
            }
        }
        let system_name = system.display_name.clone();
        match channel {
            CommandChannel::Builtin => {
                cmd_result(o, c, result_id.clone());
                o.results.push(CommandResultRecord {
                    id: result_id,
                    command_id,
                    name: match kind {
                        CommandKind::Lock => "Lock".to_owned(),
                        CommandKind::Erase => "Erase".to_owned(),
                    },
                    command: format!("builtin {}", kind.builtin_name()),
                    system_id,
                    system_name,
                    request_time: clock::format_millis(requested_at),
                    response_time: clock::format_millis(now),
                });
            }
            CommandChannel::AppleMdm => {
                let device_id = device_id.unwrap_or_default();
                if let Some(d) = o.device_by_id(&device_id) {
                    let device = &mut o.devices[d];
                    match kind {
                        CommandKind::Lock => device.locked = true,
                        CommandKind::Erase => device.erased = true,
                    }
                }
                let spec = EventSpec {
                    event_type: event_type::MDM_COMMAND_RESULT,
                    service: "mdm",
                    targets: vec![device_id.clone(), system_id.clone(), command_id.clone()],
                    fields: Map::new(),
                }
                .with("mdm_type", json!("apple"))
                .with("device_object_id", json!(device_id))
                .with("device_manager_object_id", json!(mdm_id))
                .with("system_object_id", json!(system_id))
                .with("command_uuid", json!(uuid_from(&command_id)))
                .with("request_type", json!(kind.mdm_request_type()))
                .with(
                    "command",
                    json!({ "request_type": kind.mdm_request_type() }),
                )
                .with("status", json!("Acknowledged"))
                .with("success", json!(true))
                .with("initiated_by", initiated_by);
                self.push_event(org, spec);
            }
        }
    }
}

fn cmd_result(org: &mut Org, command: usize, result_id: String) {
    org.commands[command].result_id = Some(result_id);
}

fn group_view(g: &GroupRecord) -> GroupView {
    GroupView {
        id: g.id.clone(),
        name: g.name.clone(),
        member_ids: g.members.clone(),
    }
}

fn uuid_like(rng: &mut StdRng) -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rng.r#gen();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// A stable UUID for a command id (MDM `command_uuid`).
fn uuid_from(object_id: &str) -> String {
    let mut bytes = [0u8; 16];
    for (i, b) in object_id.bytes().enumerate() {
        bytes[i % 16] ^= b;
    }
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// A v2 graph operation's body, `{"op", "type", "id"}`, checked as JumpCloud checks it: one of
/// its three ops, the one target type the route emulates (`wrong_kind` says so otherwise), and
/// a target id. Gives back the op and the id.
fn graph_operation<'a>(
    body: &'a Value,
    kind: &str,
    wrong_kind: &str,
) -> Result<(&'a str, &'a str), JcError> {
    let bad = |m: &str| JcError::bad_request(ApiFamily::V2, m);
    let Value::Object(body) = body else {
        return Err(bad("request body must be a JSON object"));
    };
    let op = match body.get("op").and_then(Value::as_str) {
        Some(op @ ("add" | "remove" | "update")) => op,
        Some(_) => return Err(bad("\"op\" must be one of add, remove, update")),
        None => return Err(bad("\"op\" is required")),
    };
    match body.get("type").and_then(Value::as_str) {
        Some(t) if t == kind => {}
        Some(_) => return Err(bad(wrong_kind)),
        None => return Err(bad("\"type\" is required")),
    }
    match body.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => Ok((op, id)),
        _ => Err(bad("\"id\" is required")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin {
            initiated_by: json!({"type": "admin"}),
            client_ip: "127.0.0.1".into(),
            user_agent: "t".into(),
            auth_method: "api-key".into(),
        }
    }

    #[test]
    fn suspend_logs_once() {
        let mut s = JumpCloudState::new(1, "Org", Arc::new(Timeline::new()));
        let id = s.insert_user(&SeedUser::new("a@x.com", "A", "B")).unwrap();
        s.update_user(0, &id, &json!({"suspended": true}), &origin())
            .unwrap();
        s.update_user(0, &id, &json!({"state": "SUSPENDED"}), &origin())
            .unwrap();
        assert_eq!(s.orgs[0].users[0].state, UserState::Suspended);
        assert_eq!(s.events.len(), 1);
        assert_eq!(s.events[0].event_type, "user_suspended");
    }

    #[test]
    fn membership_remove_then_404() {
        let mut s = JumpCloudState::new(1, "Org", Arc::new(Timeline::new()));
        let id = s
            .insert_user(&SeedUser {
                groups: vec!["G".into()],
                ..SeedUser::new("a@x.com", "A", "B")
            })
            .unwrap();
        let gid = s.orgs[0].groups[0].id.clone();
        let body = json!({"op": "remove", "type": "user", "id": id});
        s.member_op(0, &gid, &body, &origin()).unwrap();
        let again = s.member_op(0, &gid, &body, &origin()).unwrap_err();
        assert_eq!(again.status().as_u16(), 404);
        assert_eq!(s.events.len(), 1);
    }
}
