//! Error bodies of the services the emulator speaks for. They differ by
//! workload, as they do in production:
//!
//! - Graph directory (users, groups, licences), Outlook (mailbox settings,
//!   rules) and the authentication-methods service all use the OData
//!   `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`
//!   shape; the authentication-methods service also repeats `message` inside
//!   `innerError`.
//! - Intune wraps a JSON document (`_version`, `Message`,
//!   `CustomApiErrorPhrase`, …) as a *string* inside `message`.
//! - Throttling adds `code`, `message` and `status` to `innerError`.
//! - The Exchange admin endpoint answers
//!   `{"error":{"code","message","details":[{"code","target","message"}],"innererror":{…}}}`,
//!   and a bare 401 with no body.
//!
//! Handlers cannot know the request ids, so a [`GraphError`] becomes a
//! response carrying the error as an extension; the request envelope renders
//! the body once the ids are known (see `gate`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The family an error body belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// Directory, Outlook and most Graph workloads.
    OData,
    /// The authentication-methods service (`innerError.message` repeated).
    AuthMethods,
    /// Intune: the message is a serialised JSON document.
    Intune {
        /// The back-end URL Intune reports in the message.
        url: String,
    },
    /// A throttled request (Graph's documented 429 body).
    Throttled,
    /// The Exchange admin endpoint's cmdlet error.
    Exchange {
        /// `details[0].message`, e.g. `Ex6F9304|…ManagementObjectNotFoundException|…`.
        detail: String,
    },
    /// No body at all (the Exchange admin endpoint's 401).
    Empty,
}

/// An error response of Graph, Intune or the Exchange admin endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphError {
    status: StatusCode,
    code: String,
    message: String,
    pub(crate) flavor: Flavor,
    retry_after: Option<u64>,
    www_authenticate: bool,
}

impl GraphError {
    pub(crate) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            flavor: Flavor::OData,
            retry_after: None,
            www_authenticate: false,
        }
    }

    fn with_flavor(mut self, flavor: Flavor) -> Self {
        self.flavor = flavor;
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `error.code` value.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The `error.message` value (for Intune, the wrapped message text).
    pub fn message(&self) -> &str {
        &self.message
    }

    // ----- authentication --------------------------------------------------

    /// 401 `InvalidAuthenticationToken`, with the `WWW-Authenticate` challenge
    /// Graph sends.
    pub(crate) fn invalid_token(message: &str) -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
        );
        e.www_authenticate = true;
        e
    }

    /// The Exchange admin endpoint's 401: a challenge and no body, whether
    /// the token is bad or the app lacks `Exchange.ManageAsApp`.
    pub(crate) fn exchange_unauthorized() -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, "", "").with_flavor(Flavor::Empty);
        e.www_authenticate = true;
        e
    }

    // ----- directory ---------------------------------------------------------

    /// 403 `Authorization_RequestDenied`.
    pub(crate) fn directory_denied() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }

    /// 404 `Request_ResourceNotFound` for a directory object id or UPN.
    pub(crate) fn resource_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
        )
    }

    /// 400 `Request_BadRequest`.
    pub(crate) fn length_required() -> Self {
        Self::new(
            StatusCode::LENGTH_REQUIRED,
            "LengthRequired",
            "Length Required: a request with a body method needs a Content-Length header",
        )
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
    }

    /// 400 `BadRequest` for an OData payload Graph cannot read.
    pub(crate) fn body_unreadable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    /// 400 for a `$select` naming a property the type does not have.
    pub(crate) fn unknown_property(property: &str, entity: &str) -> Self {
        Self::bad_request(format!(
            "Could not find a property named '{property}' on type 'microsoft.graph.{entity}'."
        ))
    }

    /// 400 for an out-of-range `$top`.
    pub(crate) fn invalid_page_size(raw: &str) -> Self {
        Self::bad_request(format!(
            "Invalid page size specified: '{raw}'. Must be between 1 and 999 inclusive."
        ))
    }

    /// 400 for writes to on-premises-mastered objects.
    pub(crate) fn on_prem_mastered() -> Self {
        Self::bad_request(
            "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.",
        )
    }

    /// 400 for membership changes of Exchange-authored groups.
    pub(crate) fn mail_enabled_group() -> Self {
        Self::bad_request("Cannot Update a mail-enabled security groups and or distribution list.")
    }

    /// 400 `BadRequest` for a path Graph does not serve.
    pub(crate) fn unknown_segment(segment: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("Resource not found for the segment '{segment}'."),
        )
    }

    /// 405 for a known path with an unsupported method.
    pub(crate) fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request_BadRequest",
            "Specified HTTP method is not allowed for the request target.",
        )
    }

    // ----- authentication methods service ------------------------------------

    pub(crate) fn auth_methods(status: StatusCode, code: &str, message: &str) -> Self {
        Self::new(status, code, message).with_flavor(Flavor::AuthMethods)
    }

    // ----- Outlook -------------------------------------------------------------

    /// 403 `ErrorAccessDenied`.
    pub(crate) fn outlook_denied() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "ErrorAccessDenied",
            "Access is denied. Check credentials and try again.",
        )
    }

    /// 404 `ErrorInvalidUser` for a mailbox owner Graph cannot resolve.
    pub(crate) fn outlook_invalid_user(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ErrorInvalidUser",
            format!("The requested user '{id}' is invalid."),
        )
    }

    /// 404 `MailboxNotEnabledForRESTAPI`: no mailbox, or one that lost its
    /// Exchange licence.
    pub(crate) fn mailbox_not_enabled() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "MailboxNotEnabledForRESTAPI",
            "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
        )
    }

    /// 404 `ErrorItemNotFound`.
    pub(crate) fn outlook_item_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ErrorItemNotFound",
            "The specified object was not found in the store.",
        )
    }

    /// 400 `ErrorInvalidRequest` (Outlook validation).
    pub(crate) fn outlook_invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ErrorInvalidRequest", message)
    }

    // ----- Intune ----------------------------------------------------------------

    pub(crate) fn intune(status: StatusCode, code: &str, message: &str, url: String) -> Self {
        Self::new(status, code, message).with_flavor(Flavor::Intune { url })
    }

    // ----- throttling and faults -------------------------------------------------

    /// 429 `TooManyRequests` with `Retry-After`.
    pub(crate) fn throttled(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Please retry again later.",
        )
        .with_flavor(Flavor::Throttled);
        e.retry_after = Some(retry_after_secs.max(1));
        e
    }

    /// The same error with `Retry-After: secs`.
    pub(crate) fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    /// An injected 5xx with Graph's generic codes; 503 carries `Retry-After`.
    pub(crate) fn server(status: u16) -> Self {
        match status {
            502 => Self::new(
                StatusCode::BAD_GATEWAY,
                "BadGateway",
                "The server received an invalid response from an upstream server.",
            ),
            503 => {
                let mut e = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "serviceNotAvailable",
                    "The service is temporarily unavailable for maintenance or is overloaded. You may repeat the request after a delay, which may be specified in a Retry-After header.",
                );
                e.retry_after = Some(1);
                e
            }
            _ => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "generalException",
                "An unspecified error has occurred.",
            ),
        }
    }

    // ----- Exchange admin endpoint -----------------------------------------------

    /// A failed cmdlet: `{"error":{"code","message","details":[…],"innererror":{…}}}`.
    pub(crate) fn cmdlet(status: StatusCode, detail: String) -> Self {
        Self::new(status, "InternalServerError", "Error executing cmdlet")
            .with_flavor(Flavor::Exchange { detail })
    }

    /// A malformed request to the Exchange admin endpoint.
    pub(crate) fn exchange_bad_request(message: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message).with_flavor(Flavor::Exchange {
            detail: String::new(),
        })
    }

    /// Renders the body with the request's ids (`date` as Graph writes it:
    /// seconds, no zone designator).
    pub(crate) fn body(
        &self,
        request_id: &str,
        client_request_id: &str,
        date: &str,
    ) -> Option<Value> {
        let inner = json!({
            "date": date,
            "request-id": request_id,
            "client-request-id": client_request_id,
        });
        match &self.flavor {
            Flavor::Empty => None,
            Flavor::OData => Some(json!({
                "error": { "code": self.code, "message": self.message, "innerError": inner }
            })),
            Flavor::AuthMethods => Some(json!({
                "error": {
                    "code": self.code,
                    "message": self.message,
                    "innerError": {
                        "message": self.message,
                        "date": date,
                        "request-id": request_id,
                        "client-request-id": client_request_id,
                    }
                }
            })),
            Flavor::Throttled => Some(json!({
                "error": {
                    "code": self.code,
                    "message": self.message,
                    "innerError": {
                        "code": "429",
                        "date": date,
                        "message": "Please retry after",
                        "request-id": request_id,
                        "client-request-id": client_request_id,
                        "status": "429",
                    }
                }
            })),
            Flavor::Intune { url } => {
                let document = json!({
                    "_version": 3,
                    "Message": format!(
                        "{} - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000 - Activity ID: {client_request_id} - Url: {url}",
                        self.message
                    ),
                    "CustomApiErrorPhrase": "",
                    "RetryAfter": null,
                    "ErrorSourceService": "",
                    "HttpHeaders": "{}",
                });
                let text = serde_json::to_string_pretty(&document)
                    .unwrap_or_default()
                    .replace('\n', "\r\n");
                Some(json!({
                    "error": { "code": self.code, "message": text, "innerError": inner }
                }))
            }
            Flavor::Exchange { detail } => {
                let details: Vec<Value> = if detail.is_empty() {
                    Vec::new()
                } else {
                    vec![json!({ "code": "Client", "target": "", "message": detail })]
                };
                Some(json!({
                    "error": {
                        "code": self.code,
                        "message": self.message,
                        "details": details,
                        "innererror": {
                            "message": self.message,
                            "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                            "stacktrace": "",
                        }
                    }
                }))
            }
        }
    }
}

/// Marker extension: the envelope renders this error's body.
#[derive(Clone, Debug)]
pub(crate) struct PendingError(pub GraphError);

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        let headers = response.headers_mut();
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.www_authenticate {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
                ),
            );
        }
        response.extensions_mut().insert(PendingError(self));
        response
    }
}
