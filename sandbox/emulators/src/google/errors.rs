//! Google's two error shapes.
//!
//! APIs (Directory, Licensing, Data Transfer, Gmail) answer
//! `{"error":{"code","message","errors":[{"message","domain","reason"}],"status"}}`;
//! clients branch on `error.errors[0].reason` and `error.status`. The token
//! endpoint answers the OAuth 2.0 shape `{"error","error_description"}`.
//!
//! Google's front end answers some failures (502, unknown paths) with an
//! HTML page rather than JSON; those are reproduced too, because a client
//! that assumes every error is JSON breaks against the real service.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Why a rate or quota limit refused a request: the `reason` Google puts in
/// the error body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QuotaReason {
    /// 403 `userRateLimitExceeded`: the per-user per-project queries budget
    /// (Directory's documented default is 2,400 a minute).
    UserRateLimitExceeded,
    /// 403 `rateLimitExceeded`.
    RateLimitExceeded,
    /// 403 `quotaExceeded`: the concurrent-request limit.
    QuotaExceeded,
}

impl QuotaReason {
    /// The `reason` string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserRateLimitExceeded => "userRateLimitExceeded",
            Self::RateLimitExceeded => "rateLimitExceeded",
            Self::QuotaExceeded => "quotaExceeded",
        }
    }
}

/// An API error response.
#[derive(Clone, Debug, PartialEq)]
pub struct GoogleError {
    status: StatusCode,
    grpc_status: Option<&'static str>,
    reason: &'static str,
    domain: &'static str,
    message: String,
    /// Rarely used parts, boxed to keep the error small.
    extra: Option<Box<Extra>>,
    html: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
struct Extra {
    item_message: Option<&'static str>,
    location: Option<(String, &'static str)>,
    details: Option<Value>,
    www_authenticate: Option<String>,
}

impl GoogleError {
    fn new(
        status: StatusCode,
        grpc_status: &'static str,
        reason: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            grpc_status: Some(grpc_status),
            reason,
            domain: "global",
            message: message.into(),
            extra: None,
            html: false,
        }
    }

    /// 404 `notFound` "Resource Not Found: {what}" (Directory and Data
    /// Transfer name the parameter: `userKey`, `groupKey`, `memberKey`, …).
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "notFound",
            format!("Resource Not Found: {what}"),
        )
    }

    /// 404 `notFound` with Drive's wording: "File not found: {id}." for a file or shared
    /// drive the caller cannot see, "Permission not found: {id}." for a permission.
    pub fn drive_not_found(what: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "notFound",
            format!("{what} not found: {id}."),
        )
    }

    /// 404 `notFound` with Gmail's wording.
    pub fn entity_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "notFound",
            "Requested entity was not found.",
        )
    }

    /// 404 from the Licensing API for an assignment that does not exist.
    pub fn license_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "notFound",
            "User does not have a license for specified sku and product",
        )
    }

    /// 403 `forbidden`: the impersonated admin may not act on this resource
    /// (or the caller is not an admin at all).
    pub fn not_authorized() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "forbidden",
            "Not Authorized to access this resource/api",
        )
    }

    /// 403 `forbidden`: a Gmail call for a mailbox other than the token's
    /// subject.
    pub fn delegation_denied(subject: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "forbidden",
            format!("Delegation denied for {subject}"),
        )
    }

    /// 409 `duplicate`: a member (or licence assignment) that already exists.
    pub fn duplicate(message: &str) -> Self {
        Self::new(StatusCode::CONFLICT, "ALREADY_EXISTS", "duplicate", message)
    }

    /// 400 `failedPrecondition`.
    pub fn failed_precondition(message: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "FAILED_PRECONDITION",
            "failedPrecondition",
            message,
        )
    }

    /// 400 `invalid` "Invalid Input: {field}".
    pub fn invalid_input(field: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "invalid",
            format!("Invalid Input: {field}"),
        )
    }

    /// 400 `invalidArgument` with a free-form message (Gmail).
    pub fn invalid_argument(message: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "invalidArgument",
            message,
        )
    }

    /// 400 `invalidParameter` for a query parameter outside its range.
    pub fn out_of_range(parameter: &str, value: &str, min: usize, max: usize) -> Self {
        let mut error = Self::new(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "invalidParameter",
            format!("Invalid value '{value}'. Values must be within the range: [{min}, {max}]"),
        );
        error.extra_mut().location = Some((parameter.to_owned(), "parameter"));
        error
    }

    /// 400 `required` for a missing query parameter.
    pub fn required_parameter(parameter: &str) -> Self {
        let mut error = Self::new(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "required",
            format!("Required parameter: {parameter}"),
        );
        error.extra_mut().location = Some((parameter.to_owned(), "parameter"));
        error
    }

    /// 400 `badRequest`.
    pub fn bad_request() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "badRequest",
            "Bad Request",
        )
    }

    /// 400 `parseError`: the body is not JSON of the right shape.
    pub fn parse_error() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "parseError",
            "Parse Error",
        )
    }

    /// 409 `alreadyExists` (Gmail).
    pub fn already_exists(message: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "ALREADY_EXISTS",
            "alreadyExists",
            message,
        )
    }

    /// 412 `conditionNotMet`.
    pub fn condition_not_met(message: &str) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "FAILED_PRECONDITION",
            "conditionNotMet",
            message,
        )
    }

    /// 401 `required`: no credentials at all.
    pub fn login_required() -> Self {
        let mut error = Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "required",
            "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        );
        error.extra_mut().item_message = Some("Login Required.");
        error.extra_mut().location = Some(("Authorization".to_owned(), "header"));
        error.extra_mut().www_authenticate =
            Some("Bearer realm=\"https://accounts.google.com/\"".to_owned());
        error
    }

    /// 401 `authError`: unknown, expired or revoked access token.
    pub fn invalid_credentials() -> Self {
        let mut error = Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "authError",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        );
        error.extra_mut().item_message = Some("Invalid Credentials");
        error.extra_mut().location = Some(("Authorization".to_owned(), "header"));
        error.extra_mut().www_authenticate = Some(
            "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"".to_owned(),
        );
        error
    }

    /// 403 `insufficientPermissions` / `ACCESS_TOKEN_SCOPE_INSUFFICIENT`:
    /// the token lacks every scope the method accepts.
    pub fn insufficient_scope(service: &str, method: &str, accepted: &[&str]) -> Self {
        let mut error = Self::new(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "insufficientPermissions",
            "Request had insufficient authentication scopes.",
        );
        error.extra_mut().item_message = Some("Insufficient Permission");
        error.extra_mut().details = Some(json!([{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
            "domain": "googleapis.com",
            "metadata": { "service": service, "method": method },
        }]));
        error.extra_mut().www_authenticate = Some(format!(
            "Bearer realm=\"https://accounts.google.com/\", error=\"insufficient_scope\", scope=\"{}\"",
            accepted.join(" ")
        ));
        error
    }

    /// 403 with a rate or quota reason, in the `usageLimits` domain.
    pub fn quota(reason: QuotaReason, service: &str, project: &str) -> Self {
        let message = match reason {
            QuotaReason::UserRateLimitExceeded => format!(
                "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service '{service}' for consumer 'project_number:{project}'."
            ),
            QuotaReason::RateLimitExceeded => "Rate Limit Exceeded".to_owned(),
            QuotaReason::QuotaExceeded => format!(
                "Quota exceeded for quota metric 'Concurrent requests' of service '{service}' for consumer 'project_number:{project}'."
            ),
        };
        let mut error = Self::new(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            reason.as_str(),
            message,
        );
        error.domain = "usageLimits";
        error
    }

    /// 429 `rateLimitExceeded` / `RESOURCE_EXHAUSTED`.
    pub fn too_many_requests(service: &str, project: &str) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RESOURCE_EXHAUSTED",
            "rateLimitExceeded",
            format!(
                "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service '{service}' for consumer 'project_number:{project}'."
            ),
        );
        error.domain = "usageLimits";
        error
    }

    /// Gmail's per-user 429 (`rateLimitExceeded`), whose message names the
    /// instant the caller may retry: "User-rate limit exceeded.  Retry after
    /// <RFC 3339>". Gmail sends no `Retry-After` header; the body is the only
    /// place the end of the throttling shows.
    pub fn gmail_rate_limited(retry_after: &str) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RESOURCE_EXHAUSTED",
            "rateLimitExceeded",
            format!("User-rate limit exceeded.  Retry after {retry_after}"),
        )
    }

    /// A 5xx. 500 and 503 carry Google's JSON `backendError` body; 502 is
    /// the front end's HTML error page.
    pub fn server(status: u16) -> Self {
        match status {
            502 => Self::html_page(StatusCode::BAD_GATEWAY),
            503 => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                "backendError",
                "The service is currently unavailable.",
            ),
            _ => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "backendError",
                "Backend Error",
            ),
        }
    }

    /// The front end's HTML page for an unknown path or method.
    pub fn unknown_path() -> Self {
        Self::html_page(StatusCode::NOT_FOUND)
    }

    fn html_page(status: StatusCode) -> Self {
        Self {
            status,
            grpc_status: None,
            reason: "",
            domain: "global",
            message: String::new(),
            extra: None,
            html: true,
        }
    }

    fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// `error.errors[0].reason` (empty for HTML pages).
    pub fn reason(&self) -> &str {
        self.reason
    }

    /// `error.message`.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The JSON body (`Value::Null` for HTML pages).
    pub fn body(&self) -> Value {
        if self.html {
            return Value::Null;
        }
        let extra = self.extra.as_deref().cloned().unwrap_or_default();
        let mut item = serde_json::Map::new();
        item.insert(
            "message".into(),
            Value::String(
                extra
                    .item_message
                    .map_or_else(|| self.message.clone(), str::to_owned),
            ),
        );
        item.insert("domain".into(), Value::String(self.domain.to_owned()));
        item.insert("reason".into(), Value::String(self.reason.to_owned()));
        if let Some((location, kind)) = &extra.location {
            item.insert("location".into(), Value::String(location.clone()));
            item.insert("locationType".into(), Value::String((*kind).to_owned()));
        }
        let mut error = serde_json::Map::new();
        error.insert("code".into(), json!(self.status.as_u16()));
        error.insert("message".into(), Value::String(self.message.clone()));
        error.insert("errors".into(), Value::Array(vec![Value::Object(item)]));
        if let Some(status) = self.grpc_status {
            error.insert("status".into(), Value::String(status.to_owned()));
        }
        if let Some(details) = &extra.details {
            error.insert("details".into(), details.clone());
        }
        json!({ "error": Value::Object(error) })
    }
}

impl IntoResponse for GoogleError {
    fn into_response(self) -> Response {
        if self.html {
            let code = self.status.as_u16();
            let text = if code == 404 {
                "The requested URL was not found on this server.  That’s all we know."
            } else {
                "The server encountered a temporary error and could not complete your request.<p>Please try again in 30 seconds.  That’s all we know."
            };
            let page = format!(
                "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error {code} (Server Error)!!1</title>\n  <p><b>{code}.</b> <ins>That’s an error.</ins>\n  <p>{text}\n"
            );
            return (
                self.status,
                [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
                page,
            )
                .into_response();
        }
        let mut response = (self.status, Json(self.body())).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=UTF-8"),
        );
        if let Some(value) = self
            .extra
            .as_ref()
            .and_then(|e| e.www_authenticate.as_deref())
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// An OAuth 2.0 token-endpoint error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl TokenError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
        }
    }

    /// 400 `invalid_request`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// 400 `unsupported_grant_type`.
    pub fn unsupported_grant_type(grant_type: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("Invalid grant_type: {grant_type}"),
        )
    }

    /// 400 `invalid_grant` "Invalid JWT Signature.": the assertion was not
    /// signed by a live key of the service account it names.
    pub fn bad_signature() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid JWT Signature.",
        )
    }

    /// 400 `invalid_grant`: `iat`/`exp` outside Google's window.
    pub fn bad_timeframe() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
        )
    }

    /// 400 `invalid_grant`: `aud` is not the token endpoint.
    pub fn bad_audience() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid JWT: Failed audience check.",
        )
    }

    /// 400 `invalid_grant`: `iss` names no known service account.
    pub fn account_not_found() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid grant: account not found",
        )
    }

    /// 400 `invalid_grant`: `sub` is not an active user of the domain.
    pub fn bad_subject() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid email or User ID",
        )
    }

    /// 400 `invalid_request`: `sub` is not an e-mail address.
    pub fn malformed_subject(sub: &str) -> Self {
        Self::invalid_request(format!("Invalid impersonation \"sub\" field: {sub}"))
    }

    /// 400 `invalid_scope`.
    pub fn invalid_scope() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "Invalid OAuth scope or ID token audience provided.",
        )
    }

    /// 401 `unauthorized_client`: the client id has no domain-wide
    /// delegation at all.
    pub fn client_not_delegated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
            "Unauthorized client or scope in request.",
        )
    }

    /// 401 `unauthorized_client`: a requested scope is not on the client's
    /// delegation allow-list.
    pub fn scope_not_delegated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
            "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.",
        )
    }

    /// 400 `disabled_client`: the signing key is disabled.
    pub fn disabled_client() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "disabled_client",
            "The OAuth client was disabled.",
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `error` code.
    pub fn error(&self) -> &'static str {
        self.error
    }

    /// The `error_description`.
    pub fn description(&self) -> &str {
        &self.description
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({ "error": self.error, "error_description": self.description })),
        )
            .into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        response
    }
}
