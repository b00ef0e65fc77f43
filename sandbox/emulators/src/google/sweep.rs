//! What a leaver holds beyond their own account in Google Workspace, as the Admin SDK and Drive
//! serve it: a group member's role (`members.list?roles=OWNER`, `members.patch`,
//! `members.insert` with a role), and shared drives with their members
//! (`drives.list?useDomainAdminAccess=true`, `permissions.list|create|update|delete` on the
//! drive's id with `supportsAllDrives=true`).
//!
//! Drive answers a shared drive the caller is not a member of as "File not found" unless the
//! call says `useDomainAdminAccess=true` (and the caller is an administrator), and a client
//! that does not say `supportsAllDrives=true` finds no shared drive at all. `drives.list` pages
//! by `pageSize` (10 by default, at most 100), `permissions.list` too (100 on a shared drive
//! by default and at most); `members.list` by `maxResults` (200 at most). Google lets a group
//! lose its last owner (administrators manage an ownerless group), so nothing here refuses
//! that; the connector must not rely on a refusal to keep an owner.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use crate::google::errors::GoogleError;
use crate::google::query::{Query, json_object, list_response, page, string_field};
use crate::google::service::AppState;
use crate::google::state::{Caller, GoogleState};

type ApiResult = Result<Response, GoogleError>;

/// One member of a shared drive.
#[derive(Clone, Debug)]
pub(crate) struct DrivePermission {
    pub id: String,
    pub user: usize,
    /// `organizer` (Manager), `fileOrganizer`, `writer`, `commenter` or `reader`.
    pub role: String,
    pub seq: u64,
}

/// A shared drive and its members.
#[derive(Clone, Debug)]
pub(crate) struct SharedDrive {
    pub id: String,
    pub name: String,
    pub seq: u64,
    pub permissions: Vec<DrivePermission>,
}

/// The shared drives, beside the domain's users and groups.
#[derive(Debug, Default)]
pub(crate) struct SweepBook {
    pub drives: Vec<SharedDrive>,
    next_seq: u64,
    /// Knob: `members.list`, `drives.list` and `permissions.list` serve one item a page and
    /// every page after the first answers 500 (a list that fails mid-paging).
    pub fail_list_pages: bool,
}

impl SweepBook {
    pub(crate) fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    pub(crate) fn find(&self, id: &str) -> Option<usize> {
        self.drives.iter().position(|d| d.id == id)
    }
}

const GROUP_ROLES: &[&str] = &["OWNER", "MANAGER", "MEMBER"];
const DRIVE_ROLES: &[&str] = &[
    "organizer",
    "fileOrganizer",
    "writer",
    "commenter",
    "reader",
];

/// A group role as Google accepts it, or 400 `invalid` "Invalid Input: role".
pub(crate) fn group_role(role: &str) -> Result<&'static str, GoogleError> {
    GROUP_ROLES
        .iter()
        .copied()
        .find(|r| r.eq_ignore_ascii_case(role))
        .ok_or_else(|| GoogleError::invalid_input("role"))
}

fn drive_role(role: &str) -> Result<String, GoogleError> {
    DRIVE_ROLES
        .iter()
        .find(|r| **r == role)
        .map(|r| (*r).to_owned())
        .ok_or_else(|| GoogleError::invalid_argument("The provided role is invalid."))
}

/// The Drive routes (the member routes share their paths with `directory.rs`'s, see
/// `service.rs`).
pub(crate) fn routes() -> Router<AppState> {
    let f = "/drive/v3/files/{fileId}/permissions";
    Router::new()
        .route("/drive/v3/drives", get(list_drives))
        .route(f, get(list_permissions).post(create_permission))
        .route(
            &format!("{f}/{{permissionId}}"),
            delete(delete_permission).patch(update_permission),
        )
}

/// A page of a list while the knob is on: one item, and a 500 for any page after the first.
fn paging(state: &GoogleState, query: &Query, max: usize) -> Result<usize, GoogleError> {
    if !state.sweep.fail_list_pages {
        return Ok(max);
    }
    if query.get("pageToken").is_some() {
        return Err(GoogleError::server(500));
    }
    Ok(1)
}

fn render_member(state: &GoogleState, group: usize, user: usize) -> Value {
    let u = &state.users[user];
    json!({
        "kind": "admin#directory#member",
        "id": u.id,
        "email": u.primary_email,
        "role": state.groups[group].role_of(user).unwrap_or("MEMBER"),
        "type": "USER",
        "status": if u.suspended { "SUSPENDED" } else { "ACTIVE" },
    })
}

/// `members.list` (`roles=OWNER,MANAGER,MEMBER`, `maxResults` ≤ 200, `pageToken`).
pub(crate) async fn list_members(
    State(app): State<AppState>,
    Path(group_key): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = Query::parse(raw);
    let max = query.max_results(200, 200, false)?;
    let state = app.domain();
    let max = paging(&state, &query, max)?;
    let group = state
        .find_group(&group_key)
        .ok_or_else(|| GoogleError::not_found("groupKey"))?;
    let wanted = match query.get("roles") {
        Some(list) => Some(
            list.split(',')
                .map(|r| group_role(r.trim()))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    let g = &state.groups[group];
    let mut keyed: Vec<(u64, usize)> = g
        .members
        .iter()
        .copied()
        .filter(|&u| {
            let role = g.role_of(u).unwrap_or("MEMBER");
            wanted.as_ref().is_none_or(|w| w.contains(&role))
        })
        .map(|u| (u64::try_from(u).unwrap_or(u64::MAX), u))
        .collect();
    keyed.sort_unstable();
    let context = format!(
        "members/{}/{}",
        g.id,
        query.get("roles").unwrap_or_default()
    );
    let (items, next) = page(&keyed, query.get("pageToken"), &context, max)?;
    let items = items
        .into_iter()
        .map(|u| render_member(&state, group, u))
        .collect();
    Ok(Json(list_response(
        "admin#directory#members",
        "members",
        items,
        next,
    ))
    .into_response())
}

/// `members.patch` (and `update`) with `{"role"}`: the member; 404 `memberKey` for a
/// non-member.
pub(crate) async fn patch_member(
    State(app): State<AppState>,
    Path((group_key, member_key)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let body = json_object(&body)?;
    let role = string_field(&body, "role")?
        .map(|r| group_role(&r))
        .transpose()?;
    let mut state = app.domain();
    let group = state
        .find_group(&group_key)
        .ok_or_else(|| GoogleError::not_found("groupKey"))?;
    let user = state
        .find_user(&member_key)
        .filter(|&u| state.groups[group].members.contains(&u))
        .ok_or_else(|| GoogleError::not_found("memberKey"))?;
    if let Some(role) = role {
        let changed = state.groups[group].role_of(user) != Some(role);
        state.groups[group].set_role(user, role);
        let subject = state.users[user].id.clone();
        let object = format!("{}/{role}", state.groups[group].id);
        state
            .effects
            .record("set_group_role", &subject, &object, changed);
    }
    Ok(Json(render_member(&state, group, user)).into_response())
}

fn flag(query: &Query, key: &str) -> bool {
    query
        .get(key)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Whether the caller sees every shared drive: `useDomainAdminAccess=true` from an
/// administrator (403 from anyone else).
fn domain_admin(state: &GoogleState, caller: &Caller, query: &Query) -> Result<bool, GoogleError> {
    if !flag(query, "useDomainAdminAccess") {
        return Ok(false);
    }
    match caller.subject {
        Some(u) if state.users[u].is_admin => Ok(true),
        _ => Err(GoogleError::not_authorized()),
    }
}

fn is_member(state: &GoogleState, drive: usize, caller: &Caller) -> bool {
    caller.subject.is_some_and(|u| {
        state.sweep.drives[drive]
            .permissions
            .iter()
            .any(|p| p.user == u)
    })
}

/// The shared drive `id` as the caller may reach it, or Drive's "File not found".
fn reach(
    state: &GoogleState,
    caller: &Caller,
    query: &Query,
    id: &str,
) -> Result<usize, GoogleError> {
    let admin = domain_admin(state, caller, query)?;
    state
        .sweep
        .find(id)
        .filter(|&d| flag(query, "supportsAllDrives") && (admin || is_member(state, d, caller)))
        .ok_or_else(|| GoogleError::drive_not_found("File", id))
}

fn page_size(query: &Query, default: usize, max: usize) -> Result<usize, GoogleError> {
    let Some(raw) = query.get("pageSize") else {
        return Ok(default);
    };
    match raw.trim().parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(GoogleError::invalid_input("pageSize")),
    }
}

/// `drives.list`: every shared drive with `useDomainAdminAccess=true`, else the caller's.
async fn list_drives(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = Query::parse(raw);
    let max = page_size(&query, 10, 100)?;
    let state = app.domain();
    let max = paging(&state, &query, max)?;
    let admin = domain_admin(&state, &caller, &query)?;
    let keyed: Vec<(u64, usize)> = (0..state.sweep.drives.len())
        .filter(|&d| admin || is_member(&state, d, &caller))
        .map(|d| (state.sweep.drives[d].seq, d))
        .collect();
    let context = format!("drives/{admin}");
    let (items, next) = page(&keyed, query.get("pageToken"), &context, max)?;
    let drives: Vec<Value> = items
        .into_iter()
        .map(|d| {
            let d = &state.sweep.drives[d];
            json!({"kind": "drive#drive", "id": d.id, "name": d.name})
        })
        .collect();
    let mut out = json!({"kind": "drive#driveList", "drives": drives});
    if let Some(next) = next {
        out["nextPageToken"] = json!(next);
    }
    Ok(Json(out).into_response())
}

/// A permission as Drive renders it: `kind`, `id`, `type` and `role` by default; the address
/// and name only when `fields` names them (`permissions(id,emailAddress,…)` or `*`).
fn render_permission(state: &GoogleState, p: &DrivePermission, fields: Option<&str>) -> Value {
    let u = &state.users[p.user];
    let mut v = json!({"kind": "drive#permission", "id": p.id, "type": "user", "role": p.role});
    let asks = |f: &str| fields.is_some_and(|all| all.contains('*') || all.contains(f));
    if asks("emailAddress") {
        v["emailAddress"] = json!(u.primary_email);
    }
    if asks("displayName") {
        v["displayName"] = json!(format!("{} {}", u.given_name, u.family_name).trim());
    }
    v
}

async fn list_permissions(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = Query::parse(raw);
    let max = page_size(&query, 100, 100)?;
    let state = app.domain();
    let max = paging(&state, &query, max)?;
    let drive = reach(&state, &caller, &query, &file)?;
    let d = &state.sweep.drives[drive];
    let keyed: Vec<(u64, usize)> = d
        .permissions
        .iter()
        .enumerate()
        .map(|(i, p)| (p.seq, i))
        .collect();
    let (items, next) = page(
        &keyed,
        query.get("pageToken"),
        &format!("perms/{file}"),
        max,
    )?;
    let permissions: Vec<Value> = items
        .into_iter()
        .map(|i| render_permission(&state, &d.permissions[i], query.get("fields")))
        .collect();
    let mut out = json!({"kind": "drive#permissionList", "permissions": permissions});
    if let Some(next) = next {
        out["nextPageToken"] = json!(next);
    }
    Ok(Json(out).into_response())
}

/// `permissions.create` with `{"type": "user", "role", "emailAddress"}`; a user who is already
/// a member has that permission's role set instead, as Drive does for a file.
async fn create_permission(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult {
    let query = Query::parse(raw);
    let body = json_object(&body)?;
    if string_field(&body, "type")?.as_deref() != Some("user") {
        return Err(GoogleError::invalid_argument(
            "The permission type field is required.",
        ));
    }
    let role = drive_role(&string_field(&body, "role")?.unwrap_or_default())?;
    let email = string_field(&body, "emailAddress")?.unwrap_or_default();
    let mut state = app.domain();
    let drive = reach(&state, &caller, &query, &file)?;
    let user = state.find_user(&email).ok_or_else(|| {
        GoogleError::invalid_argument("The email address of a user is not valid.")
    })?;
    let seq = state.sweep.seq();
    let id = state.users[user].id.clone();
    let d = &mut state.sweep.drives[drive];
    let at = match d.permissions.iter().position(|p| p.user == user) {
        Some(at) => at,
        None => {
            d.permissions.push(DrivePermission {
                id,
                user,
                role: String::new(),
                seq,
            });
            d.permissions.len() - 1
        }
    };
    d.permissions[at].role = role;
    let p = d.permissions[at].clone();
    state
        .effects
        .record("add_drive_permission", &p.id, &file, true);
    Ok(Json(render_permission(&state, &p, query.get("fields"))).into_response())
}

fn permission_at(state: &GoogleState, drive: usize, id: &str) -> Result<usize, GoogleError> {
    state.sweep.drives[drive]
        .permissions
        .iter()
        .position(|p| p.id == id)
        .ok_or_else(|| GoogleError::drive_not_found("Permission", id))
}

/// `permissions.update` with `{"role"}`.
async fn update_permission(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((file, perm)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult {
    let query = Query::parse(raw);
    let body = json_object(&body)?;
    let role = drive_role(&string_field(&body, "role")?.unwrap_or_default())?;
    let mut state = app.domain();
    let drive = reach(&state, &caller, &query, &file)?;
    let at = permission_at(&state, drive, &perm)?;
    state.sweep.drives[drive].permissions[at].role = role;
    let p = state.sweep.drives[drive].permissions[at].clone();
    state.effects.record("set_drive_role", &p.id, &file, true);
    Ok(Json(render_permission(&state, &p, query.get("fields"))).into_response())
}

async fn delete_permission(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((file, perm)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = Query::parse(raw);
    let mut state = app.domain();
    let drive = reach(&state, &caller, &query, &file)?;
    let at = permission_at(&state, drive, &perm)?;
    state.sweep.drives[drive].permissions.remove(at);
    state
        .effects
        .record("remove_drive_permission", &perm, &file, true);
    Ok(StatusCode::NO_CONTENT.into_response())
}
