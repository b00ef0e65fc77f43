//! The System Log: one `LogEvent` for every state change the emulator
//! applies, shaped like Okta's (`GET /api/v1/logs`), so evidence collection
//! can be tested end to end.
//!
//! Only requests that change something are logged. A repeated suspend that
//! is refused, a session clear on a user with nothing to clear, or removing
//! a non-member from a group logs nothing, so "applied exactly once" can be
//! asserted by counting events.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::common::clock;
use crate::okta::gate::RequestCtx;

/// Event types the emulator writes.
pub mod event_type {
    /// `POST /users/{id}/lifecycle/suspend` moved a user to SUSPENDED.
    pub const USER_SUSPEND: &str = "user.lifecycle.suspend";
    /// `POST /users/{id}/lifecycle/unsuspend` moved a user back to ACTIVE.
    pub const USER_UNSUSPEND: &str = "user.lifecycle.unsuspend";
    /// `POST /users/{id}/lifecycle/deactivate` moved a user to DEPROVISIONED.
    pub const USER_DEACTIVATE: &str = "user.lifecycle.deactivate";
    /// `DELETE /users/{id}/sessions` cleared sessions and/or tokens.
    pub const SESSION_CLEAR: &str = "user.session.clear";
    /// `DELETE /groups/{gid}/users/{uid}` removed a member.
    pub const GROUP_MEMBERSHIP_REMOVE: &str = "group.user_membership.remove";
    /// `PUT /groups/{gid}/users/{uid}` added a member.
    pub const GROUP_MEMBERSHIP_ADD: &str = "group.user_membership.add";
    /// `DELETE /users/{id}/grants` revoked one consent grant (one event per
    /// grant).
    pub const CONSENT_REVOKE: &str = "app.oauth2.as.consent.revoke";
    /// `DELETE /users/{id}/clients/{cid}/tokens` revoked a client's tokens.
    pub const TOKEN_REVOKE: &str = "app.oauth2.as.token.revoke";
    /// `DELETE /users/{userId}/factors/{factorId}` unenrolled a factor (one
    /// event per factor, including Okta Verify factors removed with push).
    pub const FACTOR_DEACTIVATE: &str = "user.mfa.factor.deactivate";
    /// `POST /users/{id}/lifecycle/reset_factors` unenrolled every factor.
    pub const FACTOR_RESET_ALL: &str = "user.mfa.factor.reset_all";
    /// An app assignment ended: `DELETE /apps/{appId}/users/{userId}`, or
    /// leaving the group it came from.
    pub const APP_MEMBERSHIP_REMOVE: &str = "application.user_membership.remove";
    /// Joining a group gave the user the group's apps.
    pub const APP_MEMBERSHIP_ADD: &str = "application.user_membership.add";
}

/// A System Log event (`LogEvent` in the management spec).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEvent {
    /// Who acted: the admin that owns the API token.
    pub actor: LogActor,
    /// The HTTP client that made the request.
    pub client: Value,
    /// Authentication context (API token requests carry none).
    pub authentication_context: Value,
    /// Human-readable summary.
    pub display_message: String,
    /// Dotted event type, e.g. `user.lifecycle.suspend`.
    pub event_type: String,
    /// Result of the action.
    pub outcome: LogOutcome,
    /// When the event was published (RFC 3339, milliseconds, UTC).
    pub published: String,
    /// Network reputation details (not modelled).
    pub security_context: Value,
    /// `INFO` for everything the emulator writes.
    pub severity: String,
    /// Request details, including the `requestId` that matches the
    /// response's `X-Okta-Request-Id`.
    pub debug_context: LogDebugContext,
    /// The pre-System-Log event name, where one exists.
    pub legacy_event_type: Option<String>,
    /// The request transaction.
    pub transaction: LogTransaction,
    /// Unique id of this event.
    pub uuid: String,
    /// Schema version, always `"0"`.
    pub version: String,
    /// The request's IP chain.
    pub request: Value,
    /// What the action was performed on.
    pub target: Vec<LogTarget>,
}

impl LogEvent {
    /// Whether any target has this id.
    pub fn targets(&self, id: &str) -> bool {
        self.target.iter().any(|t| t.id == id)
    }

    /// The request id this event was written under.
    pub fn request_id(&self) -> Option<&str> {
        self.debug_context
            .debug_data
            .get("requestId")
            .map(String::as_str)
    }
}

/// The actor of an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogActor {
    /// Actor id (a user id for admins).
    pub id: String,
    /// Actor type (`User`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Login of the actor.
    pub alternate_id: String,
    /// Display name of the actor.
    pub display_name: String,
    /// Extra details (unused).
    pub detail_entry: Option<Value>,
}

/// A target of an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogTarget {
    /// Target id (`00u…`, `00g…`, `0oa…`).
    pub id: String,
    /// Target type (`User`, `UserGroup`, `AppInstance`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Login for users, label for apps, `unknown` for groups.
    pub alternate_id: String,
    /// Display name.
    pub display_name: String,
    /// Extra details (unused).
    pub detail_entry: Option<Value>,
}

/// The result of an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogOutcome {
    /// `SUCCESS` for everything the emulator writes.
    pub result: String,
    /// Why, when not plain success.
    pub reason: Option<String>,
}

/// Request details of an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogDebugContext {
    /// `requestId`, `requestUri`, `url`, plus action-specific details.
    pub debug_data: BTreeMap<String, String>,
}

/// The transaction an event belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogTransaction {
    /// `WEB` for API requests.
    #[serde(rename = "type")]
    pub kind: String,
    /// The request id.
    pub id: String,
    /// Extra details.
    pub detail: Value,
}

/// An event plus what the log endpoint needs to order and bound it.
#[derive(Clone, Debug)]
pub(crate) struct StoredEvent {
    pub seq: u64,
    pub at: Timestamp,
    /// When the entry shows in `GET /logs`: Okta's log lags the events it records.
    pub visible_from: Timestamp,
    pub event: LogEvent,
}

/// What a state change wants written.
pub(crate) struct EventSpec<'a> {
    pub event_type: &'static str,
    pub display_message: &'static str,
    pub legacy_event_type: Option<&'static str>,
    pub targets: Vec<LogTarget>,
    pub details: Vec<(&'a str, String)>,
}

/// Builds a full event from what a mutation reports and the request it came
/// from.
pub(crate) fn build(
    spec: EventSpec<'_>,
    actor: &LogActor,
    ctx: &RequestCtx,
    at: Timestamp,
    uuid: String,
) -> LogEvent {
    let mut debug_data = BTreeMap::new();
    debug_data.insert("requestId".to_owned(), ctx.request_id.clone());
    debug_data.insert("requestUri".to_owned(), ctx.path.clone());
    debug_data.insert("url".to_owned(), ctx.path_and_query.clone());
    for (key, value) in spec.details {
        debug_data.insert(key.to_owned(), value);
    }
    LogEvent {
        actor: actor.clone(),
        client: serde_json::json!({
            "userAgent": {
                "rawUserAgent": ctx.user_agent,
                "os": "Unknown",
                "browser": "UNKNOWN",
            },
            "zone": null,
            "device": "Unknown",
            "id": null,
            "ipAddress": ctx.client_ip,
            "geographicalContext": null,
        }),
        authentication_context: serde_json::json!({
            "authenticationProvider": null,
            "credentialProvider": null,
            "credentialType": null,
            "issuer": null,
            "interface": null,
            "authenticationStep": 0,
            "externalSessionId": "unknown",
        }),
        display_message: spec.display_message.to_owned(),
        event_type: spec.event_type.to_owned(),
        outcome: LogOutcome {
            result: "SUCCESS".to_owned(),
            reason: None,
        },
        published: clock::format_millis(at),
        security_context: serde_json::json!({
            "asNumber": null,
            "asOrg": null,
            "isp": null,
            "domain": null,
            "isProxy": null,
        }),
        severity: "INFO".to_owned(),
        debug_context: LogDebugContext { debug_data },
        legacy_event_type: spec.legacy_event_type.map(str::to_owned),
        transaction: LogTransaction {
            kind: "WEB".to_owned(),
            id: ctx.request_id.clone(),
            detail: serde_json::json!({}),
        },
        uuid,
        version: "0".to_owned(),
        request: serde_json::json!({
            "ipChain": [{
                "ip": ctx.client_ip,
                "geographicalContext": null,
                "version": "V4",
                "source": null,
            }],
        }),
        target: spec.targets,
    }
}

/// Attribute values of an event for filter expressions
/// (`eventType`, `target.id`, `actor.alternateId`, …).
pub(crate) fn values(event: &LogEvent, attr: &str) -> Vec<String> {
    let one = |s: &str| vec![s.to_owned()];
    match attr {
        "eventType" => one(&event.event_type),
        "uuid" => one(&event.uuid),
        "published" => one(&event.published),
        "severity" => one(&event.severity),
        "displayMessage" => one(&event.display_message),
        "legacyEventType" => event.legacy_event_type.iter().cloned().collect(),
        "outcome.result" => one(&event.outcome.result),
        "outcome.reason" => event.outcome.reason.iter().cloned().collect(),
        "actor.id" => one(&event.actor.id),
        "actor.type" => one(&event.actor.kind),
        "actor.alternateId" => one(&event.actor.alternate_id),
        "actor.displayName" => one(&event.actor.display_name),
        "target.id" => event.target.iter().map(|t| t.id.clone()).collect(),
        "target.type" => event.target.iter().map(|t| t.kind.clone()).collect(),
        "target.alternateId" => event
            .target
            .iter()
            .map(|t| t.alternate_id.clone())
            .collect(),
        "target.displayName" => event
            .target
            .iter()
            .map(|t| t.display_name.clone())
            .collect(),
        "transaction.id" => one(&event.transaction.id),
        "client.ipAddress" => event
            .client
            .get("ipAddress")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .into_iter()
            .collect(),
        other => other
            .strip_prefix("debugContext.debugData.")
            .and_then(|key| event.debug_context.debug_data.get(key))
            .cloned()
            .into_iter()
            .collect(),
    }
}

/// Whether every keyword of a `q` query appears (case-insensitively) in the
/// event's text fields.
pub(crate) fn matches_keywords(event: &LogEvent, q: &str) -> bool {
    let mut haystack = format!(
        "{} {} {} {}",
        event.event_type, event.display_message, event.actor.alternate_id, event.actor.display_name
    );
    for target in &event.target {
        haystack.push(' ');
        haystack.push_str(&target.id);
        haystack.push(' ');
        haystack.push_str(&target.alternate_id);
        haystack.push(' ');
        haystack.push_str(&target.display_name);
    }
    let haystack = haystack.to_lowercase();
    q.split_whitespace()
        .all(|kw| haystack.contains(&kw.to_lowercase()))
}
