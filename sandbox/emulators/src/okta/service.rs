//! The pieces every handler and the request gate share, and the router that
//! ties endpoints, gate and fallbacks together.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};

use crate::common::counters::RequestCounters;
use crate::common::knobs::Knobs;
use crate::common::lock;
use crate::common::ratelimit::MinuteWindow;
use crate::okta::oauth::{self, AuthServer};
use crate::okta::oidc::{self, SignInServer};
use crate::okta::state::OktaState;
use crate::okta::{gate, routes};

/// Everything about the emulator that is not org data.
#[derive(Debug)]
pub(crate) struct Shared {
    pub knobs: Knobs,
    pub counters: RequestCounters,
    /// The org-wide window (every management request counts in it).
    pub bucket: MinuteWindow,
    /// Okta's per-endpoint windows.
    pub limits: crate::okta::limits::EndpointLimits,
    pub api_token: String,
    /// Absolute origin used in `_links` and `Link` headers.
    pub base_url: String,
    /// The org authorization server (service apps, access tokens, DPoP).
    pub oauth: Mutex<AuthServer>,
    /// Sign-in for people (OpenID Connect web apps).
    pub oidc: Mutex<SignInServer>,
}

impl Shared {
    /// Locks the authorization server, ignoring poisoning like `org()`.
    pub fn oauth(&self) -> MutexGuard<'_, AuthServer> {
        lock(&self.oauth)
    }

    /// Locks the sign-in server.
    pub fn oidc(&self) -> MutexGuard<'_, SignInServer> {
        lock(&self.oidc)
    }
}

/// Axum state: the org data behind a mutex plus the shared controls.
#[derive(Clone, Debug)]
pub(crate) struct AppState {
    pub org: Arc<Mutex<OktaState>>,
    pub shared: Arc<Shared>,
}

impl AppState {
    /// Locks the org. A panic in one handler must not take the emulator down
    /// for every later test request, so poisoning is ignored.
    pub fn org(&self) -> MutexGuard<'_, OktaState> {
        lock(&self.org)
    }
}

/// The full Okta router with the request gate applied to every management
/// route, including the fallbacks, so unknown paths still authenticate,
/// count against the rate limit and carry request ids. The org
/// authorization server's token endpoint sits beside it with a lighter gate
/// (request ids, latency and counters; no API credential, no API bucket).
pub(crate) fn router(app: AppState) -> Router {
    let token = Router::new()
        .route(oauth::TOKEN_PATH, post(oauth::token))
        .route("/.well-known/openid-configuration", get(oidc::discovery))
        .route(
            "/oauth2/v1/authorize",
            get(oidc::authorize).post(oidc::submit),
        )
        .route("/oauth2/v1/keys", get(oidc::keys))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            gate::token_gate,
        ));
    routes::api()
        .layer(middleware::from_fn_with_state(app.clone(), gate::gate))
        .merge(token)
        .with_state(app)
}
