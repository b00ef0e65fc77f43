//! What a leaver holds on resources beyond their own account, as Graph serves it: group
//! ownership (`/groups/{id}/owners`, `/users/{id}/ownedObjects`), app registrations and their
//! owners, and the leaver's OneDrive root with its permissions and sharing links
//! (`/users/{id}/drive`, `…/drives/{drive}/items/root/invite`, `…/permissions`). SendAs and
//! SendOnBehalf grants on shared mailboxes live here too; Exchange's cmdlets serve them
//! (`exchange_grants.rs`).
//!
//! Graph's refusals: removing a group's last owner (`400 Request_BadRequest`), adding an owner
//! twice (`400`, "already exist"); `ownedObjects` is paged by `$top`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use crate::microsoft::errors::GraphError;
use crate::microsoft::gate::Caller;
use crate::microsoft::odata::Query;
use crate::microsoft::routes::{ApiResult, collection, json_object, need, perms, resolve_user};
use crate::microsoft::service::AppState;
use crate::microsoft::state::TenantState;

/// An app registration (`/applications`) and its owners (user indexes).
#[derive(Clone, Debug)]
pub(crate) struct AppRegistration {
    pub id: String,
    pub app_id: String,
    pub display_name: String,
    pub owners: Vec<usize>,
}

/// One permission on a OneDrive root: a person's grant, or a sharing link.
#[derive(Clone, Debug)]
pub(crate) struct DrivePermission {
    pub id: String,
    pub roles: Vec<String>,
    /// UPN of the person granted (a direct grant).
    pub grantee: Option<String>,
    /// `(scope, type)` of a sharing link: `anonymous`/`organization`, `view`/`edit`.
    pub link: Option<(String, String)>,
}

/// A user's OneDrive.
#[derive(Clone, Debug)]
pub(crate) struct DriveRecord {
    pub user: usize,
    pub id: String,
    pub permissions: Vec<DrivePermission>,
}

/// The leaver-adjacent resources, beside the tenant's users and groups.
#[derive(Debug, Default)]
pub(crate) struct SweepBook {
    /// (mailbox owner, trustee UPN): `SendAs` rights (`Get-RecipientPermission`).
    pub send_as: Vec<(usize, String)>,
    /// (mailbox owner, delegate UPN): `GrantSendOnBehalfTo`.
    pub send_on_behalf: Vec<(usize, String)>,
    /// (group, user): group owners.
    pub owners: Vec<(usize, usize)>,
    pub apps: Vec<AppRegistration>,
    pub drives: Vec<DriveRecord>,
    /// Knob: pages after the first of the shared-mailbox list fail with a 500.
    pub fail_shared_mailbox_pages: bool,
    /// People's permissions on calendars (`calendarPermissions`), beside each mailbox's
    /// "My Organization" entry, which is not stored (`calendar.rs`).
    pub calendar: Vec<crate::microsoft::calendar::CalendarGrant>,
    /// Knob: inbox-rule and calendar-permission lists page one item at a time and every page
    /// after the first fails with a 500.
    pub fail_mail_pages: bool,
}

impl SweepBook {
    pub(crate) fn owners_of(&self, group: usize) -> Vec<usize> {
        self.owners
            .iter()
            .filter(|(g, _)| *g == group)
            .map(|(_, u)| *u)
            .collect()
    }

    pub(crate) fn drive_of(&self, user: usize) -> Option<usize> {
        self.drives.iter().position(|d| d.user == user)
    }
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1.0/users/{id}/ownedObjects", get(owned_objects))
        .route("/v1.0/groups/{id}/owners", get(list_owners))
        .route("/v1.0/groups/{id}/owners/$ref", post(add_owner))
        .route(
            "/v1.0/groups/{id}/owners/{member}/$ref",
            delete(remove_owner),
        )
        .route("/v1.0/users/{id}/drive", get(get_drive))
        .route(
            "/v1.0/users/{id}/drives/{drive}/items/{item}/invite",
            post(invite),
        )
        .route(
            "/v1.0/users/{id}/drives/{drive}/items/{item}/permissions",
            get(list_permissions),
        )
        .route(
            "/v1.0/users/{id}/drives/{drive}/items/{item}/permissions/{perm}",
            delete(delete_permission),
        )
}

fn user_object(state: &TenantState, user: usize) -> Value {
    let u = &state.users[user];
    json!({
        "@odata.type": "#microsoft.graph.user",
        "id": u.id,
        "userPrincipalName": u.upn,
        "displayName": u.display_name,
        "mail": u.mail,
    })
}

fn owned(state: &TenantState, user: usize) -> Vec<Value> {
    let groups = state
        .sweep
        .owners
        .iter()
        .filter(|(_, u)| *u == user)
        .map(|(g, _)| {
            let g = &state.groups[*g];
            json!({
                "@odata.type": "#microsoft.graph.group",
                "id": g.id,
                "displayName": g.display_name,
                "mail": g.mail,
                "groupTypes": if g.kind == crate::microsoft::model::GroupKind::Microsoft365 { json!(["Unified"]) } else { json!([]) },
            })
        });
    let apps = state
        .sweep
        .apps
        .iter()
        .filter(|a| a.owners.contains(&user))
        .map(|a| {
            json!({
                "@odata.type": "#microsoft.graph.application",
                "id": a.id,
                "appId": a.app_id,
                "displayName": a.display_name,
            })
        });
    groups.chain(apps).collect()
}

/// `GET /users/{id}/ownedObjects`: groups and applications, `$top` (default 100) a page.
async fn owned_objects(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    need(&caller, perms::GROUP_READ)?;
    let q = Query::parse(raw);
    let top = q.top(100)?;
    let after = q.skiptoken()?.unwrap_or(0);
    let state = app.tenant();
    let user = resolve_user(&state, &id)?;
    let all = owned(&state, user);
    let base = &app.shared.base_url;
    let path = format!("/v1.0/users/{id}/ownedObjects");
    let (next, page) = q.page_of(all, after, top, base, &path);
    Ok(collection(
        format!("{base}/v1.0/$metadata#directoryObjects"),
        next,
        page,
    ))
}

fn group_index(state: &TenantState, id: &str) -> Result<usize, GraphError> {
    state
        .find_group(id)
        .ok_or_else(|| GraphError::resource_not_found(id))
}

async fn list_owners(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult {
    need(&caller, perms::GROUP_READ)?;
    let state = app.tenant();
    let group = group_index(&state, &id)?;
    let value = state
        .sweep
        .owners_of(group)
        .into_iter()
        .map(|u| user_object(&state, u))
        .collect();
    Ok(collection(
        format!("{}/v1.0/$metadata#directoryObjects", app.shared.base_url),
        None,
        value,
    ))
}

/// `POST /groups/{id}/owners/$ref` with `{"@odata.id": "…/directoryObjects/{user-id}"}`.
async fn add_owner(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    need(&caller, perms::MEMBER_WRITE)?;
    let body = json_object(&body)?;
    let reference = body
        .get("@odata.id")
        .and_then(Value::as_str)
        .ok_or_else(|| GraphError::bad_request("Invalid object identifier ''."))?;
    let user_id = reference.rsplit('/').next().unwrap_or_default();
    let mut state = app.tenant();
    let group = group_index(&state, &id)?;
    let user = resolve_user(&state, user_id)?;
    if state.sweep.owners.contains(&(group, user)) {
        return Err(GraphError::bad_request(
            "One or more added object references already exist for the following modified properties: 'owners'.",
        ));
    }
    state.sweep.owners.push((group, user));
    let subject = state.users[user].id.clone();
    state.effects.record("add_owner", &subject, &id, true);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /groups/{id}/owners/{user}/$ref`: Graph refuses to remove the last owner.
async fn remove_owner(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, member)): Path<(String, String)>,
) -> ApiResult {
    need(&caller, perms::MEMBER_WRITE)?;
    let mut state = app.tenant();
    let group = group_index(&state, &id)?;
    let user = resolve_user(&state, &member)?;
    let Some(at) = state.sweep.owners.iter().position(|o| *o == (group, user)) else {
        return Err(GraphError::resource_not_found(&member));
    };
    if state.sweep.owners_of(group).len() == 1 {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "The group must have at least one owner, hence this owner cannot be removed.",
        ));
    }
    state.sweep.owners.remove(at);
    let subject = state.users[user].id.clone();
    state.effects.record("remove_owner", &subject, &id, true);
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn drive_json(state: &TenantState, drive: usize) -> Value {
    let d = &state.sweep.drives[drive];
    let u = &state.users[d.user];
    json!({
        "id": d.id,
        "driveType": "business",
        "owner": {"user": {"id": u.id, "displayName": u.display_name}},
    })
}

fn permission_json(p: &DrivePermission) -> Value {
    let mut v = json!({"id": p.id, "roles": p.roles});
    if let Some(upn) = &p.grantee {
        v["grantedToV2"] = json!({"user": {"email": upn}});
    }
    if let Some((scope, kind)) = &p.link {
        v["link"] = json!({"scope": scope, "type": kind, "webUrl": format!("https://example-my.sharepoint.com/:f:/s/{}", p.id)});
    }
    v
}

/// The leaver's drive, as the caller names it: the user, then the drive id.
fn drive_at(state: &TenantState, id: &str, drive: Option<&str>) -> Result<usize, GraphError> {
    let user = resolve_user(state, id)?;
    let found = state
        .sweep
        .drive_of(user)
        .filter(|d| drive.is_none_or(|want| state.sweep.drives[*d].id.eq_ignore_ascii_case(want)));
    found.ok_or_else(|| {
        GraphError::new(
            StatusCode::NOT_FOUND,
            "itemNotFound",
            "The resource could not be found.",
        )
    })
}

fn root_only(item: &str) -> Result<(), GraphError> {
    if item.eq_ignore_ascii_case("root") {
        Ok(())
    } else {
        Err(GraphError::new(
            StatusCode::NOT_FOUND,
            "itemNotFound",
            "The resource could not be found.",
        ))
    }
}

const FILES_WRITE: &[&str] = &[
    "Files.ReadWrite.All",
    "Sites.ReadWrite.All",
    "Sites.FullControl.All",
];
const FILES_READ: &[&str] = &[
    "Files.Read.All",
    "Files.ReadWrite.All",
    "Sites.Read.All",
    "Sites.ReadWrite.All",
    "Sites.FullControl.All",
];

async fn get_drive(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult {
    need(&caller, FILES_READ)?;
    let state = app.tenant();
    let drive = drive_at(&state, &id, None)?;
    Ok(Json(drive_json(&state, drive)).into_response())
}

async fn list_permissions(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, drive, item)): Path<(String, String, String)>,
) -> ApiResult {
    need(&caller, FILES_READ)?;
    root_only(&item)?;
    let state = app.tenant();
    let drive = drive_at(&state, &id, Some(&drive))?;
    let value = state.sweep.drives[drive]
        .permissions
        .iter()
        .map(permission_json)
        .collect();
    Ok(collection(
        format!("{}/v1.0/$metadata#permissions", app.shared.base_url),
        None,
        value,
    ))
}

/// `POST …/items/root/invite`: grants each recipient the roles (`read` or `write`); a
/// recipient already granted keeps one permission, its roles widened.
async fn invite(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, drive, item)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    need(&caller, FILES_WRITE)?;
    root_only(&item)?;
    let body = json_object(&body)?;
    let roles: Vec<String> = body
        .get("roles")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let recipients: Vec<String> = body
        .get("recipients")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|x| x["email"].as_str())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if roles.is_empty() || recipients.is_empty() {
        return Err(GraphError::bad_request(
            "Invalid request: roles and recipients are required.",
        ));
    }
    let mut state = app.tenant();
    let drive = drive_at(&state, &id, Some(&drive))?;
    let mut granted = Vec::new();
    for email in recipients {
        let guid = state.new_guid();
        let d = &mut state.sweep.drives[drive];
        let at = d.permissions.iter().position(|p| {
            p.grantee
                .as_deref()
                .is_some_and(|g| g.eq_ignore_ascii_case(&email))
        });
        let at = match at {
            Some(at) => at,
            None => {
                d.permissions.push(DrivePermission {
                    id: guid,
                    roles: Vec::new(),
                    grantee: Some(email.clone()),
                    link: None,
                });
                d.permissions.len() - 1
            }
        };
        let p = &mut d.permissions[at];
        for r in &roles {
            if !p.roles.contains(r) {
                p.roles.push(r.clone());
            }
        }
        granted.push(permission_json(p));
        let subject = state.users[state.sweep.drives[drive].user].id.clone();
        state.effects.record("grant_drive", &subject, &email, true);
    }
    Ok(collection(
        format!(
            "{}/v1.0/$metadata#Collection(permission)",
            app.shared.base_url
        ),
        None,
        granted,
    ))
}

async fn delete_permission(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, drive, item, perm)): Path<(String, String, String, String)>,
) -> ApiResult {
    need(&caller, FILES_WRITE)?;
    root_only(&item)?;
    let mut state = app.tenant();
    let drive = drive_at(&state, &id, Some(&drive))?;
    let d = &mut state.sweep.drives[drive];
    let Some(at) = d.permissions.iter().position(|p| p.id == perm) else {
        return Err(GraphError::new(
            StatusCode::NOT_FOUND,
            "itemNotFound",
            "The resource could not be found.",
        ));
    };
    d.permissions.remove(at);
    let subject = state.users[state.sweep.drives[drive].user].id.clone();
    state
        .effects
        .record("remove_drive_permission", &subject, &perm, true);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A 500 for a shared-mailbox list page after the first, while the knob is on.
pub(crate) fn shared_page_fault(state: &TenantState, skip: u64) -> Result<(), GraphError> {
    if state.sweep.fail_shared_mailbox_pages && skip > 0 {
        return Err(GraphError::server(500));
    }
    Ok(())
}
