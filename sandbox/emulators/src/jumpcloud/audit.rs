//! The audit trail: one Directory Insights event for every state change the
//! emulator applies, shaped like JumpCloud's (`POST
//! /insights/directory/v1/events`), so evidence collection can be tested
//! end to end and tests can assert "applied exactly once".
//!
//! Only changes are logged. A repeated suspend of a suspended user, or a
//! refused request, logs nothing. Security commands are the exception by
//! nature: JumpCloud queues a new command for every request, so every
//! accepted lock or erase is logged.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

/// Event types the emulator writes (names from the Directory Insights
/// event catalogue).
pub mod event_type {
    /// A user account was suspended (`state` became `SUSPENDED`).
    pub const USER_SUSPENDED: &str = "user_suspended";
    /// A user account was unsuspended.
    pub const USER_UNSUSPENDED: &str = "user_unsuspended";
    /// A STAGED user account was activated.
    pub const USER_ACTIVATED: &str = "user_activated";
    /// Other user fields changed (`changes` lists them).
    pub const USER_UPDATE: &str = "user_update";
    /// A user was added to or removed from a user group
    /// (`association.op` is `add` or `remove`).
    pub const ASSOCIATION_CHANGE: &str = "association_change";
    /// A builtin security command (lock, erase) was issued to a system.
    pub const COMMAND_RUN: &str = "command_run";
    /// An Apple MDM device acknowledged a command (service `mdm`).
    pub const MDM_COMMAND_RESULT: &str = "mdm_command_result";
}

/// One stored event.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEvent {
    /// Event id (an ObjectId).
    pub id: String,
    /// Organisation the event belongs to.
    pub org_id: String,
    /// `event_type`.
    pub event_type: String,
    /// `service` (`directory` or `mdm`).
    pub service: String,
    /// `timestamp`, RFC 3339 with milliseconds.
    pub timestamp: String,
    /// Epoch milliseconds of `timestamp` (the first `X-Search_after` value).
    pub epoch_ms: i64,
    /// Ids of every object the event is about (resource, association ends,
    /// device, system).
    pub targets: Vec<String>,
    /// The event as the Directory Insights API returns it.
    pub body: Value,
    /// When Directory Insights starts returning the event (its ingestion lag); `None`: at once.
    pub visible_from: Option<Timestamp>,
}

impl AuditEvent {
    /// Whether the event is about `id`.
    pub fn targets(&self, id: &str) -> bool {
        self.targets.iter().any(|t| t == id)
    }
}

/// What a state change contributes to an event; the store adds id,
/// organisation, timestamp and `@version`.
#[derive(Clone, Debug)]
pub(crate) struct EventSpec {
    pub event_type: &'static str,
    pub service: &'static str,
    pub targets: Vec<String>,
    pub fields: Map<String, Value>,
}

impl EventSpec {
    pub fn directory(event_type: &'static str, targets: Vec<String>) -> Self {
        Self {
            event_type,
            service: "directory",
            targets,
            fields: Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.fields.insert(key.to_owned(), value);
        self
    }
}

/// Request details recorded on events.
#[derive(Clone, Debug)]
pub(crate) struct Origin {
    pub initiated_by: Value,
    pub client_ip: String,
    pub user_agent: String,
    pub auth_method: String,
}

impl Origin {
    pub fn apply(&self, spec: EventSpec) -> EventSpec {
        spec.with("initiated_by", self.initiated_by.clone())
            .with("client_ip", json!(self.client_ip))
            .with("useragent", json!({ "name": self.user_agent }))
            .with("auth_method", json!(self.auth_method))
            .with("success", json!(true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_fills_the_request_fields() {
        let origin = Origin {
            initiated_by: json!({"type": "admin"}),
            client_ip: "127.0.0.1".into(),
            user_agent: "test".into(),
            auth_method: "api-key".into(),
        };
        let spec = origin.apply(EventSpec::directory(event_type::USER_SUSPENDED, vec![]));
        assert_eq!(spec.fields["auth_method"], "api-key");
        assert_eq!(spec.fields["success"], true);
    }
}
