//! The operator API's published description (OpenAPI 3.1), served at [`PATH`].
//!
//! It is assembled from the same `routes!` lists that route the handlers ([`routes`]), so a
//! route cannot be served without being described, nor described without being served.

use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi};
use utoipa::{IntoResponses, PartialSchema, ToSchema};
use utoipa_axum::router::OpenApiRouter;

/// Where the document is served; fixed, so clients and generators can rely on it.
pub const PATH: &str = "/v1/operator/openapi.json";

/// Every refusal's body: `{"error": {"code", "message", "details"?}}` (see `error.rs`).
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorDetail {
    /// Stable, machine-readable code, e.g. `not_found`, `invalid_body`.
    code: String,
    /// What went wrong and how to fix it, for a person.
    message: String,
    /// Field problems, for errors that list them.
    details: Option<Vec<serde_json::Value>>,
}

/// The refusals every operator route can answer, each with the one error body.
#[derive(IntoResponses)]
#[allow(dead_code)] // Only its description is used.
pub(crate) enum Refusals {
    /// The body or query is not valid; the message names the field.
    #[response(status = 400)]
    Malformed(ErrorBody),
    /// No operator token, or not a valid one.
    #[response(status = 401)]
    Unauthenticated(ErrorBody),
    /// No such tenant, run or step visible to this operator.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// The run or step is not in a state that allows this.
    #[response(status = 409)]
    Conflict(ErrorBody),
    /// Understood but refused; the message says why.
    #[response(status = 422)]
    Unprocessable(ErrorBody),
}

/// Completes the document the router collected: title, version, authentication.
pub(crate) fn finish(mut doc: OpenApi) -> OpenApi {
    doc.info = InfoBuilder::new()
        .title("Passage operator API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Start, inspect and act on leaver runs. Every call is authenticated with an \
             operator bearer token (or, on AWS, an IAM-signed request) and scoped to the \
             operator's tenants: a tenant outside the scope answers exactly as one that does \
             not exist. Every action is recorded with the operator's name.",
        ))
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    // Referred to by [`Refusals`], whose derive does not collect schemas.
    for (name, schema) in [
        ("ErrorBody", ErrorBody::schema()),
        ("ErrorDetail", ErrorDetail::schema()),
    ] {
        components.schemas.insert(name.into(), schema);
    }
    components.add_security_scheme(
        "operator_token",
        SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
    );
    doc
}

/// Every operator route with its description: the runs and the period view.
pub(crate) fn routes() -> OpenApiRouter<crate::ApiState> {
    crate::operator::routes()
        .merge(crate::operator_links::routes())
        .merge(crate::operator_restore::routes())
        .merge(crate::report::routes())
}

/// The document, as served.
pub fn document() -> OpenApi {
    let (_, doc) = routes().split_for_parts();
    finish(doc)
}
