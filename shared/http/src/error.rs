//! How a failure becomes an HTTP answer. The engine and the webhook crates say what kind of
//! failure they had ([`ErrorKind`]) and name it with a stable code; [`status`] is the one place
//! a kind becomes a status, and [`ApiError`] the one body every refusal carries:
//! `{"error": {"code", "message", "details"?}}`. Every route answers its errors through it, so
//! the webhook contract, the operator API and the auditor links cannot drift apart.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use passage_core::engine::{Classified, ErrorKind};
use passage_hris::Problem;
use serde_json::{Map, Value, json};

/// The status a kind of failure is answered with.
pub(crate) fn status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Malformed => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorKind::TimedOut => StatusCode::REQUEST_TIMEOUT,
        ErrorKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::UpstreamRefused => StatusCode::BAD_GATEWAY,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A refusal or failure, ready to answer. Small, so handlers can return it with `?`.
#[derive(Debug)]
pub(crate) struct ApiError {
    kind: ErrorKind,
    code: &'static str,
    message: String,
    /// Present only for errors that list field problems (an invalid event), then always, even
    /// when empty.
    details: Option<Vec<Value>>,
}

impl ApiError {
    /// A refusal decided by the route itself (no operator token, an unsigned link, a body that
    /// does not parse).
    pub(crate) fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
            details: None,
        }
    }

    /// What went wrong, in words: what the console shows beside the form that failed.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn status(&self) -> StatusCode {
        status(self.kind)
    }

    /// `{"error": {"code", "message", "details"?}}`.
    pub(crate) fn body(&self) -> Value {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code));
        error.insert("message".into(), json!(self.message));
        if let Some(details) = &self.details {
            error.insert("details".into(), Value::Array(details.clone()));
        }
        json!({ "error": error })
    }
}

impl<E: Classified> From<E> for ApiError {
    fn from(e: E) -> Self {
        Self {
            kind: e.kind(),
            code: e.code(),
            message: e.to_string(),
            details: e
                .details()
                .map(|problems| problems.iter().map(detail).collect()),
        }
    }
}

/// One field problem as the API lists it: where, its own code, and what is wrong.
fn detail(p: &Problem) -> Value {
    json!({ "path": p.path, "code": p.kind.code(), "message": p.message })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        // The caller's mistakes are only answered; Passage's own failures are also logged.
        if status.is_server_error() {
            tracing::error!(code = self.code, error = %self.message, "request failed");
        }
        let mut response = (status, axum::Json(self.body())).into_response();
        if self.kind == ErrorKind::TimedOut {
            // What is left of a body cut short cannot be told apart from a next request, so
            // the connection ends with this answer.
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use passage_core::engine::{EngineError, IntakeError};
    use passage_hris::{EventError, LeaverEvent, VerifyError};

    #[test]
    fn every_kind_is_an_error_status() {
        // `status` is an exhaustive match, so a new kind does not compile without a status;
        // this checks each one is a refusal (4xx) or a failure (5xx), never a success.
        for kind in ErrorKind::ALL {
            let s = status(kind);
            assert!(s.is_client_error() || s.is_server_error(), "{kind:?}: {s}");
        }
        let distinct: std::collections::HashSet<_> =
            ErrorKind::ALL.into_iter().map(status).collect();
        assert_eq!(distinct.len(), ErrorKind::ALL.len(), "one status per kind");
    }

    #[test]
    fn the_webhook_contract_statuses() {
        let answer = |e: IntakeError| ApiError::from(e).status().as_u16();
        assert_eq!(answer(IntakeError::UnknownTenant("x".into())), 404);
        assert_eq!(answer(VerifyError::NoValidSignature.into()), 401);
        assert_eq!(answer(VerifyError::MissingHeader("webhook-id").into()), 400);
        let too_large = EventError::TooLarge {
            size: 70_000,
            limit: 65_536,
        };
        assert_eq!(answer(too_large.into()), 413);
        let mismatch = IntakeError::TenantMismatch {
            path: "a".into(),
            body: "b".into(),
        };
        assert_eq!(answer(mismatch), 403);
        assert_eq!(answer(IntakeError::HrRefused("401".into())), 502);
        assert_eq!(answer(IntakeError::HrUnavailable("timeout".into())), 503);
        let stored = IntakeError::from(EngineError::Store(
            passage_core::ports::StoreError::Backend("down".into()),
        ));
        assert_eq!(answer(stored), 503);
        let plan = IntakeError::from(EngineError::Plan(passage_core::plan::PlanError::Empty));
        let plan = ApiError::from(plan);
        assert_eq!(
            (plan.status().as_u16(), plan.code),
            (422, "tenant_misconfigured")
        );
        assert!(
            plan.message
                .starts_with("tenant policy cannot produce a run"),
            "{}",
            plan.message
        );
    }

    #[test]
    fn a_wrong_content_type_a_slow_body_and_a_date_out_of_window() {
        let media = passage_hris::Vendor::HiBob
            .check_media_type(Some("text/plain"))
            .unwrap_err();
        let api = ApiError::from(media);
        assert_eq!(
            (api.status().as_u16(), api.code),
            (415, "unsupported_media_type")
        );

        let slow = ApiError::new(ErrorKind::TimedOut, "request_timeout", "slow").into_response();
        assert_eq!(slow.status().as_u16(), 408);
        assert_eq!(slow.headers()["connection"], "close", "the connection ends");

        let event = LeaverEvent::parse(
            br#"{"type":"passage.leaver.v1","tenant":"acme","employee_id":"E1",
                "email":"a@acme.example","time_zone":"UTC","last_working_day":"0000-01-01"}"#,
        )
        .unwrap();
        let err = passage_hris::DateWindow::default()
            .check(&event, jiff::Timestamp::now())
            .unwrap_err();
        let api = ApiError::from(IntakeError::from(err));
        assert_eq!((api.status().as_u16(), api.code), (422, "invalid_date"));
        assert_eq!(
            api.body()["error"]["details"][0]["path"],
            "/last_working_day"
        );
    }

    #[test]
    fn operator_statuses() {
        let answer = |e: EngineError| {
            let e = ApiError::from(e);
            (e.status().as_u16(), e.code)
        };
        assert_eq!(
            answer(EngineError::NotFound("run r".into())),
            (404, "not_found")
        );
        assert_eq!(
            answer(EngineError::NotAllowed("done".into())),
            (409, "not_allowed")
        );
        assert_eq!(
            answer(EngineError::Invalid("reason".into())),
            (422, "invalid")
        );
        assert_eq!(answer(EngineError::Contended(3)), (503, "busy"));
        assert_eq!(
            answer(EngineError::Bundle("no key".into())),
            (500, "internal")
        );
    }

    #[test]
    fn an_invalid_event_lists_every_problem_under_details() {
        let body = br#"{"type":"passage.leaver.v1","tenant":"Not Valid","lastday":"x"}"#;
        let err = LeaverEvent::parse(body).unwrap_err();
        let api = ApiError::from(IntakeError::from(err.clone()));
        let v = api.body();
        assert_eq!(v["error"]["code"], err.code());
        assert_eq!(v["error"]["message"], err.to_string());
        let details = v["error"]["details"].as_array().unwrap();
        assert_eq!(details.len(), err.problems().len());
        for (d, p) in details.iter().zip(err.problems()) {
            assert_eq!(d["path"], p.path.as_str());
            assert_eq!(d["code"], p.kind.code());
            assert_eq!(d["message"], p.message.as_str());
        }
        // A body refused as a whole still lists (no) details, so clients read one shape.
        let not_json = ApiError::from(LeaverEvent::parse(b"{").unwrap_err()).body();
        assert_eq!(not_json["error"]["details"], json!([]));
    }

    #[test]
    fn a_verification_refusal_is_its_code_and_message_only() {
        for err in [
            VerifyError::MalformedSignatureHeader,
            VerifyError::InvalidTimestamp {
                value: "yesterday".into(),
            },
            VerifyError::TimestampTooOld {
                age_secs: 900,
                tolerance_secs: 300,
            },
        ] {
            let body = ApiError::from(err.clone()).body();
            assert_eq!(
                body,
                json!({"error": {"code": err.code(), "message": err.to_string()}})
            );
        }
    }
}
