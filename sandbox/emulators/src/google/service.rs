//! The pieces every handler and the request gate share, and the router
//! that ties endpoints, gate and fallbacks together.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};

use crate::common::counters::RequestCounters;
use crate::common::knobs::Knobs;
use crate::common::lock;
use crate::common::ratelimit::MinuteWindow;
use crate::google::errors::GoogleError;
use crate::google::quota::QuotaKnobs;
use crate::google::state::GoogleState;
use crate::google::{auth, datatransfer, directory, gate, gmail, licensing, reports, sweep};

/// Everything about the emulator that is not domain data.
#[derive(Debug)]
pub(crate) struct Shared {
    pub knobs: Knobs,
    pub quota: QuotaKnobs,
    pub counters: RequestCounters,
    /// Per-minute budgets, one per (client id, impersonated user, API): Google
    /// meters each API's "queries per minute per user per project".
    pub buckets: Mutex<HashMap<String, MinuteWindow>>,
    pub base_url: String,
    pub token_url: String,
}

/// Axum state: the domain behind a mutex plus the shared controls.
#[derive(Clone, Debug)]
pub(crate) struct AppState {
    pub state: Arc<Mutex<GoogleState>>,
    pub shared: Arc<Shared>,
}

impl AppState {
    /// Locks the domain. A panic in one handler must not take the emulator
    /// down for every later request, so poisoning is ignored.
    pub fn domain(&self) -> MutexGuard<'_, GoogleState> {
        lock(&self.state)
    }
}

/// The full router: the token endpoint, every API route behind the gate,
/// Google's HTML 404 for anything else, and request accounting around it
/// all.
pub(crate) fn router(app: AppState) -> Router {
    let d = "/admin/directory/v1";
    let api = Router::new()
        .route(
            &format!("{d}/users/{{userKey}}"),
            get(directory::get_user)
                .put(directory::update_user)
                .patch(directory::update_user),
        )
        .route(
            &format!("{d}/users/{{userKey}}/signOut"),
            post(directory::sign_out),
        )
        .route(
            &format!("{d}/users/{{userKey}}/tokens"),
            get(directory::list_tokens),
        )
        .route(
            &format!("{d}/users/{{userKey}}/tokens/{{clientId}}"),
            get(directory::get_token).delete(directory::delete_token),
        )
        .route(
            &format!("{d}/users/{{userKey}}/asps"),
            get(directory::list_asps),
        )
        .route(
            &format!("{d}/users/{{userKey}}/asps/{{codeId}}"),
            get(directory::get_asp).delete(directory::delete_asp),
        )
        .route(
            &format!("{d}/users/{{userKey}}/verificationCodes"),
            get(directory::list_codes),
        )
        .route(
            &format!("{d}/users/{{userKey}}/verificationCodes/invalidate"),
            post(directory::invalidate_codes),
        )
        .route(&format!("{d}/groups"), get(directory::list_groups))
        .route(
            &format!("{d}/groups/{{groupKey}}/members"),
            post(directory::insert_member).get(sweep::list_members),
        )
        .route(
            &format!("{d}/groups/{{groupKey}}/members/{{memberKey}}"),
            axum::routing::delete(directory::delete_member).patch(sweep::patch_member),
        )
        .route(
            &format!("{d}/customer/{{customerId}}/devices/mobile"),
            get(directory::list_devices),
        )
        .route(
            &format!("{d}/customer/{{customerId}}/devices/mobile/{{resourceId}}"),
            get(directory::get_device),
        )
        .route(
            &format!("{d}/customer/{{customerId}}/devices/mobile/{{resourceId}}/action"),
            post(directory::device_action),
        )
        .merge(licensing::routes())
        .merge(datatransfer::routes())
        .merge(reports::routes())
        .merge(gmail::routes())
        .merge(sweep::routes())
        .route_layer(middleware::from_fn_with_state(app.clone(), gate::gate));
    Router::new()
        .route("/token", post(auth::token))
        .merge(api)
        .fallback(unknown_path)
        .method_not_allowed_fallback(unknown_path)
        .layer(middleware::from_fn_with_state(app.clone(), gate::record))
        .with_state(app)
}

/// Google's front end answers unknown paths and methods with an HTML 404.
async fn unknown_path() -> GoogleError {
    GoogleError::unknown_path()
}
