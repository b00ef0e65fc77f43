//! SCIM errors (RFC 7644 §3.12): `{"schemas":[Error],"status":"404","scimType","detail"}` with
//! the status as a string; the lenient flavour writes it as an integer, as GitHub and others do.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::scim::flavor::Flavor;

pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// One SCIM error answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<&'static str>,
    pub detail: String,
    pub flavor: Flavor,
}

impl ScimError {
    pub fn new(flavor: Flavor, status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type: None,
            detail: detail.into(),
            flavor,
        }
    }

    /// A 400 with one of RFC 7644 Table 9's `scimType` keywords.
    pub fn bad(flavor: Flavor, scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self {
            scim_type: Some(scim_type),
            ..Self::new(flavor, StatusCode::BAD_REQUEST, detail)
        }
    }

    pub fn not_found(flavor: Flavor, id: &str) -> Self {
        Self::new(
            flavor,
            StatusCode::NOT_FOUND,
            format!("Resource {id} not found"),
        )
    }

    pub fn unauthorized(flavor: Flavor) -> Self {
        Self::new(
            flavor,
            StatusCode::UNAUTHORIZED,
            "Authorization failure. The authorization header is invalid or missing.",
        )
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let status = match self.flavor {
            Flavor::Strict => json!(self.status.as_u16().to_string()),
            Flavor::Lenient => json!(self.status.as_u16()),
        };
        let mut body = json!({"schemas": [ERROR_URN], "status": status, "detail": self.detail});
        if let Some(t) = self.scim_type {
            body["scimType"] = t.into();
        }
        let mut response = (self.status, Json(body)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/scim+json"),
        );
        response
    }
}
