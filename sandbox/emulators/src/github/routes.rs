//! GitHub's REST endpoints a leaver run uses, and the door in front of them: bearer tokens
//! with classic scopes (`x-oauth-scopes`, and `x-accepted-oauth-scopes` on a refusal), the
//! `x-ratelimit-*` headers on every answer, a primary limit (403 with `x-ratelimit-remaining:
//! 0` and the reset) and secondary limits (403 with `retry-after`), `x-github-request-id`,
//! `Link` pagination and `basic-error` bodies.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use serde_json::{Value, json};

use crate::common::clock::format_millis;
use crate::common::gate::{self, Door, GateParts, Throttle};
use crate::common::lock;
use crate::common::ratelimit::Quota;
use crate::github::state::{GithubState, Refusal};

pub const REQUEST_ID_HEADER: &str = "x-github-request-id";
const DOCS: &str = "https://docs.github.com/enterprise-cloud@latest/rest";

#[derive(Clone, Debug)]
pub(crate) struct AppState {
    pub state: Arc<Mutex<GithubState>>,
    pub parts: Arc<GateParts>,
    pub token: Arc<String>,
    pub scopes: Arc<Mutex<BTreeSet<String>>>,
    pub base_url: Arc<String>,
}

impl AppState {
    fn state(&self) -> MutexGuard<'_, GithubState> {
        let mut state = lock(&self.state);
        state.settle();
        state
    }
}

/// A `basic-error` answer (`status` is a string there).
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({"message": message, "documentation_url": DOCS, "status": status.as_u16().to_string()});
    (status, Json(body)).into_response()
}

/// The classic scopes a route accepts (any one of them), per the descriptions.
fn accepted_scopes(method: &Method, template: &str) -> &'static [&'static str] {
    let write = *method != Method::GET;
    if template.starts_with("/scim/v2/enterprises") {
        return &["scim:enterprise", "admin:enterprise"];
    }
    if template.contains("/copilot") {
        return if write {
            &["manage_billing:copilot", "admin:org"]
        } else {
            &["manage_billing:copilot", "read:org", "admin:org"]
        };
    }
    if template.contains("credential-authorizations") {
        return if write {
            &["admin:org"]
        } else {
            &["read:org", "admin:org"]
        };
    }
    if template.starts_with("/orgs/") {
        return if write {
            &["admin:org"]
        } else {
            &["read:org", "admin:org"]
        };
    }
    &[]
}

impl Door for AppState {
    const REQUEST_ID: &'static str = REQUEST_ID_HEADER;

    fn parts(&self) -> &Arc<GateParts> {
        &self.parts
    }

    fn request_id(&self) -> String {
        let u = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
        format!(
            "{}:{}:{}:{}:{}",
            &u[0..4],
            &u[4..8],
            &u[8..15],
            &u[15..22],
            &u[22..30]
        )
    }

    fn authenticate(
        &self,
        req: &Request,
        method: &Method,
        template: &str,
    ) -> Result<(), Box<Response>> {
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("token "))
            });
        if presented != Some(self.token.as_str()) {
            return Err(Box::new(error(StatusCode::UNAUTHORIZED, "Bad credentials")));
        }
        let accepted = accepted_scopes(method, template);
        let scopes = lock(&self.scopes);
        if accepted.is_empty() || accepted.iter().any(|s| scopes.contains(*s)) {
            return Ok(());
        }
        let mut refusal = error(
            StatusCode::FORBIDDEN,
            &format!("Must have {} scope to access this endpoint.", accepted[0]),
        );
        if let Ok(v) = HeaderValue::from_str(&accepted.join(", ")) {
            refusal.headers_mut().insert("x-accepted-oauth-scopes", v);
        }
        Err(Box::new(refusal))
    }

    fn throttled(&self, why: Throttle, quota: &Quota, now_ms: u64, _: &str) -> Response {
        match why {
            Throttle::Storm { until_ms } => {
                let mut response = error(
                    StatusCode::FORBIDDEN,
                    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                );
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(gate::retry_after_secs(until_ms, now_ms)),
                );
                response
            }
            Throttle::Budget => {
                let _ = quota;
                error(
                    StatusCode::FORBIDDEN,
                    "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.",
                )
            }
        }
    }

    fn server_error(&self, status: u16) -> Response {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        error(status, "Server Error")
    }

    fn decorate(&self, response: &mut Response, quota: &Quota) {
        let headers = response.headers_mut();
        let used = quota.limit.saturating_sub(quota.remaining);
        headers.insert("x-ratelimit-limit", HeaderValue::from(quota.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(quota.remaining));
        headers.insert("x-ratelimit-used", HeaderValue::from(used));
        headers.insert(
            "x-ratelimit-reset",
            HeaderValue::from(quota.reset_epoch_secs),
        );
        headers.insert("x-ratelimit-resource", HeaderValue::from_static("core"));
        let scopes = lock(&self.scopes)
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if let Ok(v) = HeaderValue::from_str(&scopes) {
            headers.insert("x-oauth-scopes", v);
        }
    }
}

pub(crate) fn router(app: AppState) -> Router {
    let scim = "/scim/v2/enterprises/{enterprise}/Users";
    Router::new()
        .route("/users/{username}", get(get_user))
        .route("/search/users", get(search_users))
        .route(
            "/orgs/{org}/memberships/{username}",
            get(get_membership).delete(delete_membership),
        )
        .route("/orgs/{org}/outside_collaborators", get(list_outside))
        .route(
            "/orgs/{org}/outside_collaborators/{username}",
            axum::routing::delete(delete_outside),
        )
        .route("/orgs/{org}/invitations", get(list_invitations))
        .route(
            "/orgs/{org}/invitations/{invitation_id}",
            axum::routing::delete(delete_invitation),
        )
        .route(
            "/orgs/{org}/credential-authorizations",
            get(list_credentials),
        )
        .route(
            "/orgs/{org}/credential-authorizations/{username}/revoke",
            post(revoke_credentials),
        )
        .route("/orgs/{org}/members/{username}/copilot", get(copilot_seat))
        .route(
            "/orgs/{org}/copilot/billing/selected_users",
            axum::routing::delete(cancel_copilot),
        )
        .route(scim, get(list_managed))
        .route(
            &format!("{scim}/{{scim_user_id}}"),
            get(get_managed).patch(patch_managed).delete(delete_managed),
        )
        .fallback(|| async { error(StatusCode::NOT_FOUND, "Not Found") })
        .layer(middleware::from_fn_with_state(
            app.clone(),
            gate::gate::<AppState>,
        ))
        .with_state(app)
}

fn refused(r: Refusal) -> Response {
    match r {
        Refusal::NotFound => error(StatusCode::NOT_FOUND, "Not Found"),
        Refusal::Forbidden(m) => error(StatusCode::FORBIDDEN, &m),
        Refusal::Unprocessable(m) => error(StatusCode::UNPROCESSABLE_ENTITY, &m),
    }
}

fn done(result: Result<(), Refusal>, status: StatusCode) -> Response {
    match result {
        Ok(()) => status.into_response(),
        Err(r) => refused(r),
    }
}

/// An unknown organisation (or enterprise) is a 404, as GitHub answers for ones the token
/// cannot see.
fn wrong_org(state: &GithubState, org: &str) -> Option<Response> {
    (!org.eq_ignore_ascii_case(&state.org)).then(|| refused(Refusal::NotFound))
}

fn simple_user(app: &AppState, login: &str, id: u64) -> Value {
    let base = app.base_url.as_str();
    json!({
        "login": login, "id": id, "node_id": format!("MDQ6VXNlcj{id}"),
        "avatar_url": format!("https://avatars.example.com/u/{id}"), "gravatar_id": "",
        "url": format!("{base}/users/{login}"), "html_url": format!("https://github.com/{login}"),
        "type": "User", "site_admin": false,
    })
}

fn user_of(app: &AppState, state: &GithubState, login: &str) -> Value {
    let id = state.account(login).map_or(0, |a| a.id);
    simple_user(app, login, id)
}

type Q = Query<HashMap<String, String>>;

/// One page of `items` and its `Link` header (`per_page` default 30, `page` from 1).
fn paged(app: &AppState, path: &str, q: &HashMap<String, String>, items: Vec<Value>) -> Response {
    let per_page: usize = q
        .get("per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page: usize = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let slice: Vec<Value> = items
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .cloned()
        .collect();
    let mut response = Json(Value::Array(slice)).into_response();
    if page * per_page < items.len() {
        let mut extra: Vec<String> = q
            .iter()
            .filter(|(k, _)| *k != "page" && *k != "per_page")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        extra.sort();
        let rest = extra.iter().map(|e| format!("&{e}")).collect::<String>();
        let next = format!(
            "<{}{path}?per_page={per_page}&page={}{rest}>; rel=\"next\"",
            app.base_url,
            page + 1
        );
        if let Ok(v) = HeaderValue::from_str(&next) {
            response.headers_mut().insert(header::LINK, v);
        }
    }
    response
}

async fn get_user(State(app): State<AppState>, Path(login): Path<String>) -> Response {
    let state = app.state();
    let Some(a) = state.account(&login) else {
        return refused(Refusal::NotFound);
    };
    let mut user = simple_user(&app, &a.login, a.id);
    user["email"] = a.public_email.clone().map_or(Value::Null, Value::String);
    Json(user).into_response()
}

/// `q=<text> in:email` finds accounts whose *public* e-mail matches: private ones never do.
async fn search_users(State(app): State<AppState>, Query(q): Q) -> Response {
    let query = q.get("q").cloned().unwrap_or_default();
    let Some(term) = query.strip_suffix("in:email").map(str::trim) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed");
    };
    let state = app.state();
    let items: Vec<Value> = state
        .accounts
        .iter()
        .filter(|a| {
            a.public_email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(term))
        })
        .map(|a| {
            let mut u = simple_user(&app, &a.login, a.id);
            u["score"] = json!(1.0);
            u
        })
        .collect();
    Json(json!({"total_count": items.len(), "incomplete_results": false, "items": items}))
        .into_response()
}

async fn get_membership(
    State(app): State<AppState>,
    Path((org, login)): Path<(String, String)>,
) -> Response {
    let state = app.state();
    if let Some(r) = wrong_org(&state, &org) {
        return r;
    }
    let key = login.to_ascii_lowercase();
    let (role, status) = match state.members.get(&key) {
        Some(role) => (role.as_str(), "active"),
        None => match state.invitations.iter().find(|i| {
            i.login
                .as_deref()
                .is_some_and(|l| l.eq_ignore_ascii_case(&login))
        }) {
            Some(i) => (i.role.as_str(), "pending"),
            None => return refused(Refusal::NotFound),
        },
    };
    let base = app.base_url.as_str();
    Json(json!({
        "url": format!("{base}/orgs/{}/memberships/{login}", state.org),
        "state": status, "role": role, "direct_membership": true,
        "organization_url": format!("{base}/orgs/{}", state.org),
        "organization": {"login": state.org, "id": 1, "url": format!("{base}/orgs/{}", state.org)},
        "user": user_of(&app, &state, &login),
    }))
    .into_response()
}

async fn delete_membership(
    State(app): State<AppState>,
    Path((org, login)): Path<(String, String)>,
) -> Response {
    let mut state = app.state();
    if let Some(r) = wrong_org(&state, &org) {
        return r;
    }
    done(state.remove_membership(&login), StatusCode::NO_CONTENT)
}

async fn list_outside(
    State(app): State<AppState>,
    Path(org): Path<String>,
    Query(q): Q,
) -> Response {
    let state = app.state();
    if let Some(r) = wrong_org(&state, &org) {
        return r;
    }
    let items = state
        .outside
        .iter()
        .map(|l| user_of(&app, &state, l))
        .collect();
    paged(
        &app,
        &format!("/orgs/{org}/outside_collaborators"),
        &q,
        items,
    )
}

async fn delete_outside(
    State(app): State<AppState>,
    Path((org, login)): Path<(String, String)>,
) -> Response {
    let mut state = app.state();
    if let Some(r) = wrong_org(&state, &org) {
        return r;
    }
    done(state.remove_outside(&login), StatusCode::NO_CONTENT)
}

async fn list_invitations(
    State(app): State<AppState>,
    Path(org): Path<String>,
    Query(q): Q,
) -> Response {
    let state = app.state();
    if let Some(r) = wrong_org(&state, &org) {
        return r;
    }
    let base = app.base_url.as_str();
    let items = state
        .invitations
        .iter()
        .map(|i| json!({
            "id": i.id, "login": i.login, "email": i.email, "role": i.role.as_str(),
            "created_at": "2026-11-02T09:00:00Z", "failed_at": null, "failed_reason": null,
            "inviter": user_of(&app, &state, "octo-admin"), "team_count": 0,
            "node_id": format!("MDIyOk9yZ2FuaXphdGlvbkludml0YXRpb24{}", i.id),
            "invitation_teams_url": format!("{base}/organizations/1/invitations/{}/teams", i.id),
            "invitation_source": "member",
        }))
        .collect();
    paged(&app, &format!("/orgs/{org}/invitations"), &q, items)
}

async fn delete_invitation(
    State(app): State<AppState>,
    Path((org, id)): Path<(String, u64)>,
) -> Response {
    let mut state = app.state();
    if let Some(r) = wrong_org(&state, &org) {
        return r;
    }
    done(state.cancel_invitation(id), StatusCode::NO_CONTENT)
}

async fn list_credentials(
    State(app): State<AppState>,
    Path(org): Path<String>,
    Query(q): Q,
) -> Response {
    let state = app.state();
    if let Some(r) = wrong_org(&state, &org) {
        return r;
    }
    let login = q.get("login").cloned();
    let items = state
        .credentials
        .iter()
        .filter(|c| login.as_deref().is_none_or(|l| c.login.eq_ignore_ascii_case(l)))
        .map(|c| json!({
            "login": c.login, "credential_id": c.id, "credential_type": c.kind,
            "token_last_eight": c.last_eight, "credential_authorized_at": "2026-03-01T10:00:00Z",
            "credential_accessed_at": "2026-11-20T16:00:00Z", "authorized_credential_id": c.id + 1,
            "scopes": ["repo"],
        }))
        .collect();
    paged(
        &app,
        &format!("/orgs/{org}/credential-authorizations"),
        &q,
        items,
    )
}

async fn revoke_credentials(
    State(app): State<AppState>,
    Path((org, login)): Path<(String, String)>,
) -> Response {
    let mut state = app.state();
    if let Some(r) = wrong_org(&state, &org) {
        return r;
    }
    match state.revoke_credentials(&login) {
        Ok(()) => (StatusCode::ACCEPTED, Json(json!({}))).into_response(),
        Err(r) => refused(r),
    }
}

async fn copilot_seat(
    State(app): State<AppState>,
    Path((org, login)): Path<(String, String)>,
) -> Response {
    let state = app.state();
    if let Some(r) = wrong_org(&state, &org) {
        return r;
    }
    if !state.copilot_enabled {
        return refused(Refusal::Unprocessable(
            "Copilot Business is not enabled for this organization.".into(),
        ));
    }
    let key = login.to_ascii_lowercase();
    let Some(seat) = state
        .copilot
        .get(&key)
        .filter(|_| state.members.contains_key(&key))
    else {
        return refused(Refusal::NotFound);
    };
    let team = seat
        .team
        .as_ref()
        .map(|t| json!({"id": 42, "name": t, "slug": t.to_lowercase()}));
    Json(json!({
        "assignee": user_of(&app, &state, &login),
        "assigning_team": team,
        "pending_cancellation_date": seat.pending_cancellation,
        "last_activity_at": "2026-11-26T15:12:00Z",
        "last_activity_editor": "vscode/1.95.0/copilot/1.240.0",
        "created_at": format_millis(seat.created_at),
        "plan_type": "business",
    }))
    .into_response()
}

async fn cancel_copilot(
    State(app): State<AppState>,
    Path(org): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let mut state = app.state();
    if let Some(r) = wrong_org(&state, &org) {
        return r;
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(names) = body["selected_usernames"]
        .as_array()
        .filter(|n| !n.is_empty())
    else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation Failed: selected_usernames is required",
        );
    };
    let names: Vec<String> = names
        .iter()
        .filter_map(|n| n.as_str().map(str::to_owned))
        .collect();
    match state.cancel_copilot(&names) {
        Ok(n) => Json(json!({"seats_cancelled": n})).into_response(),
        Err(r) => refused(r),
    }
}

fn wrong_enterprise(state: &GithubState, enterprise: &str) -> Option<Response> {
    (!enterprise.eq_ignore_ascii_case(&state.enterprise)).then(|| refused(Refusal::NotFound))
}

fn managed_json(
    app: &AppState,
    state: &GithubState,
    u: &crate::github::state::ManagedUser,
) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": u.scim_id, "externalId": format!("ext-{}", u.scim_id), "userName": u.user_name,
        "displayName": u.login, "active": u.active,
        "emails": [{"value": u.user_name, "type": "work", "primary": true}],
        "meta": {"resourceType": "User", "created": "2025-05-01T09:00:00Z", "lastModified": "2026-11-01T09:00:00Z",
            "location": format!("{}/scim/v2/enterprises/{}/Users/{}", app.base_url, state.enterprise, u.scim_id)},
    })
}

/// Managed users filtered by `userName eq "…"` (or with single quotes, as GitHub's examples
/// write it); single filters only.
async fn list_managed(
    State(app): State<AppState>,
    Path(enterprise): Path<String>,
    Query(q): Q,
) -> Response {
    let state = app.state();
    if let Some(r) = wrong_enterprise(&state, &enterprise) {
        return r;
    }
    let wanted = match q.get("filter") {
        None => None,
        Some(f) => {
            let f = f.replace('\'', "\"");
            match crate::common::scim_filter::parse(&f) {
                Ok(expr)
                    if expr
                        .comparisons()
                        .iter()
                        .all(|(a, _)| a.eq_ignore_ascii_case("userName")) =>
                {
                    Some(expr)
                }
                _ => return error(StatusCode::BAD_REQUEST, "Unsupported filter"),
            }
        }
    };
    let items: Vec<Value> = state
        .managed
        .iter()
        .filter(|u| {
            wanted
                .as_ref()
                .is_none_or(|e| e.matches(&|_| vec![u.user_name.clone()], true))
        })
        .map(|u| managed_json(&app, &state, u))
        .collect();
    Json(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": items.len(), "itemsPerPage": items.len(), "startIndex": 1, "Resources": items,
    }))
    .into_response()
}

async fn get_managed(
    State(app): State<AppState>,
    Path((enterprise, id)): Path<(String, String)>,
) -> Response {
    let state = app.state();
    if let Some(r) = wrong_enterprise(&state, &enterprise) {
        return r;
    }
    match state.managed(&id) {
        Some(u) => Json(managed_json(&app, &state, u)).into_response(),
        None => refused(Refusal::NotFound),
    }
}

async fn patch_managed(
    State(app): State<AppState>,
    Path((enterprise, id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let mut state = app.state();
    if let Some(r) = wrong_enterprise(&state, &enterprise) {
        return r;
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let active = body["Operations"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|op| match op["path"].as_str() {
            Some(p) if p.eq_ignore_ascii_case("active") => op["value"].as_bool(),
            Some(_) => None,
            None => op["value"]["active"].as_bool(),
        });
    let Some(active) = active else {
        return error(StatusCode::BAD_REQUEST, "Operations must change active");
    };
    if let Err(r) = state.set_managed_active(&id, active) {
        return refused(r);
    }
    match state.managed(&id) {
        Some(u) => Json(managed_json(&app, &state, u)).into_response(),
        None => refused(Refusal::NotFound),
    }
}

async fn delete_managed(
    State(app): State<AppState>,
    Path((enterprise, id)): Path<(String, String)>,
) -> Response {
    let mut state = app.state();
    if let Some(r) = wrong_enterprise(&state, &enterprise) {
        return r;
    }
    done(state.delete_managed(&id), StatusCode::NO_CONTENT)
}
