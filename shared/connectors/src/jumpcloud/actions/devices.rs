//! Securing the leaver's devices: Windows and Linux systems with JumpCloud's builtin security
//! commands, Macs (and iPhones) through Apple MDM. Directory Insights tells whether a command
//! was already issued, so a repeat delivery sends nothing twice. A command runs when its device
//! next connects: until every device has carried it out, the step awaits completion.

use super::{Calls, User, system, system_ids};
use crate::http::{Polling, mismatch, permanent};
use crate::jumpcloud::api::{Api, Sort, unexpected};
use passage_core::ports::{ActionDone, ActionFailure, ActionOutcome, ActionRequest};
use passage_core::{DeviceAction, JumpCloudPolicy};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

/// Directory Insights keeps 90 days of events; look that far back for earlier commands.
const INSIGHTS_LOOKBACK_SECS: i64 = 90 * 24 * 3600;
/// Commands waiting for their device to connect: at once for a device that is online; a
/// laptop off for a long weekend is normal, one off for longer needs a person.
const QUEUED_COMMAND: Polling = Polling {
    first: Duration::from_secs(5),
    most: Duration::from_secs(900),
    deadline: Duration::from_secs(72 * 3600),
};

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

    /// What the command did, for the summary.
    fn done(self) -> &'static str {
        match self {
            Command::Lock => "locked",
            Command::Erase => "erased",
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

/// Directory Insights terms for a builtin command (or one that outdoes it) run on a system.
fn builtin_run(system_id: &str, command: Command) -> Vec<Value> {
    vec![
        json!({"event_type": "command_run"}),
        json!({"resource.id": system_id}),
        json!({"command.name": command.builtin_satisfied_by()}),
    ]
}

async fn builtin_completed(
    api: &Api,
    system_id: &str,
    command: Command,
    calls: &mut Calls,
) -> Result<Vec<Value>, ActionFailure> {
    // `GET /api/commandresults` declares no filter; its search sibling takes one in the body.
    let url = api.url(&["api", "search", "commandresults"]);
    let filter = json!({"and": [{"systemId": system_id}]});
    Ok(api
        .search_v1(url, filter, calls)
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

/// Directory Insights terms for an MDM device's answer to the command (or one that outdoes it).
fn mdm_result(device_id: &str, command: Command) -> Vec<Value> {
    vec![
        json!({"event_type": "mdm_command_result"}),
        json!({"device_object_id": device_id}),
        json!({"request_type": command.mdm_satisfied_by()}),
    ]
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
        let devices = api.list_v2(url, Sort::ById, calls).await?;
        if let Some(d) = devices
            .into_iter()
            .find(|d| d["serialNumber"].as_str() == Some(serial))
        {
            return Ok(Some((mdm_id.clone(), d)));
        }
    }
    Ok(None)
}

/// Locks or erases every system bound to the leaver, per tenant policy. A system that already
/// had the command (or an erase) issued is left alone. Every system is checked before any
/// command is sent, so a device that cannot be secured fails the step with nothing half done.
pub(super) async fn secure_devices(
    api: &Api,
    policy: &JumpCloudPolicy,
    req: &ActionRequest,
    user: &User,
    calls: &mut Calls,
) -> Result<ActionOutcome, ActionFailure> {
    let Some((command, note)) = command_for(policy.devices) else {
        return Ok(ActionDone {
            repeat: true,
            summary: "tenant policy leaves JumpCloud devices alone".into(),
            readback: Value::Null,
            output: Value::Null,
        }
        .into());
    };
    let targets = targets(api, user, command, calls).await?;
    // Act and read back, one system at a time.
    let mut devices = Vec::new();
    let mut issued = 0usize;
    for target in &targets {
        let (entry, issued_now) = match &target.channel {
            Channel::Builtin => secure_builtin(api, &target.system, command, calls).await?,
            Channel::AppleMdm { mdm_id, device } => {
                let mdm = (mdm_id.as_str(), device);
                secure_mdm(api, &target.system, mdm, command, calls).await?
            }
        };
        issued += usize::from(issued_now);
        devices.push(entry);
    }
    let queued: Vec<String> = devices
        .iter()
        .filter(|d| d["status"] == "queued")
        .map(|d| d["name"].as_str().unwrap_or("?").to_owned())
        .collect();
    if !queued.is_empty() {
        let (devices, verb) = if queued.len() == 1 {
            ("the device", "connects")
        } else {
            ("the devices", "connect")
        };
        let what = format!(
            "the {} command is issued and runs when {devices} next {verb} to JumpCloud: {}",
            command.builtin(),
            queued.join(", ")
        );
        let pending = QUEUED_COMMAND.pending("device_command_queued", what, req.operation.as_ref());
        return Ok(pending.into());
    }
    // Seen queued by an earlier attempt of this step: this step saw the commands through.
    let earlier = req.operation.is_some();
    Ok(ActionDone {
        repeat: issued == 0 && !earlier,
        summary: summary(command, note, &devices, issued, earlier),
        readback: json!({"user_id": user.id, "devices": readback(&devices)}),
        output: json!({
            "policy": command.builtin(),
            "note": note,
            "access": devices_said(&devices),
            "devices": devices,
        }),
    }
    .into())
}

/// Per device, for the grading: a command the device acknowledged but has not reported
/// complete is pending; one completed (or a device erased out of MDM) is done.
fn devices_said(devices: &[Value]) -> Vec<Value> {
    devices
        .iter()
        .filter(|d| d["status"] == "acknowledged")
        .map(|d| {
            json!({
                "kind": "device",
                "id": d["system_id"],
                "state": "pending",
                "reason": "the device acknowledged the command; its completion is not reported back",
            })
        })
        .collect()
}

/// The command the tenant's device policy asks for, with a note where JumpCloud can only come
/// close; `None` when the policy leaves devices alone.
fn command_for(devices: DeviceAction) -> Option<(Command, Option<&'static str>)> {
    match devices {
        DeviceAction::None => None,
        DeviceAction::Lock => Some((Command::Lock, None)),
        DeviceAction::Retire => Some((
            Command::Lock,
            Some("JumpCloud has no retire command; devices were locked instead"),
        )),
        DeviceAction::Wipe => Some((Command::Erase, None)),
    }
}

/// Every system bound to the leaver and how it can be secured; fails, naming each one, if any
/// cannot be.
async fn targets(
    api: &Api,
    user: &User,
    command: Command,
    calls: &mut Calls,
) -> Result<Vec<Target>, ActionFailure> {
    let mut targets = Vec::new();
    let mut refused = Vec::new();
    let mut mdm_ids = MdmIds::default();
    for id in system_ids(api, user, calls).await? {
        let system = system(api, &id, calls).await?;
        match channel(api, &system, command, &mut mdm_ids, calls).await? {
            Ok(channel) => targets.push(Target { system, channel }),
            Err(why) => refused.push(format!("{} ({}): {why}", name_of(&system), id)),
        }
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
    Ok(targets)
}

/// How `system` can be secured, or why it cannot be.
async fn channel(
    api: &Api,
    system: &Value,
    command: Command,
    mdm_ids: &mut MdmIds,
    calls: &mut Calls,
) -> Result<Result<Channel, String>, ActionFailure> {
    if supports_builtin(system, command) {
        return Ok(Ok(Channel::Builtin));
    }
    if !is_apple(system) {
        return Ok(Err(format!(
            "no builtin {} command for os family {}",
            command.builtin(),
            system["osFamily"].as_str().unwrap_or("unknown")
        )));
    }
    let ids = mdm_ids.get(api, calls).await?;
    Ok(match find_mdm_device(api, ids, system, calls).await? {
        Some((mdm_id, device)) => Ok(Channel::AppleMdm { mdm_id, device }),
        None => Err(
            "an Apple device not enrolled in JumpCloud's Apple MDM (JumpCloud refuses builtin commands on macOS)".into(),
        ),
    })
}

/// The org's Apple MDM ids, listed once and only when an Apple system needs them.
#[derive(Default)]
struct MdmIds(Option<Vec<String>>);

impl MdmIds {
    async fn get(&mut self, api: &Api, calls: &mut Calls) -> Result<&[String], ActionFailure> {
        if self.0.is_none() {
            let mdms = api
                .list_v2(
                    api.url(&["api", "v2", "applemdms"]),
                    Sort::Undeclared,
                    calls,
                )
                .await?;
            self.0 = Some(
                mdms.iter()
                    .filter_map(|m| m["id"].as_str().map(str::to_owned))
                    .collect(),
            );
        }
        Ok(self.0.as_deref().unwrap_or_default())
    }
}

/// The evidence entry every secured system starts with.
fn entry(system: &Value, command: Command, channel: &str) -> Value {
    json!({
        "system_id": system["_id"].as_str().unwrap_or_default(),
        "name": name_of(system),
        "os_family": system["osFamily"],
        "command": command.builtin(),
        "channel": channel,
    })
}

/// Sends the builtin command unless Directory Insights shows it (or an erase) was issued, then
/// reads back: completed in the command results, or queued until the device connects. Returns
/// the evidence entry and whether the command was sent now.
async fn secure_builtin(
    api: &Api,
    system: &Value,
    command: Command,
    calls: &mut Calls,
) -> Result<(Value, bool), ActionFailure> {
    let sid = system["_id"].as_str().unwrap_or_default();
    let mut entry = entry(system, command, "builtin");
    let already = insights_has(api, builtin_run(sid, command), calls).await?;
    if !already {
        let url = api.url(&[
            "api",
            "systems",
            sid,
            "command",
            "builtin",
            command.builtin(),
        ]);
        api.call(Method::POST, url, Some(&json!({})), &[], calls)
            .await?;
    }
    entry["issued_now"] = (!already).into();
    let results = builtin_completed(api, sid, command, calls).await?;
    if let Some(r) = results.last() {
        entry["status"] = "completed".into();
        entry["result_id"] = r["_id"].clone();
        entry["response_time"] = r["responseTime"].clone();
    } else if insights_has(api, builtin_run(sid, command), calls).await? {
        entry["status"] = "queued".into();
        entry["status_note"] = "the command runs when the device next connects to JumpCloud".into();
    } else {
        return Err(mismatch(format!(
            "the builtin {} command for {} is neither in the command results nor in Directory Insights",
            command.builtin(),
            name_of(system)
        )));
    }
    Ok((entry, !already))
}

/// Sends the MDM command to `(mdm_id, device)` unless the device is gone or acknowledged it
/// (or an erase) already, then reads the device back. Returns the evidence entry and whether
/// the command was sent now.
async fn secure_mdm(
    api: &Api,
    system: &Value,
    (mdm_id, device): (&str, &Value),
    command: Command,
    calls: &mut Calls,
) -> Result<(Value, bool), ActionFailure> {
    let did = device["id"].as_str().unwrap_or_default();
    let mut entry = entry(system, command, "apple_mdm");
    entry["mdm_id"] = mdm_id.into();
    entry["device_id"] = did.into();
    let unenrolled = device["enrolled"].as_bool() == Some(false);
    let already = unenrolled || insights_has(api, mdm_result(did, command), calls).await?;
    if !already {
        let body = mdm_command_body(system, &mut entry);
        let segments = [
            "api",
            "v2",
            "applemdms",
            mdm_id,
            "devices",
            did,
            command.builtin(),
        ];
        api.call(Method::POST, api.url(&segments), Some(&body), &[], calls)
            .await?;
    }
    entry["issued_now"] = (!already).into();
    let after = api
        .call(
            Method::GET,
            api.url(&["api", "v2", "applemdms", mdm_id, "devices", did]),
            None,
            &[StatusCode::NOT_FOUND],
            calls,
        )
        .await?;
    let enrolled =
        after.status != StatusCode::NOT_FOUND && after.body["enrolled"].as_bool() != Some(false);
    entry["enrolled"] = enrolled.into();
    if !enrolled {
        entry["status"] = "erased".into();
    } else if insights_has(api, mdm_result(did, command), calls).await? {
        entry["status"] = "acknowledged".into();
    } else {
        entry["status"] = "queued".into();
        entry["status_note"] =
            "the Mac acknowledges the command when it next checks in with MDM".into();
    }
    Ok((entry, !already))
}

/// The MDM command's body: a Mac gets a fresh PIN, which goes into the output's `pin` field
/// because the Mac asks for it before it unlocks and JumpCloud cannot show it again; the engine
/// seals that field before anything stores it (`passage_core::seal`).
fn mdm_command_body(system: &Value, entry: &mut Value) -> Value {
    let mut body = json!({});
    if system["osFamily"].as_str() == Some("darwin") {
        let pin = new_pin();
        entry["pin"] = pin.as_str().into();
        entry["pin_note"] = "the Mac asks for this PIN before it unlocks and JumpCloud cannot show it again: Passage keeps it only sealed for the tenant's recovery key".into();
        body["pin"] = pin.into();
    }
    body
}

/// What was done, for the step's summary. `earlier`: this step issued commands in an earlier
/// attempt and waited for them.
fn summary(
    command: Command,
    note: Option<&str>,
    devices: &[Value],
    issued: usize,
    earlier: bool,
) -> String {
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
    } else if earlier {
        format!(
            "{} {} devices once they connected: {}",
            command.done(),
            devices.len(),
            list.join(", ")
        )
    } else if issued == 0 {
        format!(
            "every device already had the {} command: {}",
            command.builtin(),
            list.join(", ")
        )
    } else {
        format!(
            "{} {issued} of {} devices: {}",
            command.done(),
            devices.len(),
            list.join(", ")
        )
    };
    if devices.iter().any(|d| d.get("pin").is_some()) {
        summary.push_str("; the Mac's lock PIN is kept only sealed for the tenant's recovery key");
    }
    if let Some(note) = note {
        summary.push_str("; ");
        summary.push_str(note);
    }
    summary
}

/// What the read-back proves for each device, without the PIN and the notes.
fn readback(devices: &[Value]) -> Vec<Value> {
    devices
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
        .collect()
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
