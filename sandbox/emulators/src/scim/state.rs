//! The service provider's users and what each request does to them.

use std::collections::HashSet;
use std::sync::Arc;

use axum::http::StatusCode;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;

use crate::common::counters::{EffectBook, effect};
use crate::common::ids;
use crate::common::scim_filter;
use crate::common::timeline::Timeline;
use crate::scim::errors::ScimError;
use crate::scim::flavor::Flavor;
use crate::scim::model::{Email, PATCH_URN, ScimUser};

/// A user to create directly, without a request.
#[derive(Clone, Debug)]
pub struct SeedUser {
    pub user_name: String,
    pub email: String,
    pub given_name: String,
    pub family_name: String,
    pub active: bool,
    pub external_id: Option<String>,
    pub groups: Vec<String>,
}

impl SeedUser {
    /// An active user whose `userName` is their e-mail address.
    pub fn new(email: &str, given_name: &str, family_name: &str) -> Self {
        Self {
            user_name: email.to_owned(),
            email: email.to_owned(),
            given_name: given_name.to_owned(),
            family_name: family_name.to_owned(),
            active: true,
            external_id: None,
            groups: Vec::new(),
        }
    }
}

/// Which accounts hold a paid seat in this app.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SeatBilling {
    /// Every active account; deactivating one frees its seat.
    #[default]
    ActiveAccounts,
    /// Every account that exists, active or not: only removal frees a seat.
    EveryAccount,
}

#[derive(Debug)]
pub struct ScimState {
    pub(crate) flavor: Flavor,
    pub(crate) billing: SeatBilling,
    /// The SCIM base URL, e.g. `http://127.0.0.1:4000/scim/v2`.
    pub(crate) base: String,
    pub(crate) users: Vec<ScimUser>,
    /// Ids of deleted users: every later operation on them is a 404 (RFC 7644 §3.6).
    pub(crate) deleted: HashSet<String>,
    /// Users whose next write meets another administrator's change landing just before it.
    pub(crate) races: HashSet<String>,
    pub(crate) effects: EffectBook,
    rng: StdRng,
    timeline: Arc<Timeline>,
}

/// How a write names the version it expects (`If-Match`), when it does.
pub(crate) type IfMatch<'a> = Option<&'a str>;

impl ScimState {
    pub(crate) fn new(
        flavor: Flavor,
        billing: SeatBilling,
        base: String,
        seed: u64,
        timeline: Arc<Timeline>,
    ) -> Self {
        Self {
            flavor,
            billing,
            base,
            users: Vec::new(),
            deleted: HashSet::new(),
            races: HashSet::new(),
            effects: EffectBook::default(),
            rng: StdRng::seed_from_u64(seed),
            timeline,
        }
    }

    pub(crate) fn seed(&mut self, seed: &SeedUser) -> String {
        let now = self.timeline.now_ms();
        let id = uuid::Uuid::from_bytes(rand::Rng::r#gen(&mut self.rng)).to_string();
        self.users.push(ScimUser {
            id: id.clone(),
            user_name: seed.user_name.clone(),
            external_id: seed.external_id.clone(),
            given_name: seed.given_name.clone(),
            family_name: seed.family_name.clone(),
            display_name: None,
            emails: vec![Email {
                value: seed.email.clone(),
                kind: "work".into(),
                primary: true,
            }],
            active: seed.active,
            groups: seed.groups.clone(),
            version: 1,
            created: now,
            last_modified: now,
        });
        id
    }

    /// A user by id, `userName` or e-mail (case-insensitively), for tests.
    pub(crate) fn lookup(&self, key: &str) -> Option<&ScimUser> {
        self.users.iter().find(|u| {
            u.id == key
                || u.user_name.eq_ignore_ascii_case(key)
                || u.emails.iter().any(|e| e.value.eq_ignore_ascii_case(key))
        })
    }

    pub(crate) fn seats_held(&self) -> usize {
        match self.billing {
            SeatBilling::ActiveAccounts => self.users.iter().filter(|u| u.active).count(),
            SeatBilling::EveryAccount => self.users.len(),
        }
    }

    fn get(&self, id: &str) -> Result<&ScimUser, ScimError> {
        self.users
            .iter()
            .find(|u| u.id == id)
            .ok_or_else(|| ScimError::not_found(self.flavor, id))
    }

    pub(crate) fn user(&self, id: &str) -> Result<Value, ScimError> {
        Ok(self.get(id)?.render(&self.base, self.flavor))
    }

    pub(crate) fn etag(&self, id: &str) -> Option<String> {
        self.users.iter().find(|u| u.id == id).map(ScimUser::etag)
    }

    /// Users matching `filter`, the page from 1-based `start` of at most `count` (capped by
    /// the flavour), and the total.
    pub(crate) fn list(
        &self,
        filter: Option<&str>,
        start: usize,
        count: Option<usize>,
    ) -> Result<(usize, Vec<Value>), ScimError> {
        let matching: Vec<&ScimUser> = match filter.filter(|f| !f.trim().is_empty()) {
            None => self.users.iter().collect(),
            Some(f) => {
                let (expr, fold) = self.parse_filter(f)?;
                self.users
                    .iter()
                    .filter(|u| expr.matches(&|attr| values_of(u, attr), fold))
                    .collect()
            }
        };
        let size = count.unwrap_or(usize::MAX).min(self.flavor.page_cap());
        let page = matching
            .iter()
            .skip(start.max(1) - 1)
            .take(size)
            .map(|u| u.render(&self.base, self.flavor))
            .collect();
        Ok((matching.len(), page))
    }

    /// A filter this server runs, and whether it compares case-insensitively; anything else
    /// is a 400 `invalidFilter`.
    fn parse_filter(&self, filter: &str) -> Result<(scim_filter::Expr, bool), ScimError> {
        let invalid = |why: String| ScimError::bad(self.flavor, "invalidFilter", why);
        let expr =
            scim_filter::parse(&flatten_value_path(filter)).map_err(|e| invalid(e.to_string()))?;
        let mut fold = true;
        for (attr, op) in expr.comparisons() {
            let Some(insensitive) = self.flavor.filter(attr) else {
                return Err(invalid(format!("Unsupported filter attribute: {attr}")));
            };
            if op != scim_filter::Op::Eq {
                return Err(invalid(format!("Unsupported filter operator on {attr}")));
            }
            fold &= insensitive;
        }
        Ok((expr, fold))
    }

    /// `PATCH` (RFC 7644 §3.5.2): `replace`/`add` of `active` or `displayName`, with or
    /// without `path`.
    pub(crate) fn patch(
        &mut self,
        id: &str,
        body: &Value,
        if_match: IfMatch,
    ) -> Result<Value, ScimError> {
        let flavor = self.flavor;
        if !flavor.patch() {
            return Err(ScimError::new(
                flavor,
                StatusCode::NOT_IMPLEMENTED,
                "PATCH is not supported; replace the resource with PUT",
            ));
        }
        self.check_version(id, if_match)?;
        let is_patch = body["schemas"]
            .as_array()
            .is_some_and(|s| s.iter().any(|v| v == PATCH_URN));
        let Some(ops) = body["Operations"].as_array().filter(|o| !o.is_empty()) else {
            return Err(ScimError::bad(
                flavor,
                "invalidSyntax",
                "Operations is required",
            ));
        };
        if !is_patch {
            return Err(ScimError::bad(
                flavor,
                "invalidSyntax",
                "schemas must name PatchOp",
            ));
        }
        let mut changes = Vec::new();
        for op in ops {
            changes.extend(patch_changes(op, flavor)?);
        }
        let user = self.get_mut(id)?;
        let was_active = user.active;
        for (attr, value) in changes {
            match (attr.as_str(), value) {
                ("active", Value::Bool(b)) => user.active = b,
                ("displayname", Value::String(s)) => user.display_name = Some(s),
                (attr, _) => {
                    return Err(ScimError::bad(
                        flavor,
                        "invalidValue",
                        format!("invalid value for {attr}"),
                    ));
                }
            }
        }
        self.touch(id);
        self.record_active(id, was_active);
        self.user(id)
    }

    /// `PUT`: the whole resource replaced.
    pub(crate) fn put(
        &mut self,
        id: &str,
        body: &Value,
        if_match: IfMatch,
    ) -> Result<Value, ScimError> {
        self.check_version(id, if_match)?;
        let flavor = self.flavor;
        let user = self.get_mut(id)?;
        let was_active = user.active;
        let mut replaced = user.clone();
        replaced.replace_from(body, flavor)?;
        *user = replaced;
        self.touch(id);
        self.record_active(id, was_active);
        self.user(id)
    }

    /// `DELETE`: the user is gone; everything after is a 404.
    pub(crate) fn delete(&mut self, id: &str, if_match: IfMatch) -> Result<(), ScimError> {
        self.check_version(id, if_match)?;
        let index = self
            .users
            .iter()
            .position(|u| u.id == id)
            .ok_or_else(|| ScimError::not_found(self.flavor, id))?;
        self.users.remove(index);
        self.deleted.insert(id.to_owned());
        self.effects.record(effect::REMOVE_ACCOUNT, id, "", true);
        Ok(())
    }

    /// Another administrator's change, as if made between a client's read and its write: the
    /// version moves on, so a write naming the old ETag meets 412.
    pub(crate) fn concurrent_change(&mut self, id: &str) {
        self.touch(id);
    }

    fn check_version(&mut self, id: &str, if_match: IfMatch) -> Result<(), ScimError> {
        if self.races.remove(id) {
            self.touch(id);
        }
        let user = self.get(id)?;
        match if_match {
            Some(tag) if self.flavor.etags() && tag != "*" && tag != user.etag() => {
                Err(ScimError::new(
                    self.flavor,
                    StatusCode::PRECONDITION_FAILED,
                    format!("Resource {id} changed: its version is {}", user.etag()),
                ))
            }
            _ => Ok(()),
        }
    }

    fn get_mut(&mut self, id: &str) -> Result<&mut ScimUser, ScimError> {
        let flavor = self.flavor;
        self.users
            .iter_mut()
            .find(|u| u.id == id)
            .ok_or_else(|| ScimError::not_found(flavor, id))
    }

    fn touch(&mut self, id: &str) {
        let now = self.timeline.now_ms();
        if let Some(u) = self.users.iter_mut().find(|u| u.id == id) {
            u.version += 1;
            u.last_modified = now;
        }
    }

    /// A deactivation is an effect; asking for one on an inactive user is a repeat.
    fn record_active(&mut self, id: &str, was_active: bool) {
        let active = self
            .users
            .iter()
            .find(|u| u.id == id)
            .is_some_and(|u| u.active);
        if !active {
            self.effects.record(effect::SUSPEND, id, "", was_active);
        }
    }
}

/// The attribute changes one PATCH operation asks for.
fn patch_changes(op: &Value, flavor: Flavor) -> Result<Vec<(String, Value)>, ScimError> {
    let verb = op["op"].as_str().unwrap_or("").to_ascii_lowercase();
    if verb != "replace" && verb != "add" {
        return Err(ScimError::bad(
            flavor,
            "invalidSyntax",
            format!("unsupported op {verb:?}"),
        ));
    }
    let value = op.get("value").cloned().unwrap_or(Value::Null);
    let changes: Vec<(String, Value)> = match op["path"].as_str() {
        Some(path) => vec![(path.to_ascii_lowercase(), value)],
        None => match value {
            Value::Object(map) => map
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
            _ => {
                return Err(ScimError::bad(
                    flavor,
                    "invalidValue",
                    "value must be an object without path",
                ));
            }
        },
    };
    for (attr, _) in &changes {
        if attr != "active" && attr != "displayname" {
            return Err(ScimError::bad(
                flavor,
                "invalidPath",
                format!("cannot change {attr}"),
            ));
        }
    }
    Ok(changes)
}

/// The values of one filter attribute for one user.
fn values_of(user: &ScimUser, attr: &str) -> Vec<String> {
    match attr.to_ascii_lowercase().as_str() {
        "username" => vec![user.user_name.clone()],
        "emails" | "emails.value" => user.emails.iter().map(|e| e.value.clone()).collect(),
        "externalid" => user.external_id.clone().into_iter().collect(),
        "id" => vec![user.id.clone()],
        _ => Vec::new(),
    }
}

/// `emails[value eq "x"]` as `emails.value eq "x"`: the one value-path form clients send when
/// looking a user up, in the dotted form the shared filter parser reads.
fn flatten_value_path(filter: &str) -> String {
    let Some(open) = filter.find('[') else {
        return filter.to_owned();
    };
    let Some(close) = filter.rfind(']') else {
        return filter.to_owned();
    };
    let attr = filter[..open].trim();
    let inner = filter[open + 1..close].trim();
    format!("{attr}.{inner}{}", &filter[close + 1..])
}

/// Ids shaped like the provider's: not used for users (UUIDs), kept for request ids.
pub(crate) fn request_id() -> String {
    ids::alnum(&mut rand::thread_rng(), 24)
}
