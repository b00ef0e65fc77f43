//! A restore run's steps on Microsoft 365: sign-in back on, the group memberships and
//! licences the leaver run removed, and the mailbox as the snapshot recorded it. Each reads
//! first, acts only where needed and reads back.

use super::*;
use passage_core::RestoreItem;

/// The original run's snapshot, which records the groups' kinds and the mailbox's settings.
fn snapshot(req: &ActionRequest) -> Value {
    req.prior
        .get(&StepKey::new("microsoft.snapshot"))
        .cloned()
        .unwrap_or(Value::Null)
}

/// Allows sign-in again (`accountEnabled: true`).
pub(super) async fn reactivate(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    if user.enabled() {
        return Ok(done(
            true,
            "sign-in already allowed; nothing changed".into(),
            user.view(),
            Value::Null,
        ));
    }
    if user.synced() {
        return Err(permanent(
            "on_prem_synced",
            format!(
                "{} is synced from on-premises AD: enable the account there",
                user.upn
            ),
        ));
    }
    let url = api.graph_url(&["users", &user.id], &[]);
    let body = json!({"accountEnabled": true});
    api.graph(Method::PATCH, url, Some(&body), &[], calls)
        .await?;
    let after = get_user(api, &user.id, calls).await?;
    if !after.enabled() {
        return Err(mismatch(
            "accountEnabled still reads false after allowing sign-in".into(),
        ));
    }
    Ok(done(
        false,
        "allowed sign-in again (accountEnabled is true)".into(),
        after.view(),
        Value::Null,
    ))
}

/// Re-adds each membership: assigned groups through Graph, distribution lists and
/// mail-enabled security groups through Exchange Online, as the removal went.
pub(super) async fn restore_groups(
    api: &Api,
    req: &ActionRequest,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let wanted = req.restore_items();
    let recorded = snapshot(req);
    let before = groups(api, user, calls).await?;
    let is_member = |now: &[Value], id: &str| now.iter().any(|g| g["id"].as_str() == Some(id));
    let mut added = Vec::new();
    for item in wanted.iter().filter(|i| !is_member(&before, &i.id)) {
        let group = recorded["groups"]
            .as_array()
            .and_then(|gs| gs.iter().find(|g| g["id"].as_str() == Some(&item.id)))
            .cloned()
            .unwrap_or_else(|| json!({"id": item.id}));
        add_member(api, user, &group, calls).await?;
        added.push(item.key.clone());
    }
    let after = groups(api, user, calls).await?;
    let absent: Vec<&str> = wanted
        .iter()
        .filter(|i| !is_member(&after, &i.id))
        .map(|i| i.name.as_str())
        .collect();
    if !absent.is_empty() {
        return Err(mismatch(format!(
            "Graph does not yet list the user in {} after re-adding",
            absent.join(", ")
        )));
    }
    Ok(done(
        added.is_empty(),
        format!(
            "re-added {} of {} group memberships",
            added.len(),
            wanted.len()
        ),
        json!({"user_id": user.id, "groups": after.iter().map(group_view).collect::<Vec<_>>()}),
        json!({"restored": added}),
    ))
}

async fn add_member(
    api: &Api,
    user: &User,
    group: &Value,
    calls: &mut Calls,
) -> Result<(), ActionFailure> {
    let id = group["id"].as_str().unwrap_or_default();
    if route(group) == Route::Exchange {
        let params = json!({
            "Identity": exchange_identity(group),
            "Member": user.upn,
            "BypassSecurityGroupManagerCheck": true,
        });
        api.cmdlet_unless(
            "Add-DistributionGroupMember",
            params,
            &["MemberAlreadyExistsException"],
            calls,
        )
        .await?;
        return Ok(());
    }
    let url = api.graph_url(&["groups", id, "members", "$ref"], &[]);
    let reference = api.graph_url(&["directoryObjects", &user.id], &[]);
    let body = json!({"@odata.id": reference.as_str()});
    api.graph(Method::POST, url, Some(&body), &[], calls)
        .await?;
    Ok(())
}

/// Assigns each released licence again, where the subscription has a free seat; a SKU without
/// one fails the step as `no_free_seat`, naming it, so the operator frees or buys a seat and
/// retries.
pub(super) async fn restore_licences(
    api: &Api,
    req: &ActionRequest,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let wanted = req.restore_items();
    let held = direct_skus(user);
    let missing: Vec<&RestoreItem> = wanted.iter().filter(|i| !held.contains(&i.id)).collect();
    if !missing.is_empty() {
        let skus = api
            .list(api.graph_url(&["subscribedSkus"], &[]), calls)
            .await?;
        let full: Vec<&str> = missing
            .iter()
            .filter(|i| free_seats(&skus, &i.id) <= 0)
            .map(|i| i.name.as_str())
            .collect();
        if !full.is_empty() {
            return Err(permanent(
                "no_free_seat",
                format!(
                    "no free seat of {}: free or buy one, then retry the step",
                    full.join(", ")
                ),
            ));
        }
        let add: Vec<Value> = missing
            .iter()
            .map(|i| json!({"skuId": i.id, "disabledPlans": []}))
            .collect();
        let url = api.graph_url(&["users", &user.id, "assignLicense"], &[]);
        let body = json!({"addLicenses": add, "removeLicenses": []});
        api.graph(Method::POST, url, Some(&body), &[], calls)
            .await?;
    }
    let after = get_user(api, &user.id, calls).await?;
    let now = direct_skus(&after);
    let absent: Vec<&str> = wanted
        .iter()
        .filter(|i| !now.contains(&i.id))
        .map(|i| i.name.as_str())
        .collect();
    if !absent.is_empty() {
        return Err(mismatch(format!(
            "licences not assigned after assigning: {}",
            absent.join(", ")
        )));
    }
    Ok(done(
        missing.is_empty(),
        format!("re-assigned {} of {} licences", missing.len(), wanted.len()),
        json!({"user_id": user.id, "licenseAssignmentStates": after.raw["licenseAssignmentStates"]}),
        json!({"restored": missing.iter().map(|i| &i.key).collect::<Vec<_>>()}),
    ))
}

fn free_seats(skus: &[Value], sku_id: &str) -> i64 {
    skus.iter()
        .find(|s| s["skuId"].as_str() == Some(sku_id))
        .map_or(0, |s| {
            s["prepaidUnits"]["enabled"].as_i64().unwrap_or(0)
                - s["consumedUnits"].as_i64().unwrap_or(0)
        })
}

/// Puts the mailbox back as the snapshot recorded it: a user mailbox again, Passage's
/// forwarding rule gone, the auto-reply as it was.
pub(super) async fn restore_mailbox(
    api: &Api,
    req: &ActionRequest,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionOutcome, ActionFailure> {
    let items = req.restore_items();
    let wants = |suffix: &str| items.iter().any(|i| i.key.ends_with(suffix));
    let recorded = snapshot(req)["mailbox"].clone();
    let mut changed = Vec::new();
    if wants(".mailbox.forwarding") {
        for rule in our_rules(&rules(api, user, calls).await?) {
            let url = rules_url(api, user, &[rule["id"].as_str().unwrap_or_default()]);
            api.graph(Method::DELETE, url, None, &[StatusCode::NOT_FOUND], calls)
                .await?;
            changed.push("removed the forwarding rule");
        }
    }
    if wants(".mailbox.auto_reply") && restore_auto_reply(api, user, &recorded, calls).await? {
        changed.push("restored the auto-reply");
    }
    if wants(".mailbox.type") {
        let purpose = recorded["userPurpose"].as_str().unwrap_or("user");
        if let Some(pending) = restore_type(api, req, user, purpose, calls).await? {
            return Ok(pending.into());
        }
        changed.push("converted the mailbox back");
    }
    let readback = mailbox_readback(api, user, calls).await?;
    if wants(".mailbox.forwarding") && !our_rules(&rules(api, user, calls).await?).is_empty() {
        return Err(mismatch("Passage's forwarding rule is still there".into()));
    }
    Ok(done(
        changed.is_empty(),
        if changed.is_empty() {
            "the mailbox already reads as the snapshot recorded it".into()
        } else {
            changed.join(", ")
        },
        readback,
        Value::Null,
    )
    .into())
}

/// Sets the auto-reply back to the snapshot's; `true` when it changed something.
async fn restore_auto_reply(
    api: &Api,
    user: &User,
    recorded: &Value,
    calls: &mut Calls,
) -> Result<bool, ActionFailure> {
    let was = &recorded["automaticRepliesSetting"];
    let status = was["status"].as_str().unwrap_or("disabled");
    let now = mailbox_settings(api, user, "automaticRepliesSetting", calls)
        .await?
        .map_err(|c| mailbox_unreachable(&c))?;
    if now["automaticRepliesSetting"]["status"] == status {
        return Ok(false);
    }
    let mut setting = json!({"status": status});
    for key in [
        "externalAudience",
        "internalReplyMessage",
        "externalReplyMessage",
    ] {
        if was[key].is_string() {
            setting[key] = was[key].clone();
        }
    }
    let url = api.graph_url(&["users", &user.id, "mailboxSettings"], &[]);
    let body = json!({"automaticRepliesSetting": setting});
    api.graph(Method::PATCH, url, Some(&body), &[], calls)
        .await?;
    let after = mailbox_settings(api, user, "automaticRepliesSetting", calls)
        .await?
        .map_err(|c| mailbox_unreachable(&c))?;
    if after["automaticRepliesSetting"]["status"] != status {
        return Err(mismatch(format!(
            "the auto-reply reads {} after restoring it to {status}",
            after["automaticRepliesSetting"]["status"]
        )));
    }
    Ok(true)
}

/// Converts the mailbox back to `purpose` (a user mailbox: `Set-Mailbox -Type Regular`);
/// pending while Graph has not caught up with Exchange.
async fn restore_type(
    api: &Api,
    req: &ActionRequest,
    user: &User,
    purpose: &str,
    calls: &mut Calls,
) -> Result<Option<passage_core::ports::ActionPending>, ActionFailure> {
    let read = |v: &Value| v["userPurpose"].as_str().map(str::to_owned);
    let before = mailbox_settings(api, user, "userPurpose", calls)
        .await?
        .map_err(|c| mailbox_unreachable(&c))?;
    if read(&before).as_deref() != Some(purpose) && req.operation.is_none() {
        let kind = if purpose == "user" {
            "Regular"
        } else {
            "Shared"
        };
        api.cmdlet(
            "Set-Mailbox",
            json!({"Identity": user.upn, "Type": kind}),
            calls,
        )
        .await?;
    }
    let after = mailbox_settings(api, user, "userPurpose", calls)
        .await?
        .map_err(|c| mailbox_unreachable(&c))?;
    if read(&after).as_deref() == Some(purpose) {
        return Ok(None);
    }
    let what = format!(
        "Exchange Online accepted the conversion back to a {purpose} mailbox; Graph still reads userPurpose {}",
        after["userPurpose"]
    );
    Ok(Some(CONVERSION.pending(
        "mailbox_conversion_propagating",
        what,
        req.operation.as_ref(),
    )))
}

async fn mailbox_readback(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<Value, ActionFailure> {
    let settings = mailbox_settings(api, user, "userPurpose,automaticRepliesSetting", calls)
        .await?
        .map_err(|c| mailbox_unreachable(&c))?;
    let rules = rules(api, user, calls).await?;
    Ok(json!({
        "user_id": user.id,
        "userPurpose": settings["userPurpose"],
        "automaticRepliesSetting": settings["automaticRepliesSetting"],
        "forwarding_rules": our_rules(&rules).len(),
    }))
}
