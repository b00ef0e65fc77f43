//! Okta's error body (`Error` in the management spec):
//! `{"errorCode","errorSummary","errorLink","errorId","errorCauses":[{"errorSummary"}]}`,
//! with a fresh `oae…` `errorId` on every response, as the real service does.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::common::ids;

/// An Okta API error response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OktaError {
    status: StatusCode,
    code: &'static str,
    link: &'static str,
    summary: String,
    causes: Vec<String>,
}

impl OktaError {
    pub(crate) fn new(status: StatusCode, code: &'static str, summary: impl Into<String>) -> Self {
        Self {
            status,
            code,
            link: code,
            summary: summary.into(),
            causes: Vec::new(),
        }
    }

    /// Adds `errorCauses` entries.
    #[must_use]
    pub fn with_causes<I, S>(mut self, causes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.causes.extend(causes.into_iter().map(Into::into));
        self
    }

    /// 401 E0000011: missing, malformed or wrong API token.
    pub fn invalid_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "E0000011",
            "Invalid token provided",
        )
    }

    /// 403 E0000006: the operation is not permitted on this resource.
    pub fn access_denied() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "E0000006",
            "You do not have permission to perform the requested action",
        )
    }

    /// 403 E0000006 for an OAuth access token that lacks the scope the
    /// operation needs. Okta itself answers with an empty body and the
    /// reason in `WWW-Authenticate` (`error="insufficient_scope"`); the
    /// emulator sends that header too, plus this body, which reuses the
    /// header's `error_description` wording.
    pub fn insufficient_scope(scope: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "E0000006",
            "The access token provided does not contain the required scopes.",
        )
        .with_causes([format!("insufficient_scope: requires {scope}")])
    }

    /// 403 E0000046: unassigning an app the user holds through a group
    /// (the code, summary and cause Okta returns, as reported in
    /// okta/terraform-provider-okta#120 and gravitational/teleport#53947).
    pub fn app_assigned_through_group() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "E0000046",
            "Deactivate application for user forbidden.",
        )
        .with_causes([
            "The application cannot be unassigned from the user while their group memberships grant them access",
        ])
    }

    /// 404 E0000007 for a resource of the given Okta type (`User`,
    /// `UserGroup`, `AppInstance`); `what` is echoed as the caller wrote it.
    pub fn not_found(what: &str, kind: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "E0000007",
            format!("Not found: Resource not found: {what} ({kind})"),
        )
    }

    /// 400 E0000001 naming the offending field, with optional causes.
    pub fn validation(field: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "E0000001",
            format!("Api validation failed: {field}"),
        )
    }

    /// 400 E0000001 for a lifecycle transition the user's status forbids.
    pub fn lifecycle(summary: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "E0000001", summary)
    }

    /// 400 E0000031: a `filter` or `search` expression Okta cannot run.
    pub fn invalid_search() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "E0000031",
            "Invalid search criteria.",
        )
    }

    /// 405 E0000022: known path, unsupported method.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "E0000022",
            "The endpoint does not support the provided HTTP method",
        )
    }

    /// 429 E0000047: rate limit exceeded.
    pub fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
        )
    }

    /// A 5xx with Okta's internal-error body (E0000009; the spec's example
    /// links it to E0000000).
    pub fn server(status: u16) -> Self {
        let status = StatusCode::from_u16(status)
            .ok()
            .filter(StatusCode::is_server_error)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self {
            link: "E0000000",
            ..Self::new(status, "E0000009", "Internal Server Error")
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The Okta error code (`E0000007`, …).
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The `errorSummary` text.
    pub fn summary(&self) -> &str {
        &self.summary
    }

    /// The JSON body, with a newly minted `errorId`.
    pub fn body(&self) -> Value {
        let causes: Vec<Value> = self
            .causes
            .iter()
            .map(|c| json!({ "errorSummary": c }))
            .collect();
        json!({
            "errorCode": self.code,
            "errorSummary": self.summary,
            "errorLink": self.link,
            "errorId": ids::error_id(),
            "errorCauses": causes,
        })
    }
}

impl IntoResponse for OktaError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}
