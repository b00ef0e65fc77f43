//! Reading each vendor's payload into a [`Hint`].
//!
//! Each vendor gets a small function that names the fields it reads and maps event names to a
//! [`HintKind`]. Deletion events map to `Termination` on purpose: a deleted record cannot be
//! re-read to decide, and a person missing from HR must not keep access. Everything unknown is
//! `Ignored`, so a vendor adding events never breaks intake.

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::{Hint, HintError, HintKind, Vendor};
use crate::event::MAX_BODY_BYTES;

/// Longest id, event name or time accepted from a payload; they are stored and logged.
const MAX_TEXT_LEN: usize = 256;

pub(super) fn parse(vendor: Vendor, body: &[u8]) -> Result<Hint, HintError> {
    if vendor == Vendor::StandardWebhooks {
        return Err(HintError::NotAVendorPayload);
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(HintError::TooLarge {
            vendor,
            size: body.len(),
            limit: MAX_BODY_BYTES,
        });
    }
    match vendor {
        Vendor::StandardWebhooks => Err(HintError::NotAVendorPayload),
        Vendor::BambooHr => bamboohr(&Doc::json_or_form(vendor, body)?),
        Vendor::HiBob => hibob(&Doc::json(vendor, body)?),
        Vendor::Gusto => gusto(&Doc::json(vendor, body)?),
        Vendor::Merge => merge(&Doc::json(vendor, body)?),
        Vendor::Finch => finch(&Doc::json(vendor, body)?),
        Vendor::Personio => personio(&Doc::json(vendor, body)?),
        Vendor::Rippling => rippling(&Doc::json_or_form(vendor, body)?),
    }
}

/// BambooHR event-based webhooks (`type`, `timestamp`, `data.employeeId`), JSON or form-encoded,
/// and the legacy field-based ones (`employees[]` with `id`, `action`, `timestamp`).
fn bamboohr(doc: &Doc) -> Result<Hint, HintError> {
    if let Some(employees) = doc.root.get("employees") {
        return bamboohr_field_based(doc, employees);
    }
    if let Some(employees) = bamboohr_form_employees(&doc.root) {
        return bamboohr_field_based(doc, &employees);
    }
    let event_type = doc.required("/type", "type")?;
    let kind = match event_type.as_str() {
        // Status, employment status and termination date arrive as monitored-field updates;
        // only the re-read record says whether this one is a termination.
        "employee.updated" => HintKind::Changed,
        "employee.deleted" => HintKind::Termination,
        _ => HintKind::Ignored,
    };
    Ok(Hint {
        vendor: doc.vendor,
        event_type,
        employee_id: doc.text_either("/data/employeeId", "/data[employeeId]", "data.employeeId")?,
        kind,
        occurred_at: doc.text("/timestamp", "timestamp")?,
    })
}

/// The field-based form post (`employees[<employeeId>][changedFields][0]=Status`,
/// `employees[<employeeId>][Status]=Inactive`, ...) as the JSON layout's `employees` array:
/// one entry per employee id, with its `action` when posted (else `Updated`, the only action
/// that carries fields).
fn bamboohr_form_employees(root: &Value) -> Option<Value> {
    let map = root.as_object()?;
    let mut entries: Vec<(String, Map<String, Value>)> = Vec::new();
    for (key, value) in map {
        let Some(rest) = key.strip_prefix("employees[") else {
            continue;
        };
        let (id, rest) = rest.split_once(']')?;
        let index = match entries.iter().position(|(known, _)| known == id) {
            Some(i) => i,
            None => {
                let mut entry = Map::new();
                entry.insert("id".into(), Value::String(id.to_owned()));
                entry.insert("action".into(), Value::String("Updated".into()));
                entries.push((id.to_owned(), entry));
                entries.len() - 1
            }
        };
        for field in ["action", "timestamp"] {
            if rest == format!("[{field}]") {
                entries[index].1.insert(field.into(), value.clone());
            }
        }
    }
    if entries.is_empty() {
        return None;
    }
    Some(Value::Array(
        entries.into_iter().map(|(_, e)| Value::Object(e)).collect(),
    ))
}

fn bamboohr_field_based(doc: &Doc, employees: &Value) -> Result<Hint, HintError> {
    let list = employees
        .as_array()
        .ok_or_else(|| HintError::InvalidField {
            vendor: doc.vendor,
            field: "employees",
            reason: "expected an array".to_owned(),
        })?;
    let [one] = list.as_slice() else {
        // Several employees in one delivery (BambooHR batches): a single hint cannot name them,
        // so intake reconciles the whole directory instead.
        let kind = if list.is_empty() {
            HintKind::Ignored
        } else {
            HintKind::Changed
        };
        return Ok(Hint {
            vendor: doc.vendor,
            event_type: "employee_with_fields.batch".to_owned(),
            employee_id: None,
            kind,
            occurred_at: None,
        });
    };
    let entry = Doc {
        vendor: doc.vendor,
        root: one.clone(),
    };
    let action = entry.required("/action", "employees[0].action")?;
    let kind = match action.to_ascii_lowercase().as_str() {
        "updated" => HintKind::Changed,
        "deleted" => HintKind::Termination,
        _ => HintKind::Ignored,
    };
    Ok(Hint {
        vendor: doc.vendor,
        event_type: format!("employee_with_fields.{}", action.to_ascii_lowercase()),
        employee_id: entry.text("/id", "employees[0].id")?,
        kind,
        occurred_at: entry.text("/timestamp", "employees[0].timestamp")?,
    })
}

/// HiBob webhooks v2: `type`, `triggeredAt`, `data.employeeId`.
fn hibob(doc: &Doc) -> Result<Hint, HintError> {
    let event_type = doc.required("/type", "type")?;
    let kind = match event_type.as_str() {
        "employee.left" | "employee.inactivated" | "employee.access.revoked.immediately" => {
            HintKind::Termination
        }
        "employee.deleted" => HintKind::Termination,
        "employee.updated"
        | "employee.activated"
        | "table.entry.created"
        | "table.entry.updated" => HintKind::Changed,
        _ => HintKind::Ignored,
    };
    Ok(Hint {
        vendor: doc.vendor,
        event_type,
        employee_id: doc.text("/data/employeeId", "data.employeeId")?,
        kind,
        occurred_at: doc.text("/triggeredAt", "triggeredAt")?,
    })
}

/// Gusto: `event_type`, `entity_type`/`entity_uuid`, `timestamp` (Unix seconds).
fn gusto(doc: &Doc) -> Result<Hint, HintError> {
    let event_type = doc.required("/event_type", "event_type")?;
    let kind = match event_type.as_str() {
        // Gusto's changelog and events page spell the effective event two ways; accept both.
        "employee.terminated"
        | "employee.termination_effective"
        | "employee.terminated_effective" => HintKind::Termination,
        "employee.termination_cancelled" => HintKind::Rescinded,
        "employee.deleted" => HintKind::Termination,
        "employee.updated"
        | "employee.rehired"
        | "employee.rehire_effective"
        | "employee.rehire_cancelled" => HintKind::Changed,
        _ => HintKind::Ignored,
    };
    let is_employee = doc.text("/entity_type", "entity_type")?.as_deref() == Some("Employee");
    let employee_id = if is_employee {
        doc.text("/entity_uuid", "entity_uuid")?
    } else {
        None
    };
    let occurred_at = match doc.root.get("timestamp") {
        None | Some(Value::Null) => None,
        Some(v) => Some(unix_to_rfc3339(v).ok_or_else(|| HintError::InvalidField {
            vendor: doc.vendor,
            field: "timestamp",
            reason: "expected Unix seconds".to_owned(),
        })?),
    };
    Ok(Hint {
        vendor: doc.vendor,
        event_type,
        employee_id,
        kind,
        occurred_at,
    })
}

/// Merge: `hook.event` (`Employee.changed` …) and the common-model record in `data`.
fn merge(doc: &Doc) -> Result<Hint, HintError> {
    let event_type = doc.required("/hook/event", "hook.event")?;
    let (model, action) = event_type.split_once('.').unwrap_or((&event_type, ""));
    let kind = if model.eq_ignore_ascii_case("Employee") {
        match action.to_ascii_lowercase().as_str() {
            "changed" => HintKind::Changed,
            "removed" => HintKind::Termination,
            _ => HintKind::Ignored,
        }
    } else {
        HintKind::Ignored
    };
    let (employee_id, occurred_at) = if model.eq_ignore_ascii_case("Employee") {
        (
            doc.text("/data/id", "data.id")?,
            doc.text("/data/modified_at", "data.modified_at")?,
        )
    } else {
        (None, None)
    };
    Ok(Hint {
        vendor: doc.vendor,
        event_type,
        employee_id,
        kind,
        occurred_at,
    })
}

/// Finch: `event_type` and `data.individual_id`.
fn finch(doc: &Doc) -> Result<Hint, HintError> {
    let event_type = doc.required("/event_type", "event_type")?;
    let kind = match event_type.as_str() {
        "employment.updated" | "individual.updated" | "directory.updated" => HintKind::Changed,
        "employment.deleted" | "individual.deleted" | "directory.deleted" => HintKind::Termination,
        _ => HintKind::Ignored,
    };
    Ok(Hint {
        vendor: doc.vendor,
        event_type,
        employee_id: doc.text("/data/individual_id", "data.individual_id")?,
        kind,
        occurred_at: None,
    })
}

/// Personio v2: `event_name`, `occurred_at`, and the person in the dataless `payload`.
fn personio(doc: &Doc) -> Result<Hint, HintError> {
    let event_type = doc.required("/event_name", "event_name")?;
    let kind = match event_type.as_str() {
        "employment.terminated" | "person.deleted" => HintKind::Termination,
        "employment.updated" | "employment.deleted" | "person.updated" => HintKind::Changed,
        _ => HintKind::Ignored,
    };
    // Person is Personio's employee. Employment events name it as a nested person; person
    // events are about the person itself, so their `payload.id` is the person id.
    let mut employee_id = doc.text("/payload/person/id", "payload.person.id")?;
    if employee_id.is_none() {
        employee_id = doc.text("/payload/person_id", "payload.person_id")?;
    }
    if employee_id.is_none() && event_type.starts_with("person.") {
        employee_id = doc.text("/payload/id", "payload.id")?;
    }
    Ok(Hint {
        vendor: doc.vendor,
        event_type,
        employee_id,
        kind,
        occurred_at: doc.text("/occurred_at", "occurred_at")?,
    })
}

/// Rippling partner webhooks: form fields `event_name` (some deliveries name it `event_type`)
/// and `id` (employee or group).
fn rippling(doc: &Doc) -> Result<Hint, HintError> {
    let event_type = match doc.text("/event_type", "event_type")? {
        Some(name) if doc.text("/event_name", "event_name")?.is_none() => name,
        _ => doc.required("/event_name", "event_name")?,
    };
    let kind = match event_type.as_str() {
        // Rippling sends this when the app's access is removed: termination, access rules or
        // manual removal. All three mean the person must lose access.
        "employee.deleted" => HintKind::Termination,
        "employee.updated" => HintKind::Changed,
        _ => HintKind::Ignored,
    };
    let employee_id = if event_type.starts_with("employee.") {
        doc.text("/id", "id")?
    } else {
        None
    };
    Ok(Hint {
        vendor: doc.vendor,
        event_type,
        employee_id,
        kind,
        occurred_at: None,
    })
}

fn unix_to_rfc3339(value: &Value) -> Option<String> {
    let secs = value.as_i64()?;
    Some(Timestamp::from_second(secs).ok()?.to_string())
}

/// A parsed body: JSON as is, or a form flattened to `{"key": "value"}`.
struct Doc {
    vendor: Vendor,
    root: Value,
}

impl Doc {
    fn json(vendor: Vendor, body: &[u8]) -> Result<Self, HintError> {
        let root: Value = serde_json::from_slice(body).map_err(|e| HintError::Unreadable {
            vendor,
            format: "JSON",
            message: e.to_string(),
        })?;
        if !root.is_object() {
            return Err(HintError::Unreadable {
                vendor,
                format: "JSON",
                message: "expected an object".to_owned(),
            });
        }
        Ok(Self { vendor, root })
    }

    /// JSON when the body starts with `{`, otherwise `application/x-www-form-urlencoded`.
    fn json_or_form(vendor: Vendor, body: &[u8]) -> Result<Self, HintError> {
        if body.trim_ascii_start().starts_with(b"{") {
            return Self::json(vendor, body);
        }
        if std::str::from_utf8(body).is_err() {
            return Err(HintError::Unreadable {
                vendor,
                format: "form data",
                message: "not UTF-8".to_owned(),
            });
        }
        let mut map = Map::new();
        for (key, value) in form_urlencoded::parse(body) {
            // First occurrence wins, as for headers.
            map.entry(key.into_owned())
                .or_insert_with(|| Value::String(value.into_owned()));
        }
        Ok(Self {
            vendor,
            root: Value::Object(map),
        })
    }

    /// A string or integer at `pointer`; absent, null or blank is `None`.
    fn text(&self, pointer: &str, field: &'static str) -> Result<Option<String>, HintError> {
        let invalid = |reason: &str| HintError::InvalidField {
            vendor: self.vendor,
            field,
            reason: reason.to_owned(),
        };
        let text = match self.root.pointer(pointer) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) => s.trim().to_owned(),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
            Some(_) => return Err(invalid("expected a string or integer")),
        };
        if text.is_empty() {
            return Ok(None);
        }
        if text.len() > MAX_TEXT_LEN {
            return Err(invalid("longer than 256 bytes"));
        }
        if text.chars().any(char::is_control) {
            return Err(invalid("contains control characters"));
        }
        Ok(Some(text))
    }

    /// The first of two spellings present (JSON path, or its form-encoded key).
    fn text_either(
        &self,
        pointer: &str,
        form_pointer: &str,
        field: &'static str,
    ) -> Result<Option<String>, HintError> {
        match self.text(pointer, field)? {
            Some(v) => Ok(Some(v)),
            None => self.text(form_pointer, field),
        }
    }

    fn required(&self, pointer: &str, field: &'static str) -> Result<String, HintError> {
        self.text(pointer, field)?.ok_or(HintError::MissingField {
            vendor: self.vendor,
            field,
        })
    }
}
