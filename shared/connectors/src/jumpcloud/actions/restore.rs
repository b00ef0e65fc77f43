//! A restore run's steps at JumpCloud: the account unsuspended and the user groups the leaver
//! run removed re-joined. Each reads first, acts only where needed and reads back.

use super::*;

/// Unsuspends the account (`PUT /systemusers/{id}` with `suspended: false`).
pub(super) async fn reactivate(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let repeat = !user.is_suspended();
    if !repeat {
        api.call(
            Method::PUT,
            api.url(&["api", "systemusers", &user.id]),
            Some(&json!({"suspended": false})),
            &[],
            calls,
        )
        .await?;
    }
    let after = get_user(api, &user.id, calls).await?;
    if after.is_suspended() {
        return Err(mismatch(format!(
            "user {} reads back as state {} (suspended {}) after unsuspending",
            after.id, after.state, after.suspended
        )));
    }
    Ok(ActionDone {
        repeat,
        summary: if repeat {
            "the account was not suspended; nothing changed".into()
        } else {
            format!("unsuspended the account (now {})", after.state)
        },
        readback: after.view(),
        output: Value::Null,
    })
}

/// Re-adds the user to each user group the restore names.
pub(super) async fn restore_groups(
    api: &Api,
    req: &ActionRequest,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let wanted = req.restore_items();
    let before = group_ids(api, user, calls).await?;
    let missing: Vec<_> = wanted.iter().filter(|i| !before.contains(&i.id)).collect();
    for item in &missing {
        api.call(
            Method::POST,
            api.url(&["api", "v2", "usergroups", &item.id, "members"]),
            Some(&json!({"op": "add", "type": "user", "id": user.id})),
            &[StatusCode::CONFLICT],
            calls,
        )
        .await?;
    }
    let after = group_ids(api, user, calls).await?;
    let absent: Vec<&str> = wanted
        .iter()
        .filter(|i| !after.contains(&i.id))
        .map(|i| i.name.as_str())
        .collect();
    if !absent.is_empty() {
        return Err(mismatch(format!(
            "not listed in {} after re-adding",
            absent.join(", ")
        )));
    }
    Ok(ActionDone {
        repeat: missing.is_empty(),
        summary: format!(
            "re-added the user to {} of {} user groups",
            missing.len(),
            wanted.len()
        ),
        readback: json!({"user_id": user.id, "memberof": after}),
        output: json!({"restored": missing.iter().map(|i| &i.key).collect::<Vec<_>>()}),
    })
}
