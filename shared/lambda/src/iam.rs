//! The operator API on AWS is protected by API Gateway's IAM authorizer: the caller signed the
//! request with SigV4 and API Gateway verified it. The verified principal arrives in the
//! request context (never in a header a client could set), and becomes the operator identity.
//!
//! A caller working through a role arrives as its session
//! (`arn:aws:sts::…:assumed-role/Ops/jane`) while the configuration names the role
//! (`arn:aws:iam::…:role/Ops`); [`passage_http::principal_matches`] decides that they are the
//! same principal, so the ARN is handed on exactly as API Gateway verified it.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use lambda_http::request::RequestContext;
use passage_http::IamCaller;

/// The IAM user or role ARN API Gateway verified for this request, if any.
pub fn iam_principal(request: &Request) -> Option<String> {
    match request.extensions().get::<RequestContext>()? {
        RequestContext::ApiGatewayV2(ctx) => {
            ctx.authorizer.as_ref()?.iam.as_ref()?.user_arn.clone()
        }
        _ => None,
    }
}

/// Middleware: records the verified principal for the operator API.
pub async fn caller_from_context(mut request: Request, next: Next) -> Response {
    // A client-sent extension cannot exist; remove any by construction before adding ours.
    request.extensions_mut().remove::<IamCaller>();
    if let Some(arn) = iam_principal(&request) {
        request.extensions_mut().insert(IamCaller(arn));
    }
    next.run(request).await
}
