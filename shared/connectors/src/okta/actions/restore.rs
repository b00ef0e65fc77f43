//! A restore run's steps at Okta: unsuspend the account and re-add the groups the leaver run
//! removed. Each reads first, acts only where needed and reads back, like every action.

use super::*;

/// Unsuspends a suspended user. A deactivated one cannot come back this way (Okta
/// deprovisioned its apps); the restore plan lists that, so finding it here is a refusal.
pub(super) async fn reactivate(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    match user.status.as_str() {
        "ACTIVE" => {
            return Ok(ActionDone {
                repeat: true,
                summary: "already ACTIVE; nothing changed".into(),
                readback: user_view(user),
                output: Value::Null,
            });
        }
        "SUSPENDED" => {}
        other => {
            return Err(permanent(
                "cannot_unsuspend",
                format!(
                    "Okta unsuspends only SUSPENDED users and this one is {other}; a deactivated user comes back only by onboarding"
                ),
            ));
        }
    }
    let url = users_url(api, &[&user.id, "lifecycle", "unsuspend"]);
    api.call(Method::POST, url, &[], calls).await?;
    let after = get_user(api, &user.id, calls).await?;
    if after.status != "ACTIVE" {
        return Err(mismatch(format!(
            "status is {} after unsuspending",
            after.status
        )));
    }
    Ok(ActionDone {
        repeat: false,
        summary: "unsuspended (ACTIVE again)".into(),
        readback: user_view(&after),
        output: Value::Null,
    })
}

/// Re-adds each group membership the restore names; read back from the user's groups.
pub(super) async fn restore_groups(
    api: &Api,
    req: &ActionRequest,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let wanted = req.restore_items();
    let before = groups(api, user, calls).await?;
    let missing: Vec<_> = wanted
        .iter()
        .filter(|i| !before.iter().any(|g| g.id == i.id))
        .collect();
    for item in &missing {
        let mut url = api.url("/");
        url.path_segments_mut()
            .expect("http urls have paths")
            .clear()
            .extend(["api", "v1", "groups", &item.id, "users", &user.id]);
        api.call(Method::PUT, url, &[], calls).await?;
    }
    let after = groups(api, user, calls).await?;
    let absent: Vec<&str> = wanted
        .iter()
        .filter(|i| !after.iter().any(|g| g.id == i.id))
        .map(|i| i.name.as_str())
        .collect();
    if !absent.is_empty() {
        return Err(mismatch(format!(
            "not a member again of {} after re-adding",
            absent.join(", ")
        )));
    }
    Ok(ActionDone {
        repeat: missing.is_empty(),
        summary: format!(
            "re-added {} of {} Okta group memberships ({} were already back)",
            missing.len(),
            wanted.len(),
            wanted.len() - missing.len()
        ),
        readback: json!({"user_id": user.id, "groups": after.iter().map(group_view).collect::<Vec<_>>()}),
        output: json!({"restored": missing.iter().map(|i| &i.key).collect::<Vec<_>>()}),
    })
}
