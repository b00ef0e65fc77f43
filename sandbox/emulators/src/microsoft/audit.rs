//! The tenant's audit trail. Every real state change (and only a real one:
//! a repeat that changes nothing writes nothing) appends one event, shaped
//! like Entra's `directoryAudit` resource. Directory and
//! authentication-method events are also served at
//! `GET /v1.0/auditLogs/directoryAudits`; Exchange and Intune events are
//! kept here for tests but, as in production, live in those services' own
//! logs rather than Entra's.

use serde::Serialize;
use serde_json::{Value, json};

use jiff::Timestamp;

use crate::common::clock;

/// `activityDisplayName` values the emulator writes.
pub mod activity {
    /// `accountEnabled` true → false.
    pub const DISABLE_ACCOUNT: &str = "Disable account";
    /// `accountEnabled` false → true.
    pub const ENABLE_ACCOUNT: &str = "Enable account";
    /// Any other user property change.
    pub const UPDATE_USER: &str = "Update user";
    /// `revokeSignInSessions`.
    pub const REVOKE_SESSIONS: &str = "Invalidate all refresh tokens for user";
    /// A member left a group (Graph `$ref` delete or Exchange cmdlet, and
    /// group-inherited licences leaving with it).
    pub const REMOVE_MEMBER: &str = "Remove member from group";
    /// A member joined a group again (Graph `$ref` add or Exchange cmdlet), as a rehire does.
    pub const ADD_MEMBER: &str = "Add member to group";
    /// `assignLicense` changed the user's licences.
    pub const CHANGE_LICENSE: &str = "Change user license";
    /// An authentication method was deleted by an admin or app.
    pub const DELETE_AUTH_METHOD: &str = "Admin deleted security info";
    /// `automaticRepliesSetting` changed.
    pub const SET_AUTO_REPLY: &str = "Set-MailboxAutoReplyConfiguration";
    /// Inbox rule created.
    pub const NEW_INBOX_RULE: &str = "New-InboxRule";
    /// Inbox rule changed.
    pub const SET_INBOX_RULE: &str = "Set-InboxRule";
    /// Inbox rule removed.
    pub const REMOVE_INBOX_RULE: &str = "Remove-InboxRule";
    /// Exchange `Set-Mailbox` changed something (type, forwarding…).
    pub const SET_MAILBOX: &str = "Set-Mailbox";
    /// Exchange `Add-MailboxPermission` granted something new.
    pub const ADD_MAILBOX_PERMISSION: &str = "Add-MailboxPermission";
    /// Intune wipe issued.
    pub const WIPE_DEVICE: &str = "Wipe ManagedDevice";
    /// Intune retire issued.
    pub const RETIRE_DEVICE: &str = "Retire ManagedDevice";
    /// Intune remote lock issued.
    pub const LOCK_DEVICE: &str = "RemoteLock ManagedDevice";
}

/// Which service logged an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum AuditService {
    /// Entra directory (`loggedByService: "Core Directory"`).
    CoreDirectory,
    /// Authentication methods (`"Authentication Methods"`).
    AuthenticationMethods,
    /// Exchange Online admin audit log.
    Exchange,
    /// Intune audit log.
    Intune,
}

impl AuditService {
    /// The `loggedByService` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CoreDirectory => "Core Directory",
            Self::AuthenticationMethods => "Authentication Methods",
            Self::Exchange => "Exchange",
            Self::Intune => "Intune",
        }
    }

    /// Whether Entra's `directoryAudits` serves the event.
    pub fn in_directory_audits(self) -> bool {
        matches!(self, Self::CoreDirectory | Self::AuthenticationMethods)
    }
}

/// One target of an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditTarget {
    /// Object id.
    pub id: String,
    /// `User`, `Group`, `Device`, `Mailbox`.
    pub kind: String,
    /// Display name.
    pub display_name: String,
    /// UPN for users (and mailboxes).
    pub user_principal_name: Option<String>,
    /// What changed on this target.
    pub modified_properties: Vec<ModifiedProperty>,
}

/// One changed property, values rendered as Entra does (`"[true]"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModifiedProperty {
    /// Property name (`AccountEnabled`).
    pub name: String,
    /// Value before.
    pub old_value: String,
    /// Value after.
    pub new_value: String,
}

/// One audit event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// Event id.
    pub id: String,
    /// Position in the log (1-based).
    pub seq: u64,
    /// `activityDateTime`.
    pub activity_date_time: String,
    /// `activityDisplayName` (see [`activity`]).
    pub activity: String,
    /// `category` (`UserManagement`, `GroupManagement`, …).
    pub category: String,
    /// Logging service.
    pub service: AuditService,
    /// `operationType` (`Update`, `Delete`, `Add`).
    pub operation_type: String,
    /// `correlationId`: the Graph `request-id` of the call that caused it.
    pub correlation_id: String,
    /// `initiatedBy.app.appId`.
    pub initiated_by_app_id: String,
    /// `initiatedBy.app.displayName`.
    pub initiated_by_app_name: String,
    /// `initiatedBy.app.servicePrincipalId`.
    pub initiated_by_service_principal_id: String,
    /// Targets, primary first.
    pub targets: Vec<AuditTarget>,
}

impl AuditEvent {
    /// Whether any target has this id, UPN or display name
    /// (case-insensitive for names).
    pub fn targets(&self, id_or_name: &str) -> bool {
        self.targets.iter().any(|t| {
            t.id == id_or_name
                || t.display_name.eq_ignore_ascii_case(id_or_name)
                || t.user_principal_name
                    .as_deref()
                    .is_some_and(|u| u.eq_ignore_ascii_case(id_or_name))
        })
    }

    /// The `directoryAudit` JSON.
    pub(crate) fn to_graph(&self) -> Value {
        let targets: Vec<Value> = self
            .targets
            .iter()
            .map(|t| {
                let modified: Vec<Value> = t
                    .modified_properties
                    .iter()
                    .map(|m| {
                        json!({
                            "displayName": m.name,
                            "oldValue": m.old_value,
                            "newValue": m.new_value,
                        })
                    })
                    .collect();
                json!({
                    "id": t.id,
                    "displayName": t.display_name,
                    "type": t.kind,
                    "userPrincipalName": t.user_principal_name,
                    "groupType": null,
                    "modifiedProperties": modified,
                })
            })
            .collect();
        json!({
            "id": self.id,
            "category": self.category,
            "correlationId": self.correlation_id,
            "result": "success",
            "resultReason": "",
            "activityDisplayName": self.activity,
            "activityDateTime": self.activity_date_time,
            "loggedByService": self.service.as_str(),
            "operationType": self.operation_type,
            "initiatedBy": {
                "user": null,
                "app": {
                    "appId": self.initiated_by_app_id,
                    "displayName": self.initiated_by_app_name,
                    "servicePrincipalId": self.initiated_by_service_principal_id,
                    "servicePrincipalName": null,
                },
            },
            "targetResources": targets,
            "additionalDetails": [],
        })
    }
}

/// Who made a change, as far as the audit log is concerned.
#[derive(Clone, Debug, Default)]
pub(crate) struct Actor {
    pub app_id: String,
    pub app_name: String,
    pub service_principal_id: String,
    pub request_id: String,
}

/// Everything but the id, sequence and time, which the log assigns.
pub(crate) struct EventSpec {
    pub activity: &'static str,
    pub category: &'static str,
    pub service: AuditService,
    pub operation_type: &'static str,
    pub targets: Vec<AuditTarget>,
}

impl EventSpec {
    pub(crate) fn finish(self, id: String, seq: u64, at: Timestamp, actor: &Actor) -> AuditEvent {
        AuditEvent {
            id,
            seq,
            activity_date_time: clock::format_millis(at),
            activity: self.activity.to_owned(),
            category: self.category.to_owned(),
            service: self.service,
            operation_type: self.operation_type.to_owned(),
            correlation_id: actor.request_id.clone(),
            initiated_by_app_id: actor.app_id.clone(),
            initiated_by_app_name: actor.app_name.clone(),
            initiated_by_service_principal_id: actor.service_principal_id.clone(),
            targets: self.targets,
        }
    }
}

/// A target helper.
pub(crate) fn target(
    id: &str,
    kind: &str,
    display_name: &str,
    upn: Option<&str>,
    modified: Vec<ModifiedProperty>,
) -> AuditTarget {
    AuditTarget {
        id: id.to_owned(),
        kind: kind.to_owned(),
        display_name: display_name.to_owned(),
        user_principal_name: upn.map(str::to_owned),
        modified_properties: modified,
    }
}

/// A modified-property helper.
pub(crate) fn changed(
    name: &str,
    old: impl Into<String>,
    new: impl Into<String>,
) -> ModifiedProperty {
    ModifiedProperty {
        name: name.to_owned(),
        old_value: old.into(),
        new_value: new.into(),
    }
}
