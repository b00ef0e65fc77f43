//! API v1 (`/api/…`): system users, systems and their builtin security
//! commands, command results, organisations, and the `search` endpoints.
//!
//! Lists answer `{"totalCount": n, "results": […]}` where `totalCount`
//! counts every match regardless of `limit`/`skip`.
//!
//! Path parameters are all named `{id}` under a prefix because the router
//! requires one name per position (`/api/systems/{id}` and
//! `/api/systems/{id}/command/builtin/lock`); counters use these templates.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use crate::jumpcloud::errors::{ApiFamily, JcError};
use crate::jumpcloud::gate::Caller;
use crate::jumpcloud::model::CommandKind;
use crate::jumpcloud::query::{self, DEFAULT_LIMIT, Expr, Filter, Params, TextSearch};
use crate::jumpcloud::render;
use crate::jumpcloud::service::{AppState, json_body, org_of};

type ApiResult = Result<Response, JcError>;

const F: ApiFamily = ApiFamily::V1;

/// Fields a `search` term matches when none are named.
const USER_SEARCH_FIELDS: &[&str] = &["email", "username", "firstname", "lastname", "displayname"];

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/systemusers", get(list_users))
        .route("/api/systemusers/{id}", get(get_user).put(put_user))
        .route("/api/search/systemusers", post(search_users))
        .route("/api/systems", get(list_systems))
        .route("/api/systems/{id}", get(get_system))
        .route("/api/systems/{id}/command/builtin/lock", post(lock_system))
        .route(
            "/api/systems/{id}/command/builtin/erase",
            post(erase_system),
        )
        .route("/api/commandresults", get(list_results))
        .route("/api/commandresults/{id}", get(get_result))
        .route("/api/search/commandresults", post(search_results))
        .route("/api/organizations", get(list_orgs))
        .route("/api/organizations/{id}", get(get_org))
}

/// Selection, projection and paging for one v1 list request.
struct ListSpec {
    filter: Filter,
    search: Option<TextSearch>,
    fields: Option<Vec<String>>,
    sort: Vec<query::SortKey>,
    limit: usize,
    skip: usize,
}

impl ListSpec {
    fn from_query(p: &Params) -> Result<Self, JcError> {
        Ok(Self {
            filter: p.v1_filter()?,
            search: p.v1_search(),
            fields: p.fields(),
            sort: p.sort(),
            limit: p.limit(F, DEFAULT_LIMIT)?,
            skip: p.skip(F)?,
        })
    }

    /// A `POST /api/search/*` body (`search` definition: `filter`,
    /// `searchFilter`, `fields`, `limit`, `skip`); `limit`, `skip` and
    /// `sort` may also come in the query string.
    fn from_search(p: &Params, body: &Value) -> Result<Self, JcError> {
        let mut spec = Self::from_query(p)?;
        let Some(body) = body.as_object() else {
            if body.is_null() {
                return Ok(spec);
            }
            return Err(JcError::bad_request(
                F,
                "request body must be a JSON object",
            ));
        };
        if let Some(filter) = body.get("filter") {
            spec.filter.nested.push(Expr::parse(filter)?);
        }
        if let Some(sf) = body.get("searchFilter").and_then(Value::as_object) {
            let terms: Vec<String> = match sf.get("searchTerm") {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
                _ => Vec::new(),
            };
            let fields = sf
                .get("fields")
                .and_then(Value::as_array)
                .map(|f| {
                    f.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            if !terms.is_empty() {
                spec.search = Some(TextSearch { terms, fields });
            }
        }
        if let Some(fields) = body.get("fields").and_then(Value::as_str) {
            let fields: Vec<String> = fields
                .split([' ', ','])
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect();
            if !fields.is_empty() {
                spec.fields = Some(fields);
            }
        }
        if let Some(limit) = body.get("limit") {
            let n = limit.as_u64().ok_or_else(|| {
                JcError::bad_request(F, "\"limit\" must be a non-negative integer")
            })?;
            spec.limit =
                query::check_limit(F, usize::try_from(n).unwrap_or(usize::MAX), DEFAULT_LIMIT)?;
        }
        if let Some(skip) = body.get("skip") {
            let n = skip.as_u64().ok_or_else(|| {
                JcError::bad_request(F, "\"skip\" must be a non-negative integer")
            })?;
            spec.skip = usize::try_from(n).unwrap_or(usize::MAX);
        }
        Ok(spec)
    }

    fn respond(&self, items: Vec<Value>, search_fields: &[&str]) -> Response {
        let mut matching: Vec<Value> = items
            .into_iter()
            .filter(|v| {
                self.filter.matches(v)
                    && self
                        .search
                        .as_ref()
                        .is_none_or(|s| s.matches(v, search_fields))
            })
            .collect();
        let total = matching.len();
        query::sort(&mut matching, &self.sort, "_id");
        let results: Vec<Value> = query::page(matching, self.skip, self.limit)
            .into_iter()
            .map(|v| query::project(v, self.fields.as_deref()))
            .collect();
        Json(json!({ "totalCount": total, "results": results })).into_response()
    }
}

// ----- system users -------------------------------------------------------

async fn list_users(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let spec = ListSpec::from_query(&Params::parse(raw))?;
    let state = app.tenant();
    let org = &state.orgs[org_of(&state, &caller)];
    let items = org.users.iter().map(|u| render::user(&org.id, u)).collect();
    Ok(spec.respond(items, USER_SEARCH_FIELDS))
}

async fn search_users(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult {
    let spec = ListSpec::from_search(&Params::parse(raw), &json_body(F, &body)?)?;
    let state = app.tenant();
    let org = &state.orgs[org_of(&state, &caller)];
    let items = org.users.iter().map(|u| render::user(&org.id, u)).collect();
    Ok(spec.respond(items, USER_SEARCH_FIELDS))
}

async fn get_user(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let fields = Params::parse(raw).fields();
    let state = app.tenant();
    let org = &state.orgs[org_of(&state, &caller)];
    let u = org.user_by_id(&id).ok_or_else(|| JcError::not_found(F))?;
    let body = query::project(render::user(&org.id, &org.users[u]), fields.as_deref());
    Ok(Json(body).into_response())
}

/// Updates a user. Suspension is `{"suspended": true}` or
/// `{"state": "SUSPENDED"}` (both in `systemuserput`); when both are sent,
/// `state` wins. A repeat answers 200 with the unchanged user.
async fn put_user(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body = json_body(F, &body)?;
    let mut state = app.tenant();
    let o = org_of(&state, &caller);
    state.update_user(o, &id, &body, &caller.origin)?;
    let org = &state.orgs[o];
    let u = org.user_by_id(&id).ok_or_else(|| JcError::not_found(F))?;
    Ok(Json(render::user(&org.id, &org.users[u])).into_response())
}

// ----- systems ------------------------------------------------------------

async fn list_systems(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let spec = ListSpec::from_query(&Params::parse(raw))?;
    let state = app.tenant();
    let org = &state.orgs[org_of(&state, &caller)];
    let items = org
        .systems
        .iter()
        .map(|s| render::system(&org.id, s))
        .collect();
    Ok(spec.respond(items, &["displayName", "hostname", "serialNumber"]))
}

async fn get_system(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let fields = Params::parse(raw).fields();
    let state = app.tenant();
    let org = &state.orgs[org_of(&state, &caller)];
    let s = org.system_by_id(&id).ok_or_else(|| JcError::not_found(F))?;
    let body = query::project(render::system(&org.id, &org.systems[s]), fields.as_deref());
    Ok(Json(body).into_response())
}

async fn lock_system(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    builtin(&app, &caller, &id, &body, CommandKind::Lock)
}

async fn erase_system(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    builtin(&app, &caller, &id, &body, CommandKind::Erase)
}

/// 201 "Command created" with no body; the command runs when the device is
/// (or next comes) online. Every request queues a new command.
fn builtin(
    app: &AppState,
    caller: &Caller,
    id: &str,
    body: &Bytes,
    kind: CommandKind,
) -> ApiResult {
    json_body(F, body)?;
    let mut state = app.tenant();
    let o = org_of(&state, caller);
    state.builtin_command(o, id, kind, &caller.origin)?;
    Ok(StatusCode::CREATED.into_response())
}

// ----- command results ------------------------------------------------------

fn result_items(app: &AppState, caller: &Caller, list_shape: bool) -> Vec<Value> {
    let state = app.tenant();
    let org = &state.orgs[org_of(&state, caller)];
    org.results
        .iter()
        .map(|r| {
            let mut v = render::command_result(&org.id, r);
            if list_shape && let Value::Object(map) = &mut v {
                map.insert("exitCode".to_owned(), json!(0));
            }
            v
        })
        .collect()
}

async fn list_results(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let spec = ListSpec::from_query(&Params::parse(raw))?;
    Ok(spec.respond(result_items(&app, &caller, true), &["name", "system"]))
}

async fn search_results(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult {
    let spec = ListSpec::from_search(&Params::parse(raw), &json_body(F, &body)?)?;
    Ok(spec.respond(result_items(&app, &caller, false), &["name", "system"]))
}

async fn get_result(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult {
    let state = app.tenant();
    let org = &state.orgs[org_of(&state, &caller)];
    let r = org
        .results
        .iter()
        .find(|r| r.id == id)
        .ok_or_else(|| JcError::not_found(F))?;
    Ok(Json(render::command_result(&org.id, r)).into_response())
}

// ----- organisations --------------------------------------------------------

fn org_summary(state: &crate::jumpcloud::state::JumpCloudState, id: &str) -> Option<Value> {
    state
        .org_index(id)
        .map(|o| json!({ "_id": id, "displayName": state.orgs[o].name(), "logoUrl": "" }))
}

async fn list_orgs(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let spec = ListSpec::from_query(&Params::parse(raw))?;
    let state = app.tenant();
    let items = caller
        .org_ids
        .iter()
        .filter_map(|id| org_summary(&state, id))
        .collect();
    Ok(spec.respond(items, &["displayName"]))
}

async fn get_org(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult {
    if !caller.credential.orgs.contains(&id) {
        return Err(JcError::not_found(F));
    }
    let state = app.tenant();
    let mut org = org_summary(&state, &id).ok_or_else(|| JcError::not_found(F))?;
    if let Value::Object(map) = &mut org {
        map.insert(
            "settings".to_owned(),
            json!({ "newSystemUserStateDefaults": { "manualEntry": "ACTIVATED" } }),
        );
    }
    Ok(Json(org).into_response())
}
