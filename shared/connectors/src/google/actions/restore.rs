//! A restore run's steps on Google Workspace: the account unsuspended, the group memberships
//! and licences the leaver run removed given back, and the mail settings as the snapshot
//! recorded them. Each reads first, acts only where needed and reads back.

use super::*;

/// The original run's snapshot.
fn snapshot(req: &ActionRequest) -> Value {
    req.prior
        .get(&step_key(Provider::Google, Action::Snapshot))
        .cloned()
        .unwrap_or(Value::Null)
}

pub(super) async fn reactivate(api: &Api, user: &User, calls: &mut Calls) -> Outcome {
    super::set_suspended(api, user, false, calls).await
}

pub(super) async fn restore_groups(
    api: &Api,
    req: &ActionRequest,
    user: &User,
    calls: &mut Calls,
) -> Outcome {
    let wanted = req.restore_items();
    let member = |now: &[Value], id: &str| now.iter().any(|g| text(g, "id") == id);
    let before = groups(api, user, calls).await?;
    let missing: Vec<_> = wanted.iter().filter(|i| !member(&before, &i.id)).collect();
    for item in &missing {
        api.call(
            Method::POST,
            directory(api, &["groups", &item.id, "members"]),
            As::Admin,
            scopes::DIRECTORY_GROUP_MEMBER,
            Some(&json!({"email": user.email, "role": "MEMBER"})),
            &[StatusCode::CONFLICT],
            calls,
        )
        .await?;
    }
    let after = groups(api, user, calls).await?;
    let absent: Vec<&str> = wanted
        .iter()
        .filter(|i| !member(&after, &i.id))
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
            "re-added {} of {} group memberships",
            missing.len(),
            wanted.len()
        ),
        readback: json!({"user_id": user.id, "groups": after.iter().map(group_view).collect::<Vec<_>>()}),
        output: json!({"restored": missing.iter().map(|i| &i.key).collect::<Vec<_>>()}),
    })
}

/// Licences are recorded as `product:sku`.
pub(super) async fn restore_licences(
    api: &Api,
    req: &ActionRequest,
    user: &User,
    calls: &mut Calls,
) -> Outcome {
    let wanted = req.restore_items();
    let held = |now: &[(String, String, Value)], id: &str| {
        now.iter().any(|(p, s, _)| format!("{p}:{s}") == id)
    };
    let before = licenses(api, user, calls).await?;
    let missing: Vec<_> = wanted.iter().filter(|i| !held(&before, &i.id)).collect();
    for item in &missing {
        let (product, sku) = item.id.split_once(':').unwrap_or((&item.id, ""));
        let url = api.url(
            Service::Licensing,
            &[
                "apps",
                "licensing",
                "v1",
                "product",
                product,
                "sku",
                sku,
                "user",
            ],
        );
        api.call(
            Method::POST,
            url,
            As::Admin,
            scopes::LICENSING,
            Some(&json!({"userId": user.email})),
            &[StatusCode::CONFLICT],
            calls,
        )
        .await?;
    }
    let after = licenses(api, user, calls).await?;
    let absent: Vec<&str> = wanted
        .iter()
        .filter(|i| !held(&after, &i.id))
        .map(|i| i.name.as_str())
        .collect();
    if !absent.is_empty() {
        return Err(mismatch(format!(
            "licences not assigned after assigning: {}",
            absent.join(", ")
        )));
    }
    Ok(ActionDone {
        repeat: missing.is_empty(),
        summary: format!("re-assigned {} of {} licences", missing.len(), wanted.len()),
        readback: json!({"user_id": user.id, "licenses": after.iter().map(|(p, s, a)| license_view(p, s, a)).collect::<Vec<_>>()}),
        output: json!({"restored": missing.iter().map(|i| &i.key).collect::<Vec<_>>()}),
    })
}

/// Auto-forwarding and the vacation responder back as the snapshot read them (off, when it
/// could not read them: the leaver run turned them on).
pub(super) async fn restore_mailbox(
    api: &Api,
    req: &ActionRequest,
    user: &User,
    calls: &mut Calls,
) -> Outcome {
    let items = req.restore_items();
    let wants = |suffix: &str| items.iter().any(|i| i.key.ends_with(suffix));
    let mail = snapshot(req)["mail"].clone();
    let mut changed = Vec::new();
    if wants(".mailbox.forwarding") {
        let was = &mail["auto_forwarding"];
        let target = if flag(was, "enabled") {
            json!({"enabled": true, "emailAddress": was["emailAddress"], "disposition": was["disposition"]})
        } else {
            json!({"enabled": false})
        };
        let now = auto_forwarding(api, user, calls).await?;
        if flag(&now, "enabled") != flag(&target, "enabled")
            || text(&now, "emailAddress") != text(&target, "emailAddress")
        {
            api.call(
                Method::PUT,
                gmail(api, &["autoForwarding"]),
                As::User(&user.email),
                scopes::GMAIL_SETTINGS_SHARING,
                Some(&target),
                &[],
                calls,
            )
            .await?;
            changed.push("auto-forwarding back as recorded");
        }
        let after = auto_forwarding(api, user, calls).await?;
        if flag(&after, "enabled") != flag(&target, "enabled") {
            return Err(mismatch(
                "auto-forwarding does not read back as recorded".into(),
            ));
        }
    }
    if wants(".mailbox.auto_reply") {
        let enabled = flag(&mail["vacation"], "enableAutoReply");
        let now = vacation(api, user, calls).await?;
        if flag(&now, "enableAutoReply") != enabled {
            let body = if enabled {
                mail["vacation"].clone()
            } else {
                json!({"enableAutoReply": false})
            };
            api.call(
                Method::PUT,
                gmail(api, &["vacation"]),
                As::User(&user.email),
                scopes::GMAIL_SETTINGS_BASIC,
                Some(&body),
                &[],
                calls,
            )
            .await?;
            changed.push("vacation responder back as recorded");
        }
        if flag(&vacation(api, user, calls).await?, "enableAutoReply") != enabled {
            return Err(mismatch(
                "the vacation responder does not read back as recorded".into(),
            ));
        }
    }
    let readback = json!({
        "user_id": user.id,
        "auto_forwarding": auto_forwarding(api, user, calls).await?,
        "vacation": vacation(api, user, calls).await?,
    });
    Ok(ActionDone {
        repeat: changed.is_empty(),
        summary: if changed.is_empty() {
            "mail settings already read as recorded".into()
        } else {
            changed.join(", ")
        },
        readback,
        output: Value::Null,
    })
}
