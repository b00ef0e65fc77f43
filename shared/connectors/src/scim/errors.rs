//! A SCIM server's refusals as Passage's two classes, each with what to do about it. The
//! status comes from the HTTP status line, never from the body, whose `status` is a string in
//! RFC 7644 and an integer elsewhere.

use super::protocol::ErrorBody;
use crate::http;
use passage_core::ports::{ActionFailure, FailureClass};
use reqwest::StatusCode;
use std::time::Duration;

/// Explains a refusal by `app`'s SCIM server.
pub fn classify(
    app: &str,
    status: StatusCode,
    body: &ErrorBody,
    wait: Option<Duration>,
) -> ActionFailure {
    let code = match &body.scim_type {
        Some(t) => format!("scim_{t}"),
        None => format!("http_{}", status.as_u16()),
    };
    let said = if body.detail.is_empty() {
        String::new()
    } else {
        format!(": {}", body.detail)
    };
    let (class, message) = match status.as_u16() {
        401 => (
            FailureClass::Permanent,
            format!(
                "{app} refused the SCIM token{said}; issue a new one (a token tied to a person stops working when that person loses admin rights)"
            ),
        ),
        403 => (
            FailureClass::Permanent,
            format!(
                "{app} does not let this token do that{said}; give it SCIM admin rights, or check the app's plan includes SCIM"
            ),
        ),
        404 => (
            FailureClass::Permanent,
            format!("{app} has no such SCIM resource{said}; check the SCIM base URL"),
        ),
        501 => (
            FailureClass::Permanent,
            format!("{app}'s SCIM server does not implement this{said}"),
        ),
        s if http::status_class(status, wait).is_some() => (
            http::status_class(status, wait).unwrap_or(FailureClass::Permanent),
            format!("{app}'s SCIM server answered {s}{said}"),
        ),
        s => (
            FailureClass::Permanent,
            format!("{app}'s SCIM server refused the call ({s}){said}"),
        ),
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
    fn throttling_waits_as_asked_and_refusals_say_what_to_fix() {
        let wait = Some(Duration::from_secs(7));
        let f = classify(
            "Notion",
            StatusCode::TOO_MANY_REQUESTS,
            &ErrorBody::default(),
            wait,
        );
        assert_eq!(f.class, FailureClass::Throttled { retry_after: wait });
        assert_eq!(f.code, "http_429");
        let body = ErrorBody {
            scim_type: Some("invalidValue".into()),
            detail: "active must be a boolean".into(),
        };
        let f = classify("Notion", StatusCode::BAD_REQUEST, &body, None);
        assert_eq!(f.class, FailureClass::Permanent);
        assert_eq!(f.code, "scim_invalidValue");
        assert!(
            f.message.contains("active must be a boolean"),
            "{}",
            f.message
        );
        let f = classify(
            "Notion",
            StatusCode::UNAUTHORIZED,
            &ErrorBody::default(),
            None,
        );
        assert!(f.message.contains("issue a new one"), "{}", f.message);
    }
}
