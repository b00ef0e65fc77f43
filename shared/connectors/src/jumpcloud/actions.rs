//! The leaver actions on JumpCloud. Each reads, acts only if needed, and reads back.

use super::api::{Api, unexpected};
use crate::http::{mismatch, permanent};
use passage_core::ports::{ActionDone, ActionFailure, ActionRequest};
use passage_core::{Action, CallRecord, DeviceAction, JumpCloudPolicy, StepKey};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

type Calls = Vec<CallRecord>;

/// Directory Insights keeps 90 days of events; look that far back for earlier commands.
const INSIGHTS_LOOKBACK_SECS: i64 = 90 * 24 * 3600;

pub async fn run(
    api: &Api,
    policy: &JumpCloudPolicy,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    if !matches!(
        req.action,
        Action::Snapshot | Action::Suspend | Action::RemoveGroups | Action::SecureDevices
    ) {
        return Err(permanent(
            "action_not_supported",
            format!("the JumpCloud connector cannot {}", req.action),
        ));
    }
    let user = find_user(api, req, calls).await?;
    match req.action {
        Action::Snapshot => snapshot(api, &user, calls).await,
        Action::Suspend => suspend(api, &user, calls).await,
        Action::RemoveGroups => remove_groups(api, &user, calls).await,
        _ => secure_devices(api, policy, &user, calls).await,
    }
}

/// A system user (`systemuserreturn`), the fields Passage uses.
#[derive(Clone, Debug)]
struct User {
    id: String,
    email: String,
    state: String,
    suspended: bool,
    raw: Value,
}

impl User {
    fn parse(body: Value) -> Result<Self, ActionFailure> {
        let id = body["_id"]
            .as_str()
            .or(body["id"].as_str())
            .ok_or_else(|| unexpected("a user", "no `_id`"))?
            .to_owned();
        Ok(Self {
            id,
            email: body["email"].as_str().unwrap_or_default().to_owned(),
            state: body["state"].as_str().unwrap_or_default().to_owned(),
            suspended: body["suspended"].as_bool().unwrap_or(false),
            raw: body,
        })
    }

    fn is_suspended(&self) -> bool {
        self.state == "SUSPENDED" || self.suspended
    }

    fn view(&self) -> Value {
        json!({
            "user_id": self.id,
            "email": self.email,
            "username": self.raw["username"],
            "state": self.state,
            "suspended": self.suspended,
            "account_locked": self.raw["account_locked"],
            "activated": self.raw["activated"],
        })
    }
}

/// Finds the leaver: by the id the snapshot recorded, else by an exact e-mail filter.
async fn find_user(
    api: &Api,
    req: &ActionRequest,
    calls: &mut Calls,
) -> Result<User, ActionFailure> {
    let known_id = req
        .prior
        .get(&StepKey::new("jumpcloud.snapshot"))
        .and_then(|v| v.get("user_id"))
        .and_then(Value::as_str);
    if let Some(id) = known_id {
        let answer = api
            .call(
                Method::GET,
                api.url(&["api", "systemusers", id]),
                None,
                &[StatusCode::NOT_FOUND],
                calls,
            )
            .await?;
        if answer.status != StatusCode::NOT_FOUND {
            return User::parse(answer.body);
        }
    }
    let email = req.subject.email.trim();
    let mut url = api.url(&["api", "systemusers"]);
    url.query_pairs_mut()
        .append_pair("filter", &format!("email:$eq:{email}"));
    let found: Vec<Value> = api
        .list_v1(url, calls)
        .await?
        .into_iter()
        .filter(|u| {
            u["email"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
        .collect();
    match found.len() {
        1 => User::parse(found.into_iter().next().expect("one user")),
        0 => Err(permanent(
            "user_not_found",
            format!(
                "no JumpCloud user has email {email}; check the address (and, for an MSP credential, the organisation id), or waive JumpCloud if they never had an account"
            ),
        )),
        n => Err(permanent(
            "user_ambiguous",
            format!("{n} JumpCloud users have email {email}; resolve the duplicate accounts first"),
        )),
    }
}

async fn get_user(api: &Api, id: &str, calls: &mut Calls) -> Result<User, ActionFailure> {
    let answer = api
        .call(
            Method::GET,
            api.url(&["api", "systemusers", id]),
            None,
            &[],
            calls,
        )
        .await?;
    User::parse(answer.body)
}

/// Ids of the user groups the user is a member of (v2 graph `memberof`).
async fn group_ids(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<Vec<String>, ActionFailure> {
    let items = api
        .list_v2(
            api.url(&["api", "v2", "users", &user.id, "memberof"]),
            calls,
        )
        .await?;
    Ok(items
        .iter()
        .filter(|g| g["type"].as_str().is_none_or(|t| t == "user_group"))
        .filter_map(|g| g["id"].as_str().map(str::to_owned))
        .collect())
}

/// Ids of the systems bound to the user, directly or through groups (v2 graph).
async fn system_ids(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<Vec<String>, ActionFailure> {
    let items = api
        .list_v2(api.url(&["api", "v2", "users", &user.id, "systems"]), calls)
        .await?;
    Ok(items
        .iter()
        .filter_map(|s| s["id"].as_str().map(str::to_owned))
        .collect())
}

/// A system's details (v1 `JcSystem`).
async fn system(api: &Api, id: &str, calls: &mut Calls) -> Result<Value, ActionFailure> {
    Ok(api
        .call(
            Method::GET,
            api.url(&["api", "systems", id]),
            None,
            &[],
            calls,
        )
        .await?
        .body)
}

fn system_view(s: &Value) -> Value {
    json!({
        "id": s["_id"],
        "display_name": s["displayName"],
        "hostname": s["hostname"],
        "os": s["os"],
        "os_family": s["osFamily"],
        "version": s["version"],
        "serial_number": s["serialNumber"],
        "active": s["active"],
        "last_contact": s["lastContact"],
        "mdm_vendor": s["mdm"]["vendor"],
    })
}

/// Records what the leaver has before anything changes: the pre-state for evidence and for
/// restoring access to a rehire.
async fn snapshot(api: &Api, user: &User, calls: &mut Calls) -> Result<ActionDone, ActionFailure> {
    let mut groups = Vec::new();
    for id in group_ids(api, user, calls).await? {
        // An unread name must fail the snapshot, but a group deleted meanwhile is just gone.
        let answer = api
            .call(
                Method::GET,
                api.url(&["api", "v2", "usergroups", &id]),
                None,
                &[StatusCode::NOT_FOUND],
                calls,
            )
            .await?;
        groups.push(json!({"id": id, "name": answer.body["name"]}));
    }
    let mut systems = Vec::new();
    for id in system_ids(api, user, calls).await? {
        systems.push(system_view(&system(api, &id, calls).await?));
    }
    let mut output = user.view();
    output["groups"] = Value::Array(groups.clone());
    output["systems"] = Value::Array(systems.clone());
    Ok(ActionDone {
        repeat: false,
        summary: format!(
            "recorded state {}, {} user groups, {} bound systems",
            user.state,
            groups.len(),
            systems.len()
        ),
        readback: user.view(),
        output,
    })
}

/// Suspends the account: JumpCloud logs the user out of their devices and resources.
async fn suspend(api: &Api, user: &User, calls: &mut Calls) -> Result<ActionDone, ActionFailure> {
    let repeat = user.is_suspended();
    if !repeat {
        api.call(
            Method::PUT,
            api.url(&["api", "systemusers", &user.id]),
            Some(&json!({"suspended": true})),
            &[],
            calls,
        )
        .await?;
    }
    let after = get_user(api, &user.id, calls).await?;
    if !(after.state == "SUSPENDED" && after.suspended) {
        return Err(mismatch(format!(
            "user {} reads back as state {} (suspended {}) after suspension",
            after.id, after.state, after.suspended
        )));
    }
    Ok(ActionDone {
        repeat,
        summary: if repeat {
            "the account was already suspended".into()
        } else {
            format!("suspended the account (was {})", user.state)
        },
        readback: after.view(),
        output: json!({"previous_state": user.state}),
    })
}

async fn remove_groups(
    api: &Api,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let before = group_ids(api, user, calls).await?;
    let mut removed = Vec::new();
    let mut already_gone = Vec::new();
    for gid in &before {
        let answer = api
            .call(
                Method::POST,
                api.url(&["api", "v2", "usergroups", gid, "members"]),
                Some(&json!({"op": "remove", "type": "user", "id": user.id})),
                &[StatusCode::NOT_FOUND],
                calls,
            )
            .await?;
        if answer.status == StatusCode::NOT_FOUND {
            already_gone.push(gid.clone());
        } else {
            removed.push(gid.clone());
        }
    }
    let after = group_ids(api, user, calls).await?;
    if !after.is_empty() {
        return Err(mismatch(format!(
            "{} user groups still list the user after removal (a dynamic group may have re-added them): {}",
            after.len(),
            after.join(", ")
        )));
    }
    Ok(ActionDone {
        repeat: before.is_empty(),
        summary: if before.is_empty() {
            "the user was in no user groups".into()
        } else {
            format!("removed the user from {} user groups", removed.len())
        },
        readback: json!({"user_id": user.id, "memberof": after}),
        output: json!({"removed": removed, "already_gone": already_gone}),
    })
}

// ----- devices ------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum Command {
    Lock,
    Erase,
}

impl Command {
    fn builtin(self) -> &'static str {
        match self {
            Command::Lock => "lock",
            Command::Erase => "erase",
        }
    }

    /// The builtin command names that already satisfy this one (an erase outdoes a lock).
    fn builtin_satisfied_by(self) -> Vec<&'static str> {
        match self {
            Command::Lock => vec!["lock", "erase"],
            Command::Erase => vec!["erase"],
        }
    }

    fn result_names(self) -> &'static [&'static str] {
        match self {
            Command::Lock => &["Lock", "Erase"],
            Command::Erase => &["Erase"],
        }
    }

    fn mdm_satisfied_by(self) -> Vec<&'static str> {
        match self {
            Command::Lock => vec!["DeviceLock", "EraseDevice"],
            Command::Erase => vec!["EraseDevice"],
        }
    }
}

/// How one bound system can be secured.
enum Channel {
    Builtin,
    AppleMdm { mdm_id: String, device: Value },
}

struct Target {
    system: Value,
    channel: Channel,
}

fn supports_builtin(system: &Value, command: Command) -> bool {
    system["builtInCommands"].as_array().is_some_and(|cmds| {
        cmds.iter()
            .any(|c| c["name"].as_str() == Some(command.builtin()))
    })
}

fn is_apple(system: &Value) -> bool {
    matches!(system["osFamily"].as_str(), Some("darwin" | "ios"))
}

fn name_of(system: &Value) -> String {
    system["displayName"]
        .as_str()
        .or(system["hostname"].as_str())
        .or(system["_id"].as_str())
        .unwrap_or("?")
        .to_owned()
}

/// A fresh random 6-digit PIN (the lock/erase PIN a Mac asks for before it unlocks).
fn new_pin() -> String {
    format!("{:06}", uuid::Uuid::new_v4().as_u128() % 1_000_000)
}

/// Whether Directory Insights holds an event matching every term (newest 90 days).
async fn insights_has(
    api: &Api,
    terms: Vec<Value>,
    calls: &mut Calls,
) -> Result<bool, ActionFailure> {
    let start =
        jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() - INSIGHTS_LOOKBACK_SECS)
            .map_err(|e| unexpected("a time", e))?;
    // The spec's TermConjunction is one object of field -> value, every field required.
    let mut conjunction = serde_json::Map::new();
    for term in terms {
        if let Value::Object(fields) = term {
            conjunction.extend(fields);
        }
    }
    let body = json!({
        "service": ["all"],
        "start_time": start.to_string(),
        "sort": "DESC",
        "limit": 1,
        "search_term": {"and": conjunction},
    });
    let answer = api
        .call(Method::POST, api.insights_url(), Some(&body), &[], calls)
        .await?;
    let rows = answer
        .body
        .as_array()
        .ok_or_else(|| unexpected("Directory Insights events", "not a JSON array"))?;
    Ok(!rows.is_empty())
}

async fn builtin_issued(
    api: &Api,
    system_id: &str,
    command: Command,
    calls: &mut Calls,
) -> Result<bool, ActionFailure> {
    insights_has(
        api,
        vec![
            json!({"event_type": "command_run"}),
            json!({"resource.id": system_id}),
            json!({"command.name": command.builtin_satisfied_by()}),
        ],
        calls,
    )
    .await
}

async fn builtin_completed(
    api: &Api,
    system_id: &str,
    command: Command,
    calls: &mut Calls,
) -> Result<Vec<Value>, ActionFailure> {
    let mut url = api.url(&["api", "commandresults"]);
    url.query_pairs_mut()
        .append_pair("filter", &format!("systemId:$eq:{system_id}"));
    Ok(api
        .list_v1(url, calls)
        .await?
        .into_iter()
        .filter(|r| {
            r["systemId"].as_str() == Some(system_id)
                && r["name"]
                    .as_str()
                    .is_some_and(|n| command.result_names().contains(&n))
        })
        .collect())
}

async fn mdm_acknowledged(
    api: &Api,
    device_id: &str,
    command: Command,
    calls: &mut Calls,
) -> Result<bool, ActionFailure> {
    insights_has(
        api,
        vec![
            json!({"event_type": "mdm_command_result"}),
            json!({"device_object_id": device_id}),
            json!({"request_type": command.mdm_satisfied_by()}),
        ],
        calls,
    )
    .await
}

/// The Apple MDM device for a system, matched by serial number across the org's MDMs.
async fn find_mdm_device(
    api: &Api,
    mdm_ids: &[String],
    system: &Value,
    calls: &mut Calls,
) -> Result<Option<(String, Value)>, ActionFailure> {
    let Some(serial) = system["serialNumber"].as_str().filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    for mdm_id in mdm_ids {
        let mut url = api.url(&["api", "v2", "applemdms", mdm_id, "devices"]);
        url.query_pairs_mut()
            .append_pair("filter", &format!("serialNumber:eq:{serial}"));
        let devices = api.list_v2(url, calls).await?;
        if let Some(d) = devices
            .into_iter()
            .find(|d| d["serialNumber"].as_str() == Some(serial))
        {
            return Ok(Some((mdm_id.clone(), d)));
        }
    }
    Ok(None)
}

/// Locks or erases every system bound to the leaver, per tenant policy: Windows and Linux with
/// JumpCloud's builtin security commands, Macs (and iPhones) through Apple MDM. A system that
/// already had the command (or an erase) issued is left alone. Every system is checked before
/// any command is sent, so a device that cannot be secured fails the step with nothing half
/// done.
async fn secure_devices(
    api: &Api,
    policy: &JumpCloudPolicy,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionDone, ActionFailure> {
    let (command, note) = match policy.devices {
        DeviceAction::None => {
            return Ok(ActionDone {
                repeat: true,
                summary: "tenant policy leaves JumpCloud devices alone".into(),
                readback: Value::Null,
                output: Value::Null,
            });
        }
        DeviceAction::Lock => (Command::Lock, None),
        DeviceAction::Retire => (
            Command::Lock,
            Some("JumpCloud has no retire command; devices were locked instead"),
        ),
        DeviceAction::Wipe => (Command::Erase, None),
    };

    // Read: every bound system and how it can be secured.
    let mut targets = Vec::new();
    let mut refused = Vec::new();
    let mut mdm_ids: Option<Vec<String>> = None;
    for id in system_ids(api, user, calls).await? {
        let system = system(api, &id, calls).await?;
        if supports_builtin(&system, command) {
            targets.push(Target {
                system,
                channel: Channel::Builtin,
            });
            continue;
        }
        if is_apple(&system) {
            if mdm_ids.is_none() {
                let mdms = api
                    .list_v2(api.url(&["api", "v2", "applemdms"]), calls)
                    .await?;
                mdm_ids = Some(
                    mdms.iter()
                        .filter_map(|m| m["id"].as_str().map(str::to_owned))
                        .collect(),
                );
            }
            let ids = mdm_ids.as_deref().unwrap_or_default();
            if let Some((mdm_id, device)) = find_mdm_device(api, ids, &system, calls).await? {
                targets.push(Target {
                    system,
                    channel: Channel::AppleMdm { mdm_id, device },
                });
                continue;
            }
            refused.push(format!(
                "{} ({}): an Apple device not enrolled in JumpCloud's Apple MDM (JumpCloud refuses builtin commands on macOS)",
                name_of(&system),
                id
            ));
            continue;
        }
        refused.push(format!(
            "{} ({}): no builtin {} command for os family {}",
            name_of(&system),
            id,
            command.builtin(),
            system["osFamily"].as_str().unwrap_or("unknown")
        ));
    }
    if !refused.is_empty() {
        return Err(permanent(
            "device_not_securable",
            format!(
                "{} of the leaver's JumpCloud devices cannot be secured through the API, so none were touched: {}. Secure them by hand and waive this step, or unbind them.",
                refused.len(),
                refused.join("; ")
            ),
        ));
    }

    // Act and read back, one system at a time.
    let mut devices = Vec::new();
    let mut issued = 0usize;
    for target in &targets {
        let sid = target.system["_id"].as_str().unwrap_or_default().to_owned();
        let mut entry = json!({
            "system_id": sid,
            "name": name_of(&target.system),
            "os_family": target.system["osFamily"],
            "command": command.builtin(),
        });
        match &target.channel {
            Channel::Builtin => {
                entry["channel"] = "builtin".into();
                let already = builtin_issued(api, &sid, command, calls).await?;
                if !already {
                    api.call(
                        Method::POST,
                        api.url(&[
                            "api",
                            "systems",
                            &sid,
                            "command",
                            "builtin",
                            command.builtin(),
                        ]),
                        Some(&json!({})),
                        &[],
                        calls,
                    )
                    .await?;
                    issued += 1;
                }
                entry["issued_now"] = (!already).into();
                let results = builtin_completed(api, &sid, command, calls).await?;
                if let Some(r) = results.last() {
                    entry["status"] = "completed".into();
                    entry["result_id"] = r["_id"].clone();
                    entry["response_time"] = r["responseTime"].clone();
                } else if builtin_issued(api, &sid, command, calls).await? {
                    entry["status"] = "queued".into();
                    entry["status_note"] =
                        "the command runs when the device next connects to JumpCloud".into();
                } else {
                    return Err(mismatch(format!(
                        "the builtin {} command for {} is neither in the command results nor in Directory Insights",
                        command.builtin(),
                        name_of(&target.system)
                    )));
                }
            }
            Channel::AppleMdm { mdm_id, device } => {
                entry["channel"] = "apple_mdm".into();
                let did = device["id"].as_str().unwrap_or_default().to_owned();
                entry["mdm_id"] = mdm_id.as_str().into();
                entry["device_id"] = did.as_str().into();
                let unenrolled = device["enrolled"].as_bool() == Some(false);
                let already = unenrolled || mdm_acknowledged(api, &did, command, calls).await?;
                if !already {
                    let mut body = json!({});
                    if target.system["osFamily"].as_str() == Some("darwin") {
                        let pin = new_pin();
                        entry["pin"] = pin.as_str().into();
                        entry["pin_note"] = "keep this PIN: the Mac asks for it before it unlocks, and JumpCloud cannot show it again".into();
                        body["pin"] = pin.into();
                    }
                    api.call(
                        Method::POST,
                        api.url(&[
                            "api",
                            "v2",
                            "applemdms",
                            mdm_id,
                            "devices",
                            &did,
                            command.builtin(),
                        ]),
                        Some(&body),
                        &[],
                        calls,
                    )
                    .await?;
                    issued += 1;
                }
                entry["issued_now"] = (!already).into();
                let after = api
                    .call(
                        Method::GET,
                        api.url(&["api", "v2", "applemdms", mdm_id, "devices", &did]),
                        None,
                        &[StatusCode::NOT_FOUND],
                        calls,
                    )
                    .await?;
                let enrolled = after.status != StatusCode::NOT_FOUND
                    && after.body["enrolled"].as_bool() != Some(false);
                entry["enrolled"] = enrolled.into();
                if !enrolled {
                    entry["status"] = "erased".into();
                } else if mdm_acknowledged(api, &did, command, calls).await? {
                    entry["status"] = "acknowledged".into();
                } else {
                    entry["status"] = "queued".into();
                    entry["status_note"] =
                        "the Mac acknowledges the command when it next checks in with MDM".into();
                }
            }
        }
        devices.push(entry);
    }

    let repeat = issued == 0;
    let verb = match command {
        Command::Lock => "locked",
        Command::Erase => "erased",
    };
    let list: Vec<String> = devices
        .iter()
        .map(|d| {
            format!(
                "{} via {} ({})",
                d["name"].as_str().unwrap_or("?"),
                d["channel"].as_str().unwrap_or("?"),
                d["status"].as_str().unwrap_or("?")
            )
        })
        .collect();
    let mut summary = if devices.is_empty() {
        "no systems are bound to the user".to_owned()
    } else if repeat {
        format!(
            "every device already had the {} command: {}",
            command.builtin(),
            list.join(", ")
        )
    } else {
        format!(
            "{verb} {issued} of {} devices: {}",
            devices.len(),
            list.join(", ")
        )
    };
    if devices.iter().any(|d| d.get("pin").is_some()) {
        summary.push_str("; the Mac PIN is recorded in the output and must be kept");
    }
    if let Some(note) = note {
        summary.push_str("; ");
        summary.push_str(note);
    }
    let readback: Vec<Value> = devices
        .iter()
        .map(|d| {
            json!({
                "system_id": d["system_id"],
                "channel": d["channel"],
                "status": d["status"],
                "result_id": d.get("result_id"),
                "enrolled": d.get("enrolled"),
            })
        })
        .collect();
    Ok(ActionDone {
        repeat,
        summary,
        readback: json!({"user_id": user.id, "devices": readback}),
        output: json!({
            "policy": command.builtin(),
            "note": note,
            "devices": devices,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_six_digits() {
        for _ in 0..50 {
            let pin = new_pin();
            assert_eq!(pin.len(), 6);
            assert!(pin.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn builtin_support_is_read_from_the_system() {
        let win = json!({"builtInCommands": [{"name": "erase"}, {"name": "lock"}], "osFamily": "windows"});
        let mac = json!({"builtInCommands": [], "osFamily": "darwin"});
        assert!(supports_builtin(&win, Command::Lock));
        assert!(supports_builtin(&win, Command::Erase));
        assert!(!supports_builtin(&mac, Command::Lock));
        assert!(is_apple(&mac));
    }
}
