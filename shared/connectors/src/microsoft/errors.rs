//! Graph's and Exchange's error dialects mapped to Passage's failure classes.

use super::auth::Resource;
use passage_core::ports::{ActionFailure, FailureClass};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// `{"error":{"code","message","innerError"|"details"}}`: Graph, the authentication-methods
/// service, Outlook, Intune (whose `message` is itself a JSON document) and Exchange's
/// admin endpoint (`details[].message` carries the cmdlet's exception).
#[derive(Debug, Default, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub error: MainError,
}

#[derive(Debug, Default, Deserialize)]
pub struct MainError {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub details: Vec<Value>,
    #[serde(default, rename = "innerError")]
    pub inner_error: Option<Value>,
}

impl ErrorBody {
    /// The error body of an answer; empty when the answer has none Passage can read.
    pub fn parse(bytes: &[u8]) -> Self {
        serde_json::from_slice(bytes).unwrap_or_default()
    }

    /// A readable message: Intune's wrapped `Message`, Exchange's first detail, else `message`.
    pub fn describe(&self) -> String {
        let e = &self.error;
        let mut text = serde_json::from_str::<Value>(&e.message)
            .ok()
            .and_then(|doc| doc["Message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| e.message.clone());
        if let Some(detail) = e.details.first().and_then(|d| d["message"].as_str()) {
            text.push_str(": ");
            text.push_str(detail);
        }
        if let Some(id) = e
            .inner_error
            .as_ref()
            .and_then(|i| i["request-id"].as_str())
        {
            text.push_str(&format!(" (request-id {id})"));
        }
        text
    }
}

/// The application permission a call needs, as the permissions table names it (so a refusal
/// blames what the setup guide told the administrator to grant).
pub fn permission_for(resource: Resource, method: &Method, path: &str) -> String {
    if resource == Resource::Exchange {
        let [app, role] = crate::permissions::for_exchange();
        return format!(
            "{} on Office 365 Exchange Online, plus the {} role on the service principal",
            app.name, role.name
        );
    }
    let p = crate::permissions::for_graph_call(method, path);
    match p.also_satisfied_by {
        [] => p.name.to_owned(),
        broader => format!("{} (or {})", p.name, broader.join(" or ")),
    }
}

/// What was refused: the call, its status, and the application permissions its token held.
pub struct Refusal<'a> {
    pub resource: Resource,
    pub method: &'a Method,
    pub path: &'a str,
    pub status: StatusCode,
    pub held: &'a [String],
}

impl Refusal<'_> {
    /// A 403 although the token holds the permission the call needs: Entra refuses sensitive
    /// actions on an administrator (disable, revoke sessions, authentication methods) to an
    /// app without a directory role that reaches them, with the same answer a missing
    /// permission gets.
    fn lacks_directory_role(&self) -> bool {
        self.resource == Resource::Graph
            && self.status == StatusCode::FORBIDDEN
            && is_sensitive(self.method, self.path)
            && self
                .held
                .iter()
                .any(|r| crate::permissions::for_graph_call(self.method, self.path).satisfied_by(r))
    }
}

/// The calls Graph counts as sensitive actions on a user ("Who can perform sensitive
/// actions"): a change of `accountEnabled`, invalidating sessions, and removing an
/// authentication method.
fn is_sensitive(method: &Method, path: &str) -> bool {
    let on_user = path.contains("/users/");
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let is_user = segments.len() >= 2 && segments[segments.len() - 2] == "users";
    match *method {
        Method::PATCH => is_user,
        Method::POST => path.ends_with("/revokeSignInSessions"),
        Method::DELETE => on_user && path.contains("/authentication/"),
        _ => false,
    }
}

/// Classifies an error answer. `retry_after` is the response's Retry-After, if any.
pub fn classify(
    refusal: &Refusal<'_>,
    body: &ErrorBody,
    retry_after: Option<Duration>,
) -> ActionFailure {
    let Refusal {
        resource,
        method,
        path,
        status,
        ..
    } = *refusal;
    let detail = body.describe();
    if refusal.lacks_directory_role() {
        return directory_role_missing(method, path, &detail);
    }
    let code = if body.error.code.is_empty() {
        format!("http_{}", status.as_u16())
    } else {
        body.error.code.clone()
    };
    let service = resource.name();
    let (class, message) = match status.as_u16() {
        401 if resource == Resource::Exchange => (
            FailureClass::Permanent,
            format!(
                "Exchange Online refused the app (401); it needs {}",
                permission_for(resource, method, path)
            ),
        ),
        401 => (
            FailureClass::Permanent,
            format!("{service} rejected the app's token: {detail}"),
        ),
        403 => (
            FailureClass::Permanent,
            format!(
                "the app registration lacks the permission for {method} {path}: grant the application permission {} with admin consent ({detail})",
                permission_for(resource, method, path)
            ),
        ),
        404 => (
            FailureClass::Permanent,
            format!("not found in {service}: {detail}"),
        ),
        s => match crate::http::status_class(status, retry_after) {
            Some(class @ FailureClass::Throttled { .. }) => {
                (class, format!("{service} is throttling the app: {detail}"))
            }
            Some(class) => (class, format!("{service} answered {status}: {detail}")),
            None => (
                FailureClass::Permanent,
                format!("{service} refused the call ({s}): {detail}"),
            ),
        },
    };
    ActionFailure {
        class,
        code,
        message,
    }
}

/// The leaver is an administrator and the app's service principal holds no directory role
/// that may act on them; no Graph permission would change that.
fn directory_role_missing(method: &Method, path: &str, detail: &str) -> ActionFailure {
    ActionFailure {
        class: FailureClass::Permanent,
        code: "directory_role_missing".into(),
        message: format!(
            "Graph refused {method} {path} although the app holds the permission it needs: the \
             leaver holds an administrator role, and Entra lets an app act on administrators only \
             through a directory role. Assign Privileged Authentication Administrator to the app's \
             service principal (User Administrator covers only leavers with lesser admin roles), \
             or have a Global Administrator do this step ({detail})"
        ),
    }
}

/// Exchange's `ManagementObjectNotFoundException`, which says which object is missing only
/// through the cmdlet that was run: a distribution-group cmdlet misses the group (or the
/// recipient), any other the mailbox.
pub fn exchange_object_missing(cmdlet: &str, detail: &str) -> ActionFailure {
    if cmdlet.contains("DistributionGroup") {
        ActionFailure {
            class: FailureClass::Permanent,
            code: "group_not_found".into(),
            message: format!(
                "Exchange Online cannot find the distribution group or recipient (deleted, or not yet synchronised to Exchange): {detail}"
            ),
        }
    } else {
        ActionFailure {
            class: FailureClass::Permanent,
            code: "mailbox_not_found".into(),
            message: format!(
                "Exchange Online cannot find the mailbox (was its Exchange licence removed before conversion?): {detail}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sensitive_user_actions_can_lack_a_directory_role() {
        assert!(is_sensitive(&Method::PATCH, "/v1.0/users/u1"));
        assert!(!is_sensitive(
            &Method::PATCH,
            "/v1.0/users/u1/mailboxSettings"
        ));
        assert!(is_sensitive(
            &Method::POST,
            "/v1.0/users/u1/revokeSignInSessions"
        ));
        assert!(is_sensitive(
            &Method::DELETE,
            "/v1.0/users/u1/authentication/phoneMethods/m1"
        ));
        assert!(!is_sensitive(
            &Method::DELETE,
            "/v1.0/groups/g1/members/u1/$ref"
        ));
        assert!(!is_sensitive(&Method::GET, "/v1.0/users/u1"));
    }

    #[test]
    fn a_refusal_with_the_permission_held_blames_the_directory_role() {
        let body = ErrorBody::parse(
            br#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}"#,
        );
        let held = ["User.ReadWrite.All".to_owned()];
        let refusal = Refusal {
            resource: Resource::Graph,
            method: &Method::PATCH,
            path: "/v1.0/users/u1",
            status: StatusCode::FORBIDDEN,
            held: &held,
        };
        assert_eq!(
            classify(&refusal, &body, None).code,
            "directory_role_missing"
        );
        let none = Refusal {
            held: &[],
            ..refusal
        };
        assert_eq!(
            classify(&none, &body, None).code,
            "Authorization_RequestDenied"
        );
    }
}
