//! Graph directory endpoints (users, groups, licences, authentication
//! methods, audit logs) and the router that also mounts the mail and Intune
//! endpoints.
//!
//! Route parameters under `/v1.0/users` are all named `{id}` because the
//! router allows one name per position; each handler still resolves what
//! Graph accepts there (object id or UPN for users).

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use serde_json::{Map, Value, json};

use crate::microsoft::errors::GraphError;
use crate::microsoft::gate::{Caller, RequestCtx};
use crate::microsoft::model::MethodKind;
use crate::microsoft::odata::{Clause, Query, parse_filter};
use crate::microsoft::render;
use crate::microsoft::service::AppState;
use crate::microsoft::state::{TenantState, UserPatch, WRITABLE_STRINGS};
use crate::microsoft::{intune, mail, sensitive};

pub(crate) type ApiResult = Result<Response, GraphError>;

/// Application permissions that satisfy each kind of call (any one will do).
pub(crate) mod perms {
    pub const USER_READ: &[&str] = &[
        "User.Read.All",
        "User.ReadWrite.All",
        "User.ReadBasic.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ];
    pub const USER_ENABLE: &[&str] = &[
        "User.EnableDisableAccount.All",
        "User.ReadWrite.All",
        "Directory.ReadWrite.All",
    ];
    pub const USER_WRITE: &[&str] = &["User.ReadWrite.All", "Directory.ReadWrite.All"];
    pub const REVOKE_SESSIONS: &[&str] = &[
        "User.RevokeSessions.All",
        "User.ReadWrite.All",
        "Directory.ReadWrite.All",
    ];
    pub const MEMBER_READ: &[&str] = &[
        "GroupMember.Read.All",
        "GroupMember.ReadWrite.All",
        "Group.Read.All",
        "Group.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
        "User.Read.All",
        "User.ReadWrite.All",
    ];
    pub const GROUP_READ: &[&str] = &[
        "GroupMember.Read.All",
        "GroupMember.ReadWrite.All",
        "Group.Read.All",
        "Group.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ];
    pub const MEMBER_WRITE: &[&str] = &[
        "GroupMember.ReadWrite.All",
        "Group.ReadWrite.All",
        "Directory.ReadWrite.All",
    ];
    pub const LICENSE_READ: &[&str] = &[
        "User.Read.All",
        "User.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
        "LicenseAssignment.Read.All",
        "LicenseAssignment.ReadWrite.All",
    ];
    pub const LICENSE_WRITE: &[&str] = &[
        "LicenseAssignment.ReadWrite.All",
        "User.ReadWrite.All",
        "Directory.ReadWrite.All",
    ];
    pub const SKU_READ: &[&str] = &[
        "Organization.Read.All",
        "Organization.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
        "LicenseAssignment.Read.All",
        "LicenseAssignment.ReadWrite.All",
    ];
    pub const METHODS_READ: &[&str] = &[
        "UserAuthenticationMethod.Read.All",
        "UserAuthenticationMethod.ReadWrite.All",
    ];
    pub const METHODS_WRITE: &[&str] = &["UserAuthenticationMethod.ReadWrite.All"];
    pub const MAILBOX_READ: &[&str] = &["MailboxSettings.Read", "MailboxSettings.ReadWrite"];
    pub const MAILBOX_WRITE: &[&str] = &["MailboxSettings.ReadWrite"];
    pub const DEVICES_READ: &[&str] = &[
        "DeviceManagementManagedDevices.Read.All",
        "DeviceManagementManagedDevices.ReadWrite.All",
    ];
    pub const DEVICES_ACT: &[&str] = &["DeviceManagementManagedDevices.PrivilegedOperations.All"];
    pub const AUDIT_READ: &[&str] = &["AuditLog.Read.All"];
}

/// Every Graph route.
pub(crate) fn graph() -> Router<AppState> {
    crate::microsoft::sweep::routes()
        .merge(crate::microsoft::calendar::routes())
        .route("/v1.0/users", get(list_users))
        .route("/v1.0/users/{id}", get(get_user).patch(patch_user))
        .route("/v1.0/users/{id}/manager", get(get_manager))
        .route("/v1.0/users/{id}/directReports", get(direct_reports))
        .route(
            "/v1.0/users/{id}/revokeSignInSessions",
            post(revoke_sessions),
        )
        .route(
            "/v1.0/users/{id}/microsoft.graph.revokeSignInSessions",
            post(revoke_sessions),
        )
        .route("/v1.0/users/{id}/memberOf", get(member_of))
        .route(
            "/v1.0/users/{id}/memberOf/microsoft.graph.group",
            get(member_of_groups),
        )
        .route(
            "/v1.0/users/{id}/licenseDetails",
            get(license_details).post(method_not_allowed),
        )
        .route("/v1.0/users/{id}/assignLicense", post(assign_license))
        .route(
            "/v1.0/users/{id}/microsoft.graph.assignLicense",
            post(assign_license),
        )
        .route("/v1.0/users/{id}/authentication/{kind}", get(list_methods))
        .route(
            "/v1.0/users/{id}/authentication/{kind}/{method}",
            get(get_method).delete(delete_method),
        )
        .route(
            "/v1.0/users/{id}/mailboxSettings",
            get(mail::get_settings).patch(mail::patch_settings),
        )
        .route(
            "/v1.0/users/{id}/mailFolders/{folder}/messageRules",
            get(mail::list_rules).post(mail::create_rule),
        )
        .route(
            "/v1.0/users/{id}/mailFolders/{folder}/messageRules/{rule}",
            get(mail::get_rule)
                .patch(mail::patch_rule)
                .delete(mail::delete_rule),
        )
        .route(
            "/v1.0/users/{id}/managedDevices",
            get(intune::list_user_devices),
        )
        .route(
            "/v1.0/users/{id}/managedDevices/{device}",
            get(intune::get_user_device),
        )
        .route(
            "/v1.0/users/{id}/managedDevices/{device}/{action}",
            post(intune::user_device_action),
        )
        .route("/v1.0/groups/{id}", get(get_group))
        .route("/v1.0/groups/{id}/members/$ref", post(add_member))
        .route(
            "/v1.0/groups/{id}/members/{member}/$ref",
            delete(remove_member),
        )
        .route("/v1.0/subscribedSkus", get(subscribed_skus))
        .route(
            "/v1.0/deviceManagement/managedDevices",
            get(intune::list_devices),
        )
        .route(
            "/v1.0/deviceManagement/managedDevices/{id}",
            get(intune::get_device),
        )
        .route(
            "/v1.0/deviceManagement/managedDevices/{id}/{action}",
            post(intune::device_action),
        )
        .route("/v1.0/auditLogs/directoryAudits", get(directory_audits))
        .route(
            "/v1.0/auditLogs/signIns",
            get(crate::microsoft::sign_ins::list_sign_ins),
        )
}

// ----- shared helpers --------------------------------------------------------

pub(crate) fn need(caller: &Caller, roles: &[&str]) -> Result<(), GraphError> {
    if caller.has_any(roles) {
        Ok(())
    } else {
        Err(GraphError::directory_denied())
    }
}

pub(crate) fn resolve_user(state: &TenantState, id: &str) -> Result<usize, GraphError> {
    state
        .find_user(id)
        .ok_or_else(|| GraphError::resource_not_found(id))
}

/// Parses a JSON request body the way Graph insists on.
pub(crate) fn json_object(body: &[u8]) -> Result<Map<String, Value>, GraphError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(GraphError::body_unreadable(
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        )),
    }
}

/// `{"@odata.context", ["@odata.nextLink"], "value"}`.
pub(crate) fn collection(context: String, next: Option<String>, value: Vec<Value>) -> Response {
    let mut body = Map::new();
    body.insert("@odata.context".to_owned(), json!(context));
    if let Some(next) = next {
        body.insert("@odata.nextLink".to_owned(), json!(next));
    }
    body.insert("value".to_owned(), Value::Array(value));
    Json(Value::Object(body)).into_response()
}

pub(crate) fn entity(context: String, props: Map<String, Value>) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("@odata.context".to_owned(), json!(context));
    body.extend(props);
    body
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

fn context_with_select(base: &str, set: &str, select: &[String]) -> String {
    if select.is_empty() {
        format!("{base}/v1.0/$metadata#{set}")
    } else {
        format!("{base}/v1.0/$metadata#{set}({})", select.join(","))
    }
}

// ----- users ------------------------------------------------------------------

/// `GET /users` with `$filter` on `mail`, `userPrincipalName`, `id` or
/// `displayName` (`eq`), or `proxyAddresses/any(x:x eq 'smtp:…')` as an
/// advanced query (`ConsistencyLevel: eventual` and `$count=true`, which
/// adds `@odata.count`); `$select`, `$top` and `$skiptoken` paging.
async fn list_users(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    need(&caller, perms::USER_READ)?;
    let q = Query::parse(raw);
    let select = q.select();
    let props = render::user_select(&select)?;
    let top = q.top(100)?;
    let after = q.skiptoken()?.unwrap_or(0);
    let clauses = match q.get("$filter") {
        Some(f) => parse_filter(f)?,
        None => Vec::new(),
    };
    let eventual = headers
        .get("consistencylevel")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("eventual"));
    let counted = q
        .get("$count")
        .is_some_and(|c| c.eq_ignore_ascii_case("true"));
    check_user_clauses(&clauses, eventual && counted)?;
    let state = app.tenant();
    let matching: Vec<usize> = (0..state.users.len())
        .filter(|&i| clauses.iter().all(|c| user_matches(&state.users[i], c)))
        .collect();
    let count = matching.len();
    let matching: Vec<usize> = matching
        .into_iter()
        .filter(|&i| (i as u64) + 1 > after)
        .collect();
    let page: Vec<usize> = matching.iter().copied().take(top).collect();
    let next = (matching.len() > page.len())
        .then(|| {
            page.last()
                .map(|&i| q.next_link(&app.shared.base_url, uri.path(), i as u64 + 1))
        })
        .flatten();
    let value = page
        .iter()
        .map(|&i| Value::Object(render::user(&state, i, &props)))
        .collect();
    let context = context_with_select(&app.shared.base_url, "users", &select);
    if counted {
        return Ok(counted_collection(context, count, next, value));
    }
    Ok(collection(context, next, value))
}

/// The filters `GET /users` serves; `proxyAddresses/any(…)` only as an advanced query.
fn check_user_clauses(clauses: &[Clause], advanced: bool) -> Result<(), GraphError> {
    let unsupported = |p: &str| {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            format!(
                "Unsupported or invalid query filter clause specified for property '{p}' of resource 'User'."
            ),
        )
    };
    for clause in clauses {
        match clause {
            Clause::Eq(p, _)
                if ["mail", "userPrincipalName", "id", "displayName"]
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(p)) => {}
            Clause::AnyEq(p, _) if p.eq_ignore_ascii_case("proxyAddresses") => {
                if !advanced {
                    return Err(unsupported(p));
                }
            }
            Clause::Eq(p, _) | Clause::Ge(p, _) | Clause::Le(p, _) | Clause::AnyEq(p, _) => {
                return Err(GraphError::bad_request(format!(
                    "Unsupported or invalid query filter clause specified for property '{p}' of resource 'User'."
                )));
            }
            Clause::AnyTargetId(_) => return Err(GraphError::bad_request("Invalid filter clause")),
        }
    }
    Ok(())
}

fn user_matches(u: &crate::microsoft::model::UserRecord, clause: &Clause) -> bool {
    match clause {
        Clause::Eq(p, v) => {
            let value = match p.to_ascii_lowercase().as_str() {
                "mail" => u.mail.clone().unwrap_or_default(),
                "userprincipalname" => u.upn.clone(),
                "id" => u.id.clone(),
                _ => u.display_name.clone(),
            };
            value.eq_ignore_ascii_case(v)
        }
        Clause::AnyEq(_, v) => u
            .proxy_addresses()
            .iter()
            .any(|a| a.eq_ignore_ascii_case(v)),
        _ => false,
    }
}

/// `{"@odata.context", "@odata.count", ["@odata.nextLink"], "value"}`: the answer to a
/// query with `$count=true`.
fn counted_collection(
    context: String,
    count: usize,
    next: Option<String>,
    value: Vec<Value>,
) -> Response {
    let mut body = Map::new();
    body.insert("@odata.context".to_owned(), json!(context));
    body.insert("@odata.count".to_owned(), json!(count));
    if let Some(next) = next {
        body.insert("@odata.nextLink".to_owned(), json!(next));
    }
    body.insert("value".to_owned(), Value::Array(value));
    Json(Value::Object(body)).into_response()
}

async fn get_user(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    need(&caller, perms::USER_READ)?;
    let q = Query::parse(raw);
    let select = q.select();
    let props = render::user_select(&select)?;
    let state = app.tenant();
    let user = resolve_user(&state, &id)?;
    let body = entity(
        render::entity_context(&app.shared.base_url, "users", &select),
        render::user(&state, user, &props),
    );
    Ok(Json(Value::Object(body)).into_response())
}

/// Properties Graph refuses to write.
const READ_ONLY_USER: &[&str] = &[
    "id",
    "createdDateTime",
    "onPremisesSyncEnabled",
    "onPremisesImmutableId",
    "onPremisesLastSyncDateTime",
    "onPremisesSecurityIdentifier",
    "onPremisesDistinguishedName",
    "onPremisesSamAccountName",
    "onPremisesUserPrincipalName",
    "onPremisesDomainName",
    "signInSessionsValidFromDateTime",
    "assignedLicenses",
    "assignedPlans",
    "licenseAssignmentStates",
    "provisionedPlans",
    "proxyAddresses",
    "creationType",
    "securityIdentifier",
    "lastPasswordChangeDateTime",
];

/// `PATCH /users/{id}`: 204 on success (also when nothing changes).
async fn patch_user(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(ctx): Extension<RequestCtx>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let map = json_object(&body)?;
    let mut patch = UserPatch::default();
    for (key, value) in &map {
        if key == "accountEnabled" {
            patch.account_enabled = Some(value.as_bool().ok_or_else(|| {
                GraphError::body_unreadable(format!(
                    "Cannot convert the literal '{value}' to the expected type 'Edm.Boolean'."
                ))
            })?);
        } else if let Some(name) = WRITABLE_STRINGS.iter().find(|w| **w == key.as_str()) {
            let v = match value {
                Value::Null => None,
                Value::String(s) => Some(s.clone()),
                other => {
                    return Err(GraphError::body_unreadable(format!(
                        "Cannot convert the literal '{other}' to the expected type 'Edm.String'."
                    )));
                }
            };
            patch.strings.push((name, v));
        } else if READ_ONLY_USER.contains(&key.as_str()) {
            return Err(GraphError::bad_request(format!(
                "Property '{key}' is read-only and cannot be set."
            )));
        } else if render::user_select(std::slice::from_ref(key)).is_err() {
            return Err(GraphError::body_unreadable(format!(
                "Property '{key}' does not exist on type 'microsoft.graph.user'. Make sure to only use property names that are defined by the type or mark the type as open type."
            )));
        }
    }
    let only_enable = patch.strings.is_empty();
    if only_enable && patch.account_enabled.is_some() {
        need(&caller, perms::USER_ENABLE)?;
    } else {
        need(&caller, perms::USER_WRITE)?;
    }
    let mut state = app.tenant();
    let user = resolve_user(&state, &id)?;
    if patch.account_enabled.is_some() {
        sensitive::may_act_on(&caller, &state.users[user].directory_roles)?;
    }
    state.update_user(user, patch, &caller.actor(&ctx))?;
    Ok(no_content())
}

async fn get_manager(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult {
    need(&caller, perms::USER_READ)?;
    let state = app.tenant();
    let user = resolve_user(&state, &id)?;
    let manager = state.users[user]
        .manager
        .ok_or_else(|| GraphError::resource_not_found("manager"))?;
    let mut props = Map::new();
    props.insert("@odata.type".to_owned(), json!("#microsoft.graph.user"));
    props.extend(render::user(&state, manager, &render::user_select(&[])?));
    let body = entity(
        format!(
            "{}/v1.0/$metadata#directoryObjects/$entity",
            app.shared.base_url
        ),
        props,
    );
    Ok(Json(Value::Object(body)).into_response())
}

/// `GET /users/{id}/directReports`: the users whose manager is this one, `$top` (default 100)
/// a page.
async fn direct_reports(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    need(&caller, perms::USER_READ)?;
    let q = Query::parse(raw);
    let top = q.top(100)?;
    let after = q.skiptoken()?.unwrap_or(0);
    let state = app.tenant();
    let user = resolve_user(&state, &id)?;
    let select = render::user_select(&[])?;
    let all: Vec<Value> = (0..state.users.len())
        .filter(|u| state.users[*u].manager == Some(user))
        .map(|u| {
            let mut props = Map::new();
            props.insert("@odata.type".to_owned(), json!("#microsoft.graph.user"));
            props.extend(render::user(&state, u, &select));
            Value::Object(props)
        })
        .collect();
    let base = &app.shared.base_url;
    let path = format!("/v1.0/users/{id}/directReports");
    let (next, page) = q.page_of(all, after, top, base, &path);
    Ok(collection(
        format!("{base}/v1.0/$metadata#directoryObjects"),
        next,
        page,
    ))
}

/// Answers 200 `{"value": true}`, as the service does (the docs say 204).
async fn revoke_sessions(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(ctx): Extension<RequestCtx>,
    Path(id): Path<String>,
) -> ApiResult {
    need(&caller, perms::REVOKE_SESSIONS)?;
    let mut state = app.tenant();
    let user = resolve_user(&state, &id)?;
    sensitive::may_act_on(&caller, &state.users[user].directory_roles)?;
    state.revoke_sessions(user, &caller.actor(&ctx));
    Ok(Json(json!({
        "@odata.context": format!("{}/v1.0/$metadata#Edm.Boolean", app.shared.base_url),
        "value": true,
    }))
    .into_response())
}

// ----- groups -------------------------------------------------------------------

async fn member_of(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    list_memberships(app, caller, uri.path(), &id, raw, false)
}

async fn member_of_groups(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    list_memberships(app, caller, uri.path(), &id, raw, true)
}

/// Direct memberships, oldest first, `$top` (default 100) per page with an
/// opaque `$skiptoken` that survives memberships removed between pages.
/// Eventually consistent: with a read lag configured, a removed membership
/// is still listed for that long.
fn list_memberships(
    app: AppState,
    caller: Caller,
    path: &str,
    id: &str,
    raw: Option<String>,
    cast: bool,
) -> ApiResult {
    need(&caller, perms::MEMBER_READ)?;
    let q = Query::parse(raw);
    if q.get("$filter").is_some() || q.get("$search").is_some() {
        return Err(GraphError::bad_request("Unsupported Query."));
    }
    let select = q.select();
    let props = render::group_select(&select)?;
    let top = q.top(100)?;
    let after = q.skiptoken()?.unwrap_or(0);
    let state = app.tenant();
    let user = resolve_user(&state, id)?;
    let remaining: Vec<_> = state
        .listed_memberships_of(user)
        .into_iter()
        .filter(|m| m.seq > after)
        .collect();
    let page: Vec<_> = remaining.iter().take(top).copied().collect();
    let next = (remaining.len() > page.len())
        .then(|| {
            page.last()
                .map(|m| q.next_link(&app.shared.base_url, path, m.seq))
        })
        .flatten();
    // Without a group permission Graph still lists memberships, with "limited information":
    // every property but the id comes back null.
    let limited = !caller.has_any(perms::GROUP_READ);
    let value = page
        .iter()
        .map(|m| {
            let mut item = Map::new();
            if !cast {
                item.insert("@odata.type".to_owned(), json!("#microsoft.graph.group"));
            }
            let mut group = render::group(&state.groups[m.group], &props);
            if limited {
                for (key, value) in &mut group {
                    if key != "id" {
                        *value = Value::Null;
                    }
                }
            }
            item.extend(group);
            Value::Object(item)
        })
        .collect();
    let set = if cast { "groups" } else { "directoryObjects" };
    Ok(collection(
        context_with_select(&app.shared.base_url, set, &select),
        next,
        value,
    ))
}

async fn get_group(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    need(&caller, perms::GROUP_READ)?;
    let q = Query::parse(raw);
    let select = q.select();
    let props = render::group_select(&select)?;
    let state = app.tenant();
    let group = state
        .find_group(&id)
        .ok_or_else(|| GraphError::resource_not_found(&id))?;
    let body = entity(
        render::entity_context(&app.shared.base_url, "groups", &select),
        render::group(&state.groups[group], &props),
    );
    Ok(Json(Value::Object(body)).into_response())
}

/// `DELETE /groups/{id}/members/{member}/$ref`: 204; 404 when not a member;
/// 403 for dynamic groups; 400 for on-premises-synced groups and
/// Exchange-authored (mail-enabled security, distribution) groups.
async fn remove_member(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(ctx): Extension<RequestCtx>,
    Path((group_id, member)): Path<(String, String)>,
) -> ApiResult {
    need(&caller, perms::MEMBER_WRITE)?;
    let mut state = app.tenant();
    let group = state
        .find_group(&group_id)
        .ok_or_else(|| GraphError::resource_not_found(&group_id))?;
    let user = state
        .find_user(&member)
        .ok_or_else(|| GraphError::resource_not_found(&member))?;
    state.remove_member_graph(group, user, &caller.actor(&ctx))?;
    Ok(no_content())
}

/// `POST /groups/{id}/members/$ref` with `{"@odata.id": ".../directoryObjects/{id}"}`: 204.
async fn add_member(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(ctx): Extension<RequestCtx>,
    Path(group_id): Path<String>,
    body: Bytes,
) -> ApiResult {
    need(&caller, perms::MEMBER_WRITE)?;
    let map = json_object(&body)?;
    let reference = map
        .get("@odata.id")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            GraphError::bad_request("The request body must contain an '@odata.id' reference.")
        })?;
    let member = reference.rsplit('/').next().unwrap_or_default().to_owned();
    let mut state = app.tenant();
    let group = state
        .find_group(&group_id)
        .ok_or_else(|| GraphError::resource_not_found(&group_id))?;
    let user = state
        .find_user(&member)
        .ok_or_else(|| GraphError::resource_not_found(&member))?;
    state.add_member_graph(group, user, &caller.actor(&ctx))?;
    Ok(no_content())
}

// ----- licences ---------------------------------------------------------------------

async fn license_details(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult {
    need(&caller, perms::LICENSE_READ)?;
    let state = app.tenant();
    let user = resolve_user(&state, &id)?;
    let user_id = state.users[user].id.clone();
    let value = state
        .distinct_skus(user)
        .into_iter()
        .map(|s| render::license_detail(&user_id, &state.skus[s]))
        .collect();
    Ok(collection(
        format!(
            "{}/v1.0/$metadata#users('{user_id}')/licenseDetails",
            app.shared.base_url
        ),
        None,
        value,
    ))
}

/// `POST /users/{id}/assignLicense` `{"addLicenses":[…],"removeLicenses":[…]}`;
/// both keys are required. Answers 200 with the user.
async fn assign_license(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(ctx): Extension<RequestCtx>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    need(&caller, perms::LICENSE_WRITE)?;
    let map = json_object(&body)?;
    let missing: Vec<&str> = ["addLicenses", "removeLicenses"]
        .into_iter()
        .filter(|k| map.get(*k).is_none_or(Value::is_null))
        .collect();
    if !missing.is_empty() {
        return Err(GraphError::bad_request(format!(
            "One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: {}.",
            missing.join(", ")
        )));
    }
    let as_list = |key: &str| {
        map.get(key)
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| {
                GraphError::body_unreadable(format!(
                    "The parameter '{key}' in the request payload is not a valid collection."
                ))
            })
    };
    let add_raw = as_list("addLicenses")?;
    let remove_raw = as_list("removeLicenses")?;
    if add_raw.is_empty() && remove_raw.is_empty() {
        return Err(GraphError::bad_request(
            "No license changes provided. At least one license to add or remove must be specified.",
        ));
    }
    let guid = |v: &Value| -> Result<String, GraphError> {
        let s = v.as_str().unwrap_or_default();
        uuid::Uuid::parse_str(s)
            .map(|u| u.to_string())
            .map_err(|_| {
                GraphError::body_unreadable(format!(
                    "Cannot convert the literal '{v}' to the expected type 'Edm.Guid'."
                ))
            })
    };
    let mut state = app.tenant();
    let user = resolve_user(&state, &id)?;
    let mut add = Vec::new();
    for item in &add_raw {
        let sku_id = guid(item.get("skuId").unwrap_or(&Value::Null))?;
        let sku = state.find_sku_by_id(&sku_id).ok_or_else(|| {
            GraphError::bad_request(format!(
                "License {sku_id} does not correspond to a valid company License."
            ))
        })?;
        add.push(sku);
    }
    let mut remove = Vec::new();
    for item in &remove_raw {
        let sku_id = guid(item)?;
        match state.find_sku_by_id(&sku_id) {
            Some(sku) => remove.push(sku),
            None => {
                return Err(GraphError::bad_request(
                    "User does not have a corresponding license.",
                ));
            }
        }
    }
    state.assign_license(user, &add, &remove, &caller.actor(&ctx))?;
    let props = render::user_select(&[])?;
    let body = entity(
        format!("{}/v1.0/$metadata#users/$entity", app.shared.base_url),
        render::user(&state, user, &props),
    );
    Ok(Json(Value::Object(body)).into_response())
}

async fn subscribed_skus(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult {
    need(&caller, perms::SKU_READ)?;
    let state = app.tenant();
    let value = (0..state.skus.len())
        .map(|s| {
            let consumed = (0..state.users.len())
                .filter(|&u| state.users[u].licenses.iter().any(|l| l.sku == s))
                .count();
            render::subscribed_sku(&app.shared.tenant_id, &state.skus[s], consumed)
        })
        .collect();
    Ok(collection(
        format!("{}/v1.0/$metadata#subscribedSkus", app.shared.base_url),
        None,
        value,
    ))
}

// ----- authentication methods ----------------------------------------------------------

fn need_methods(caller: &Caller, roles: &[&str]) -> Result<(), GraphError> {
    if caller.has_any(roles) {
        Ok(())
    } else {
        Err(method_access_denied())
    }
}

/// The authentication-methods service's 403, for a missing permission and a missing
/// directory role alike.
fn method_access_denied() -> GraphError {
    GraphError::auth_methods(
        StatusCode::FORBIDDEN,
        "accessDenied",
        "Request Authorization failed",
    )
}

/// `methods` or a type-specific collection segment.
fn kind_filter(segment: &str) -> Result<Option<MethodKind>, GraphError> {
    if segment == "methods" {
        return Ok(None);
    }
    MethodKind::from_segment(segment)
        .map(Some)
        .ok_or_else(|| GraphError::unknown_segment(segment))
}

async fn list_methods(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, segment)): Path<(String, String)>,
) -> ApiResult {
    let kind = kind_filter(&segment)?;
    need_methods(&caller, perms::METHODS_READ)?;
    let state = app.tenant();
    let user = resolve_user(&state, &id)?;
    let u = &state.users[user];
    let value = u
        .methods
        .iter()
        .filter(|m| kind.is_none_or(|k| m.kind == k))
        .map(render::method)
        .collect();
    Ok(collection(
        format!(
            "{}/v1.0/$metadata#users('{}')/authentication/{segment}",
            app.shared.base_url, u.id
        ),
        None,
        value,
    ))
}

async fn get_method(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, segment, method_id)): Path<(String, String, String)>,
) -> ApiResult {
    let kind = kind_filter(&segment)?;
    need_methods(&caller, perms::METHODS_READ)?;
    let state = app.tenant();
    let user = resolve_user(&state, &id)?;
    let u = &state.users[user];
    let m = u
        .methods
        .iter()
        .find(|m| kind.is_none_or(|k| m.kind == k) && m.id.eq_ignore_ascii_case(&method_id))
        .ok_or_else(|| {
            GraphError::auth_methods(
                StatusCode::NOT_FOUND,
                "itemNotFound",
                &format!("Authentication method '{method_id}' was not found for the user."),
            )
        })?;
    let mut body = Map::new();
    body.insert(
        "@odata.context".to_owned(),
        json!(format!(
            "{}/v1.0/$metadata#users('{}')/authentication/{segment}/$entity",
            app.shared.base_url, u.id
        )),
    );
    if let Value::Object(obj) = render::method(m) {
        body.extend(obj);
    }
    Ok(Json(Value::Object(body)).into_response())
}

/// Deletes through the type-specific path; the generic `methods` collection
/// and `passwordMethods` have no DELETE (405).
async fn delete_method(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(ctx): Extension<RequestCtx>,
    Path((id, segment, method_id)): Path<(String, String, String)>,
) -> ApiResult {
    let kind = match kind_filter(&segment)? {
        None | Some(MethodKind::Password) => return Err(GraphError::method_not_allowed()),
        Some(kind) => kind,
    };
    need_methods(&caller, perms::METHODS_WRITE)?;
    let mut state = app.tenant();
    let user = resolve_user(&state, &id)?;
    if !sensitive::reaches(&caller, &state.users[user].directory_roles) {
        return Err(method_access_denied());
    }
    state.delete_method(user, kind, &method_id, &caller.actor(&ctx))?;
    Ok(no_content())
}

// ----- audit log ------------------------------------------------------------------------

/// `GET /auditLogs/directoryAudits`, newest first, with `$filter` on
/// `targetResources/any(t:t/id eq '…')`, `activityDisplayName`, `category`,
/// `loggedByService`, `correlationId`, `initiatedBy/app/appId` (`eq`) and
/// `activityDateTime` (`ge`/`le`).
async fn directory_audits(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    OriginalUri(uri): OriginalUri,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    need(&caller, perms::AUDIT_READ)?;
    let q = Query::parse(raw);
    let top = q.top(100)?;
    let before = q.skiptoken()?;
    let clauses = match q.get("$filter") {
        Some(f) => parse_filter(f)?,
        None => Vec::new(),
    };
    let state = app.tenant();
    let mut matching: Vec<&crate::microsoft::audit::AuditEvent> = state
        .audit
        .iter()
        .filter(|e| e.service.in_directory_audits())
        .filter(|e| before.is_none_or(|b| e.seq < b))
        .collect();
    for clause in &clauses {
        let keep = |e: &&crate::microsoft::audit::AuditEvent| -> Result<bool, GraphError> {
            Ok(match clause {
                Clause::AnyTargetId(id) => e.targets.iter().any(|t| t.id.eq_ignore_ascii_case(id)),
                Clause::Eq(p, v) => match p.as_str() {
                    "activityDisplayName" => e.activity == *v,
                    "category" => e.category == *v,
                    "loggedByService" => e.service.as_str() == v,
                    "correlationId" => e.correlation_id == *v,
                    "initiatedBy/app/appId" => e.initiated_by_app_id == *v,
                    _ => {
                        return Err(GraphError::bad_request(format!(
                            "Invalid filter clause: property '{p}' is not supported."
                        )));
                    }
                },
                Clause::Ge(p, v) | Clause::Le(p, v) if p == "activityDateTime" => {
                    let bound = crate::common::clock::parse(v)
                        .ok_or_else(|| GraphError::bad_request("Invalid filter clause"))?;
                    let at = crate::common::clock::parse(&e.activity_date_time).unwrap_or(bound);
                    if matches!(clause, Clause::Ge(..)) {
                        at >= bound
                    } else {
                        at <= bound
                    }
                }
                _ => return Err(GraphError::bad_request("Invalid filter clause")),
            })
        };
        let mut kept = Vec::new();
        for e in matching {
            if keep(&e)? {
                kept.push(e);
            }
        }
        matching = kept;
    }
    matching.reverse();
    let page: Vec<_> = matching.iter().take(top).collect();
    let next = (matching.len() > page.len())
        .then(|| {
            page.last()
                .map(|e| q.next_link(&app.shared.base_url, uri.path(), e.seq))
        })
        .flatten();
    let value = page.iter().map(|e| e.to_graph()).collect();
    Ok(collection(
        format!(
            "{}/v1.0/$metadata#auditLogs/directoryAudits",
            app.shared.base_url
        ),
        next,
        value,
    ))
}

// ----- fallbacks --------------------------------------------------------------------------

/// Unknown paths: Graph's "Resource not found for the segment".
pub(crate) async fn unknown_endpoint(OriginalUri(uri): OriginalUri) -> GraphError {
    let segment = uri
        .path()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    GraphError::unknown_segment(&segment)
}

/// Known path, unsupported method.
pub(crate) async fn method_not_allowed() -> GraphError {
    GraphError::method_not_allowed()
}
