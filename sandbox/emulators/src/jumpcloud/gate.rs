//! The request gate in front of every endpoint: latency, authentication,
//! organisation selection (`x-org-id`), forced and real rate limiting,
//! injected 5xx, role checks, lost responses and request accounting.
//!
//! Every rejection happens before the handler runs, so a 400, 401, 403,
//! 404 (organisation), 429 or injected 5xx never changes state.
//!
//! JumpCloud documents no rate-limit or request-id headers for v1/v2, so
//! none are sent; a 429 carries only the error body. A storm's 429 may carry
//! a `Retry-After` naming its end when the emulator is told to send one (an
//! undocumented header clients should honour if it appears). The token
//! endpoint (another host in production) gets latency only.
//!
//! `x-org-id` rules, from the v2 spec's "Multi-Tenant Portal Headers":
//! 400 malformed id; 400 id differs from an organisation id in the path;
//! 401 missing for a credential that spans several organisations; 403 sent
//! on a route that does not take it (`GET /api/organizations`, which lists
//! the administered organisations); 404 unknown organisation (also used
//! for an organisation this credential does not administer). Directory
//! Insights accepts several `x-org-id` headers at once.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::common::clock;
use crate::common::counters::UNMATCHED;
use crate::common::knobs;
use crate::common::server::Severer;
use crate::jumpcloud::audit::Origin;
use crate::jumpcloud::auth::Credential;
use crate::jumpcloud::declared;
use crate::jumpcloud::errors::{ApiFamily, JcError};
use crate::jumpcloud::model::is_object_id;
use crate::jumpcloud::service::AppState;

/// The header that selects an organisation for multi-tenant credentials.
pub const ORG_HEADER: &str = "x-org-id";
/// The admin API key header.
pub const API_KEY_HEADER: &str = "x-api-key";

/// Who is calling, on which organisation(s), as handlers see it.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    /// The organisation the request acts on.
    pub org_id: String,
    /// Every organisation selected (several only on Directory Insights, or
    /// the administered ones on `GET /api/organizations`).
    pub org_ids: Vec<String>,
    pub credential: Credential,
    pub origin: Origin,
}

/// POST routes that only read.
const READ_ONLY_POSTS: &[&str] = &[
    "/api/search/systemusers",
    "/api/search/commandresults",
    "/insights/directory/v1/events",
];

/// The middleware itself; see the module docs for the order of checks.
pub(crate) async fn gate(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let family = ApiFamily::of_path(req.uri().path());

    app.shared.knobs.delay().await;

    let mut response = if family == ApiFamily::OAuth {
        next.run(req).await
    } else {
        admit_and_run(&app, req, next, family, &method, template.as_deref()).await
    };
    app.shared.knobs.timeline().stamp(&mut response);
    app.shared.counters.record(
        method.as_str(),
        template.as_deref().unwrap_or(UNMATCHED),
        response.status().as_u16(),
    );
    response
}

async fn admit_and_run(
    app: &AppState,
    mut req: Request,
    next: Next,
    family: ApiFamily,
    method: &Method,
    template: Option<&str>,
) -> Response {
    let shared = &app.shared;
    let caller = match authenticate(app, &req, family) {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };

    if shared.knobs.take_burst_429() {
        return JcError::rate_limited(family).into_response();
    }
    let now_ms = shared.knobs.timeline().epoch_millis();
    if let Some(until_ms) = shared.knobs.storm_until(now_ms) {
        let mut response = JcError::rate_limited(family).into_response();
        if shared.storm_retry_after()
            && let Ok(v) = HeaderValue::from_str(
                &clock::ceil_secs(until_ms.saturating_sub(now_ms))
                    .max(1)
                    .to_string(),
            )
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return response;
    }
    let quota = shared
        .bucket
        .take(shared.knobs.rate_limit_per_minute(), now_ms);
    if !quota.allowed {
        return JcError::rate_limited(family).into_response();
    }
    if let Some(status) = shared.knobs.roll_5xx() {
        return JcError::server(family, status).into_response();
    }

    if *method == Method::GET
        && let Some(t) = template
        && let Some(name) = declared::undeclared(t, req.uri().query())
    {
        let detail = format!("this operation does not take the query parameter \"{name}\"");
        return JcError::bad_request(family, detail).into_response();
    }

    let path = req.uri().path().to_owned();
    let reads =
        matches!(*method, Method::GET | Method::HEAD) || READ_ONLY_POSTS.contains(&path.as_str());
    let role = caller.credential.role;
    if template.is_some() && (!role.can_read() || (!reads && !role.can_write())) {
        return JcError::forbidden(family).into_response();
    }

    let severer = req.extensions().get::<Severer>().cloned();
    req.extensions_mut().insert(caller);
    app.tenant().settle();
    let response = next.run(req).await;
    if !reads
        && response.status().is_success()
        && let Some(lost) = shared.knobs.take_lost_response()
    {
        return knobs::lose(lost, severer, |s| {
            JcError::server(family, s).into_response()
        })
        .await;
    }
    response
}

fn authenticate(app: &AppState, req: &Request, family: ApiFamily) -> Result<Caller, JcError> {
    let headers = req.headers();
    let path = req.uri().path();
    let mut registry = app.shared.registry();
    let (credential, auth_method) = if let Some(key) = headers.get(API_KEY_HEADER) {
        let key = key.to_str().map(str::trim).unwrap_or_default();
        let credential = registry
            .by_api_key(key)
            .ok_or_else(|| JcError::unauthorized(family))?;
        (credential, "api-key")
    } else if let Some(token) = bearer(headers) {
        let credential = registry
            .by_token(&token)
            .ok_or_else(|| JcError::unauthorized(family))?;
        (credential, "oauth")
    } else {
        return Err(JcError::unauthorized(family));
    };

    let selected: Vec<String> = headers
        .get_all(ORG_HEADER)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect();
    let lists_orgs = path.trim_end_matches('/') == "/api/organizations";
    if lists_orgs && !selected.is_empty() {
        return Err(JcError::new(
            family,
            StatusCode::FORBIDDEN,
            "Forbidden: x-org-id is not supported on this route",
        ));
    }
    if selected.len() > 1 && family != ApiFamily::Insights {
        return Err(JcError::bad_request(
            family,
            "only one x-org-id may be sent",
        ));
    }
    for org in &selected {
        if !is_object_id(org) {
            return Err(JcError::bad_request(family, "malformed x-org-id"));
        }
        if !registry.orgs.contains(org) || !credential.orgs.contains(org) {
            return Err(JcError::new(
                family,
                StatusCode::NOT_FOUND,
                "Not Found: organization ID not found",
            ));
        }
    }
    if let Some(path_org) = path.strip_prefix("/api/organizations/")
        && let Some(org) = selected.first()
        && path_org.trim_end_matches('/') != org
    {
        return Err(JcError::bad_request(
            family,
            "x-org-id and organization path ID do not match",
        ));
    }
    let org_ids = if lists_orgs {
        credential.orgs.clone()
    } else if !selected.is_empty() {
        selected
    } else if credential.orgs.len() == 1 {
        credential.orgs.clone()
    } else {
        return Err(JcError::no_org_selected(family));
    };
    drop(registry);

    let client_ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "127.0.0.1".to_owned(), |c| c.0.ip().to_string());
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown")
        .to_owned();
    let origin = Origin {
        initiated_by: credential.initiated_by(auth_method),
        client_ip,
        user_agent,
        auth_method: auth_method.to_owned(),
    };
    Ok(Caller {
        org_id: org_ids.first().cloned().unwrap_or_default(),
        org_ids,
        credential,
        origin,
    })
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}
