//! What operators may do to a run: waive a non-critical step, retry a failed one, cancel or
//! reschedule before the cutoff. Every action is recorded with its actor.

use super::effects::Write;
use super::{Engine, EngineError};
use crate::cutoff::{self, CutoffRequest};
use crate::domain::{Cancellation, Run, RunEvent, RunState, Step, StepState, Waiver};
use crate::ids::{RunId, StepKey};
use crate::machine::run::RunInput;
use crate::machine::step::StepInput;
use serde_json::json;

impl Engine {
    /// Waives a non-critical step with a reason. Critical steps can never be waived.
    pub async fn waive(
        &self,
        run_id: &RunId,
        key: &StepKey,
        actor: &str,
        reason: &str,
    ) -> Result<Step, EngineError> {
        require_reason(reason)?;
        let step = self
            .change_step(run_id, key, |run, step, now, write| {
                if step.critical {
                    return Err(EngineError::NotAllowed(format!(
                        "{key} is critical: critical steps cannot be waived, only retried until verified"
                    )));
                }
                if !run.state.is_open() && run.state != RunState::Scheduled {
                    return Err(EngineError::NotAllowed(format!(
                        "run {run_id} is {}; steps can only be waived on an open run",
                        run.state.as_str()
                    )));
                }
                write
                    .step(step, StepInput::Waive { critical: false })
                    .map_err(|_| not_in_state(key, step.state, "waived"))?;
                step.lease = None;
                step.waiver = Some(Waiver {
                    actor: actor.into(),
                    reason: reason.into(),
                    at: now,
                });
                Ok(RunEvent::new(
                    run_id,
                    now,
                    "step.waived",
                    &format!("operator:{actor}"),
                    json!({"step": key, "reason": reason}),
                ))
            })
            .await?;
        Ok(step)
    }

    /// Sends a failed step round again (e.g. after a missing permission was granted), with its
    /// deadlines starting afresh.
    pub async fn retry(
        &self,
        run_id: &RunId,
        key: &StepKey,
        actor: &str,
    ) -> Result<Step, EngineError> {
        let step = self
            .change_step(run_id, key, |_run, step, now, write| {
                write
                    .step(step, StepInput::OperatorRetry)
                    .map_err(|_| not_in_state(key, step.state, "retried"))?;
                step.streaks = crate::domain::Streaks::default();
                step.operation = None;
                step.not_before = None;
                Ok(RunEvent::new(
                    run_id,
                    now,
                    "step.retried",
                    &format!("operator:{actor}"),
                    json!({"step": key}),
                ))
            })
            .await?;
        Ok(step)
    }

    /// Cancels a run before its cutoff (the leaver stays, or HR withdrew the termination).
    pub async fn cancel(
        &self,
        run_id: &RunId,
        actor: &str,
        reason: &str,
    ) -> Result<Run, EngineError> {
        require_reason(reason)?;
        self.cancel_with(run_id, &format!("operator:{actor}"), reason, json!({}))
            .await
    }

    /// Cancels a scheduled run as `actor` (`operator:…` or `hr:…`), recording `extra` (the
    /// source of the decision) in the event.
    pub(crate) async fn cancel_with(
        &self,
        run_id: &RunId,
        actor: &str,
        reason: &str,
        extra: serde_json::Value,
    ) -> Result<Run, EngineError> {
        let early_done: Vec<String> = self
            .ports
            .store
            .steps(run_id)
            .await?
            .iter()
            .filter(|s| s.early && s.state == StepState::Verified)
            .map(|s| s.key.to_string())
            .collect();
        // Storing the cancellation removes the timer and signs it into the tenant's chain.
        let run = self
            .change_run(run_id, |run, now, write| {
                write.run(run, RunInput::Cancel).map_err(|_| {
                    EngineError::NotAllowed(format!(
                        "run {run_id} is {}: only a scheduled run can be cancelled (access is already being cut)",
                        run.state.as_str()
                    ))
                })?;
                run.cancellation = Some(Cancellation {
                    actor: actor.into(),
                    reason: reason.into(),
                    at: now,
                });
                let mut data = json!({"reason": reason});
                merge(&mut data, &extra);
                if !early_done.is_empty() {
                    data["early_steps_done"] = json!(early_done);
                    data["note"] = json!("these hand-over steps ran before the cancellation and stay in effect until undone by hand");
                }
                Ok(RunEvent::new(run_id, now, "run.cancelled", actor, data))
            })
            .await?;
        Ok(run)
    }

    /// Moves a scheduled run's cutoff. The old and new instants and the reason are recorded.
    /// A new cutoff already in the past is refused unless `request` is
    /// [`CutoffRequest::Immediate`]: cutting access at once is said outright, never implied by
    /// a mistyped date.
    pub async fn reschedule(
        &self,
        run_id: &RunId,
        request: &CutoffRequest,
        actor: &str,
        reason: &str,
    ) -> Result<Run, EngineError> {
        require_reason(reason)?;
        let Some(current) = self.ports.store.run(run_id).await? else {
            return Err(EngineError::NotFound(format!("run {run_id}")));
        };
        let policy = self
            .ports
            .tenants
            .tenant(&current.tenant)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("tenant {}", current.tenant)))?;
        let resolved = cutoff::resolve(
            request,
            &current.subject.time_zone,
            policy.end_of_day,
            self.now(),
        )
        .map_err(|e| EngineError::Invalid(e.to_string()))?;
        if *request != CutoffRequest::Immediate && resolved.at < self.now() {
            return Err(EngineError::Invalid(format!(
                "the new cutoff {} is in the past; to cut access now, reschedule with --now \
                 (`\"immediate\": true` in the API)",
                resolved.at
            )));
        }
        self.move_cutoff(
            run_id,
            resolved,
            &format!("operator:{actor}"),
            reason,
            json!({}),
        )
        .await
    }

    /// Sets a scheduled run's cutoff to `resolved` as `actor`, re-arms its timer, and starts
    /// it at once if the new cutoff has passed.
    pub(crate) async fn move_cutoff(
        &self,
        run_id: &RunId,
        resolved: cutoff::Cutoff,
        actor: &str,
        reason: &str,
        extra: serde_json::Value,
    ) -> Result<Run, EngineError> {
        // Storing the new cutoff re-arms the timer, which starts the run at once if it is due.
        let run = self
            .change_run(run_id, |run, now, write| {
                write.run(run, RunInput::Reschedule).map_err(|_| {
                    EngineError::NotAllowed(format!(
                        "run {run_id} is {}: only a scheduled run can be rescheduled",
                        run.state.as_str()
                    ))
                })?;
                let previous = run.cutoff.at;
                // The early window keeps its lead before the new cutoff.
                if let Some(early) = run.early_at {
                    let lead = previous.duration_since(early);
                    run.early_at = resolved.at.checked_sub(lead).ok();
                }
                run.cutoff = resolved.clone();
                let mut data = json!({"previous_cutoff": previous, "cutoff": run.cutoff.at, "derivation": run.cutoff.derivation, "reason": reason});
                merge(&mut data, &extra);
                Ok(RunEvent::new(run_id, now, "run.rescheduled", actor, data))
            })
            .await?;
        Ok(run)
    }

    /// Reads, changes and stores one run with its event, retrying on version conflicts; then
    /// carries out what its transitions say follows.
    pub(crate) async fn change_run(
        &self,
        run_id: &RunId,
        mut change: impl FnMut(&mut Run, jiff::Timestamp, &mut Write) -> Result<RunEvent, EngineError>,
    ) -> Result<Run, EngineError> {
        for _ in 0..self.settings.conflict_retries {
            let Some(mut run) = self.ports.store.run(run_id).await? else {
                return Err(EngineError::NotFound(format!("run {run_id}")));
            };
            let now = self.now();
            let mut write = Write::new(&run, now);
            let event = change(&mut run, now, &mut write)?;
            write.commit.runs.push(run.clone());
            write.commit.events.push(event);
            if self.write(write).await?.is_none() {
                continue;
            }
            run.version += 1;
            return Ok(run);
        }
        Err(EngineError::Contended(self.settings.conflict_retries))
    }

    /// Reads, changes and stores one step with its event, retrying on version conflicts; then
    /// carries out what its transitions say follows.
    pub(crate) async fn change_step(
        &self,
        run_id: &RunId,
        key: &StepKey,
        mut change: impl FnMut(
            &Run,
            &mut Step,
            jiff::Timestamp,
            &mut Write,
        ) -> Result<RunEvent, EngineError>,
    ) -> Result<Step, EngineError> {
        for _ in 0..self.settings.conflict_retries {
            let Some(run) = self.ports.store.run(run_id).await? else {
                return Err(EngineError::NotFound(format!("run {run_id}")));
            };
            let steps = self.ports.store.steps(run_id).await?;
            let Some(mut step) = steps.into_iter().find(|s| &s.key == key) else {
                return Err(EngineError::NotFound(format!("step {key} in run {run_id}")));
            };
            let now = self.now();
            let mut write = Write::new(&run, now);
            let event = change(&run, &mut step, now, &mut write)?;
            write.commit.steps.push(step.clone());
            write.commit.events.push(event);
            if self.write(write).await?.is_none() {
                continue;
            }
            step.version += 1;
            return Ok(step);
        }
        Err(EngineError::Contended(self.settings.conflict_retries))
    }
}

/// Adds `extra`'s fields to the event data `into`.
fn merge(into: &mut serde_json::Value, extra: &serde_json::Value) {
    if let (Some(into), Some(extra)) = (into.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            into.insert(k.clone(), v.clone());
        }
    }
}

pub(crate) fn require_reason(reason: &str) -> Result<(), EngineError> {
    if reason.trim().is_empty() {
        return Err(EngineError::Invalid(
            "a reason is required: it goes into the evidence".into(),
        ));
    }
    Ok(())
}

fn not_in_state(key: &StepKey, state: StepState, verb: &str) -> EngineError {
    EngineError::NotAllowed(format!("{key} is {} and cannot be {verb}", state.as_str()))
}

/// A leaver entered by an operator ("Jane leaves Friday").
#[derive(Clone, Debug)]
pub struct ManualLeaver {
    pub employee_id: String,
    pub email: String,
    pub display_name: Option<String>,
    pub cutoff: CutoffRequest,
    /// IANA zone; else the work location's, else the tenant's default.
    pub time_zone: Option<String>,
    pub work_location: Option<String>,
    pub manager: Option<crate::domain::Manager>,
    pub note: Option<String>,
}

impl Engine {
    /// Starts a run by hand. `idempotency_key` makes a resent request return the same run.
    pub async fn start_manual(
        &self,
        tenant: &crate::ids::TenantId,
        leaver: ManualLeaver,
        actor: &str,
        idempotency_key: &str,
    ) -> Result<super::Accepted, EngineError> {
        if actor.trim().is_empty() {
            return Err(EngineError::Invalid("an actor is required".into()));
        }
        let mut problems = Vec::new();
        if leaver.employee_id.trim().is_empty() || leaver.employee_id.len() > 128 {
            problems.push("employee_id must be 1-128 characters");
        }
        if !looks_like_email(&leaver.email) {
            problems.push("email must be an address such as jane@example.com");
        }
        if let Some(m) = &leaver.manager
            && !looks_like_email(&m.email)
        {
            problems.push("manager email must be an address such as lee@example.com");
        }
        if !problems.is_empty() {
            return Err(EngineError::Invalid(problems.join("; ")));
        }
        let policy = self
            .ports
            .tenants
            .tenant(tenant)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("tenant {tenant}")))?;
        // A zone the operator names outright wins over the location's.
        let (zone, end_of_day) = policy.time_rules(leaver.work_location.as_deref(), None);
        let zone = leaver.time_zone.clone().unwrap_or(zone);
        let resolved = cutoff::resolve(&leaver.cutoff, &zone, end_of_day, self.now())
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        let source = crate::domain::RunSource::Manual {
            actor: actor.to_owned(),
            received_at: self.now(),
            note: leaver.note.clone(),
        };
        let request = super::LeaverRequest {
            employee_id: leaver.employee_id,
            email: leaver.email,
            display_name: leaver.display_name,
            time_zone: Some(zone),
            cutoff: leaver.cutoff,
            manager: leaver.manager,
        };
        self.accept(
            &policy,
            source,
            &format!("manual:{idempotency_key}"),
            request,
            resolved,
        )
        .await
    }
}

fn looks_like_email(s: &str) -> bool {
    let s = s.trim();
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !s.contains(' ')
        }
        None => false,
    }
}
