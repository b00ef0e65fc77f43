//! Telling the tenant when a run needs someone: a step failed for good (so the run is
//! blocked), or the run is still open past the tenant's access-removal SLA. Each cause is
//! claimed on the run before it is sent, so however often sweeps look at a run, and however
//! many look at once, a cause is told once.

use super::{Engine, EngineError};
use crate::domain::{
    AlertRecord, NoticeKind, Run, RunEvent, RunState, SlaClock, Step, StepState, TenantPolicy,
};
use crate::ports::Notice;
use jiff::Timestamp;
use serde_json::json;

/// One thing worth telling, not yet told.
struct Cause {
    key: String,
    kind: NoticeKind,
    step: Option<Step>,
}

impl Engine {
    /// Sends the alerts `run` calls for and has not sent yet. Returns how many went out.
    pub(crate) async fn raise_alerts(
        &self,
        run: &Run,
        steps: &[Step],
    ) -> Result<usize, EngineError> {
        let Some(policy) = self.ports.tenants.tenant(&run.tenant).await? else {
            return Ok(0);
        };
        let now = self.now();
        let mut sent = 0;
        for cause in causes(run, steps, &policy, now) {
            if !self.claim_alert(run, &cause, now).await? {
                continue;
            }
            let channels = policy.human.escalation_channels();
            let notice = notice_for(run, &cause, &policy, now);
            let deliveries = self.ports.notifier.send(&policy, channels, &notice).await;
            self.change_run(&run.id, |r, at, _write| {
                if let Some(record) = r.alerts.iter_mut().find(|a| a.cause == cause.key) {
                    record.deliveries = deliveries.clone();
                }
                Ok(RunEvent::new(
                    &r.id,
                    at,
                    "run.alerted",
                    "system",
                    json!({"cause": cause.key, "kind": cause.kind, "subject": notice.subject,
                        "deliveries": deliveries}),
                ))
            })
            .await?;
            sent += 1;
        }
        Ok(sent)
    }

    /// Records `cause` on the run unless it is there already; true when this caller is the
    /// one to send it.
    async fn claim_alert(
        &self,
        run: &Run,
        cause: &Cause,
        now: Timestamp,
    ) -> Result<bool, EngineError> {
        let claimed = self
            .change_run(&run.id, |r, at, _write| {
                if r.alerts.iter().any(|a| a.cause == cause.key) {
                    return Err(EngineError::NotAllowed("already alerted".into()));
                }
                r.alerts.push(AlertRecord {
                    cause: cause.key.clone(),
                    kind: cause.kind,
                    at: now,
                    deliveries: Vec::new(),
                });
                Ok(RunEvent::new(
                    &r.id,
                    at,
                    "run.alert_raised",
                    "system",
                    json!({"cause": cause.key, "kind": cause.kind}),
                ))
            })
            .await;
        match claimed {
            Ok(_) => Ok(true),
            Err(EngineError::NotAllowed(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// What about `run` is worth telling now and has not been told.
fn causes(run: &Run, steps: &[Step], policy: &TenantPolicy, now: Timestamp) -> Vec<Cause> {
    let mut out = Vec::new();
    if run.state == RunState::Blocked {
        for step in steps.iter().filter(|s| s.state == StepState::Failed) {
            out.push(Cause {
                // The attempt count makes a failure after a retry a new cause.
                key: format!("failed:{}:{}", step.key, step.attempts),
                kind: if step.critical {
                    NoticeKind::RunBlocked
                } else {
                    NoticeKind::StepFailed
                },
                step: Some(step.clone()),
            });
        }
    }
    if run.state.is_open() && now >= sla_due(run, policy) {
        out.push(Cause {
            key: "sla".into(),
            kind: NoticeKind::PastSla,
            step: None,
        });
    }
    out.retain(|c| !run.alerts.iter().any(|a| a.cause == c.key));
    out
}

/// When the tenant's SLA says the leaver's access should all be gone: the alerts and the
/// operator console read the same moment.
pub fn sla_due(run: &Run, policy: &TenantPolicy) -> Timestamp {
    let from = match policy.sla.from {
        SlaClock::Cutoff => run.cutoff.at,
        SlaClock::HrNotice => run.cutoff.at.max(run.created_at),
    };
    super::after(from, policy.sla.within)
}

fn notice_for(run: &Run, cause: &Cause, policy: &TenantPolicy, now: Timestamp) -> Notice {
    let who = &run.subject.email;
    let steps_hint = format!("`passage runs show {}` lists what resolves it", run.id);
    let (subject, text) = match (&cause.step, cause.kind) {
        (Some(step), _) => {
            let error = step
                .last_error
                .as_ref()
                .map(|e| format!("{} ({})", e.message, e.code))
                .unwrap_or_else(|| "no error recorded".into());
            let remedies = crate::remedy::for_run(run, std::slice::from_ref(step), now);
            let commands: Vec<String> = remedies
                .iter()
                .map(|r| format!("- {}: {}", r.when, r.command))
                .collect();
            (
                format!("Run for {who} is blocked: {} failed", step.key),
                format!(
                    "{} failed for good: {error}. The run stays open until an operator acts:\n{}\n{steps_hint}.",
                    step.key,
                    commands.join("\n")
                ),
            )
        }
        (None, _) => (
            format!("Run for {who} is past its SLA"),
            format!(
                "Access for {who} should have been removed within {:.1} h of the {} ({}); the run \
                 is still {}. {steps_hint}.",
                policy.sla.within.as_secs_f64() / 3600.0,
                policy.sla.from.as_str(),
                run.cutoff.at,
                run.state.as_str()
            ),
        ),
    };
    Notice {
        kind: cause.kind,
        tenant: run.tenant.to_string(),
        run_id: run.id.clone(),
        step: cause.step.as_ref().map(|s| s.key.clone()),
        subject,
        text,
        recipients: Vec::new(),
        at: now,
    }
}
