//! Admin SDK Directory API (`/admin/directory/v1`): users, their security
//! artefacts (tokens, application-specific passwords, backup codes),
//! group membership and user-owned mobile devices.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{Map, Value, json};

use crate::common::clock;
use crate::google::errors::GoogleError;
use crate::google::model::content_etag;
use crate::google::query::{Query, json_object, list_response, page, string_field};
use crate::google::service::AppState;
use crate::google::state::{Caller, GoogleState};

type ApiResult = Result<Response, GoogleError>;

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

// ----- rendering -------------------------------------------------------------

/// The `User` resource.
pub(crate) fn render_user(state: &GoogleState, user: usize) -> Value {
    let u = &state.users[user];
    let mut emails = vec![json!({ "address": u.primary_email, "primary": true })];
    emails.extend(u.aliases.iter().map(|a| json!({ "address": a })));
    let mut out = Map::new();
    let mut put = |k: &str, v: Value| {
        out.insert(k.to_owned(), v);
    };
    put("kind", json!("admin#directory#user"));
    put("id", json!(u.id));
    put("etag", json!(u.etag));
    put("primaryEmail", json!(u.primary_email));
    put(
        "name",
        json!({
            "givenName": u.given_name,
            "familyName": u.family_name,
            "fullName": format!("{} {}", u.given_name, u.family_name).trim().to_owned(),
        }),
    );
    put("isAdmin", json!(u.is_admin));
    put("isDelegatedAdmin", json!(false));
    if let Some(last) = u.last_login_time {
        put("lastLoginTime", json!(clock::format_millis(last)));
    }
    put("creationTime", json!(clock::format_millis(u.creation_time)));
    put("agreedToTerms", json!(true));
    put("suspended", json!(u.suspended));
    if let Some(reason) = &u.suspension_reason {
        put("suspensionReason", json!(reason));
    }
    put("archived", json!(u.archived));
    put(
        "changePasswordAtNextLogin",
        json!(u.change_password_at_next_login),
    );
    put("ipWhitelisted", json!(false));
    put("emails", Value::Array(emails));
    if !u.aliases.is_empty() {
        put("aliases", json!(u.aliases));
    }
    put("customerId", json!(state.customer_id));
    put("orgUnitPath", json!(u.org_unit_path));
    put("isMailboxSetup", json!(u.has_mailbox()));
    put("isEnrolledIn2Sv", json!(!u.backup_codes.is_empty()));
    put("isEnforcedIn2Sv", json!(false));
    put("includeInGlobalAddressList", json!(u.include_in_gal));
    Value::Object(out)
}

fn render_token(state: &GoogleState, user: usize, position: usize) -> Value {
    let u = &state.users[user];
    let t = &u.tokens[position];
    json!({
        "kind": "admin#directory#token",
        "etag": content_etag(&format!("token/{}/{}/{}", u.id, t.client_id, t.scopes.join(" "))),
        "clientId": t.client_id,
        "displayText": t.display_text,
        "anonymous": t.anonymous,
        "nativeApp": t.native_app,
        "scopes": t.scopes,
        "userKey": u.id,
    })
}

fn render_asp(state: &GoogleState, user: usize, position: usize) -> Value {
    let u = &state.users[user];
    let a = &u.asps[position];
    json!({
        "kind": "admin#directory#asp",
        "etag": content_etag(&format!("asp/{}/{}", u.id, a.code_id)),
        "codeId": a.code_id,
        "name": a.name,
        "creationTime": a.creation_time_ms.to_string(),
        "lastTimeUsed": a.last_time_used_ms.to_string(),
        "userKey": u.id,
    })
}

fn render_group(state: &GoogleState, group: usize) -> Value {
    let g = &state.groups[group];
    json!({
        "kind": "admin#directory#group",
        "id": g.id,
        "etag": g.etag,
        "email": g.email,
        "name": g.name,
        "directMembersCount": g.members.len().to_string(),
        "description": g.description,
        "adminCreated": true,
    })
}

fn render_device(state: &GoogleState, device: usize) -> Value {
    let d = &state.devices[device];
    let owner = &state.users[d.owner];
    json!({
        "kind": "admin#directory#mobiledevice",
        "etag": d.etag,
        "resourceId": d.resource_id,
        "deviceId": d.device_id,
        "name": [format!("{} {}", owner.given_name, owner.family_name).trim()],
        "email": [owner.primary_email],
        "model": d.model,
        "os": d.os,
        "type": d.device_type,
        "status": d.status,
        "firstSync": clock::format_millis(d.first_sync),
        "lastSync": clock::format_millis(d.last_sync),
        "userAgent": format!("Google Apps Device Policy 19.04.00; {}", d.os),
    })
}

// ----- users -----------------------------------------------------------------

/// `users.get`. `projection`, `customFieldMask` and `viewType` are
/// accepted; the basic projection is always returned.
/// Directory reads are eventually consistent: with a read lag configured, a
/// user written recently reads as before the write for that long.
pub(crate) async fn get_user(State(app): State<AppState>, Path(key): Path<String>) -> ApiResult {
    let state = app.domain();
    let user = state.resolve_user_key(&key, "userKey")?;
    if let Some(before) = state.lagged_user(user) {
        return Ok(Json(before.clone()).into_response());
    }
    Ok(Json(render_user(&state, user)).into_response())
}

/// `users.update` (PUT) and `users.patch`: both have patch semantics and
/// answer the updated user. Suspending sets `suspensionReason: ADMIN`;
/// repeating it changes nothing and answers the same.
pub(crate) async fn update_user(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body = json_object(&body)?;
    let mut state = app.domain();
    let user = state.resolve_user_key(&key, "userKey")?;
    let before = render_user(&state, user);
    state.update_user(user, &body, &caller)?;
    if render_user(&state, user) != before {
        state.note_user_write(user, before);
    }
    Ok(Json(render_user(&state, user)).into_response())
}

/// `users.signOut`: 204, repeatable.
pub(crate) async fn sign_out(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
) -> ApiResult {
    let mut state = app.domain();
    let user = state.resolve_user_key(&key, "userKey")?;
    state.sign_out(user, &caller);
    Ok(no_content())
}

/// `tokens.list` (unpaged; no `items` when there are none).
pub(crate) async fn list_tokens(State(app): State<AppState>, Path(key): Path<String>) -> ApiResult {
    let state = app.domain();
    let user = state.resolve_user_key(&key, "userKey")?;
    let items = (0..state.users[user].tokens.len())
        .map(|p| render_token(&state, user, p))
        .collect();
    Ok(Json(list_response(
        "admin#directory#tokenList",
        "items",
        items,
        None,
    ))
    .into_response())
}

/// `tokens.get`.
pub(crate) async fn get_token(
    State(app): State<AppState>,
    Path((key, client_id)): Path<(String, String)>,
) -> ApiResult {
    let state = app.domain();
    let user = state.resolve_user_key(&key, "userKey")?;
    let position = state.users[user]
        .tokens
        .iter()
        .position(|t| t.client_id == client_id)
        .ok_or_else(|| GoogleError::not_found("clientId"))?;
    Ok(Json(render_token(&state, user, position)).into_response())
}

/// `tokens.delete`: 204; 404 once the grant is gone.
pub(crate) async fn delete_token(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((key, client_id)): Path<(String, String)>,
) -> ApiResult {
    let mut state = app.domain();
    let user = state.resolve_user_key(&key, "userKey")?;
    state.delete_token(user, &client_id, &caller)?;
    Ok(no_content())
}

/// `asps.list` (unpaged).
pub(crate) async fn list_asps(State(app): State<AppState>, Path(key): Path<String>) -> ApiResult {
    let state = app.domain();
    let user = state.resolve_user_key(&key, "userKey")?;
    let items = (0..state.users[user].asps.len())
        .map(|p| render_asp(&state, user, p))
        .collect();
    Ok(Json(list_response(
        "admin#directory#aspList",
        "items",
        items,
        None,
    ))
    .into_response())
}

fn code_id(raw: &str) -> Result<i32, GoogleError> {
    raw.trim()
        .parse::<i32>()
        .map_err(|_| GoogleError::invalid_input("codeId"))
}

/// `asps.get`.
pub(crate) async fn get_asp(
    State(app): State<AppState>,
    Path((key, code)): Path<(String, String)>,
) -> ApiResult {
    let code = code_id(&code)?;
    let state = app.domain();
    let user = state.resolve_user_key(&key, "userKey")?;
    let position = state.users[user]
        .asps
        .iter()
        .position(|a| a.code_id == code)
        .ok_or_else(|| GoogleError::not_found("codeId"))?;
    Ok(Json(render_asp(&state, user, position)).into_response())
}

/// `asps.delete`: 204; 404 once the password is gone.
pub(crate) async fn delete_asp(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((key, code)): Path<(String, String)>,
) -> ApiResult {
    let code = code_id(&code)?;
    let mut state = app.domain();
    let user = state.resolve_user_key(&key, "userKey")?;
    state.delete_asp(user, code, &caller)?;
    Ok(no_content())
}

/// `verificationCodes.list`.
pub(crate) async fn list_codes(State(app): State<AppState>, Path(key): Path<String>) -> ApiResult {
    let state = app.domain();
    let user = state.resolve_user_key(&key, "userKey")?;
    let u = &state.users[user];
    let items = u
        .backup_codes
        .iter()
        .map(|code| {
            json!({
                "kind": "admin#directory#verificationCode",
                "etag": content_etag(&format!("code/{}/{code}", u.id)),
                "userId": u.id,
                "verificationCode": code,
            })
        })
        .collect();
    Ok(Json(list_response(
        "admin#directory#verificationCodesList",
        "items",
        items,
        None,
    ))
    .into_response())
}

/// `verificationCodes.invalidate`: 204, repeatable.
pub(crate) async fn invalidate_codes(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
) -> ApiResult {
    let mut state = app.domain();
    let user = state.resolve_user_key(&key, "userKey")?;
    state.invalidate_codes(user, &caller);
    Ok(no_content())
}

// ----- groups ----------------------------------------------------------------

/// `groups.list`: a user's direct groups (`userKey`) or the customer's
/// (`customer` / `domain`), 200 a page at most.
pub(crate) async fn list_groups(State(app): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult {
    let query = Query::parse(raw);
    let max = query.max_results(200, 200, true)?;
    let state = app.domain();
    let (groups, context) = if let Some(key) = query.get("userKey") {
        let user = state.resolve_user_key(key, "userKey")?;
        (
            state.listed_groups_of(user),
            format!("groups/user/{}", state.users[user].id),
        )
    } else if let Some(customer) = query.get("customer") {
        if !state.is_customer(customer) {
            return Err(GoogleError::not_authorized());
        }
        (
            (0..state.groups.len()).collect(),
            "groups/customer".to_owned(),
        )
    } else if let Some(domain) = query.get("domain") {
        if !domain.eq_ignore_ascii_case(&state.domain) {
            return Err(GoogleError::not_authorized());
        }
        (
            (0..state.groups.len()).collect(),
            "groups/customer".to_owned(),
        )
    } else {
        return Err(GoogleError::bad_request());
    };
    let keyed: Vec<(u64, usize)> = groups
        .into_iter()
        .map(|g| (u64::try_from(g).unwrap_or(u64::MAX), g))
        .collect();
    let (items, next) = page(&keyed, query.get("pageToken"), &context, max)?;
    let items = items.into_iter().map(|g| render_group(&state, g)).collect();
    Ok(Json(list_response(
        "admin#directory#groups",
        "groups",
        items,
        next,
    ))
    .into_response())
}

/// `members.delete`: 204; a repeat answers 404 "Resource Not Found:
/// memberKey".
/// `members.insert` (`POST /groups/{groupKey}/members` with `{"email", "role"}`): the member.
pub(crate) async fn insert_member(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(group_key): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body = json_object(&body)?;
    let email = body
        .get("email")
        .or_else(|| body.get("id"))
        .and_then(Value::as_str)
        .ok_or_else(|| GoogleError::required_parameter("email"))?
        .to_owned();
    let role = string_field(&body, "role")?.unwrap_or_else(|| "MEMBER".to_owned());
    let role = crate::google::sweep::group_role(&role)?;
    let mut state = app.domain();
    state.add_member(&group_key, &email, role, &caller)?;
    Ok(Json(json!({"kind": "admin#directory#member", "email": email, "role": role, "type": "USER", "status": "ACTIVE"})).into_response())
}

pub(crate) async fn delete_member(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((group_key, member_key)): Path<(String, String)>,
) -> ApiResult {
    let mut state = app.domain();
    state.remove_member(&group_key, &member_key, &caller)?;
    Ok(no_content())
}

// ----- mobile devices --------------------------------------------------------

fn check_customer(state: &GoogleState, customer: &str) -> Result<(), GoogleError> {
    if state.is_customer(customer) {
        Ok(())
    } else {
        Err(GoogleError::not_authorized())
    }
}

/// One term of a mobile-device search (`email:jane@example.com`,
/// `status:APPROVED`, a bare word).
struct Term {
    field: Option<String>,
    value: String,
}

fn parse_search(query: &str) -> Result<Vec<Term>, GoogleError> {
    let mut terms = Vec::new();
    for raw in query.split_whitespace() {
        let (field, value) = match raw.split_once(':') {
            Some((field, value)) => {
                let field = field.to_ascii_lowercase();
                if !matches!(
                    field.as_str(),
                    "email" | "name" | "status" | "model" | "os" | "type" | "device_id"
                ) {
                    return Err(GoogleError::invalid_input("query"));
                }
                (Some(field), value)
            }
            None => (None, raw),
        };
        terms.push(Term {
            field,
            value: value.trim_matches('"').to_ascii_lowercase(),
        });
    }
    Ok(terms)
}

fn term_matches(value: &str, candidate: &str) -> bool {
    let candidate = candidate.to_ascii_lowercase();
    match value.strip_suffix('*') {
        Some(prefix) => candidate.starts_with(prefix),
        None => candidate == value,
    }
}

fn device_matches(state: &GoogleState, device: usize, terms: &[Term]) -> bool {
    let d = &state.devices[device];
    let owner = &state.users[d.owner];
    let name = format!("{} {}", owner.given_name, owner.family_name);
    terms.iter().all(|t| match t.field.as_deref() {
        Some("email") => term_matches(&t.value, &owner.primary_email),
        Some("name") => {
            name.split_whitespace()
                .any(|part| term_matches(&t.value, part))
                || term_matches(&t.value, &name)
        }
        Some("status") => term_matches(&t.value, &d.status),
        Some("model") => d.model.to_ascii_lowercase().contains(&t.value),
        Some("os") => d.os.to_ascii_lowercase().contains(&t.value),
        Some("type") => term_matches(&t.value, &d.device_type),
        Some(_) => term_matches(&t.value, &d.device_id),
        None => [
            owner.primary_email.as_str(),
            name.as_str(),
            d.model.as_str(),
        ]
        .iter()
        .any(|c| {
            c.to_ascii_lowercase()
                .contains(t.value.trim_end_matches('*'))
        }),
    })
}

/// `mobiledevices.list` (`query`, `maxResults` ≤ 100, `pageToken`).
/// Reading a device lets a pending wipe move forward.
pub(crate) async fn list_devices(
    State(app): State<AppState>,
    Path(customer): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = Query::parse(raw);
    let max = query.max_results(100, 100, false)?;
    let search = query.get("query").unwrap_or_default().to_owned();
    let terms = parse_search(&search)?;
    let mut state = app.domain();
    check_customer(&state, &customer)?;
    let matching: Vec<usize> = (0..state.devices.len())
        .filter(|&d| device_matches(&state, d, &terms))
        .collect();
    let keyed: Vec<(u64, usize)> = matching
        .iter()
        .map(|&d| (state.devices[d].seq, d))
        .collect();
    let (items, next) = page(
        &keyed,
        query.get("pageToken"),
        &format!("devices/{search}"),
        max,
    )?;
    for &d in &items {
        state.advance_device(d, true);
    }
    let items = items
        .into_iter()
        .map(|d| render_device(&state, d))
        .collect();
    Ok(Json(list_response(
        "admin#directory#mobiledevices",
        "mobiledevices",
        items,
        next,
    ))
    .into_response())
}

/// `mobiledevices.get`.
pub(crate) async fn get_device(
    State(app): State<AppState>,
    Path((customer, resource_id)): Path<(String, String)>,
) -> ApiResult {
    let mut state = app.domain();
    check_customer(&state, &customer)?;
    let device = state
        .find_device(&resource_id)
        .ok_or_else(|| GoogleError::not_found("resourceId"))?;
    state.advance_device(device, true);
    Ok(Json(render_device(&state, device)).into_response())
}

/// `mobiledevices.action` with `{"action": …}`: 204.
pub(crate) async fn device_action(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((customer, resource_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let body = json_object(&body)?;
    let action =
        string_field(&body, "action")?.ok_or_else(|| GoogleError::invalid_input("action"))?;
    let mut state = app.domain();
    check_customer(&state, &customer)?;
    let device = state
        .find_device(&resource_id)
        .ok_or_else(|| GoogleError::not_found("resourceId"))?;
    state.device_action(device, &action, &caller)?;
    Ok(no_content())
}
