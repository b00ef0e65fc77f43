//! Sign-ins in Directory Insights: a test records a user's login to the User Portal
//! (`user_login_attempt`, service `directory`) or to an SSO app (`sso_auth`, service `sso`),
//! successful or failed, at a time, returned by `POST /insights/directory/v1/events` only once
//! the ingestion lag the test chose has passed.

use serde_json::{Map, Value, json};

use crate::common::clock;
pub use crate::common::sign_in::SignInSpec;
use crate::jumpcloud::audit::AuditEvent;
use crate::jumpcloud::state::JumpCloudState;

impl JumpCloudState {
    /// Records `spec` for user `user` of organisation `org`; returns the event's id.
    pub(crate) fn record_sign_in(&mut self, org: usize, user: usize, spec: &SignInSpec) -> String {
        let id = self.next_id();
        let at = spec.at_ms();
        let (org_id, u) = (self.orgs[org].id.clone(), &self.orgs[org].users[user]);
        let initiated_by = json!({"id": u.id, "type": "user", "username": u.username});
        let (event_type, service) = match spec.app {
            Some(_) => ("sso_auth", "sso"),
            None => ("user_login_attempt", "directory"),
        };
        let mut body = Map::new();
        body.insert("id".into(), json!(id));
        body.insert("event_type".into(), json!(event_type));
        body.insert("service".into(), json!(service));
        body.insert("organization".into(), json!(org_id));
        body.insert("timestamp".into(), json!(clock::format_millis(at)));
        body.insert("@version".into(), json!("1"));
        body.insert("initiated_by".into(), initiated_by);
        body.insert("client_ip".into(), json!(spec.ip));
        body.insert("success".into(), json!(spec.success));
        body.insert("username".into(), json!(u.username));
        if let Some(app) = &spec.app {
            body.insert(
                "application".into(),
                json!({"display_label": app, "name": app}),
            );
        }
        if !spec.success {
            body.insert("error_message".into(), json!("invalid credentials"));
        }
        let targets = vec![u.id.clone()];
        self.events.push(AuditEvent {
            id: id.clone(),
            org_id,
            event_type: event_type.to_owned(),
            service: service.to_owned(),
            timestamp: clock::format_millis(at),
            epoch_ms: at.as_millisecond(),
            targets,
            body: Value::Object(body),
            visible_from: Some(spec.visible_from()),
        });
        id
    }
}
