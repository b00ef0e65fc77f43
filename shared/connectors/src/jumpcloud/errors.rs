//! JumpCloud's error dialects mapped to Passage's failure classes.
//!
//! v1 answers `{"message": "…"}`, v2 `{"code": 404, "message": "…", "status": "Not Found"}`;
//! the body is best-effort, so classification branches on the HTTP status.

use passage_core::ports::{ActionFailure, FailureClass};
use reqwest::StatusCode;
use serde::Deserialize;
use std::time::Duration;

/// Either dialect: v1 has only `message`; v2 adds `code` (the HTTP status) and `status`.
#[derive(Debug, Default, Deserialize)]
pub struct JcError {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub status: String,
}

impl JcError {
    pub fn parse(bytes: &[u8]) -> Self {
        serde_json::from_slice(bytes).unwrap_or_default()
    }

    fn describe(&self, status: StatusCode) -> String {
        match (self.message.is_empty(), self.status.is_empty()) {
            (false, _) => self.message.clone(),
            (true, false) => self.status.clone(),
            (true, true) => status.canonical_reason().unwrap_or("no message").to_owned(),
        }
    }
}

/// Classifies an error answer. `org_id_sent` sharpens the 401 advice (a multi-tenant
/// credential without `x-org-id` is refused with 401).
pub fn classify(
    status: StatusCode,
    body: &JcError,
    retry_after: Option<Duration>,
    org_id_sent: bool,
) -> ActionFailure {
    let detail = body.describe(status);
    let code = format!("http_{}", status.as_u16());
    let (class, message) = match status.as_u16() {
        401 if org_id_sent => (
            FailureClass::Permanent,
            format!(
                "JumpCloud rejected the credential (check the API key or service account is valid, not expired, and has access to the configured organisation): {detail}"
            ),
        ),
        401 => (
            FailureClass::Permanent,
            format!(
                "JumpCloud rejected the credential (check the API key or service account is valid and not expired; a multi-tenant (MSP) credential also needs the organisation id configured, sent as x-org-id): {detail}"
            ),
        ),
        403 => (
            FailureClass::Permanent,
            format!(
                "the JumpCloud credential's admin role lacks permission for this call (a read-only role cannot offboard): {detail}"
            ),
        ),
        404 => (
            FailureClass::Permanent,
            format!("not found in JumpCloud: {detail}"),
        ),
        s => match crate::http::status_class(status, retry_after) {
            Some(class @ FailureClass::Throttled { .. }) => {
                (class, format!("JumpCloud rate limit reached: {detail}"))
            }
            Some(class) => (class, format!("JumpCloud answered {s}: {detail}")),
            None => (
                FailureClass::Permanent,
                format!("JumpCloud refused the call ({s}): {detail}"),
            ),
        },
    };
    ActionFailure {
        class,
        code,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_dialects_and_classes() {
        let v1 = JcError::parse(br#"{"message":"Too Many Requests"}"#);
        let f = classify(StatusCode::TOO_MANY_REQUESTS, &v1, None, false);
        assert_eq!(f.class, FailureClass::Throttled { retry_after: None });
        assert!(f.message.contains("Too Many Requests"));
        let v2 = JcError::parse(br#"{"code":404,"message":"Not Found","status":"Not Found"}"#);
        let f = classify(StatusCode::NOT_FOUND, &v2, None, false);
        assert_eq!(f.class, FailureClass::Permanent);
        assert_eq!(f.code, "http_404");
        let f = classify(StatusCode::UNAUTHORIZED, &JcError::parse(b"?"), None, false);
        assert_eq!(f.class, FailureClass::Permanent);
        assert!(f.message.contains("x-org-id"));
        let wait = Some(Duration::from_secs(7));
        let f = classify(StatusCode::BAD_GATEWAY, &JcError::default(), wait, true);
        assert_eq!(f.class, FailureClass::Retryable { retry_after: wait });
        let f = classify(StatusCode::BAD_REQUEST, &JcError::default(), None, true);
        assert_eq!(f.class, FailureClass::Permanent);
    }
}
