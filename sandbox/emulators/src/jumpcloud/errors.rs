//! JumpCloud's error bodies, which differ by API surface:
//!
//! - v1 (`/api/…`) and Directory Insights answer `{"message": "…"}`. That is
//!   what JumpCloud has been seen to send (a v1 `limit` error reported in
//!   TheJumpCloud/jcapi-python#38, a Directory Insights 401 in
//!   lbrictson/wazuh-jumpcloud-integration#1); the spec's `Error` schema
//!   (`code`, `message`, `status`, all optional) allows it.
//! - v2 (`/api/v2/…`) answers the spec's `Error` object in full:
//!   `{"code": 404, "message": "…", "status": "Not Found"}`, `status` being
//!   the HTTP reason phrase ("HTTP status description" in the spec).
//! - The service-account token endpoint answers RFC 6749
//!   `{"error", "error_description"}`.
//!
//! Message texts are best effort: apart from the two reported ones, JumpCloud
//! documents none, and clients are told to branch on the status code.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Which API surface a request belongs to; decides the error body shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiFamily {
    /// `/api/…` (v1).
    V1,
    /// `/api/v2/…`.
    V2,
    /// `/insights/directory/v1/…` (Directory Insights).
    Insights,
    /// `/oauth2/token` (service-account token endpoint).
    OAuth,
}

impl ApiFamily {
    /// The family of a request path.
    pub fn of_path(path: &str) -> Self {
        if path.starts_with("/oauth2/") {
            Self::OAuth
        } else if path.starts_with("/insights/") {
            Self::Insights
        } else if path == "/api/v2" || path.starts_with("/api/v2/") {
            Self::V2
        } else {
            Self::V1
        }
    }
}

/// A JumpCloud API error response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JcError {
    status: StatusCode,
    message: String,
    family: ApiFamily,
}

impl JcError {
    /// An error with an explicit status and message.
    pub fn new(family: ApiFamily, status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            family,
        }
    }

    /// 400 with `Bad Request: <detail>`.
    pub fn bad_request(family: ApiFamily, detail: impl AsRef<str>) -> Self {
        Self::new(
            family,
            StatusCode::BAD_REQUEST,
            format!("Bad Request: {}", detail.as_ref()),
        )
    }

    /// 401 for a missing, unknown or expired credential.
    pub fn unauthorized(family: ApiFamily) -> Self {
        Self::new(family, StatusCode::UNAUTHORIZED, "Unauthorized")
    }

    /// 401 for a multi-tenant credential that sent no `x-org-id`.
    pub fn no_org_selected(family: ApiFamily) -> Self {
        Self::new(
            family,
            StatusCode::UNAUTHORIZED,
            "Unauthorized: no organization selected",
        )
    }

    /// 403 for a role that may not do this.
    pub fn forbidden(family: ApiFamily) -> Self {
        Self::new(family, StatusCode::FORBIDDEN, "Forbidden")
    }

    /// 404.
    pub fn not_found(family: ApiFamily) -> Self {
        Self::new(family, StatusCode::NOT_FOUND, "Not Found")
    }

    /// 405 for a known path with an unsupported method.
    pub fn method_not_allowed(family: ApiFamily) -> Self {
        Self::new(family, StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
    }

    /// 409 for something that already exists (a membership being added twice).
    pub fn conflict(family: ApiFamily) -> Self {
        Self::new(family, StatusCode::CONFLICT, "Already Exists")
    }

    /// 429.
    pub fn rate_limited(family: ApiFamily) -> Self {
        Self::new(family, StatusCode::TOO_MANY_REQUESTS, "Too Many Requests")
    }

    /// A 5xx with the status's reason phrase as message.
    pub fn server(family: ApiFamily, status: u16) -> Self {
        let status = StatusCode::from_u16(status)
            .ok()
            .filter(StatusCode::is_server_error)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self::new(family, status, reason(status))
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message text.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The JSON body in the family's shape.
    pub fn body(&self) -> Value {
        match self.family {
            ApiFamily::V1 | ApiFamily::Insights => json!({ "message": self.message }),
            ApiFamily::V2 => json!({
                "code": self.status.as_u16(),
                "message": self.message,
                "status": reason(self.status),
            }),
            ApiFamily::OAuth => json!({
                "error": oauth_code(self.status),
                "error_description": self.message,
            }),
        }
    }
}

impl IntoResponse for JcError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

fn reason(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

/// RFC 6749 has no codes for throttling or server faults at the token
/// endpoint; these are the closest ones it defines.
fn oauth_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "invalid_client",
        429 | 503 => "temporarily_unavailable",
        s if s >= 500 => "server_error",
        _ => "invalid_request",
    }
}

/// An RFC 6749 §5.2 token-endpoint error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    /// 401 `invalid_client`.
    pub fn invalid_client() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: "Client authentication failed (e.g., unknown client, no client \
                          authentication included, or unsupported authentication method)."
                .to_owned(),
        }
    }

    /// 400 with the given RFC 6749 code.
    pub fn bad_request(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({ "error": self.error, "error_description": self.description })),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED
            && let Ok(v) = "Basic realm=\"oauth2\"".parse()
        {
            response
                .headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, v);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_the_family() {
        let v1 = JcError::not_found(ApiFamily::V1).body();
        assert_eq!(v1, json!({ "message": "Not Found" }));
        let v2 = JcError::not_found(ApiFamily::V2).body();
        assert_eq!(
            v2,
            json!({ "code": 404, "message": "Not Found", "status": "Not Found" })
        );
        let oauth = JcError::server(ApiFamily::OAuth, 502).body();
        assert_eq!(oauth["error"], "server_error");
        assert_eq!(ApiFamily::of_path("/api/v2/usergroups"), ApiFamily::V2);
        assert_eq!(ApiFamily::of_path("/api/systemusers"), ApiFamily::V1);
        assert_eq!(
            ApiFamily::of_path("/insights/directory/v1/events"),
            ApiFamily::Insights
        );
    }
}
