//! Human steps: opening them with what is to be confirmed, recording each confirmation, and
//! chasing overdue ones. No provider is called; the lists come from the run's own step data.

use super::effects::Write;
use super::{Engine, EngineError, after};
use crate::domain::{
    Action, Confirmation, DeviceRecord, HumanItem, HumanStepPolicy, HumanTask, ItemOutcome,
    NoticeRecord, Provider, Run, RunEvent, Step, StepResult, StepState, TenantPolicy,
};
use crate::ids::{RunId, StepKey};
use crate::machine::step::StepInput;
use crate::ports::{Notice, NoticeKind};
use jiff::Timestamp;
use serde_json::{Value, json};

/// What an operator (or the manager) says about one item.
#[derive(Clone, Debug)]
pub struct ConfirmRequest {
    pub item: String,
    pub outcome: ItemOutcome,
    /// `operator:<name>` or `manager:<email>`.
    pub actor: String,
    pub condition: Option<String>,
    pub note: Option<String>,
}

impl Engine {
    /// Opens a claimed human step: lists its items and waits for people. A device return with
    /// no device on record in any provider has nothing to wait for and is verified at once.
    pub(crate) async fn open_human_step(
        &self,
        run: &Run,
        steps: &[Step],
        claimed: Step,
    ) -> Result<(), EngineError> {
        let policy = self.ports.tenants.tenant(&run.tenant).await?;
        let rules = policy
            .as_ref()
            .and_then(|p| human_policy(p, &claimed))
            .unwrap_or_else(|| default_policy(claimed.action));
        let now = self.now();
        let items = items_of(run, steps, &claimed, policy.as_ref());
        for _ in 0..self.settings.conflict_retries {
            let current = self.ports.store.steps(&run.id).await?;
            let Some(mut step) = current.into_iter().find(|s| s.key == claimed.key) else {
                return Ok(());
            };
            if step.state != StepState::InFlight || step.attempts != claimed.attempts {
                return Ok(());
            }
            step.lease = None;
            let mut write = Write::new(run, now);
            if items.is_empty() {
                nothing_to_return(&mut write, &mut step, now)?;
            } else {
                write.step(&mut step, StepInput::AwaitPeople)?;
                step.human = Some(HumanTask {
                    items: items.clone(),
                    opened_at: now,
                    due_at: after(now, rules.due_after),
                    escalate_at: after(now, rules.escalate_after),
                    notices: Vec::new(),
                });
                write.commit.events.push(RunEvent::new(
                    &run.id,
                    now,
                    "human.awaiting",
                    "system",
                    json!({"step": step.key, "items": items}),
                ));
            }
            write.commit.steps.push(step);
            if self.write(write).await?.is_none() {
                continue;
            }
            return Ok(());
        }
        Err(EngineError::Contended(self.settings.conflict_retries))
    }

    /// Records a confirmation of one item. When it was the last outstanding one, the step is
    /// verified (its read-back is the list of confirmations) and the run may close.
    pub async fn confirm(
        &self,
        run_id: &RunId,
        key: &StepKey,
        request: &ConfirmRequest,
    ) -> Result<Step, EngineError> {
        if request.actor.trim().is_empty() {
            return Err(EngineError::Invalid(
                "a confirmation needs the name of who confirms: it goes into the evidence".into(),
            ));
        }
        if request.outcome == ItemOutcome::WrittenOff
            && request.note.as_deref().is_none_or(|n| n.trim().is_empty())
        {
            return Err(EngineError::Invalid(
                "writing a device off needs a note saying why (lost, bought out, …)".into(),
            ));
        }
        // Storing the last confirmation verifies the step and releases what waits for it.
        self.change_step(run_id, key, |_run, step, now, write| {
            confirm_item(step, request, now, write)
        })
        .await
    }

    /// Sends reminders and escalations for overdue human steps of one run. Each is recorded on
    /// the step and as a run event, with every channel's delivery result. Returns how many
    /// notices went out.
    pub(crate) async fn chase_overdue(
        &self,
        run: &Run,
        steps: &[Step],
    ) -> Result<usize, EngineError> {
        let Some(policy) = self.ports.tenants.tenant(&run.tenant).await? else {
            return Ok(0);
        };
        let now = self.now();
        let mut sent = 0;
        for step in steps.iter().filter(|s| s.state == StepState::Awaiting) {
            let Some(task) = &step.human else { continue };
            let rules = human_policy(&policy, step).unwrap_or_else(|| default_policy(step.action));
            let next = match task.last_notice_at() {
                None => task.due_at,
                Some(last) => after(last, rules.remind_every),
            };
            if now < next {
                continue;
            }
            let kind = if now >= task.escalate_at {
                NoticeKind::Escalation
            } else {
                NoticeKind::Reminder
            };
            let channels = match kind {
                NoticeKind::Escalation => policy.human.escalation_channels(),
                _ => &policy.human.remind,
            };
            let notice = notice_for(
                run,
                step,
                task,
                kind,
                now,
                &policy,
                self.settings.confirm_links.as_ref(),
            );
            let deliveries = self.ports.notifier.send(&policy, channels, &notice).await;
            let record = NoticeRecord {
                kind,
                at: now,
                outstanding: task.outstanding().map(|i| i.id.clone()).collect(),
                deliveries,
            };
            let kind_name = match kind {
                NoticeKind::Reminder => "human.reminded",
                _ => "human.escalated",
            };
            let stored = self
                .change_step(&run.id, &step.key, |_run, s, _now, _write| {
                    if s.state != StepState::Awaiting {
                        return Err(EngineError::NotAllowed("no longer awaiting".into()));
                    }
                    if let Some(t) = s.human.as_mut() {
                        t.notices.push(record.clone());
                    }
                    Ok(RunEvent::new(
                        &run.id,
                        now,
                        kind_name,
                        "system",
                        json!({"step": step.key, "notice": record}),
                    ))
                })
                .await;
            match stored {
                Ok(_) => sent += 1,
                Err(EngineError::NotAllowed(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(sent)
    }
}

fn clean(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// What a human step asks people to confirm: each device the leaver had, the hand-over, or
/// the account in an app without an API.
fn items_of(
    run: &Run,
    steps: &[Step],
    step: &Step,
    policy: Option<&TenantPolicy>,
) -> Vec<HumanItem> {
    match step.action {
        Action::ConfirmAppRemoval => {
            let app = app_of(step, policy);
            vec![HumanItem {
                id: "account".into(),
                label: format!(
                    "{} removes {}'s account in {} (or confirms there is none)",
                    app.as_ref().map_or("the app's owner", |a| a.owner.as_str()),
                    run.subject.email,
                    app.as_ref()
                        .map_or_else(|| step.app.clone().unwrap_or_default(), |a| a.name.clone()),
                ),
                device: None,
                confirmation: None,
            }]
        }
        Action::ReturnDevices => devices_of(steps)
            .into_iter()
            .enumerate()
            .map(|(i, d)| HumanItem {
                id: format!("device-{}", i + 1),
                label: device_label(&d),
                device: Some(d),
                confirmation: None,
            })
            .collect(),
        _ => vec![HumanItem {
            id: "handover".into(),
            label: format!(
                "{} confirms they have {}'s mail and files",
                delegate_of(run, policy).unwrap_or_else(|| "the delegate".into()),
                run.subject.email
            ),
            device: None,
            confirmation: None,
        }],
    }
}

/// A device return with no device on record: verified at once.
fn nothing_to_return(
    write: &mut Write,
    step: &mut Step,
    now: Timestamp,
) -> Result<(), EngineError> {
    write.step(step, StepInput::Succeeded)?;
    step.verified_at = Some(now);
    step.result = Some(StepResult {
        repeat: false,
        summary: "no managed device is on record for the leaver in any provider".into(),
        readback: json!({"devices": []}),
        output: Value::Null,
    });
    write.commit.events.push(RunEvent::new(
        &step.run_id,
        now,
        "step.verified",
        "system",
        json!({"step": step.key, "summary": "no devices to return"}),
    ));
    Ok(())
}

/// Confirms the requested item of an awaiting step; the last one verifies the step.
fn confirm_item(
    step: &mut Step,
    request: &ConfirmRequest,
    now: Timestamp,
    write: &mut Write,
) -> Result<RunEvent, EngineError> {
    let key = step.key.clone();
    if step.state != StepState::Awaiting {
        return Err(EngineError::NotAllowed(format!(
            "{key} is {}: only a step awaiting confirmation can be confirmed",
            step.state.as_str()
        )));
    }
    if !request.outcome.fits(step.action) {
        return Err(EngineError::NotAllowed(format!(
            "{key} cannot be confirmed as {:?}",
            request.outcome
        )));
    }
    let Some(task) = step.human.as_mut() else {
        return Err(EngineError::NotAllowed(format!("{key} lists no items")));
    };
    let ids: Vec<String> = task.items.iter().map(|i| i.id.clone()).collect();
    let Some(item) = task.items.iter_mut().find(|i| i.id == request.item) else {
        return Err(EngineError::NotFound(format!(
            "item {:?} in {key} (items: {})",
            request.item,
            ids.join(", ")
        )));
    };
    if let Some(c) = &item.confirmation {
        return Err(EngineError::NotAllowed(format!(
            "item {} was already confirmed by {} at {}",
            item.id, c.actor, c.at
        )));
    }
    item.confirmation = Some(Confirmation {
        outcome: request.outcome,
        actor: request.actor.clone(),
        at: now,
        condition: clean(&request.condition),
        note: clean(&request.note),
    });
    let item_json = serde_json::to_value(&*item).unwrap_or(Value::Null);
    let done = task.outstanding().next().is_none();
    let confirmed: Vec<Value> = task
        .items
        .iter()
        .map(|i| serde_json::to_value(i).unwrap_or(Value::Null))
        .collect();
    if done {
        write
            .step(step, StepInput::Confirmed)
            .map_err(|e| EngineError::NotAllowed(e.to_string()))?;
        step.verified_at = Some(now);
        let (summary, output) = match step.action {
            Action::ConfirmAppRemoval => attested(step, request, now),
            _ => (
                format!("all {} items confirmed", confirmed.len()),
                Value::Null,
            ),
        };
        step.result = Some(StepResult {
            repeat: false,
            summary,
            readback: json!({"items": confirmed}),
            output,
        });
    }
    Ok(RunEvent::new(
        &step.run_id,
        now,
        "human.confirmed",
        &request.actor,
        json!({"step": key, "item": item_json, "step_verified": done}),
    ))
}

/// An app owner's confirmation: what the bundle's run summary says of the seat. Passage saw
/// nothing, so the outcome is the owner's word, never a removal.
fn attested(step: &Step, request: &ConfirmRequest, now: Timestamp) -> (String, Value) {
    let app = step.app.clone().unwrap_or_default();
    let (outcome, summary) = match request.outcome {
        ItemOutcome::NoAccount => (
            "no_account",
            format!("{} attests the leaver had no {app} account", request.actor),
        ),
        _ => (
            "attested",
            format!(
                "{} attests the leaver's {app} account is removed (not read back by Passage)",
                request.actor
            ),
        ),
    };
    let seat = crate::domain::SeatOutcome {
        outcome: outcome.into(),
        seat_freed: "unknown".into(),
        restorable: "as the app allows; Passage did not act".into(),
        account: None,
        licences: Vec::new(),
    };
    let mut seat = seat.to_value();
    seat["attested_by"] = request.actor.clone().into();
    seat["attested_at"] = now.to_string().into();
    (summary, json!({"seat": seat}))
}

/// The tenant's settings for the app a confirmation step is about.
fn app_of(step: &Step, policy: Option<&TenantPolicy>) -> Option<crate::domain::ManualAppPolicy> {
    policy?.saas.manual_app(step.app.as_deref()?)
}

fn human_policy(policy: &TenantPolicy, step: &Step) -> Option<HumanStepPolicy> {
    match step.action {
        Action::ConfirmAppRemoval => app_of(step, Some(policy)).map(|a| a.step),
        Action::ReturnDevices => policy.human.device_return.clone(),
        _ => policy.human.handover.clone(),
    }
}

fn default_policy(action: Action) -> HumanStepPolicy {
    match action {
        Action::ConfirmAppRemoval => HumanStepPolicy::app_removal(),
        Action::ReturnDevices => HumanStepPolicy::device_return(),
        _ => HumanStepPolicy::handover(),
    }
}

/// Whom a human step's notices go to, and whether they confirm it themselves with a link good
/// for one item, as them, until it expires: the manager confirms the hand-over, an app's owner
/// the removal; device returns are confirmed by IT, never by link.
fn addressee(run: &Run, step: &Step, policy: &TenantPolicy) -> (Option<String>, bool) {
    match step.action {
        Action::ConfirmAppRemoval => (app_of(step, Some(policy)).map(|a| a.owner), true),
        Action::ConfirmHandover => (delegate_of(run, Some(policy)), true),
        _ => (delegate_of(run, Some(policy)), false),
    }
}

/// One item's signed confirmation link, as a line of a notice.
fn confirm_link(
    run: &Run,
    step: &Step,
    item: &str,
    by: &str,
    now: Timestamp,
    links: &super::ConfirmLinks,
) -> String {
    let scope = crate::link::ConfirmScope {
        tenant: run.tenant.to_string(),
        run_id: run.id.to_string(),
        step: step.key.to_string(),
        item: item.to_owned(),
        by: by.to_owned(),
        expires: super::after(now, links.valid_for).as_second(),
    };
    format!(
        "\nConfirm as {by}: {}{}",
        links.base_url.trim_end_matches('/'),
        crate::link::confirm_path(links.key.expose().as_bytes(), &scope)
    )
}

fn delegate_of(run: &Run, policy: Option<&TenantPolicy>) -> Option<String> {
    run.subject
        .manager
        .as_ref()
        .map(|m| m.email.clone())
        .or_else(|| policy.and_then(|p| p.fallback_delegate.clone()))
}

fn notice_for(
    run: &Run,
    step: &Step,
    task: &HumanTask,
    kind: NoticeKind,
    now: Timestamp,
    policy: &TenantPolicy,
    links: Option<&super::ConfirmLinks>,
) -> Notice {
    let overdue_hours = now.duration_since(task.due_at).as_hours().max(0);
    let what = match step.action {
        Action::ReturnDevices => "Device return",
        Action::ConfirmAppRemoval => "App account removal",
        _ => "Data hand-over confirmation",
    };
    let prefix = kind.label();
    let outstanding: Vec<String> = task
        .outstanding()
        .map(|i| format!("- {} ({})", i.label, i.id))
        .collect();
    let (addressee, confirms_by_link) = addressee(run, step, policy);
    let recipients: Vec<String> = addressee.iter().cloned().collect();
    let mut confirm = String::new();
    if let (true, Some(links), Some(by)) = (confirms_by_link, links, &addressee) {
        for item in task.outstanding() {
            confirm.push_str(&confirm_link(run, step, &item.id, by, now, links));
        }
    }
    Notice {
        kind,
        tenant: run.tenant.to_string(),
        run_id: run.id.clone(),
        step: Some(step.key.clone()),
        subject: format!(
            "{prefix}: {what} for {} is overdue ({overdue_hours} h)",
            run.subject.email
        ),
        text: format!(
            "{what} for leaver {} (run {}) is still outstanding:\n{}\n\nConfirm with: passage confirm {} {} <item> --outcome ...{confirm}",
            run.subject.email,
            run.id,
            outstanding.join("\n"),
            run.id,
            step.key
        ),
        recipients,
        at: now,
    }
}

fn device_label(d: &DeviceRecord) -> String {
    let name = d.name.as_deref().unwrap_or("device");
    match (&d.asset_tag, &d.model) {
        (Some(tag), Some(model)) => format!("{name} ({model}, asset {tag})"),
        (Some(tag), None) => format!("{name} (asset {tag})"),
        (None, Some(model)) => format!("{name} ({model})"),
        (None, None) => name.to_owned(),
    }
}

fn s(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Where a provider's snapshot lists the leaver's devices and what it calls their fields.
struct DeviceFields {
    provider: Provider,
    /// The snapshot's list of devices.
    list: &'static str,
    id: &'static str,
    /// The device id and state as the device step's read-back names them.
    readback_id: &'static str,
    readback_state: &'static str,
    /// The display name: the first of these that is set.
    names: &'static [&'static str],
    /// Also the asset tag: no provider keeps one apart from the serial number.
    serial: &'static str,
    model: &'static str,
    platform: &'static str,
}

const DEVICE_FIELDS: [DeviceFields; 3] = [
    DeviceFields {
        provider: Provider::Microsoft,
        list: "devices",
        id: "id",
        readback_id: "id",
        readback_state: "state",
        names: &["deviceName"],
        serial: "serialNumber",
        model: "model",
        platform: "operatingSystem",
    },
    DeviceFields {
        provider: Provider::Google,
        list: "mobile_devices",
        id: "resourceId",
        readback_id: "resourceId",
        readback_state: "status",
        names: &["model"],
        serial: "serialNumber",
        model: "model",
        platform: "os",
    },
    DeviceFields {
        provider: Provider::Jumpcloud,
        list: "systems",
        id: "id",
        readback_id: "system_id",
        readback_state: "status",
        names: &["display_name", "hostname"],
        serial: "serial_number",
        model: "os",
        platform: "os_family",
    },
];

/// The leaver's devices, from each provider's snapshot, with the state this run's device step
/// left them in. Devices the same serial number shows in two providers are listed once.
pub(crate) fn devices_of(steps: &[Step]) -> Vec<DeviceRecord> {
    let result = |provider: Provider, action: Action| {
        steps
            .iter()
            .find(|s| s.provider == provider && s.action == action)
            .and_then(|s| s.result.as_ref())
    };
    let secured = |provider: Provider, id_key: &str, id: &str, state_key: &str| -> String {
        let Some(step) = steps
            .iter()
            .find(|s| s.provider == provider && s.action == Action::SecureDevices)
        else {
            return "not secured by this run (tenant policy)".into();
        };
        let Some(r) = &step.result else {
            return format!("device step {}", step.state.as_str());
        };
        r.readback["devices"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d[id_key].as_str() == Some(id))
            .and_then(|d| s(d, state_key))
            .unwrap_or_else(|| "not listed by the device step".into())
    };
    let mut out: Vec<DeviceRecord> = Vec::new();
    for f in &DEVICE_FIELDS {
        let Some(r) = result(f.provider, Action::Snapshot) else {
            continue;
        };
        for d in r.output[f.list].as_array().into_iter().flatten() {
            let Some(id) = s(d, f.id) else { continue };
            out.push(DeviceRecord {
                source: f.provider.as_str().into(),
                mdm_state: secured(f.provider, f.readback_id, &id, f.readback_state),
                device_id: id,
                name: f.names.iter().find_map(|key| s(d, key)),
                serial_number: s(d, f.serial),
                asset_tag: s(d, f.serial),
                model: s(d, f.model),
                platform: s(d, f.platform),
            });
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|d| match &d.serial_number {
        Some(sn) => seen.insert(sn.clone()),
        None => true,
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::StepResult;

    fn done(provider: Provider, action: Action, readback: Value, output: Value) -> Step {
        let mut step = Step::new(&RunId::new("run_1"), provider, action, true, vec![]);
        step.result = Some(StepResult {
            repeat: false,
            summary: String::new(),
            readback,
            output,
        });
        step
    }

    #[test]
    fn devices_come_from_each_snapshot_with_the_device_steps_state() {
        let steps = [
            done(
                Provider::Microsoft,
                Action::Snapshot,
                Value::Null,
                json!({"devices": [{"id": "m1", "deviceName": "Jane's Mac", "serialNumber": "C02X",
                    "model": "MacBook Pro", "operatingSystem": "macOS"}]}),
            ),
            done(
                Provider::Microsoft,
                Action::SecureDevices,
                json!({"devices": [{"id": "m1", "state": "retire pending"}]}),
                Value::Null,
            ),
            done(
                Provider::Google,
                Action::Snapshot,
                Value::Null,
                json!({"mobile_devices": [{"resourceId": "g1", "model": "Pixel 8",
                    "serialNumber": "G-77", "os": "Android 15"}]}),
            ),
            done(
                Provider::Jumpcloud,
                Action::Snapshot,
                Value::Null,
                json!({"systems": [
                    {"id": "j1", "hostname": "jane-mbp", "serial_number": "J-1", "os": "Mac OS X",
                        "os_family": "darwin"},
                    // The Mac Intune also manages: listed once.
                    {"id": "j2", "display_name": "dup", "serial_number": "C02X"}
                ]}),
            ),
            done(
                Provider::Jumpcloud,
                Action::SecureDevices,
                json!({"devices": [{"system_id": "j1", "status": "locked"}]}),
                Value::Null,
            ),
        ];
        let devices = devices_of(&steps);
        let summary: Vec<_> = devices
            .iter()
            .map(|d| {
                (
                    d.source.as_str(),
                    d.device_id.as_str(),
                    d.name.as_deref(),
                    d.serial_number.as_deref(),
                    d.model.as_deref(),
                    d.platform.as_deref(),
                    d.mdm_state.as_str(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "microsoft",
                    "m1",
                    Some("Jane's Mac"),
                    Some("C02X"),
                    Some("MacBook Pro"),
                    Some("macOS"),
                    "retire pending"
                ),
                (
                    "google",
                    "g1",
                    Some("Pixel 8"),
                    Some("G-77"),
                    Some("Pixel 8"),
                    Some("Android 15"),
                    "not secured by this run (tenant policy)"
                ),
                (
                    "jumpcloud",
                    "j1",
                    Some("jane-mbp"),
                    Some("J-1"),
                    Some("Mac OS X"),
                    Some("darwin"),
                    "locked"
                ),
            ]
        );
        assert!(devices.iter().all(|d| d.asset_tag == d.serial_number));
    }
}
