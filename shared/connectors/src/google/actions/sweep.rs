//! The shared-resource sweep on Google Workspace (`SweepSharedAccess`): the groups the leaver
//! owns and the shared drives they manage are handed to the manager before the leaver's
//! memberships go (the plan orders it before `RemoveGroups`).
//!
//! - A group: `groups.list?userKey=` read to its end, then `members.list?roles=OWNER` of each
//!   group read to its end. Where the leaver is the only owner, the manager is made an owner
//!   first (`members.insert` with role `OWNER`, or `members.patch` when already a member);
//!   then the leaver's role goes back to `MEMBER` (`members.patch`), which `RemoveGroups`
//!   removes later. Google lets a group lose its last owner, so without a manager the leaver
//!   stays its owner and the group is reported with who must act.
//! - A shared drive: `drives.list?useDomainAdminAccess=true` and, for each drive,
//!   `permissions.list?supportsAllDrives=true&useDomainAdminAccess=true`, both read to their
//!   end. Where the leaver is the only manager (`organizer`), the manager is made one first
//!   (`permissions.create`, or `permissions.update` when already a member); then the leaver's
//!   permission is deleted.
//!
//! Each group's owners and each drive's members are read back after the change.
//!
//! # The record a restore reverses
//!
//! When the tenant sweeps, the snapshot's output carries
//! - `owned_groups`: `[{"id", "email", "name", "owners": [address]}]` — given back with
//!   `members.patch {"role": "OWNER"}` (`members.insert` once the membership is back);
//! - `shared_drives`: `[{"id", "name", "permission_id", "organizers": [address]}]` — given
//!   back with `permissions.create {"type": "user", "role": "organizer", "emailAddress"}`;
//! - or `owned_unreadable` / `shared_drives_unreadable` with why, when a list could not be
//!   read to its end (then nothing unrecorded is graded absent);
//!
//! and its `access` lists `{"kind": "ownership", "id": "group:<id>" | "shared_drive:<id>"}`.

use super::*;
use crate::handover::{Handed, Handovers};

/// Drive's `organizer` is the Admin console's "Manager" of a shared drive.
const ORGANIZER: &str = "organizer";

/// `{drive base}/drive/v3/{rest…}` with the query every shared-drive call needs.
fn drive(api: &Api, rest: &[&str], query: &[(&str, &str)]) -> url::Url {
    let mut segments = vec!["drive", "v3"];
    segments.extend_from_slice(rest);
    let mut url = api.url(Service::Drive, &segments);
    let mut pairs = url.query_pairs_mut();
    pairs.append_pair("useDomainAdminAccess", "true");
    for (k, v) in query {
        pairs.append_pair(k, v);
    }
    drop(pairs);
    url
}

fn members_url(api: &Api, group: &str, rest: &[&str]) -> url::Url {
    let mut segments = vec!["groups", group, "members"];
    segments.extend_from_slice(rest);
    directory(api, &segments)
}

/// A group's owners, every page read.
async fn owners(api: &Api, group: &str, calls: &mut Calls) -> Result<Vec<Value>, ActionFailure> {
    let mut url = members_url(api, group, &[]);
    url.query_pairs_mut()
        .append_pair("roles", "OWNER")
        .append_pair("maxResults", "200");
    api.list(
        url,
        "members",
        As::Admin,
        scopes::DIRECTORY_GROUP_READONLY,
        calls,
    )
    .await
}

fn addresses(list: &[Value], key: &str) -> Vec<String> {
    list.iter().map(|v| text(v, key)).collect()
}

/// The groups the leaver owns, each with its owners.
async fn owned_groups(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<Vec<Value>, ActionFailure> {
    let mut out = Vec::new();
    for g in groups(api, user, calls).await? {
        let id = text(&g, "id");
        let owners = owners(api, &id, calls).await?;
        if owners.iter().any(|o| text(o, "id") == user.id) {
            out.push(json!({
                "id": id,
                "email": g["email"],
                "name": g["name"],
                "owners": addresses(&owners, "email"),
            }));
        }
    }
    Ok(out)
}

/// Every shared drive of the domain, every page read.
async fn shared_drives(api: &Api, calls: &mut Calls) -> Result<Vec<Value>, ActionFailure> {
    let url = drive(api, &["drives"], &[("pageSize", "100")]);
    api.list(url, "drives", As::Admin, scopes::DRIVE, calls)
        .await
}

/// A shared drive's members, every page read. Drive leaves a permission's address out unless
/// `fields` asks for it.
async fn drive_members(
    api: &Api,
    id: &str,
    calls: &mut Calls,
) -> Result<Vec<Value>, ActionFailure> {
    let query = [
        ("supportsAllDrives", "true"),
        ("pageSize", "100"),
        (
            "fields",
            "nextPageToken,permissions(id,type,emailAddress,role)",
        ),
    ];
    let url = drive(api, &["files", id, "permissions"], &query);
    api.list(url, "permissions", As::Admin, scopes::DRIVE, calls)
        .await
}

fn holder<'a>(members: &'a [Value], email: &str) -> Option<&'a Value> {
    members
        .iter()
        .find(|p| text(p, "type") == "user" && same(&text(p, "emailAddress"), email))
}

fn organizers(members: &[Value]) -> Vec<String> {
    members
        .iter()
        .filter(|p| text(p, "role") == ORGANIZER)
        .map(|p| text(p, "emailAddress"))
        .collect()
}

/// The shared drives the leaver manages, each with its managers.
async fn managed_drives(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<Vec<Value>, ActionFailure> {
    let mut out = Vec::new();
    for d in shared_drives(api, calls).await? {
        let id = text(&d, "id");
        let members = drive_members(api, &id, calls).await?;
        let Some(own) = holder(&members, &user.email).filter(|p| text(p, "role") == ORGANIZER)
        else {
            continue;
        };
        out.push(json!({
            "id": id,
            "name": d["name"],
            "permission_id": own["id"],
            "organizers": organizers(&members),
        }));
    }
    Ok(out)
}

fn group_item(g: &Value) -> String {
    format!("group:{}", text(g, "id"))
}

fn drive_item(d: &Value) -> String {
    format!("shared_drive:{}", text(d, "id"))
}

/// Adds the sweep's record to the snapshot's output (see the module's doc). A list that fails
/// is recorded as unreadable rather than failing the snapshot: the lockout must not wait on a
/// shared drive list, and the sweep step re-reads and holds the run instead.
pub(super) async fn record(api: &Api, user: &User, output: &mut Value, calls: &mut Calls) {
    let mut access = Vec::new();
    match owned_groups(api, user, calls).await {
        Ok(owned) => {
            access.extend(owned.iter().map(|g| {
                json!({"kind": "ownership", "id": group_item(g), "name": format!("owner of group {}", text(g, "email"))})
            }));
            output["owned_groups"] = Value::Array(owned);
        }
        Err(e) => output["owned_unreadable"] = json!(format!("{}: {}", e.code, e.message)),
    }
    match managed_drives(api, user, calls).await {
        Ok(drives) => {
            access.extend(drives.iter().map(|d| {
                json!({"kind": "ownership", "id": drive_item(d), "name": format!("manager of shared drive {}", text(d, "name"))})
            }));
            output["shared_drives"] = Value::Array(drives);
        }
        Err(e) => {
            output["shared_drives_unreadable"] = json!(format!("{}: {}", e.code, e.message));
        }
    }
    if let Some(list) = output["access"].as_array_mut() {
        list.extend(access);
    }
}

/// `SweepSharedAccess`: every owned group and managed shared drive handed over and read back,
/// or reported with who must act.
pub(super) async fn sweep(
    api: &Api,
    req: &ActionRequest,
    user: &User,
    calls: &mut Calls,
) -> Outcome {
    let manager = match req.delegate.as_deref() {
        Some(address) => lookup_user(api, address, calls).await?,
        None => None,
    };
    let groups = owned_groups(api, user, calls).await?;
    let drives = managed_drives(api, user, calls).await?;
    let mut done = Handovers::default();
    for g in &groups {
        let outcome = hand_over_group(api, g, user, manager.as_ref(), calls).await?;
        done.file(&group_item(g), outcome);
    }
    for d in &drives {
        let outcome = hand_over_drive(api, d, user, manager.as_ref(), calls).await?;
        done.file(&drive_item(d), outcome);
    }
    let Handovers { handed, said } = done;
    let heir = manager
        .as_ref()
        .map_or("nobody (no manager with a Google account on record)", |m| {
            m.email.as_str()
        });
    let given = handed
        .iter()
        .filter(|h| !h["new_owner"].is_null() || !h["new_organizer"].is_null())
        .count();
    Ok(ActionDone {
        repeat: handed.is_empty() && said.is_empty(),
        summary: format!(
            "{} owned groups and {} managed shared drives: the leaver taken off {}, {given} of them first given to {heir} (the rest have another owner); {} reported (who must act named)",
            groups.len(),
            drives.len(),
            handed.len(),
            said.len()
        ),
        readback: json!({"user_id": user.id, "handed_over": handed}),
        output: json!({"handed_over": handed, "access": said}),
    })
}

/// Makes `manager` an owner of `group`: added with the role, or, when already a member
/// (409 `duplicate`), promoted.
async fn make_owner(
    api: &Api,
    group: &str,
    manager: &User,
    calls: &mut Calls,
) -> Result<(), ActionFailure> {
    let body = json!({"email": manager.email, "role": "OWNER"});
    let answer = api
        .call(
            Method::POST,
            members_url(api, group, &[]),
            As::Admin,
            scopes::DIRECTORY_GROUP_MEMBER,
            Some(&body),
            &[StatusCode::CONFLICT],
            calls,
        )
        .await?;
    if answer.status == StatusCode::CONFLICT {
        set_role(api, group, &manager.id, "OWNER", calls).await?;
    }
    Ok(())
}

/// `members.patch` of one member's role; 404 (no longer a member) is left to the read-back.
async fn set_role(
    api: &Api,
    group: &str,
    member: &str,
    role: &str,
    calls: &mut Calls,
) -> Result<(), ActionFailure> {
    api.call(
        Method::PATCH,
        members_url(api, group, &[member]),
        As::Admin,
        scopes::DIRECTORY_GROUP_MEMBER,
        Some(&json!({"role": role})),
        &[StatusCode::NOT_FOUND],
        calls,
    )
    .await
    .map(drop)
}

/// The leaver's ownership of one group goes, the manager first made an owner where the leaver
/// is the only one; the owners are read back.
async fn hand_over_group(
    api: &Api,
    group: &Value,
    user: &User,
    manager: Option<&User>,
    calls: &mut Calls,
) -> Result<Handed, ActionFailure> {
    let id = text(group, "id");
    let email = text(group, "email");
    let before = owners(api, &id, calls).await?;
    let sole = before.iter().all(|o| text(o, "id") == user.id);
    let heir = match (sole, manager) {
        (true, None) => {
            return Ok(Handed::Stuck(format!(
                "the leaver is the only owner of {email} and no manager with a Google account is on record; \
                 once the leaver's memberships are removed the group has no owner: a Workspace administrator must name one \
                 (Admin console → Directory → Groups → {email} → Members → Owner)"
            )));
        }
        (true, Some(m)) => {
            make_owner(api, &id, m, calls).await?;
            Some(m)
        }
        (false, _) => None,
    };
    set_role(api, &id, &user.id, "MEMBER", calls).await?;
    let after = owners(api, &id, calls).await?;
    if after.iter().any(|o| text(o, "id") == user.id) {
        return Err(mismatch(format!(
            "the leaver still owns {email} after the role change"
        )));
    }
    if let Some(m) = heir
        && !after.iter().any(|o| text(o, "id") == m.id)
    {
        return Err(permanent(
            "owner_not_added",
            format!("{email}: the manager is not listed among its owners after being made one"),
        ));
    }
    Ok(Handed::Done(json!({
        "type": "group",
        "id": id,
        "email": email,
        "new_owner": heir.map(|m| m.email.clone()),
        "owners_after": addresses(&after, "email"),
    })))
}

/// The leaver leaves one shared drive they manage, the manager first made a manager where the
/// leaver is the only one; the drive's members are read back.
async fn hand_over_drive(
    api: &Api,
    shared: &Value,
    user: &User,
    manager: Option<&User>,
    calls: &mut Calls,
) -> Result<Handed, ActionFailure> {
    let id = text(shared, "id");
    let name = text(shared, "name");
    let before = drive_members(api, &id, calls).await?;
    let sole = organizers(&before).iter().all(|o| same(o, &user.email));
    let heir = match (sole, manager) {
        (true, None) => {
            return Ok(Handed::Stuck(format!(
                "the leaver is the only manager of the shared drive {name} and no manager with a Google account is on record: \
                 a Workspace administrator must add a manager (Admin console → Apps → Google Workspace → Drive and Docs → \
                 Manage shared drives → {name} → Manage members), then remove the leaver"
            )));
        }
        (true, Some(m)) => {
            make_organizer(api, &id, &before, m, calls).await?;
            Some(m)
        }
        (false, _) => None,
    };
    if let Some(own) = holder(&before, &user.email) {
        let perm = text(own, "id");
        let query = [("supportsAllDrives", "true")];
        api.call(
            Method::DELETE,
            drive(api, &["files", &id, "permissions", &perm], &query),
            As::Admin,
            scopes::DRIVE,
            None,
            &[StatusCode::NOT_FOUND],
            calls,
        )
        .await?;
    }
    let after = drive_members(api, &id, calls).await?;
    if holder(&after, &user.email).is_some() {
        return Err(mismatch(format!(
            "the leaver is still a member of the shared drive {name} after removal"
        )));
    }
    if let Some(m) = heir
        && holder(&after, &m.email).is_none_or(|p| text(p, "role") != ORGANIZER)
    {
        return Err(permanent(
            "manager_not_added",
            format!(
                "{name}: the manager is not a manager of the shared drive after being made one"
            ),
        ));
    }
    Ok(Handed::Done(json!({
        "type": "shared_drive",
        "id": id,
        "name": name,
        "new_organizer": heir.map(|m| m.email.clone()),
        "organizers_after": organizers(&after),
    })))
}

/// Makes `manager` an organizer of the drive: their permission's role raised, or a new one.
async fn make_organizer(
    api: &Api,
    id: &str,
    members: &[Value],
    manager: &User,
    calls: &mut Calls,
) -> Result<(), ActionFailure> {
    let query = [("supportsAllDrives", "true")];
    let (method, url, body) = match holder(members, &manager.email) {
        Some(p) => (
            Method::PATCH,
            drive(api, &["files", id, "permissions", &text(p, "id")], &query),
            json!({"role": ORGANIZER}),
        ),
        None => (
            Method::POST,
            drive(api, &["files", id, "permissions"], &query),
            json!({"type": "user", "role": ORGANIZER, "emailAddress": manager.email}),
        ),
    };
    api.call(
        method,
        url,
        As::Admin,
        scopes::DRIVE,
        Some(&body),
        &[],
        calls,
    )
    .await
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_name_the_group_or_drive_by_id() {
        assert_eq!(group_item(&json!({"id": "g1"})), "group:g1");
        assert_eq!(drive_item(&json!({"id": "0AD1"})), "shared_drive:0AD1");
    }

    #[test]
    fn only_a_user_permission_with_the_address_is_the_leavers() {
        let members = [
            json!({"id": "1", "type": "group", "emailAddress": "jane@example.com", "role": "organizer"}),
            json!({"id": "2", "type": "user", "emailAddress": "Jane@Example.com", "role": "writer"}),
        ];
        assert_eq!(
            holder(&members, "jane@example.com").map(|p| text(p, "id")),
            Some("2".to_owned())
        );
        assert_eq!(organizers(&members), ["jane@example.com"]);
    }
}
