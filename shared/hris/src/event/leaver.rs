//! `passage.leaver.v1`: "this person is leaving; cut their access at this moment".
//!
//! The HR side states *who* (tenant + tenant-local employee id + email), *when* (a last working
//! day in the leaver's time zone, an exact instant, or `immediate` for involuntary terminations)
//! and optionally who their manager is (to receive handed-over data). The published JSON Schema
//! is [`LEAVER_EVENT_V1_SCHEMA`]; [`LeaverEvent::parse`] applies the same rules by hand and lists
//! every violation.
//!
//! ```json
//! {
//!   "type": "passage.leaver.v1",
//!   "tenant": "acme",
//!   "employee_id": "E1042",
//!   "email": "dana@acme.example",
//!   "last_working_day": "2025-03-31",
//!   "time_zone": "Europe/Berlin",
//!   "manager": { "email": "lee@acme.example" }
//! }
//! ```

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};

use super::fields::{self, DISPLAY_NAME_MAX, EMPLOYEE_ID_MAX, REASON_MAX};
use super::{EventError, Problem, ProblemKind, Problems, parse_body, pointer};

/// The `type` value of this format.
pub const LEAVER_EVENT_TYPE: &str = "passage.leaver.v1";

/// The JSON Schema (draft 2020-12) of `passage.leaver.v1`, for serving to integrators.
pub const LEAVER_EVENT_V1_SCHEMA: &str = include_str!("../../schema/leaver-event.v1.schema.json");

/// Every top-level field, in documentation order.
pub const FIELDS: &[&str] = &[
    "type",
    "tenant",
    "employee_id",
    "email",
    "last_working_day",
    "cutoff_at",
    "time_zone",
    "immediate",
    "manager",
    "display_name",
    "reason",
];

/// Fields that must always be present (the schema's `required`). One of `last_working_day` /
/// `cutoff_at` is additionally required unless `immediate` is true.
pub const REQUIRED_FIELDS: &[&str] = &["type", "tenant", "employee_id", "email", "time_zone"];

/// Fields of `manager`.
pub const MANAGER_FIELDS: &[&str] = &["email", "employee_id"];

/// Required fields of `manager`.
pub const MANAGER_REQUIRED_FIELDS: &[&str] = &["email"];

/// The leaver's manager, who typically receives the leaver's files and mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manager {
    email: String,
    employee_id: Option<String>,
}

impl Manager {
    pub fn email(&self) -> &str {
        &self.email
    }

    pub fn employee_id(&self) -> Option<&str> {
        self.employee_id.as_deref()
    }

    fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("email".into(), json!(self.email));
        if let Some(id) = &self.employee_id {
            out.insert("employee_id".into(), json!(id));
        }
        Value::Object(out)
    }
}

/// A validated `passage.leaver.v1` event. Only [`LeaverEvent::parse`] and
/// [`LeaverEvent::from_value`] create one, so holding one means every rule held.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaverEvent {
    tenant: String,
    employee_id: String,
    email: String,
    last_working_day: Option<Date>,
    /// The instant and its original RFC 3339 spelling (kept so the offset the sender chose
    /// survives re-serialisation).
    cutoff_at: Option<(Timestamp, String)>,
    time_zone: TimeZone,
    immediate: bool,
    manager: Option<Manager>,
    display_name: Option<String>,
    reason: Option<String>,
    /// When access goes unless `immediate`: `cutoff_at`, or the end of `last_working_day`.
    scheduled: Option<Timestamp>,
}

impl LeaverEvent {
    /// Parse and validate a raw request body (at most [`super::MAX_BODY_BYTES`]).
    pub fn parse(body: &[u8]) -> Result<Self, EventError> {
        let (value, duplicates) = parse_body(body)?;
        Self::validate(&value, duplicates)
    }

    /// Validate an already parsed value. Prefer [`parse`](Self::parse) for request bodies: a
    /// `Value` can no longer show duplicate fields.
    pub fn from_value(value: &Value) -> Result<Self, EventError> {
        Self::validate(value, Vec::new())
    }

    /// The tenant (customer organisation) id, `[a-z0-9-]{1,64}`.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The leaver's id in the tenant's HR system.
    pub fn employee_id(&self) -> &str {
        &self.employee_id
    }

    /// The leaver's work email, as given.
    pub fn email(&self) -> &str {
        &self.email
    }

    /// The last day the leaver works, in [`time_zone`](Self::time_zone).
    pub fn last_working_day(&self) -> Option<Date> {
        self.last_working_day
    }

    /// The exact cut-off instant, if the sender gave one.
    pub fn cutoff_at(&self) -> Option<Timestamp> {
        self.cutoff_at.as_ref().map(|(t, _)| *t)
    }

    /// The leaver's time zone, from the bundled tz database.
    pub fn time_zone(&self) -> &TimeZone {
        &self.time_zone
    }

    /// The canonical IANA name of [`time_zone`](Self::time_zone) (e.g. `America/New_York` even
    /// if sent as `america/new_york`).
    pub fn time_zone_name(&self) -> &str {
        self.time_zone.iana_name().unwrap_or("UTC")
    }

    /// Cut access now (involuntary termination), whatever dates are given.
    pub fn immediate(&self) -> bool {
        self.immediate
    }

    pub fn manager(&self) -> Option<&Manager> {
        self.manager.as_ref()
    }

    pub fn display_name(&self) -> Option<&str> {
        self.display_name.as_deref()
    }

    /// Free-text termination reason. HR-sensitive: not carried into evidence.
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// The instant access must be gone: `now` if `immediate`; else `cutoff_at`; else the end of
    /// `last_working_day` in the leaver's time zone (midnight starting the next day there).
    pub fn cutoff(&self, now: Timestamp) -> Timestamp {
        if self.immediate {
            return now;
        }
        self.scheduled
            .expect("validation guarantees a scheduled cut-off unless immediate")
    }

    /// The event as documented JSON, fields in documentation order. Parsing it again yields an
    /// equal event.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("type".into(), json!(LEAVER_EVENT_TYPE));
        out.insert("tenant".into(), json!(self.tenant));
        out.insert("employee_id".into(), json!(self.employee_id));
        out.insert("email".into(), json!(self.email));
        if let Some(day) = self.last_working_day {
            out.insert("last_working_day".into(), json!(day.to_string()));
        }
        if let Some((_, text)) = &self.cutoff_at {
            out.insert("cutoff_at".into(), json!(text));
        }
        out.insert("time_zone".into(), json!(self.time_zone_name()));
        out.insert("immediate".into(), json!(self.immediate));
        if let Some(manager) = &self.manager {
            out.insert("manager".into(), manager.to_json());
        }
        if let Some(name) = &self.display_name {
            out.insert("display_name".into(), json!(name));
        }
        if let Some(reason) = &self.reason {
            out.insert("reason".into(), json!(reason));
        }
        Value::Object(out)
    }

    fn validate(value: &Value, duplicates: Vec<Problem>) -> Result<Self, EventError> {
        let mut problems = Problems(duplicates);
        let Some(obj) = value.as_object() else {
            problems.push("", ProblemKind::Invalid, "the event must be a JSON object");
            return Err(EventError::Invalid {
                problems: problems.into_vec(),
            });
        };
        let mut r = Reader {
            obj,
            parent: "",
            problems: &mut problems,
        };
        let fields = Fields::read(&mut r);
        fields.check_dates(&mut r);
        let scheduled = fields.scheduled(&mut r);
        fields.into_event(scheduled, problems)
    }
}

/// Every top-level field as read: `None` where it is absent or wrong (a problem says which).
struct Fields {
    tenant: Option<String>,
    employee_id: Option<String>,
    email: Option<String>,
    last_working_day: Option<Date>,
    cutoff_at: Option<(Timestamp, String)>,
    time_zone: Option<TimeZone>,
    immediate: Option<bool>,
    manager: Option<Option<Manager>>,
    display_name: Option<String>,
    reason: Option<String>,
    /// Which of the two dates were present at all, valid or not.
    has_day: bool,
    has_instant: bool,
}

impl Fields {
    /// Reads each field with its own rule; unknown fields and a wrong `type` are problems too.
    fn read(r: &mut Reader<'_, '_>) -> Self {
        r.reject_unknown(FIELDS);
        if let Some(ty) = r.string("type", true)
            && ty != LEAVER_EVENT_TYPE
        {
            r.invalid("type", format!("must be `{LEAVER_EVENT_TYPE}`"));
        }
        Self {
            tenant: r.field("tenant", true, |s| fields::tenant(s).map(|()| s.to_owned())),
            employee_id: r.field("employee_id", true, |s| {
                fields::text(s, EMPLOYEE_ID_MAX).map(|()| s.to_owned())
            }),
            email: r.field("email", true, |s| fields::email(s).map(|()| s.to_owned())),
            last_working_day: r.field("last_working_day", false, fields::date),
            cutoff_at: r.field("cutoff_at", false, |s| {
                fields::instant(s).map(|t| (t, s.to_owned()))
            }),
            time_zone: r.field("time_zone", true, fields::time_zone),
            immediate: r.boolean("immediate"),
            manager: r.manager(),
            display_name: r.field("display_name", false, |s| {
                fields::text(s, DISPLAY_NAME_MAX).map(|()| s.to_owned())
            }),
            reason: r.field("reason", false, |s| {
                fields::free_text(s, REASON_MAX).map(|()| s.to_owned())
            }),
            has_day: r.obj.contains_key("last_working_day"),
            has_instant: r.obj.contains_key("cutoff_at"),
        }
    }

    /// Exactly one of the two dates, unless the cut is immediate (then at most one).
    fn check_dates(&self, r: &mut Reader<'_, '_>) {
        if self.has_day && self.has_instant {
            r.invalid(
                "cutoff_at",
                "give either `last_working_day` or `cutoff_at`, not both",
            );
        } else if !self.has_day && !self.has_instant && self.immediate == Some(false) {
            r.problems.push(
                "",
                ProblemKind::Missing,
                "one of `last_working_day` or `cutoff_at` is required unless `immediate` is true",
            );
        }
    }

    /// When access goes unless `immediate`: `cutoff_at`, or the end of `last_working_day` in
    /// the leaver's zone (a problem if that lies outside the supported range).
    fn scheduled(&self, r: &mut Reader<'_, '_>) -> Option<Timestamp> {
        match (&self.cutoff_at, self.last_working_day, &self.time_zone) {
            (Some((t, _)), _, _) => Some(*t),
            (None, Some(day), Some(tz)) => {
                let end = day
                    .tomorrow()
                    .and_then(|next| next.to_zoned(tz.clone()))
                    .map(|z| z.timestamp());
                if end.is_err() {
                    r.invalid("last_working_day", "is outside the supported date range");
                }
                end.ok()
            }
            _ => None,
        }
    }

    /// The event, if every required field was read and no problem was found.
    fn into_event(
        self,
        scheduled: Option<Timestamp>,
        problems: Problems,
    ) -> Result<LeaverEvent, EventError> {
        match (
            self.tenant,
            self.employee_id,
            self.email,
            self.time_zone,
            self.immediate,
        ) {
            (Some(tenant), Some(employee_id), Some(email), Some(time_zone), Some(immediate))
                if problems.is_empty() =>
            {
                Ok(LeaverEvent {
                    tenant,
                    employee_id,
                    email,
                    last_working_day: self.last_working_day,
                    cutoff_at: self.cutoff_at,
                    time_zone,
                    immediate,
                    manager: self.manager.flatten(),
                    display_name: self.display_name,
                    reason: self.reason,
                    scheduled,
                })
            }
            _ => Err(EventError::Invalid {
                problems: problems.into_vec(),
            }),
        }
    }
}

impl Serialize for LeaverEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

/// Reads typed fields out of one JSON object, recording a problem for each that is wrong.
struct Reader<'a, 'p> {
    obj: &'a Map<String, Value>,
    parent: &'a str,
    problems: &'p mut Problems,
}

impl<'a> Reader<'a, '_> {
    fn path(&self, name: &str) -> String {
        pointer(self.parent, name)
    }

    fn invalid(&mut self, name: &str, message: impl Into<String>) {
        let path = self.path(name);
        self.problems.push(path, ProblemKind::Invalid, message);
    }

    fn reject_unknown(&mut self, known: &[&str]) {
        for name in self.obj.keys() {
            if !known.contains(&name.as_str()) {
                let path = self.path(name);
                self.problems.push(
                    path,
                    ProblemKind::Unknown,
                    format!(
                        "is not a field here (check the spelling); known fields: {}",
                        known.join(", ")
                    ),
                );
            }
        }
    }

    /// The string at `name`: `None` (with a problem) if required and absent or not a string.
    fn string(&mut self, name: &str, required: bool) -> Option<&'a str> {
        match self.obj.get(name) {
            None => {
                if required {
                    let path = self.path(name);
                    self.problems
                        .push(path, ProblemKind::Missing, "is required");
                }
                None
            }
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                self.invalid(name, format!("must be a string, not {}", kind_of(other)));
                None
            }
        }
    }

    /// A string field run through `check`.
    fn field<T>(
        &mut self,
        name: &str,
        required: bool,
        check: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let s = self.string(name, required)?;
        match check(s) {
            Ok(v) => Some(v),
            Err(message) => {
                self.invalid(name, message);
                None
            }
        }
    }

    /// An optional boolean defaulting to false; `None` if present but not a boolean.
    fn boolean(&mut self, name: &str) -> Option<bool> {
        match self.obj.get(name) {
            None => Some(false),
            Some(Value::Bool(b)) => Some(*b),
            Some(other) => {
                self.invalid(
                    name,
                    format!("must be true or false, not {}", kind_of(other)),
                );
                None
            }
        }
    }

    /// `Some(None)` when absent, `Some(Some(_))` when valid, `None` when invalid.
    fn manager(&mut self) -> Option<Option<Manager>> {
        let value = match self.obj.get("manager") {
            None => return Some(None),
            Some(Value::Object(m)) => m,
            Some(other) => {
                self.invalid(
                    "manager",
                    format!(
                        "must be an object with `email` and optionally `employee_id`, not {}",
                        kind_of(other)
                    ),
                );
                return None;
            }
        };
        let parent = self.path("manager");
        let mut inner = Reader {
            obj: value,
            parent: &parent,
            problems: &mut *self.problems,
        };
        inner.reject_unknown(MANAGER_FIELDS);
        let email = inner.field("email", true, |s| fields::email(s).map(|()| s.to_owned()));
        let employee_id = inner.field("employee_id", false, |s| {
            fields::text(s, EMPLOYEE_ID_MAX).map(|()| s.to_owned())
        });
        let employee_id_ok = employee_id.is_some() || !value.contains_key("employee_id");
        match email {
            Some(email) if employee_id_ok => Some(Some(Manager { email, employee_id })),
            _ => None,
        }
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
