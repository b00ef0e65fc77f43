//! Google's error dialect mapped to Passage's failure classes.
//!
//! API errors: `{"error":{"code","message","errors":[{"message","domain","reason"}],"status"}}`;
//! the reason in `errors[0].reason` decides (a 403 is throttling or a refusal depending on it).
//! Token-endpoint errors: `{"error","error_description"}`.

use crate::oauth::OAuthError;
use passage_core::ports::{ActionFailure, FailureClass};
use reqwest::StatusCode;
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Default, Deserialize)]
pub struct GoogleErrorBody {
    #[serde(default)]
    pub error: GoogleError,
}

#[derive(Debug, Default, Deserialize)]
pub struct GoogleError {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub errors: Vec<GoogleErrorItem>,
    #[serde(default)]
    pub status: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct GoogleErrorItem {
    #[serde(default)]
    pub reason: String,
}

impl GoogleError {
    pub fn parse(bytes: &[u8]) -> Self {
        serde_json::from_slice::<GoogleErrorBody>(bytes)
            .map(|b| b.error)
            .unwrap_or_default()
    }

    pub fn reason(&self) -> &str {
        self.errors
            .first()
            .map(|e| e.reason.as_str())
            .unwrap_or_default()
    }
}

/// Throttling reasons Google sends with a 403 (Directory API limits page).
pub(super) const RATE_REASONS: &[&str] = &[
    "userRateLimitExceeded",
    "rateLimitExceeded",
    "quotaExceeded",
    "dailyLimitExceeded",
    "concurrentLimitExceeded",
];

/// What the call was, for messages that tell the operator what to fix.
pub struct CallContext<'a> {
    pub subject: &'a str,
    pub scope: &'a str,
}

/// Classifies an API error answer.
pub fn classify(
    status: StatusCode,
    error: &GoogleError,
    retry_after: Option<Duration>,
    context: &CallContext<'_>,
) -> ActionFailure {
    let reason = error.reason();
    let code = if !reason.is_empty() {
        reason.to_owned()
    } else if !error.status.is_empty() {
        error.status.clone()
    } else {
        format!("http_{}", status.as_u16())
    };
    let detail = if error.message.is_empty() {
        format!("HTTP {}", status.as_u16())
    } else {
        error.message.clone()
    };
    let permanent = |message: String| ActionFailure {
        class: FailureClass::Permanent,
        code: code.clone(),
        message,
    };
    match status.as_u16() {
        403 if RATE_REASONS.contains(&reason) => crate::http::throttled(
            &code,
            retry_after,
            format!("Google quota or rate limit reached ({reason}): {detail}"),
        ),
        403 if reason == "insufficientPermissions" => permanent(format!(
            "the token for {} lacks scope {}; authorise it for the service account's domain-wide delegation: {detail}",
            context.subject, context.scope
        )),
        403 => permanent(format!(
            "Google refused the call as {} (check the impersonated administrator's admin roles): {detail}",
            context.subject
        )),
        401 => permanent(format!(
            "Google rejected the access token for {}: {detail}",
            context.subject
        )),
        404 => permanent(format!("not found in Google Workspace: {detail}")),
        412 => permanent(format!("Google's precondition failed: {detail}")),
        s => match crate::http::status_class(status, retry_after) {
            Some(class @ FailureClass::Throttled { .. }) => ActionFailure {
                class,
                code,
                message: format!("Google rate limit reached: {detail}"),
            },
            Some(class) => ActionFailure {
                class,
                code,
                message: format!("Google answered {s}: {detail}"),
            },
            None => permanent(format!("Google refused the call ({s}): {detail}")),
        },
    }
}

/// Classifies a token-endpoint refusal. `is_admin` says whether the subject was the
/// configured administrator (rather than the leaver, for Gmail settings).
pub(crate) fn classify_token(
    status: StatusCode,
    error: &OAuthError,
    retry_after: Option<Duration>,
    service_account: &str,
    context: &CallContext<'_>,
    is_admin: bool,
) -> ActionFailure {
    if let Some(class) = crate::http::status_class(status, retry_after) {
        return ActionFailure {
            class,
            code: format!("token_{}", status.as_u16()),
            message: format!("Google's token endpoint answered {status}"),
        };
    }
    let code = if error.error.is_empty() {
        "token_refused".to_owned()
    } else {
        error.error.clone()
    };
    let said = format!("{} {}", error.error, error.error_description);
    let message = match error.error.as_str() {
        "unauthorized_client" => format!(
            "domain-wide delegation missing: service account {service_account} is not authorised for scope {} \
             (Admin console → Security → API controls → Domain-wide delegation: add its client id with that scope); \
             Google said: {said}",
            context.scope
        ),
        "invalid_grant" if !is_admin => format!(
            "Google will not let service account {service_account} act as {}: the user is suspended, deleted or \
             unknown, and a mailbox's settings can only be changed as its active owner (run mailbox steps before \
             suspension); Google said: {said}",
            context.subject
        ),
        "invalid_grant" => format!(
            "Google refused a token for service account {service_account} acting as administrator {} \
             (check the key, the clock and that the administrator exists and is active); Google said: {said}",
            context.subject
        ),
        "disabled_client" => format!(
            "the key of service account {service_account} is disabled; create a new key; Google said: {said}"
        ),
        _ => format!(
            "Google refused a token for service account {service_account} acting as {} ({status}): {said}",
            context.subject
        ),
    };
    ActionFailure {
        class: FailureClass::Permanent,
        code,
        message,
    }
}
