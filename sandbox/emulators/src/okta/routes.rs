//! The endpoints. Each handler resolves its path parameters the way Okta
//! does (`{id}` accepts an id, login or shortname where the spec says
//! `pathId`; `{userId}` accepts only ids), applies the change through
//! `OktaState`, and answers with Okta's status codes and bodies.
//!
//! Route parameters are all named `{id}` under `/users` because the router
//! requires one name per position; the spec's `{userId}` endpoints still
//! resolve ids only.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Extension, Json, Router};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::common::{clock, scim_filter};
use crate::okta::errors::OktaError;
use crate::okta::gate::RequestCtx;
use crate::okta::model::GivenAppUser;
use crate::okta::pagination::{Page, Query, paginate};
use crate::okta::search::UserQuery;
use crate::okta::service::AppState;
use crate::okta::state::OktaState;
use crate::okta::{render, syslog};

type ApiResult = Result<Response, OktaError>;

/// Every emulated endpoint plus Okta-style fallbacks.
pub(crate) fn api() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users", get(list_users))
        .route("/api/v1/users/{id}", get(get_user))
        .route("/api/v1/users/{id}/groups", get(list_user_groups))
        .route("/api/v1/users/{id}/appLinks", get(list_app_links))
        .route("/api/v1/users/{id}/clients", get(list_user_clients))
        .route(
            "/api/v1/users/{id}/clients/{clientId}/tokens",
            get(list_client_tokens).delete(revoke_client_tokens),
        )
        .route(
            "/api/v1/users/{id}/grants",
            get(list_user_grants).delete(revoke_user_grants),
        )
        .route("/api/v1/users/{id}/sessions", delete(revoke_sessions))
        .route("/api/v1/users/{id}/lifecycle/suspend", post(suspend))
        .route("/api/v1/users/{id}/lifecycle/unsuspend", post(unsuspend))
        .route("/api/v1/users/{id}/lifecycle/deactivate", post(deactivate))
        .route(
            "/api/v1/users/{id}/lifecycle/reset_factors",
            post(reset_factors),
        )
        .route("/api/v1/users/{id}/roles", get(crate::okta::roles::list))
        .route(
            "/api/v1/users/{id}/roles/{roleAssignmentId}",
            delete(crate::okta::roles::unassign),
        )
        .route("/api/v1/users/{id}/factors", get(list_factors))
        .route(
            "/api/v1/users/{id}/factors/{factorId}",
            get(get_factor).delete(unenroll_factor),
        )
        .route("/api/v1/apps/{appId}/users", post(assign_app_user))
        .route(
            "/api/v1/apps/{appId}/users/{userId}",
            get(get_app_user).delete(unassign_app_user),
        )
        .route("/api/v1/groups", get(list_groups))
        .route("/api/v1/groups/{groupId}", get(get_group))
        .route("/api/v1/groups/{groupId}/users", get(list_group_users))
        .route(
            "/api/v1/groups/{groupId}/users/{userId}",
            put(assign_user_to_group).delete(unassign_user_from_group),
        )
        .route("/api/v1/logs", get(list_logs))
        .fallback(unknown_endpoint)
        .method_not_allowed_fallback(method_not_allowed)
}

// ----- resolution helpers -------------------------------------------------

/// `pathId`: id, login or unambiguous shortname.
fn resolve_user(org: &OktaState, id_or_login: &str) -> Result<usize, OktaError> {
    org.find_user(id_or_login)
        .ok_or_else(|| OktaError::not_found(id_or_login, "User"))
}

/// `pathUserId`: ids only.
fn resolve_user_id(org: &OktaState, id: &str) -> Result<usize, OktaError> {
    org.user_by_id(id)
        .ok_or_else(|| OktaError::not_found(id, "User"))
}

fn resolve_app(org: &OktaState, id: &str) -> Result<usize, OktaError> {
    org.app_by_id(id)
        .ok_or_else(|| OktaError::not_found(id, "AppInstance"))
}

fn resolve_group(org: &OktaState, id: &str) -> Result<usize, OktaError> {
    org.group_by_id(id)
        .ok_or_else(|| OktaError::not_found(id, "UserGroup"))
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// Lifecycle operations answer 200 with an empty JSON object.
fn empty_ok() -> Response {
    (StatusCode::OK, Json(json!({}))).into_response()
}

/// Cursor position for lists ordered by an index that only grows: the
/// first entry whose index is greater than the cursor's.
fn position_after_index(ordered: &[usize], cursor_index: Option<usize>) -> Option<usize> {
    cursor_index.map(|c| ordered.partition_point(|&i| i <= c))
}

// ----- users --------------------------------------------------------------

async fn list_users(
    State(app): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = Query::parse(raw);
    let selection = UserQuery::from_query(&query)?;
    let limit = query.limit(selection.default_limit(), 1, 200)?;
    let org = app.org();
    let matching: Vec<usize> = org
        .users
        .iter()
        .enumerate()
        .filter(|(_, u)| selection.matches(u, org.user_type_id()))
        .map(|(i, _)| i)
        .collect();
    let after = if selection.paginates() {
        query.after()
    } else {
        None
    };
    let (page, next) = paginate(
        &matching,
        after,
        limit,
        |cursor| position_after_index(&matching, org.user_by_id(cursor)),
        |&i| org.users[i].id.clone(),
    )?;
    let items = page
        .iter()
        .map(|&&i| render::user(&org, i, false))
        .collect();
    let next = next.filter(|_| selection.paginates());
    Ok(Page { items, next }.into_response(&app.shared.base_url, &ctx.path, &query))
}

async fn get_user(State(app): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let org = app.org();
    let user = resolve_user(&org, &id)?;
    Ok(Json(render::user(&org, user, true)).into_response())
}

/// Okta documents no parameters here (`listUserGroups`) and returns every
/// group in one answer; a `limit` or `after` is refused (see [`Query::only`]).
/// Membership listings are eventually consistent: with a read lag configured
/// they show memberships as they were before a change for that long.
async fn list_user_groups(
    State(app): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    Query::parse(raw).only(&[])?;
    let org = app.org();
    let user = resolve_user(&org, &id)?;
    let items: Vec<Value> = org
        .listed_groups_of(user)
        .iter()
        .map(|&g| render::group(&org, g))
        .collect();
    Ok(Json(items).into_response())
}

/// `listAppLinks` declares no parameters and returns every link at once.
async fn list_app_links(
    State(app): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    Query::parse(raw).only(&[])?;
    let org = app.org();
    let user = resolve_user(&org, &id)?;
    let links: Vec<Value> = (0..org.users[user].apps.len())
        .map(|p| render::app_link(&org, user, p))
        .collect();
    Ok(Json(links).into_response())
}

async fn list_user_clients(State(app): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let org = app.org();
    let user = resolve_user_id(&org, &id)?;
    let clients: Vec<Value> = org
        .clients_of(user)
        .into_iter()
        .map(|c| render::client(&org, user, c))
        .collect();
    Ok(Json(clients).into_response())
}

async fn revoke_client_tokens(
    State(app): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
    Path((id, client_id)): Path<(String, String)>,
) -> ApiResult {
    let mut org = app.org();
    let user = resolve_user_id(&org, &id)?;
    let client = org
        .app_by_id(&client_id)
        .ok_or_else(|| OktaError::not_found(&client_id, "AppInstance"))?;
    org.revoke_client_tokens(user, client, &ctx);
    Ok(no_content())
}

/// The refresh tokens a client holds for a user (`listRefreshTokensForUserAndClient`). Tokens
/// are kept without individual ids, so each is rendered with a stable positional id.
async fn list_client_tokens(
    State(app): State<AppState>,
    Path((id, client_id)): Path<(String, String)>,
) -> ApiResult {
    let org = app.org();
    let user = resolve_user_id(&org, &id)?;
    let client = org
        .app_by_id(&client_id)
        .ok_or_else(|| OktaError::not_found(&client_id, "AppInstance"))?;
    let u = &org.users[user];
    let tokens: Vec<Value> = u
        .oauth_tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| t.client == client)
        .map(|(i, _)| {
            json!({
                "id": format!("oar{}{:04}", &u.id[3..], i),
                "status": "ACTIVE",
                "clientId": org.apps[client].id,
                "userId": u.id,
                "scopes": ["openid", "offline_access"],
            })
        })
        .collect();
    Ok(Json(tokens).into_response())
}

async fn list_user_grants(
    State(app): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = Query::parse(raw);
    let limit = query.limit(20, 1, 200)?;
    let org = app.org();
    let user = resolve_user_id(&org, &id)?;
    let scope_filter = query.get("scopeId");
    let positions: Vec<usize> = org.users[user]
        .grants
        .iter()
        .enumerate()
        .filter(|(_, g)| scope_filter.is_none_or(|s| g.scope_id == s))
        .map(|(p, _)| p)
        .collect();
    let grants = &org.users[user].grants;
    let (page, next) = paginate(
        &positions,
        query.after(),
        limit,
        |cursor| {
            org.grant_seq(cursor)
                .map(|seq| positions.partition_point(|&p| grants[p].seq <= seq))
        },
        |&p| grants[p].id.clone(),
    )?;
    let items = page
        .iter()
        .map(|&&p| render::grant(&org, user, p))
        .collect();
    Ok(Page { items, next }.into_response(&app.shared.base_url, &ctx.path, &query))
}

async fn revoke_user_grants(
    State(app): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
    Path(id): Path<String>,
) -> ApiResult {
    let mut org = app.org();
    let user = resolve_user_id(&org, &id)?;
    org.revoke_grants(user, &ctx);
    Ok(no_content())
}

/// `oauthTokens` defaults to false and `forgetDevices` to true, as in the
/// spec.
async fn revoke_sessions(
    State(app): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = Query::parse(raw);
    let oauth_tokens = query.flag("oauthTokens", false);
    let forget_devices = query.flag("forgetDevices", true);
    let mut org = app.org();
    let user = resolve_user_id(&org, &id)?;
    org.clear_sessions(user, oauth_tokens, forget_devices, &ctx);
    Ok(no_content())
}

async fn suspend(
    State(app): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
    Path(id): Path<String>,
) -> ApiResult {
    let mut org = app.org();
    let user = resolve_user(&org, &id)?;
    org.suspend(user, &ctx)?;
    Ok(empty_ok())
}

async fn unsuspend(
    State(app): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
    Path(id): Path<String>,
) -> ApiResult {
    let mut org = app.org();
    let user = resolve_user(&org, &id)?;
    org.unsuspend(user, &ctx)?;
    Ok(empty_ok())
}

/// Deactivation completes synchronously unless long operations are
/// configured (then the user shows `transitioningToStatus` until it does);
/// `Prefer: respond-async` is accepted and ignored; `sendEmail` has no effect.
async fn deactivate(
    State(app): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
    Path(id): Path<String>,
) -> ApiResult {
    let mut org = app.org();
    let user = resolve_user(&org, &id)?;
    org.deactivate(user, &id, &ctx)?;
    Ok(empty_ok())
}

// ----- factors ------------------------------------------------------------

/// `POST /users/{id}/lifecycle/reset_factors` → 200 `{}`, also when there
/// was nothing to reset (only a real reset is logged). The spec lists 403
/// and 404 as its errors and Okta treats a DEPROVISIONED user's factors as
/// out of reach ("not possible once deactivated"; `listFactors` on such a
/// user answers 404 E0000007 for the user, okta/okta-sdk-java#646), so a
/// deactivated user gets that 404 here too.
async fn reset_factors(
    State(app): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
    Path(id): Path<String>,
) -> ApiResult {
    let mut org = app.org();
    let user = resolve_user(&org, &id)?;
    org.reset_factors(user, &id, &ctx)?;
    Ok(empty_ok())
}

/// `GET /users/{userId}/factors`: every enrolled factor (the emulator has no
/// enrollment policy, so none is filtered out).
async fn list_factors(State(app): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let org = app.org();
    let user = resolve_user_id(&org, &id)?;
    org.factor_user(user, &id)?;
    let factors: Vec<Value> = (0..org.users[user].factors.len())
        .map(|p| render::factor(&org, user, p))
        .collect();
    Ok(Json(factors).into_response())
}

async fn get_factor(
    State(app): State<AppState>,
    Path((id, factor_id)): Path<(String, String)>,
) -> ApiResult {
    let org = app.org();
    let user = resolve_user_id(&org, &id)?;
    org.factor_user(user, &id)?;
    let position = org.factor(user, &factor_id)?;
    Ok(Json(render::factor(&org, user, position)).into_response())
}

/// `DELETE /users/{userId}/factors/{factorId}` → 204; a factor that is not
/// (or no longer) enrolled → 404 E0000007 (`UserFactor`).
/// `removeRecoveryEnrollment` is accepted and has no effect.
async fn unenroll_factor(
    State(app): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
    Path((id, factor_id)): Path<(String, String)>,
) -> ApiResult {
    let mut org = app.org();
    let user = resolve_user_id(&org, &id)?;
    org.delete_factor(user, &factor_id, &id, &ctx)?;
    Ok(no_content())
}

// ----- app assignments -----------------------------------------------------

/// `GET /apps/{appId}/users/{userId}` → the `AppUser`, or 404 E0000007
/// (`AppUser`) when the user is not assigned.
async fn get_app_user(
    State(app): State<AppState>,
    Path((app_id, user_id)): Path<(String, String)>,
) -> ApiResult {
    let org = app.org();
    let target = resolve_app(&org, &app_id)?;
    let user = resolve_user_id(&org, &user_id)?;
    let position = org
        .assignment(user, target)
        .ok_or_else(|| OktaError::not_found(&user_id, "AppUser"))?;
    Ok(Json(render::app_user(&org, user, position)).into_response())
}

/// `POST /apps/{appId}/users` (`AppUserAssignRequest`: `id` required, `scope`,
/// `credentials.userName` and `profile` optional) → 200 with the `AppUser`; 404 E0000007
/// (`AppInstance`) when the app no longer exists, 400 E0000001 without an `id`.
async fn assign_app_user(
    State(app): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
    Path(app_id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult {
    let request: Value =
        serde_json::from_slice(&body).map_err(|_| OktaError::validation("appUser"))?;
    let user_id = request["id"]
        .as_str()
        .ok_or_else(|| OktaError::validation("id"))?;
    let given = GivenAppUser {
        user_name: request["credentials"]["userName"]
            .as_str()
            .map(str::to_owned),
        profile: request["profile"].as_object().cloned(),
    };
    let mut org = app.org();
    let target = resolve_app(&org, &app_id)?;
    let user = resolve_user_id(&org, user_id)?;
    let position = org.assign_app(user, target, given, &ctx)?;
    Ok(Json(render::app_user(&org, user, position)).into_response())
}

/// `DELETE /apps/{appId}/users/{userId}` → 204 for a direct assignment;
/// 403 E0000046 while a group grants the app; 404 E0000007 when not (or no
/// longer) assigned. `sendEmail` is accepted and has no effect.
async fn unassign_app_user(
    State(app): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
    Path((app_id, user_id)): Path<(String, String)>,
) -> ApiResult {
    let mut org = app.org();
    let target = resolve_app(&org, &app_id)?;
    let user = resolve_user_id(&org, &user_id)?;
    org.unassign_app(user, target, &ctx)?;
    Ok(no_content())
}

// ----- groups -------------------------------------------------------------

/// `q` is a case-insensitive name prefix; `filter` supports `type`, `id`
/// and `profile.name` with `eq`.
async fn list_groups(
    State(app): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = Query::parse(raw);
    let limit = query.limit(10_000, 1, 10_000)?;
    let filter = match query.get("filter").filter(|f| !f.trim().is_empty()) {
        None => None,
        Some(f) => {
            let expr = scim_filter::parse(f).map_err(|_| OktaError::invalid_search())?;
            let supported = expr.comparisons().iter().all(|(attr, op)| {
                *op == scim_filter::Op::Eq && ["type", "id", "profile.name"].contains(attr)
            });
            if !supported {
                return Err(OktaError::invalid_search());
            }
            Some(expr)
        }
    };
    let prefix = query.get("q").map(str::to_lowercase);
    let org = app.org();
    let matching: Vec<usize> = org
        .groups
        .iter()
        .enumerate()
        .filter(|(_, g)| {
            prefix
                .as_deref()
                .is_none_or(|p| g.name.to_lowercase().starts_with(p))
        })
        .filter(|(_, g)| {
            filter.as_ref().is_none_or(|expr| {
                expr.matches(
                    &|attr| match attr {
                        "type" => vec![g.kind.as_str().to_owned()],
                        "id" => vec![g.id.clone()],
                        "profile.name" => vec![g.name.clone()],
                        _ => Vec::new(),
                    },
                    false,
                )
            })
        })
        .map(|(i, _)| i)
        .collect();
    let (page, next) = paginate(
        &matching,
        query.after(),
        limit,
        |cursor| position_after_index(&matching, org.group_by_id(cursor)),
        |&g| org.groups[g].id.clone(),
    )?;
    let items = page.iter().map(|&&g| render::group(&org, g)).collect();
    Ok(Page { items, next }.into_response(&app.shared.base_url, &ctx.path, &query))
}

async fn get_group(State(app): State<AppState>, Path(group_id): Path<String>) -> ApiResult {
    let org = app.org();
    let group = resolve_group(&org, &group_id)?;
    Ok(Json(render::group(&org, group)).into_response())
}

async fn list_group_users(
    State(app): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
    Path(group_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = Query::parse(raw);
    let limit = query.limit(1000, 1, 10_000)?;
    let org = app.org();
    let group = resolve_group(&org, &group_id)?;
    let members = org.listed_members(group);
    let (page, next) = paginate(
        &members,
        query.after(),
        limit,
        |cursor| position_after_index(&members, org.user_by_id(cursor)),
        |&u| org.users[u].id.clone(),
    )?;
    let items = page
        .iter()
        .map(|&&u| render::user(&org, u, false))
        .collect();
    Ok(Page { items, next }.into_response(&app.shared.base_url, &ctx.path, &query))
}

async fn assign_user_to_group(
    State(app): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
    Path((group_id, user_id)): Path<(String, String)>,
) -> ApiResult {
    let mut org = app.org();
    let group = resolve_group(&org, &group_id)?;
    let user = resolve_user_id(&org, &user_id)?;
    org.add_member(group, user, &ctx)?;
    Ok(no_content())
}

/// Only OKTA_GROUP memberships can be removed: APP_GROUP and BUILT_IN
/// answer 403 E0000006. Removing a non-member answers 204.
async fn unassign_user_from_group(
    State(app): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
    Path((group_id, user_id)): Path<(String, String)>,
) -> ApiResult {
    let mut org = app.org();
    let group = resolve_group(&org, &group_id)?;
    let user = resolve_user_id(&org, &user_id)?;
    org.remove_member(group, user, &ctx)?;
    Ok(no_content())
}

// ----- System Log ---------------------------------------------------------

/// `GET /api/v1/logs`. Without `until` the request is a polling request:
/// as with Okta, the response always carries a `next` link (pointing past
/// the newest event seen) so a poller can keep following it; clients that
/// want a finite walk must pass `until`. With `until`, `next` appears only
/// while more events remain.
async fn list_logs(
    State(app): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = Query::parse(raw);
    let until = match query.get("until") {
        None => None,
        Some(raw) => Some(parse_time(raw, "until")?),
    };
    let upper = until.unwrap_or_else(|| app.shared.knobs.timeline().now_ms());
    let since = match query.get("since") {
        None => upper
            .checked_sub(SignedDuration::from_hours(24 * 7))
            .unwrap_or(upper),
        Some(raw) => parse_time(raw, "since")?,
    };
    let filter =
        match query.get("filter").filter(|f| !f.trim().is_empty()) {
            None => None,
            Some(f) => Some(scim_filter::parse(f).map_err(|e| {
                OktaError::validation("filter").with_causes([format!("filter: {e}")])
            })?),
        };
    let keywords = query.get("q").unwrap_or_default();
    let descending = match query.get("sortOrder") {
        None => false,
        Some(order) if order.eq_ignore_ascii_case("ASCENDING") => false,
        Some(order) if order.eq_ignore_ascii_case("DESCENDING") => true,
        Some(_) => {
            return Err(OktaError::validation("sortOrder")
                .with_causes(["sortOrder: Must be ASCENDING or DESCENDING"]));
        }
    };
    let limit = query.limit(100, 0, 1000)?;

    let now = app.shared.knobs.timeline().now_ms();
    let org = app.org();
    let mut events: Vec<&syslog::StoredEvent> = org
        .log
        .iter()
        .filter(|e| e.visible_from <= now)
        .filter(|e| e.at >= since && e.at <= upper)
        .filter(|e| {
            filter
                .as_ref()
                .is_none_or(|f| f.matches(&|attr| syslog::values(&e.event, attr), false))
        })
        .filter(|e| syslog::matches_keywords(&e.event, keywords))
        .collect();
    if descending {
        events.reverse();
    }
    let cursor_seq = |cursor: &str| -> Option<u64> {
        cursor
            .rsplit_once('_')
            .map_or(cursor, |(_, seq)| seq)
            .parse()
            .ok()
    };
    let (page, next) = paginate(
        &events,
        query.after(),
        limit,
        |cursor| {
            cursor_seq(cursor).map(|seq| {
                if descending {
                    events.partition_point(|e| e.seq >= seq)
                } else {
                    events.partition_point(|e| e.seq <= seq)
                }
            })
        },
        |e| log_cursor(e.at, e.seq),
    )?;
    let next = match (until, next) {
        (_, Some(next)) => Some(next),
        (Some(_), None) => None,
        (None, None) => Some(
            page.last()
                .map(|e| log_cursor(e.at, e.seq))
                .or_else(|| query.after().map(str::to_owned))
                .unwrap_or_else(|| {
                    org.last_log_seq()
                        .map_or_else(|| "0_0".to_owned(), |seq| format!("0_{seq}"))
                }),
        ),
    };
    let items = page
        .iter()
        .map(|e| serde_json::to_value(&e.event).unwrap_or(Value::Null))
        .collect();
    Ok(Page { items, next }.into_response(&app.shared.base_url, &ctx.path, &query))
}

fn log_cursor(at: Timestamp, seq: u64) -> String {
    format!("{}_{seq}", at.as_millisecond())
}

fn parse_time(raw: &str, field: &str) -> Result<Timestamp, OktaError> {
    clock::parse(raw).ok_or_else(|| {
        OktaError::validation(field).with_causes([format!(
            "{field}: Invalid date. Dates must be of the form yyyy-MM-dd'T'HH:mm:ss.SSSZZ"
        )])
    })
}

// ----- fallbacks ----------------------------------------------------------

async fn unknown_endpoint(Extension(ctx): Extension<RequestCtx>) -> OktaError {
    OktaError::not_found(&ctx.path, "Resource")
}

async fn method_not_allowed() -> OktaError {
    OktaError::method_not_allowed()
}
