//! `passage plan`: what a run for this leaver would change, read now from every provider.
//!
//! Only snapshot actions are executed, and those only read; the decision per step is
//! [`crate::preview::preview`]'s. No run is stored and nothing is queued.

use super::{Engine, EngineError};
use crate::domain::{Action, CallRecord, Manager, Provider, Step, Subject, app_step_key};
use crate::ids::{RunId, StepKey, TenantId};
use crate::plan;
use crate::ports::{ActionOutcome, ActionRequest};
use crate::preview::{Context, Snapshot, StepPreview, preview};
use serde::Serialize;
use std::collections::BTreeMap;

/// Who a preview is for.
#[derive(Clone, Debug)]
pub struct PlanRequest {
    pub email: String,
    /// The HR system's id, when known; only recorded.
    pub employee_id: Option<String>,
    /// Receives mail and files; else the tenant's fallback delegate.
    pub manager: Option<String>,
}

/// One provider's read of the leaver.
#[derive(Clone, Debug, Serialize)]
pub struct ProviderRead {
    pub step: StepKey,
    pub provider: Provider,
    /// What the read found (the snapshot's summary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
    /// Why the read failed: every step of this provider would fail the same way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Every call the read made: method, path, status and the provider's request id.
    pub calls: Vec<CallRecord>,
}

/// What a run would change, step by step, as read at `read_at`.
#[derive(Clone, Debug, Serialize)]
pub struct PlanPreview {
    pub tenant: TenantId,
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employee_id: Option<String>,
    pub read_at: jiff::Timestamp,
    pub reads: Vec<ProviderRead>,
    pub steps: Vec<StepPreview>,
}

impl Engine {
    /// Reads the leaver from every provider the tenant's policy acts on and says, per planned
    /// step, what a run would change and what it could not.
    pub async fn preview(
        &self,
        tenant: &TenantId,
        request: PlanRequest,
    ) -> Result<PlanPreview, EngineError> {
        let policy = self
            .ports
            .tenants
            .tenant(tenant)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("tenant {tenant}")))?;
        let delegate = request
            .manager
            .clone()
            .or_else(|| policy.fallback_delegate.clone());
        let run_id = RunId::new("plan");
        let steps = plan::build(&run_id, &policy, delegate.as_deref())?;
        let subject = Subject {
            employee_id: request.employee_id.clone().unwrap_or_default(),
            email: request.email.clone(),
            display_name: None,
            time_zone: policy.default_time_zone.clone(),
            manager: request.manager.clone().map(|email| Manager {
                email,
                employee_id: None,
            }),
        };
        let read_at = self.now();
        let mut reads = Vec::new();
        let mut outputs = BTreeMap::new();
        for step in steps.iter().filter(|s| s.action == Action::Snapshot) {
            let (read, output) = self
                .read_snapshot(&policy, step, &subject, delegate.clone())
                .await;
            outputs.insert(step.key.clone(), output);
            reads.push(read);
        }
        let cx = Context {
            policy: &policy,
            delegate: delegate.as_deref(),
        };
        let steps = steps
            .iter()
            .map(|step| {
                let key = app_step_key(step.provider, step.app.as_deref(), Action::Snapshot);
                let snapshot = match outputs.get(&key) {
                    Some(Ok(output)) => Snapshot::Read(output),
                    Some(Err(why)) => Snapshot::Failed(why),
                    None => Snapshot::None,
                };
                preview(step, snapshot, cx)
            })
            .collect();
        Ok(PlanPreview {
            tenant: tenant.clone(),
            email: request.email,
            employee_id: request.employee_id,
            read_at,
            reads,
            steps,
        })
    }

    /// Runs one provider's snapshot (a read) once, outside any run.
    async fn read_snapshot(
        &self,
        policy: &crate::domain::TenantPolicy,
        step: &Step,
        subject: &Subject,
        delegate: Option<String>,
    ) -> (ProviderRead, Result<serde_json::Value, String>) {
        let Some(connector) = self.ports.connectors.connector_for(policy, step) else {
            let why = format!("no {} connection is configured", step.provider);
            return (read_of(step, Err(why.clone()), vec![]), Err(why));
        };
        let request = ActionRequest {
            tenant: policy.id.clone(),
            run_id: step.run_id.clone(),
            step_key: step.key.clone(),
            action: Action::Snapshot,
            subject: subject.clone(),
            delegate,
            attempt: 1,
            prior: BTreeMap::new(),
            operation: None,
        };
        let report = connector.execute(&request).await;
        let (summary, output) = match report.outcome {
            ActionOutcome::Done(done) => (Ok(done.summary), Ok(done.output)),
            ActionOutcome::Pending(p) => (Err(p.what.clone()), Err(p.what)),
            ActionOutcome::Failed(f) => {
                let why = format!("{} ({})", f.message, f.code);
                (Err(why.clone()), Err(why))
            }
        };
        (read_of(step, summary, report.calls), output)
    }
}

fn read_of(step: &Step, result: Result<String, String>, calls: Vec<CallRecord>) -> ProviderRead {
    let (found, error) = match result {
        Ok(found) => (Some(found), None),
        Err(why) => (None, Some(why)),
    };
    ProviderRead {
        step: step.key.clone(),
        provider: step.provider,
        found,
        error,
        calls,
    }
}
