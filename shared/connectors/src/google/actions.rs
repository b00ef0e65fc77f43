//! The leaver actions on Google Workspace. Each reads, acts only if needed, and reads back.

use super::api::{Api, As, Service};
use super::scopes;
use super::{TransferPolling, WORKSPACE_SKUS};
use crate::call::Branches;
use crate::http::{Polling, mismatch, permanent};
use passage_core::ports::{ActionDone, ActionFailure, ActionOutcome, ActionRequest, FailureClass};
use passage_core::{Action, CallRecord, DeviceAction, Provider, step_key};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

mod restore;
mod sweep;
mod transfer;

type Calls = Vec<CallRecord>;
type Outcome = Result<ActionDone, ActionFailure>;

/// A forwarding address waiting for its recipient to confirm Google's verification mail: a
/// person must act, which may wait for a weekend.
const FORWARDING: Polling = Polling {
    first: Duration::from_secs(60),
    most: Duration::from_secs(900),
    deadline: Duration::from_secs(72 * 3600),
};

/// The leaver as the Directory reports them.
struct User {
    id: String,
    email: String,
    suspended: bool,
    archived: bool,
    org_unit: String,
    mailbox: bool,
}

pub async fn run(
    api: &Api,
    polling: TransferPolling,
    req: &ActionRequest,
    calls: &mut Calls,
) -> ActionOutcome {
    act(api, polling, req, calls)
        .await
        .unwrap_or_else(Into::into)
}

async fn act(
    api: &Api,
    polling: TransferPolling,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<ActionOutcome, ActionFailure> {
    if !matches!(
        req.action,
        Action::Snapshot
            | Action::DelegateMailbox
            | Action::ForwardMail
            | Action::SetAutoReply
            | Action::TransferData
            | Action::Suspend
            | Action::RevokeSessions
            | Action::RevokeGrants
            | Action::RemoveGroups
            | Action::SecureDevices
            | Action::RemoveLicenses
            | Action::SweepSharedAccess
    ) && !super::RESTORES.contains(&req.action)
    {
        return Err(permanent(
            "action_not_supported",
            format!("the Google Workspace connector cannot {}", req.action),
        ));
    }
    let user = find_user(api, req, calls).await?;
    let done = match req.action {
        Action::Snapshot => snapshot(api, &user, calls).await,
        Action::DelegateMailbox => delegate_mailbox(api, req, &user, calls).await,
        // Hand-overs that may wait on the provider (or a person) answer for themselves.
        Action::ForwardMail => return forward_mail(api, req, &user, calls).await,
        Action::TransferData => {
            return transfer::transfer_data(api, polling, req, &user, calls).await;
        }
        Action::SetAutoReply => set_auto_reply(api, &user, calls).await,
        Action::Suspend => suspend(api, &user, calls).await,
        Action::RevokeSessions => revoke_sessions(api, &user, calls).await,
        Action::RevokeGrants => revoke_grants(api, &user, calls).await,
        Action::RemoveGroups => remove_groups(api, &user, calls).await,
        Action::SecureDevices => secure_devices(api, &user, calls).await,
        Action::RemoveLicenses => remove_licenses(api, &user, calls).await,
        Action::SweepSharedAccess => sweep::sweep(api, req, &user, calls).await,
        Action::Reactivate => restore::reactivate(api, &user, calls).await,
        Action::RestoreGroups => restore::restore_groups(api, req, &user, calls).await,
        Action::RestoreLicences => restore::restore_licences(api, req, &user, calls).await,
        Action::RestoreMailbox => restore::restore_mailbox(api, req, &user, calls).await,
        other => Err(permanent(
            "action_not_supported",
            format!("the Google Workspace connector cannot {other}"),
        )),
    };
    done.map(Into::into)
}

fn retryable(code: &str, retry_after: Option<Duration>, message: String) -> ActionFailure {
    ActionFailure {
        class: FailureClass::Retryable { retry_after },
        code: code.into(),
        message,
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn directory(api: &Api, rest: &[&str]) -> url::Url {
    let mut segments = vec!["admin", "directory", "v1"];
    segments.extend_from_slice(rest);
    api.url(Service::Directory, &segments)
}

fn gmail(api: &Api, rest: &[&str]) -> url::Url {
    // `me`: the impersonated owner; keeps the leaver's address out of recorded paths.
    let mut segments = vec!["gmail", "v1", "users", "me", "settings"];
    segments.extend_from_slice(rest);
    api.url(Service::Gmail, &segments)
}

/// Licensing names a user by their current primary e-mail address, never by the numeric id
/// the Directory uses: an id finds no assignment, which would read as "no licences".
fn license_url(api: &Api, product: &str, sku: &str, primary_email: &str) -> url::Url {
    api.url(
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
            primary_email,
        ],
    )
}

fn parse_user(body: &Value) -> Result<User, ActionFailure> {
    let id = text(body, "id");
    if id.is_empty() {
        return Err(retryable(
            "unexpected_body",
            None,
            "Google returned a user without an id".into(),
        ));
    }
    Ok(User {
        id,
        email: text(body, "primaryEmail"),
        suspended: flag(body, "suspended"),
        archived: flag(body, "archived"),
        org_unit: text(body, "orgUnitPath"),
        mailbox: body
            .get("isMailboxSetup")
            .and_then(Value::as_bool)
            .unwrap_or(true),
    })
}

fn user_view(user: &User) -> Value {
    json!({
        "user_id": user.id,
        "primary_email": user.email,
        "suspended": user.suspended,
        "archived": user.archived,
        "org_unit_path": user.org_unit,
        "is_mailbox_setup": user.mailbox,
    })
}

/// The leaver, by the id the snapshot recorded or else by address (primary or alias).
async fn find_user(
    api: &Api,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<User, ActionFailure> {
    let known_id = req
        .prior
        .get(&step_key(Provider::Google, Action::Snapshot))
        .and_then(|v| v.get("user_id"))
        .and_then(Value::as_str);
    let key = known_id.unwrap_or(&req.subject.email);
    lookup_user(api, key, calls).await?.ok_or_else(|| {
        permanent(
            "user_not_found",
            format!(
                "no Google Workspace user has address {}; check the address, or, if they never had an account, close its steps with `passage not-applicable` (a fresh read must find none)",
                req.subject.email
            ),
        )
    })
}

/// The Directory user with this id or address; `None` when there is none.
async fn lookup_user(
    api: &Api,
    key: &str,
    calls: &mut Calls,
) -> Result<Option<User>, ActionFailure> {
    let answer = api
        .call(
            Method::GET,
            directory(api, &["users", key]),
            As::Admin,
            scopes::DIRECTORY_USER,
            None,
            &[StatusCode::NOT_FOUND],
            calls,
        )
        .await?;
    if answer.status == StatusCode::NOT_FOUND {
        return Ok(None);
    }
    parse_user(&answer.body).map(Some)
}

async fn get_user(api: &Api, id: &str, calls: &mut Calls) -> Result<User, ActionFailure> {
    let body = api
        .get(
            directory(api, &["users", id]),
            As::Admin,
            scopes::DIRECTORY_USER,
            calls,
        )
        .await?;
    parse_user(&body)
}

fn delegate_email(req: &ActionRequest) -> Result<String, ActionFailure> {
    req.delegate
        .as_ref()
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty())
        .ok_or_else(|| {
            permanent(
                "no_delegate",
                format!(
                    "{} has no manager on record to receive their mail and files; add one or waive this step",
                    req.subject.email
                ),
            )
        })
}

// ----- reads shared by the snapshot and the actions ----------------------------------------

async fn groups(api: &Api, user: &User, calls: &mut Calls) -> Result<Vec<Value>, ActionFailure> {
    let mut url = directory(api, &["groups"]);
    url.query_pairs_mut()
        .append_pair("userKey", &user.id)
        .append_pair("maxResults", "200");
    api.list(
        url,
        "groups",
        As::Admin,
        scopes::DIRECTORY_GROUP_READONLY,
        calls,
    )
    .await
}

fn group_view(g: &Value) -> Value {
    json!({"id": g["id"], "email": g["email"], "name": g["name"]})
}

async fn tokens(api: &Api, user: &User, calls: &mut Calls) -> Result<Vec<Value>, ActionFailure> {
    let url = directory(api, &["users", &user.id, "tokens"]);
    api.list(
        url,
        "items",
        As::Admin,
        scopes::DIRECTORY_USER_SECURITY,
        calls,
    )
    .await
}

async fn asps(api: &Api, user: &User, calls: &mut Calls) -> Result<Vec<Value>, ActionFailure> {
    let url = directory(api, &["users", &user.id, "asps"]);
    api.list(
        url,
        "items",
        As::Admin,
        scopes::DIRECTORY_USER_SECURITY,
        calls,
    )
    .await
}

/// Backup verification codes: only ever counted, never recorded (they are credentials).
async fn backup_codes(api: &Api, user: &User, calls: &mut Calls) -> Result<usize, ActionFailure> {
    let url = directory(api, &["users", &user.id, "verificationCodes"]);
    Ok(api
        .list(
            url,
            "items",
            As::Admin,
            scopes::DIRECTORY_USER_SECURITY,
            calls,
        )
        .await?
        .len())
}

fn token_view(t: &Value) -> Value {
    json!({"clientId": t["clientId"], "displayText": t["displayText"], "scopes": t["scopes"]})
}

fn asp_view(a: &Value) -> Value {
    json!({"codeId": a["codeId"], "name": a["name"], "lastTimeUsed": a["lastTimeUsed"]})
}

fn skus(api: &Api) -> Vec<(String, String)> {
    if api.settings.license_skus.is_empty() {
        WORKSPACE_SKUS
            .iter()
            .map(|(p, s)| ((*p).to_owned(), (*s).to_owned()))
            .collect()
    } else {
        api.settings.license_skus.clone()
    }
}

/// The licences (of those configured) the user holds, as `(product, sku, assignment)`.
async fn licenses(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<Vec<(String, String, Value)>, ActionFailure> {
    // One GET per SKU, all at once: Licensing has no "licences of a user" call.
    let branches = Branches::of(calls);
    let branches = &branches;
    let answers =
        futures::future::join_all(skus(api).into_iter().map(|(product, sku)| async move {
            let mut own = branches.branch();
            let answer = api
                .call(
                    Method::GET,
                    license_url(api, &product, &sku, &user.email),
                    As::Admin,
                    scopes::LICENSING,
                    None,
                    &[StatusCode::NOT_FOUND],
                    &mut own,
                )
                .await;
            (product, sku, answer, own)
        }))
        .await;
    let mut held = Vec::new();
    for (product, sku, answer, own) in answers {
        branches.join(calls, own);
        let answer = answer?;
        if answer.status != StatusCode::NOT_FOUND {
            held.push((product, sku, answer.body));
        }
    }
    Ok(held)
}

fn license_view(product: &str, sku: &str, assignment: &Value) -> Value {
    json!({"productId": product, "skuId": sku, "skuName": assignment["skuName"]})
}

async fn devices(api: &Api, user: &User, calls: &mut Calls) -> Result<Vec<Value>, ActionFailure> {
    let mut url = directory(
        api,
        &["customer", &api.settings.customer_id, "devices", "mobile"],
    );
    url.query_pairs_mut()
        .append_pair("query", &format!("email:{}", user.email))
        .append_pair("maxResults", "100");
    let found = api
        .list(
            url,
            "mobiledevices",
            As::Admin,
            scopes::DEVICE_MOBILE_READONLY,
            calls,
        )
        .await?;
    // The search matches prefixes in some fields; keep only the leaver's own devices.
    Ok(found
        .into_iter()
        .filter(|d| {
            d["email"].as_array().is_some_and(|emails| {
                emails
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|e| same(e, &user.email))
            })
        })
        .collect())
}

fn device_view(d: &Value) -> Value {
    json!({
        "resourceId": d["resourceId"],
        "model": d["model"],
        "os": d["os"],
        "type": d["type"],
        "status": d["status"],
    })
}

async fn delegates(api: &Api, user: &User, calls: &mut Calls) -> Result<Vec<Value>, ActionFailure> {
    api.list(
        gmail(api, &["delegates"]),
        "delegates",
        As::User(&user.email),
        scopes::GMAIL_SETTINGS_BASIC,
        calls,
    )
    .await
}

async fn forwarding_addresses(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<Vec<Value>, ActionFailure> {
    api.list(
        gmail(api, &["forwardingAddresses"]),
        "forwardingAddresses",
        As::User(&user.email),
        scopes::GMAIL_SETTINGS_BASIC,
        calls,
    )
    .await
}

async fn auto_forwarding(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<Value, ActionFailure> {
    api.get(
        gmail(api, &["autoForwarding"]),
        As::User(&user.email),
        scopes::GMAIL_SETTINGS_BASIC,
        calls,
    )
    .await
}

async fn vacation(api: &Api, user: &User, calls: &mut Calls) -> Result<Value, ActionFailure> {
    api.get(
        gmail(api, &["vacation"]),
        As::User(&user.email),
        scopes::GMAIL_SETTINGS_BASIC,
        calls,
    )
    .await
}

// ----- snapshot ------------------------------------------------------------------------------

/// Records what the leaver has before anything changes. An unread list fails the snapshot; it is
/// never recorded as empty. Mail settings of a suspended (or mailbox-less) user cannot be read
/// at all, and are recorded as unavailable with the reason.
async fn snapshot(api: &Api, user: &User, calls: &mut Calls) -> Outcome {
    // The reads are independent: make them at once, each recording its own calls.
    let branches = Branches::of(calls);
    let mut c: [Calls; 10] = std::array::from_fn(|_| branches.branch());
    let [c0, c1, c2, c3, c4, c5, c6, c7, c8, c9] = &mut c;
    let readable_mail = !(user.suspended || user.archived) && user.mailbox;
    let reads = futures::join!(
        groups(api, user, c0),
        tokens(api, user, c1),
        asps(api, user, c2),
        backup_codes(api, user, c3),
        licenses(api, user, c4),
        devices(api, user, c5),
        async {
            if !readable_mail {
                return Ok(None);
            }
            let (d, f, a, v) = futures::join!(
                delegates(api, user, c6),
                forwarding_addresses(api, user, c7),
                auto_forwarding(api, user, c8),
                vacation(api, user, c9),
            );
            Ok::<_, ActionFailure>(Some(json!({
                "delegates": d?,
                "forwarding_addresses": f?,
                "auto_forwarding": a?,
                "vacation": v?,
            })))
        },
    );
    for own in c {
        branches.join(calls, own);
    }
    let (groups, tokens, asps, codes, licenses, devices, mail) = reads;
    let (groups, tokens, asps, codes, licenses, devices) =
        (groups?, tokens?, asps?, codes?, licenses?, devices?);
    let mail = match mail? {
        Some(mail) => mail,
        None if !user.mailbox => json!({"unavailable": "the user has no mailbox"}),
        None => {
            json!({"unavailable": "the user is suspended or archived; Google does not let anyone read their mail settings"})
        }
    };
    let mut output = user_view(user);
    output["groups"] = groups.iter().map(group_view).collect();
    output["tokens"] = tokens.iter().map(token_view).collect();
    output["asps"] = asps.iter().map(asp_view).collect();
    output["backup_codes"] = codes.into();
    output["licenses"] = licenses
        .iter()
        .map(|(p, s, a)| license_view(p, s, a))
        .collect();
    output["mobile_devices"] = devices.iter().map(device_view).collect();
    output["mail"] = mail;
    // The grading's vocabulary (`passage_core::access`): memberships and licences, each list
    // read to its end; a licence is named `product:sku`.
    let access = groups
        .iter()
        .map(|g| json!({"kind": "group", "id": g["id"], "name": g["email"]}))
        .chain(licenses.iter().map(|(p, s, a)| {
            let name = a["skuName"].as_str().unwrap_or(s);
            json!({"kind": "licence", "id": format!("{p}:{s}"), "name": name})
        }));
    output["access"] = Value::Array(access.collect());
    if api.sweep.google_shared {
        sweep::record(api, user, &mut output, calls).await;
    }
    // Dates the run for later steps: a data transfer requested before it is not this run's.
    output["snapshot_at"] = json!(jiff::Timestamp::now().to_string());
    Ok(ActionDone {
        repeat: false,
        summary: format!(
            "recorded {} (suspended: {}), {} groups, {} OAuth tokens, {} app passwords, {} backup codes, {} licences, {} mobile devices",
            user.email,
            user.suspended,
            groups.len(),
            tokens.len(),
            asps.len(),
            codes,
            licenses.len(),
            devices.len()
        ),
        readback: user_view(user),
        output,
    })
}

// ----- mailbox hand-over (as the leaver, before suspension) ----------------------------------

async fn delegate_mailbox(
    api: &Api,
    req: &ActionRequest,
    user: &User,
    calls: &mut Calls,
) -> Outcome {
    let delegate = delegate_email(req)?;
    let has = |list: &[Value]| {
        list.iter()
            .find(|d| same(&text(d, "delegateEmail"), &delegate))
            .cloned()
    };
    let before = delegates(api, user, calls).await?;
    let existing = has(&before);
    if existing.is_none() {
        // 409 alreadyExists: a concurrent attempt won; the read-back decides.
        api.call(
            Method::POST,
            gmail(api, &["delegates"]),
            As::User(&user.email),
            scopes::GMAIL_SETTINGS_SHARING,
            Some(&json!({"delegateEmail": delegate})),
            &[StatusCode::CONFLICT],
            calls,
        )
        .await?;
    }
    let after = delegates(api, user, calls).await?;
    let Some(found) = has(&after) else {
        return Err(mismatch(format!(
            "{delegate} is not a delegate of the mailbox after it was added"
        )));
    };
    let status = text(&found, "verificationStatus");
    Ok(ActionDone {
        repeat: existing.is_some(),
        summary: if existing.is_some() {
            format!("{delegate} already has access to the mailbox ({status}); nothing changed")
        } else {
            format!("gave {delegate} access to the mailbox ({status})")
        },
        readback: json!({"user_id": user.id, "delegates": after}),
        output: json!({"delegate": delegate, "verification_status": status}),
    })
}

/// Forwards new mail to the delegate. Google forwards only to a verified address: an address
/// outside the domain waits for its recipient to confirm Google's mail, and the step awaits
/// that confirmation.
async fn forward_mail(
    api: &Api,
    req: &ActionRequest,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionOutcome, ActionFailure> {
    let target = delegate_email(req)?;
    let find = |list: &[Value]| {
        list.iter()
            .find(|f| same(&text(f, "forwardingEmail"), &target))
            .cloned()
    };
    let mut address = find(&forwarding_addresses(api, user, calls).await?);
    let mut changed = false;
    if address.is_none() {
        api.call(
            Method::POST,
            gmail(api, &["forwardingAddresses"]),
            As::User(&user.email),
            scopes::GMAIL_SETTINGS_SHARING,
            Some(&json!({"forwardingEmail": target})),
            &[StatusCode::CONFLICT],
            calls,
        )
        .await?;
        changed = true;
        address = find(&forwarding_addresses(api, user, calls).await?);
    }
    let Some(address) = address else {
        return Err(mismatch(format!(
            "{target} is not a forwarding address after it was added"
        )));
    };
    let status = text(&address, "verificationStatus");
    if status != "accepted" {
        let what = format!(
            "forwarding to {target} waits for its recipient to confirm Google's verification mail (status {status}); \
             mail is forwarded once it is confirmed"
        );
        let pending = FORWARDING.pending("forwarding_pending", what, req.operation.as_ref());
        return Ok(pending.into());
    }
    let holds = |a: &Value| flag(a, "enabled") && same(&text(a, "emailAddress"), &target);
    let current = auto_forwarding(api, user, calls).await?;
    if !holds(&current) {
        api.call(
            Method::PUT,
            gmail(api, &["autoForwarding"]),
            As::User(&user.email),
            scopes::GMAIL_SETTINGS_SHARING,
            Some(&json!({"enabled": true, "emailAddress": target, "disposition": "leaveInInbox"})),
            &[],
            calls,
        )
        .await?;
        changed = true;
    }
    let after = auto_forwarding(api, user, calls).await?;
    if !holds(&after) {
        return Err(mismatch(format!(
            "auto-forwarding reads {after} after it was set to {target}"
        )));
    }
    // Once the address was confirmed, the forwarding this step set up is no repeat.
    let changed = changed || req.operation.is_some();
    Ok(ActionDone {
        repeat: !changed,
        summary: if changed {
            format!("new mail is forwarded to {target} (and kept in the inbox)")
        } else {
            format!("mail was already forwarded to {target}; nothing changed")
        },
        readback: json!({"user_id": user.id, "forwarding_address": address, "auto_forwarding": after}),
        output: json!({"forward_to": target, "previous": current}),
    }
    .into())
}

async fn set_auto_reply(api: &Api, user: &User, calls: &mut Calls) -> Outcome {
    let Some(reply) = api.settings.policy.vacation_reply.clone() else {
        return Err(permanent(
            "not_configured",
            "the tenant's Google policy has no vacation reply text".into(),
        ));
    };
    let holds = |v: &Value| {
        flag(v, "enableAutoReply")
            && text(v, "responseBodyPlainText") == reply
            && v.get("endTime").is_none_or(Value::is_null)
    };
    let before = vacation(api, user, calls).await?;
    let changed = !holds(&before);
    if changed {
        api.call(
            Method::PUT,
            gmail(api, &["vacation"]),
            As::User(&user.email),
            scopes::GMAIL_SETTINGS_BASIC,
            Some(&json!({
                "enableAutoReply": true,
                "responseBodyPlainText": reply,
                "restrictToContacts": false,
                "restrictToDomain": false,
            })),
            &[],
            calls,
        )
        .await?;
    }
    let after = vacation(api, user, calls).await?;
    if !holds(&after) {
        return Err(mismatch(
            "the vacation responder does not read back as set".into(),
        ));
    }
    Ok(ActionDone {
        repeat: !changed,
        summary: if changed {
            "vacation responder on with the tenant's text".into()
        } else {
            "vacation responder was already on with the tenant's text; nothing changed".into()
        },
        readback: json!({"user_id": user.id, "vacation": after}),
        output: json!({"previous": before}),
    })
}

// ----- account -------------------------------------------------------------------------------

async fn suspend(api: &Api, user: &User, calls: &mut Calls) -> Outcome {
    set_suspended(api, user, true, calls).await
}

/// Suspends or unsuspends the user and reads the account back; a user already in that state
/// is a repeat. One place for both directions: a leaver run suspends, a restore unsuspends.
async fn set_suspended(api: &Api, user: &User, suspended: bool, calls: &mut Calls) -> Outcome {
    let (done, state) = if suspended {
        ("suspended", "suspended")
    } else {
        ("unsuspended", "not suspended")
    };
    if user.suspended == suspended {
        return Ok(ActionDone {
            repeat: true,
            summary: format!("already {state}; nothing changed"),
            readback: user_view(user),
            output: Value::Null,
        });
    }
    api.call(
        Method::PUT,
        directory(api, &["users", &user.id]),
        As::Admin,
        scopes::DIRECTORY_USER,
        Some(&json!({ "suspended": suspended })),
        &[],
        calls,
    )
    .await?;
    let after = get_user(api, &user.id, calls).await?;
    if after.suspended != suspended {
        return Err(mismatch(format!(
            "the user is not {state} after the change"
        )));
    }
    Ok(ActionDone {
        repeat: false,
        summary: format!("{done} {}", after.email),
        readback: user_view(&after),
        output: Value::Null,
    })
}

/// Signs the user out of every web and device session. Google answers 204 whether or not a
/// session existed, and exposes no session list, so the call is always made; the read-back is
/// the user record.
async fn revoke_sessions(api: &Api, user: &User, calls: &mut Calls) -> Outcome {
    api.call(
        Method::POST,
        directory(api, &["users", &user.id, "signOut"]),
        As::Admin,
        scopes::DIRECTORY_USER_SECURITY,
        None,
        &[],
        calls,
    )
    .await?;
    let after = get_user(api, &user.id, calls).await?;
    Ok(ActionDone {
        repeat: false,
        summary: "signed out of every session (web and devices)".into(),
        readback: json!({"user": user_view(&after), "signed_out": true}),
        output: Value::Null,
    })
}

/// Revokes every OAuth token the user granted to apps, every app-specific password, and the
/// backup verification codes.
async fn revoke_grants(api: &Api, user: &User, calls: &mut Calls) -> Outcome {
    let tokens_before = tokens(api, user, calls).await?;
    for t in &tokens_before {
        let client = text(t, "clientId");
        api.call(
            Method::DELETE,
            directory(api, &["users", &user.id, "tokens", &client]),
            As::Admin,
            scopes::DIRECTORY_USER_SECURITY,
            None,
            &[StatusCode::NOT_FOUND],
            calls,
        )
        .await?;
    }
    let asps_before = asps(api, user, calls).await?;
    for a in &asps_before {
        let code = match &a["codeId"] {
            Value::Number(n) => n.to_string(),
            other => other.as_str().unwrap_or_default().to_owned(),
        };
        api.call(
            Method::DELETE,
            directory(api, &["users", &user.id, "asps", &code]),
            As::Admin,
            scopes::DIRECTORY_USER_SECURITY,
            None,
            &[StatusCode::NOT_FOUND],
            calls,
        )
        .await?;
    }
    let codes_before = backup_codes(api, user, calls).await?;
    if codes_before > 0 {
        api.call(
            Method::POST,
            directory(api, &["users", &user.id, "verificationCodes", "invalidate"]),
            As::Admin,
            scopes::DIRECTORY_USER_SECURITY,
            None,
            &[],
            calls,
        )
        .await?;
    }
    let tokens_after = tokens(api, user, calls).await?;
    let asps_after = asps(api, user, calls).await?;
    let codes_after = backup_codes(api, user, calls).await?;
    if !tokens_after.is_empty() || !asps_after.is_empty() || codes_after > 0 {
        return Err(mismatch(format!(
            "{} OAuth tokens, {} app passwords and {codes_after} backup codes remain after revocation",
            tokens_after.len(),
            asps_after.len()
        )));
    }
    let nothing = tokens_before.is_empty() && asps_before.is_empty() && codes_before == 0;
    Ok(ActionDone {
        repeat: nothing,
        summary: if nothing {
            "no OAuth tokens, app passwords or backup codes to revoke".into()
        } else {
            format!(
                "revoked {} OAuth tokens and {} app passwords; invalidated {codes_before} backup codes",
                tokens_before.len(),
                asps_before.len()
            )
        },
        readback: json!({
            "user_id": user.id,
            "tokens": tokens_after,
            "asps": asps_after,
            "backup_codes": codes_after,
        }),
        output: json!({
            "tokens": tokens_before.iter().map(token_view).collect::<Vec<_>>(),
            "asps": asps_before.iter().map(asp_view).collect::<Vec<_>>(),
            "backup_codes": codes_before,
        }),
    })
}

/// Removes every direct group membership; a 404 means it is already gone.
async fn remove_groups(api: &Api, user: &User, calls: &mut Calls) -> Outcome {
    let before = groups(api, user, calls).await?;
    for g in &before {
        let group = text(g, "id");
        api.call(
            Method::DELETE,
            directory(api, &["groups", &group, "members", &user.id]),
            As::Admin,
            scopes::DIRECTORY_GROUP_MEMBER,
            None,
            &[StatusCode::NOT_FOUND],
            calls,
        )
        .await?;
    }
    let after = groups(api, user, calls).await?;
    if !after.is_empty() {
        return Err(mismatch(format!(
            "still a member of {} groups after removal: {}",
            after.len(),
            after
                .iter()
                .map(|g| text(g, "email"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(ActionDone {
        repeat: before.is_empty(),
        summary: if before.is_empty() {
            "no group memberships to remove".into()
        } else {
            format!("removed {} group memberships", before.len())
        },
        readback: json!({"user_id": user.id, "groups": after}),
        output: json!({"removed": before.iter().map(group_view).collect::<Vec<_>>()}),
    })
}

/// The Directory's mobile-device action for a policy, and the statuses that show it is done or
/// under way (the device completes a wipe when it next syncs).
fn device_action(
    policy: DeviceAction,
) -> Result<Option<(&'static str, &'static [&'static str])>, ActionFailure> {
    match policy {
        DeviceAction::None => Ok(None),
        DeviceAction::Retire => Ok(Some((
            "admin_account_wipe",
            &["ACCOUNT_WIPING", "ACCOUNT_WIPED", "WIPING", "WIPED"],
        ))),
        DeviceAction::Wipe => Ok(Some(("admin_remote_wipe", &["WIPING", "WIPED"]))),
        DeviceAction::Lock => Err(permanent(
            "unsupported_device_action",
            "Google endpoint management cannot lock a mobile device; set the tenant's Google device policy to retire (remove the work account) or wipe".into(),
        )),
    }
}

/// Retires or wipes every mobile device of the leaver's, per tenant policy; a device whose
/// status already shows the action done or under way is left alone.
async fn secure_devices(api: &Api, user: &User, calls: &mut Calls) -> Outcome {
    let Some((action, done)) = device_action(api.settings.policy.devices)? else {
        return Ok(ActionDone {
            repeat: true,
            summary: "the tenant's policy leaves devices alone".into(),
            readback: Value::Null,
            output: Value::Null,
        });
    };
    let before = devices(api, user, calls).await?;
    let mut acted = Vec::new();
    for d in &before {
        if done.contains(&text(d, "status").as_str()) {
            continue;
        }
        let resource = text(d, "resourceId");
        api.call(
            Method::POST,
            mobile_device(api, &resource, &["action"]),
            As::Admin,
            scopes::DEVICE_MOBILE_ACTION,
            Some(&json!({"action": action})),
            &[StatusCode::NOT_FOUND],
            calls,
        )
        .await?;
        acted.push(resource);
    }
    let mut after = Vec::new();
    for d in &before {
        let resource = text(d, "resourceId");
        after.push(device_after(api, &resource, (action, done), calls).await?);
    }
    Ok(ActionDone {
        repeat: acted.is_empty(),
        summary: if before.is_empty() {
            "no mobile devices".into()
        } else {
            format!(
                "{action} on {} of {} mobile devices (the rest were already done)",
                acted.len(),
                before.len()
            )
        },
        readback: json!({"user_id": user.id, "devices": after}),
        output: json!({"action": action, "devices": acted}),
    })
}

/// `…/customer/{customer}/devices/mobile/{resource}/{rest…}`.
fn mobile_device(api: &Api, resource: &str, rest: &[&str]) -> url::Url {
    let customer = api.settings.customer_id.as_str();
    let mut segments = vec!["customer", customer, "devices", "mobile", resource];
    segments.extend_from_slice(rest);
    directory(api, &segments)
}

/// Reads one device back after `action`: gone (deleted) or showing one of the `done` statuses.
async fn device_after(
    api: &Api,
    resource: &str,
    (action, done): (&str, &[&str]),
    calls: &mut Calls,
) -> Result<Value, ActionFailure> {
    let answer = api
        .call(
            Method::GET,
            mobile_device(api, resource, &[]),
            As::Admin,
            scopes::DEVICE_MOBILE_READONLY,
            None,
            &[StatusCode::NOT_FOUND],
            calls,
        )
        .await?;
    if answer.status == StatusCode::NOT_FOUND {
        return Ok(json!({"resourceId": resource, "status": "DELETED"}));
    }
    let status = text(&answer.body, "status");
    if !done.contains(&status.as_str()) {
        return Err(mismatch(format!(
            "device {resource} reads {status} after {action}"
        )));
    }
    Ok(device_view(&answer.body))
}

/// Releases every configured licence the user holds; a 404 means it is already gone. A 412
/// means the user's organisational unit assigns licences automatically.
async fn remove_licenses(api: &Api, user: &User, calls: &mut Calls) -> Outcome {
    let before = licenses(api, user, calls).await?;
    for (product, sku, _) in &before {
        let result = api
            .call(
                Method::DELETE,
                license_url(api, product, sku, &user.email),
                As::Admin,
                scopes::LICENSING,
                None,
                &[StatusCode::NOT_FOUND],
                calls,
            )
            .await;
        match result {
            Ok(_) => {}
            Err(f) if f.code == "conditionNotMet" => {
                return Err(permanent(
                    "auto_licensing",
                    format!(
                        "Google will not remove licence {product}/{sku}: the user's organisational unit {} assigns licences automatically; \
                         move the user to an OU without automatic licensing (or turn it off there) and retry ({})",
                        if user.org_unit.is_empty() {
                            "/"
                        } else {
                            &user.org_unit
                        },
                        f.message
                    ),
                ));
            }
            Err(f) => return Err(f),
        }
    }
    let after = licenses(api, user, calls).await?;
    if !after.is_empty() {
        return Err(mismatch(format!(
            "{} licences are still assigned after removal",
            after.len()
        )));
    }
    let released: Vec<Value> = before
        .iter()
        .map(|(p, s, a)| license_view(p, s, a))
        .collect();
    Ok(ActionDone {
        repeat: before.is_empty(),
        summary: if before.is_empty() {
            "no licences to release".into()
        } else {
            format!("released {} licences", before.len())
        },
        readback: json!({"user_id": user.id, "licenses": after.iter().map(|(p, s, a)| license_view(p, s, a)).collect::<Vec<_>>()}),
        output: json!({"released": released}),
    })
}
