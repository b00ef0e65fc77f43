//! Okta's error dialect mapped to Passage's failure classes.

use passage_core::ports::{ActionFailure, FailureClass};
use reqwest::StatusCode;
use serde::Deserialize;
use std::time::Duration;

/// Okta's error body: `{errorCode, errorSummary, errorLink, errorId, errorCauses}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OktaError {
    #[serde(default)]
    pub error_code: String,
    #[serde(default)]
    pub error_summary: String,
    #[serde(default)]
    pub error_id: String,
    #[serde(default)]
    pub error_causes: Vec<OktaCause>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OktaCause {
    #[serde(default)]
    pub error_summary: String,
}

impl OktaError {
    pub fn describe(&self) -> String {
        let mut s = self.error_summary.clone();
        for c in &self.error_causes {
            s.push_str("; ");
            s.push_str(&c.error_summary);
        }
        if !self.error_id.is_empty() {
            s.push_str(&format!(" (errorId {})", self.error_id));
        }
        s
    }
}

/// Classifies an error response. `retry_after` comes from X-Rate-Limit-Reset or Retry-After.
pub fn classify(
    status: StatusCode,
    body: &OktaError,
    retry_after: Option<Duration>,
) -> ActionFailure {
    let code = if body.error_code.is_empty() {
        format!("http_{}", status.as_u16())
    } else {
        body.error_code.clone()
    };
    let detail = body.describe();
    let (class, message) = match status.as_u16() {
        401 => (
            FailureClass::Permanent,
            format!("Okta rejected the API token (check it is valid and not expired): {detail}"),
        ),
        403 => (
            FailureClass::Permanent,
            format!("the API token's admin role lacks permission for this call: {detail}"),
        ),
        404 => (
            FailureClass::Permanent,
            format!("not found in Okta: {detail}"),
        ),
        s => match crate::http::status_class(status, retry_after) {
            Some(class @ FailureClass::Throttled { .. }) => {
                (class, format!("Okta rate limit reached: {detail}"))
            }
            Some(class) => (class, format!("Okta answered {s}: {detail}")),
            None => (
                FailureClass::Permanent,
                format!("Okta refused the call ({s}): {detail}"),
            ),
        },
    };
    ActionFailure {
        class,
        code,
        message,
    }
}
