//! The audit log: one [`AuditEvent`] per real state change, shaped like an
//! Admin SDK Reports `Activity` (`id.time`, `id.uniqueQualifier`,
//! `id.applicationName`, `actor.email`, `events[].type/name/parameters`).
//!
//! Only changes are logged. A repeated suspend, a signOut with no live
//! sessions, or a delete that answers 404 writes nothing, so tests can
//! assert "applied exactly once" by counting events.

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};

use crate::common::clock;

/// Event names. Those under `admin` are the names the Admin console audit
/// log (Reports API, `applicationName=admin`) uses for the same change;
/// the Gmail and Drive ones are the emulator's own summaries.
pub mod event_name {
    /// `users.update` set `suspended: true` (type `USER_SETTINGS`).
    pub const SUSPEND_USER: &str = "SUSPEND_USER";
    /// `users.update` set `suspended: false`.
    pub const UNSUSPEND_USER: &str = "UNSUSPEND_USER";
    /// `users.update` set `archived`.
    pub const ARCHIVE_USER: &str = "ARCHIVE_USER";
    /// `users.update` cleared `archived`.
    pub const UNARCHIVE_USER: &str = "UNARCHIVE_USER";
    /// `users.update` moved the user to another organizational unit.
    pub const MOVE_USER_TO_ORG_UNIT: &str = "MOVE_USER_TO_ORG_UNIT";
    /// `users.signOut` ended live sessions ("Cookies reset … and forced
    /// re-login").
    pub const RESET_SIGNIN_COOKIES: &str = "RESET_SIGNIN_COOKIES";
    /// `tokens.delete` revoked an app's tokens (parameter `APP_ID`).
    pub const REVOKE_3LO_TOKEN: &str = "REVOKE_3LO_TOKEN";
    /// `asps.delete` revoked an application-specific password (`ASP_ID`).
    pub const REVOKE_ASP: &str = "REVOKE_ASP";
    /// `verificationCodes.invalidate` deleted backup codes.
    pub const DELETE_2SV_SCRATCH_CODES: &str = "DELETE_2SV_SCRATCH_CODES";
    /// `members.delete` removed a user from a group (`GROUP_EMAIL`).
    pub const REMOVE_GROUP_MEMBER: &str = "REMOVE_GROUP_MEMBER";
    /// A member added to a group (a rehire's memberships given back).
    pub const ADD_GROUP_MEMBER: &str = "ADD_GROUP_MEMBER";
    /// A licence assigned to a user.
    pub const USER_LICENSE_ASSIGNMENT: &str = "USER_LICENSE_ASSIGNMENT";
    /// `licenseAssignments.delete` removed a licence (`SKU_NAME`).
    pub const USER_LICENSE_REVOKE: &str = "USER_LICENSE_REVOKE";
    /// `transfers.insert` created a data transfer.
    pub const CREATE_DATA_TRANSFER_REQUEST: &str = "CREATE_DATA_TRANSFER_REQUEST";
    /// A mobile device action changed the device (`ACTION_TYPE`,
    /// `DEVICE_ID`).
    pub const MOBILE_DEVICE_ACTION: &str = "MOBILE_DEVICE_ACTION";
    /// A transfer completed and Drive files changed owner (`drive`).
    pub const CHANGE_OWNER: &str = "change_owner";
    /// A transfer completed and calendar data changed owner (`calendar`).
    pub const TRANSFER_CALENDAR: &str = "transfer_calendar_ownership";
    /// `settings.delegates.create` added a delegate (`gmail`).
    pub const ADD_DELEGATE: &str = "add_delegate";
    /// `settings.delegates.delete` removed a delegate.
    pub const REMOVE_DELEGATE: &str = "remove_delegate";
    /// `settings.forwardingAddresses.create` added a forwarding address.
    pub const ADD_FORWARDING_ADDRESS: &str = "add_forwarding_address";
    /// `settings.forwardingAddresses.delete` removed one.
    pub const REMOVE_FORWARDING_ADDRESS: &str = "remove_forwarding_address";
    /// `settings.updateAutoForwarding` changed auto-forwarding.
    pub const CHANGE_AUTO_FORWARDING: &str = "change_auto_forwarding";
    /// `settings.updateVacation` changed the vacation responder.
    pub const CHANGE_VACATION: &str = "change_vacation";
}

/// One logged change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// Position in the log, from 1.
    pub seq: u64,
    /// When it happened (RFC 3339, milliseconds, UTC).
    pub time: String,
    /// Reports application: `admin`, `drive`, `calendar` or `gmail`.
    pub application: String,
    /// Event type, e.g. `USER_SETTINGS`, `GROUP_SETTINGS`.
    pub event_type: String,
    /// Event name, one of [`event_name`].
    pub name: String,
    /// Who acted: the impersonated user (the service account's e-mail when
    /// nobody was impersonated).
    pub actor: String,
    /// What the event is about: the user's primary e-mail and id, plus the
    /// group, client id, device or transfer where relevant. Matched by
    /// [`AuditEvent::targets`].
    pub targets: Vec<String>,
    /// Reports-style parameters (`USER_EMAIL`, `GROUP_EMAIL`, …).
    pub parameters: Vec<(String, String)>,
    /// The client address, for the events that carry one (`login`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    /// When the Reports API starts listing the event: its lag behind the event (hours for
    /// `login` at Google). `None`: at once.
    #[serde(skip)]
    pub visible_from: Option<Timestamp>,
}

impl AuditEvent {
    pub(crate) fn new(
        seq: u64,
        at: Timestamp,
        (application, event_type, name): (&str, &str, &str),
        actor: &str,
        targets: Vec<String>,
        parameters: Vec<(String, String)>,
    ) -> Self {
        Self {
            seq,
            time: clock::format_millis(at),
            application: application.to_owned(),
            event_type: event_type.to_owned(),
            name: name.to_owned(),
            actor: actor.to_owned(),
            targets,
            parameters,
            ip_address: None,
            visible_from: None,
        }
    }

    /// Whether `target` (any case) is among the event's targets.
    pub fn targets(&self, target: &str) -> bool {
        self.targets.iter().any(|t| t.eq_ignore_ascii_case(target))
    }

    /// A parameter's value.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The event as a Reports API `Activity` resource.
    pub fn to_activity(&self, customer_id: &str) -> Value {
        let parameters: Vec<Value> = self
            .parameters
            .iter()
            .map(|(k, v)| json!({ "name": k, "value": v }))
            .collect();
        let mut activity = json!({
            "kind": "admin#reports#activity",
            "id": {
                "time": self.time,
                "uniqueQualifier": format!("{}", 0x5EED_0000_0000_i64 + i64::try_from(self.seq).unwrap_or(0)),
                "applicationName": self.application,
                "customerId": customer_id,
            },
            "actor": { "email": self.actor },
            "events": [{
                "type": self.event_type,
                "name": self.name,
                "parameters": parameters,
            }],
        });
        if let Some(ip) = &self.ip_address {
            activity["ipAddress"] = json!(ip);
        }
        activity
    }
}
