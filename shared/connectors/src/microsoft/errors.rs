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

/// Classifies an error answer. `retry_after` is the response's Retry-After, if any.
pub fn classify(
    resource: Resource,
    method: &Method,
    path: &str,
    status: StatusCode,
    body: &ErrorBody,
    retry_after: Option<Duration>,
) -> ActionFailure {
    let code = if body.error.code.is_empty() {
        format!("http_{}", status.as_u16())
    } else {
        body.error.code.clone()
    };
    let detail = body.describe();
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
