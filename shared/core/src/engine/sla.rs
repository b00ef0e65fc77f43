//! Steps past the tenant's SLA. A step that keeps retrying is not stuck as far as the engine
//! knows (its deadline has not passed), but someone should know it is slow: one escalation
//! goes out per step, recorded on the step and in the timeline, and the step keeps trying.

use super::{Engine, EngineError, after};
use crate::domain::{Provider, Run, RunEvent, Step, TenantPolicy};
use crate::ports::{Notice, NoticeKind};
use jiff::Timestamp;
use serde_json::json;

impl Engine {
    /// Alerts the tenant about each of the run's provider steps unverified longer than its SLA
    /// after the first attempt, once per step. Returns how many alerts went out.
    pub(crate) async fn alert_past_sla(
        &self,
        run: &Run,
        steps: &[Step],
    ) -> Result<usize, EngineError> {
        let Some(policy) = self.ports.tenants.tenant(&run.tenant).await? else {
            return Ok(0);
        };
        let now = self.now();
        let mut sent = 0;
        for step in steps.iter().filter(|s| past_sla(s, &policy, now)) {
            let channels = policy.human.escalation_channels();
            let notice = notice_for(run, step, &policy, now);
            let deliveries = self.ports.notifier.send(&policy, channels, &notice).await;
            let stored = self
                .change_step(&run.id, &step.key, |_run, s, _now, _write| {
                    if s.sla_alerted_at.is_some() {
                        return Err(EngineError::NotAllowed("already alerted".into()));
                    }
                    s.sla_alerted_at = Some(now);
                    Ok(RunEvent::new(
                        &run.id,
                        now,
                        "step.past_sla",
                        "system",
                        json!({
                            "step": s.key,
                            "state": s.state.as_str(),
                            "sla_seconds": policy.retry.sla.as_secs(),
                            "deliveries": deliveries,
                        }),
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

/// A provider step still being worked, first attempted longer ago than the SLA, not yet
/// alerted about. Human steps have their own reminders.
fn past_sla(step: &Step, policy: &TenantPolicy, now: Timestamp) -> bool {
    step.provider != Provider::Human
        && step.state.is_in_progress()
        && step.sla_alerted_at.is_none()
        && step
            .started_at
            .is_some_and(|t| now >= after(t, policy.retry.sla))
}

fn notice_for(run: &Run, step: &Step, policy: &TenantPolicy, now: Timestamp) -> Notice {
    let since = step.started_at.unwrap_or(now);
    let hours = now.duration_since(since).as_secs_f64() / 3600.0;
    let latest = match (&step.operation, &step.last_error) {
        (Some(op), _) => format!("Waiting on the provider: {}.", op.what),
        (None, Some(e)) => format!("Latest answer: {} ({}).", e.message, e.code),
        (None, None) => "No answer recorded yet.".into(),
    };
    let deadline_hours = policy.retry.deadline_for(step.critical).as_secs_f64() / 3600.0;
    Notice {
        kind: NoticeKind::Escalation,
        tenant: run.tenant.to_string(),
        run_id: run.id.clone(),
        step: Some(step.key.clone()),
        subject: format!(
            "{} for {} is past its SLA ({hours:.1} h since the first attempt)",
            step.key, run.subject.email
        ),
        text: format!(
            "Passage has been trying to {} for {} since {since} ({} attempts so far) and keeps trying. \
             {latest} A step gives up after {deadline_hours:.1} h of failures in a row, or at its \
             operation's own deadline; see `passage runs show {}`.",
            step.action.describe(),
            run.subject.email,
            step.attempts,
            run.id,
        ),
        recipients: Vec::new(),
        at: now,
    }
}
