//! Sign-ins in the System Log, put there by a test: a user's sign-in to Okta
//! (`user.session.start`) or to an app through Okta (`user.authentication.sso`),
//! successful or failed, at a chosen time, and showing in `GET /api/v1/logs`
//! only after Okta's ingestion delay if the test sets one.
//!
//! A successful sign-in also opens a session, as it would at Okta, so a
//! lockout that follows has something to end.

use jiff::Timestamp;
use serde_json::json;

use crate::common::clock;
pub use crate::common::sign_in::SignInSpec;
use crate::okta::state::OktaState;
use crate::okta::syslog::{
    LogActor, LogDebugContext, LogEvent, LogOutcome, LogTarget, LogTransaction,
};

impl OktaState {
    /// Records `spec` for the user at `user` (an index); returns the event's `uuid` and the
    /// request id Okta gave the sign-in.
    pub(crate) fn record_sign_in(&mut self, user: usize, spec: &SignInSpec) -> (String, String) {
        let at = spec.at_ms();
        let u = &mut self.users[user];
        if spec.success {
            u.sessions += 1;
            u.last_login = Some(at);
        }
        let actor = LogActor {
            id: u.id.clone(),
            kind: "User".into(),
            alternate_id: u.login.clone(),
            display_name: format!("{} {}", u.first_name, u.last_name),
            detail_entry: None,
        };
        let uuid = uuid::Uuid::new_v4().to_string();
        let request_id = format!("sso{}", &uuid.replace('-', "")[..20]);
        let event = sign_in_event(spec, actor, at, &uuid, &request_id);
        self.push_log(at, spec.visible_from(), event);
        (uuid, request_id)
    }
}

fn sign_in_event(
    spec: &SignInSpec,
    actor: LogActor,
    at: Timestamp,
    uuid: &str,
    request_id: &str,
) -> LogEvent {
    let (event_type, message, targets) = match &spec.app {
        Some(app) => (
            "user.authentication.sso",
            "User single sign on to app",
            vec![LogTarget {
                id: format!("0oa{}", &uuid.replace('-', "")[..17]),
                kind: "AppInstance".into(),
                alternate_id: app.clone(),
                display_name: app.clone(),
                detail_entry: None,
            }],
        ),
        None => ("user.session.start", "User login to Okta", Vec::new()),
    };
    let mut debug_data = std::collections::BTreeMap::new();
    debug_data.insert("requestId".to_owned(), request_id.to_owned());
    LogEvent {
        actor,
        client: json!({"ipAddress": spec.ip, "device": "Computer", "zone": "null"}),
        authentication_context: json!({"authenticationStep": 0, "externalSessionId": uuid}),
        display_message: message.into(),
        event_type: event_type.into(),
        outcome: LogOutcome {
            result: if spec.success { "SUCCESS" } else { "FAILURE" }.into(),
            reason: (!spec.success).then(|| "INVALID_CREDENTIALS".into()),
        },
        published: clock::format_millis(at),
        security_context: json!({}),
        severity: if spec.success { "INFO" } else { "WARN" }.into(),
        debug_context: LogDebugContext { debug_data },
        legacy_event_type: None,
        transaction: LogTransaction {
            kind: "WEB".into(),
            id: request_id.to_owned(),
            detail: json!({}),
        },
        uuid: uuid.to_owned(),
        version: "0".into(),
        request: json!({"ipChain": [{"ip": spec.ip, "version": "V4"}]}),
        target: targets,
    }
}
