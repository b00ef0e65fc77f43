//! The operator console: server-rendered pages under `/console/…`, in the same router (and so
//! behind the same scope checks) as the operator API. Every action is a plain HTML form that
//! calls the engine method the API's handler calls, with the signed-in operator as actor.
//!
//! People sign in through their organisation's identity provider (OpenID Connect, `[[oidc]]`),
//! with a password (an Argon2 hash beside the operator in `passage.toml`) or by pasting their
//! operator token; the session is a signed cookie, so the console works on
//! Lambda, where no memory survives between requests.

use crate::ApiState;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};

mod actions;
mod csrf;
mod evidence;
mod home;
mod layout;
pub(crate) mod oidc;
mod run;
mod runs;
mod scope;
mod session;
mod sign_in;
mod tenants;

pub use sign_in::hash_password;

pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/console", get(home::page))
        .route("/console/", get(home::page))
        .route("/console/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/console/sign-out", post(sign_in::sign_out))
        .route(oidc::CALLBACK_PATH, get(oidc::callback))
        .route("/console/sign-in/oidc/{provider}", get(oidc::start))
        .route("/console/runs", get(runs::page))
        .route("/console/tenants/{tenant}/runs/{run}", get(run::page))
        .route(
            "/console/tenants/{tenant}/runs/{run}/live",
            get(run::live_fragment),
        )
        .route(
            "/console/tenants/{tenant}/runs/{run}/actions/{action}",
            post(actions::submit),
        )
        .route("/console/tenants", get(tenants::page))
        .route("/console/tenants/{tenant}/approve", post(tenants::approve))
        .route("/console/tenants/{tenant}/plan", post(tenants::plan))
        .route("/console/evidence", get(evidence::page))
        .route("/console/evidence/period-link", post(evidence::period_link))
        .route("/console/static/console.css", get(layout::css))
        .route("/console/static/console.js", get(layout::js))
        .layer(axum::middleware::map_response(secure_headers))
}

/// Every console answer: a strict content security policy (scripts, styles and images from
/// the console alone; fetches back to it for live updates), no framing, no sniffing, no
/// referrer, and nothing cached, since pages show one operator's view.
async fn secure_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    let set = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in set {
        h.insert(name, HeaderValue::from_static(value));
    }
    response
}
