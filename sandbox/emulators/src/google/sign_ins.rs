//! Login activity in the Reports API (`applicationName=login`): a test records a user's
//! `login_success` or `login_failure` at a time, listed by
//! `GET admin/reports/v1/activity/users/{userKey}/applications/login` only once Google's lag
//! for login events (hours in production; the test chooses) has passed.
//!
//! A successful login also opens a session, so a `signOut` that follows has one to end.

pub use crate::common::sign_in::SignInSpec;
use crate::google::audit::AuditEvent;
use crate::google::state::GoogleState;

impl GoogleState {
    /// Records `spec` for the user at index `user`; returns the activity's `uniqueQualifier`.
    pub(crate) fn record_sign_in(&mut self, user: usize, spec: &SignInSpec) -> String {
        let seq = u64::try_from(self.audit.len()).unwrap_or(u64::MAX) + 1;
        let u = &mut self.users[user];
        if spec.success {
            u.sessions += 1;
        }
        let name = if spec.success {
            "login_success"
        } else {
            "login_failure"
        };
        let mut parameters = vec![
            ("login_type".to_owned(), "google_password".to_owned()),
            ("is_suspicious".to_owned(), "false".to_owned()),
        ];
        if let Some(app) = &spec.app {
            parameters.push(("login_challenge_method".to_owned(), "password".to_owned()));
            parameters.push(("application_name".to_owned(), app.clone()));
        }
        if !spec.success {
            parameters.push((
                "login_failure_type".to_owned(),
                "login_failure_invalid_password".to_owned(),
            ));
        }
        let mut event = AuditEvent::new(
            seq,
            spec.at_ms(),
            ("login", "login", name),
            &u.primary_email,
            vec![u.primary_email.clone(), u.id.clone()],
            parameters,
        );
        event.ip_address = Some(spec.ip.clone());
        event.visible_from = Some(spec.visible_from());
        let qualifier = event.to_activity("")["id"]["uniqueQualifier"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.audit.push(event);
        qualifier
    }
}
