//! The way out of a block that no retry can clear: a leaver who never had an account at a
//! provider. An operator may close that provider's steps as not applicable, critical ones
//! included, but only on a read made now that finds no such user: the provider's own answer,
//! with its request ids, is what the bundle shows, not the operator's word.

use super::effects::Write;
use super::operator::require_reason;
use super::{Engine, EngineError};
use crate::domain::{
    AbsenceProof, Action, Provider, Run, RunEvent, RunState, Step, StepState, app_step_key,
};
use crate::ids::{RunId, StepKey};
use crate::machine::step::StepInput;
use crate::ports::{ActionOutcome, ActionRequest, FailureClass};
use serde_json::json;
use std::collections::BTreeMap;

impl Engine {
    /// Closes `key` and every unfinished step of the same provider (and app) as not applicable,
    /// after the provider's lookup, run again now, reports that the leaver has no account.
    /// Any other answer (the user found, an error, throttling, a read not completed) refuses,
    /// saying why. Returns the steps closed.
    pub async fn not_applicable(
        &self,
        run_id: &RunId,
        key: &StepKey,
        operator: &str,
        reason: &str,
    ) -> Result<Vec<Step>, EngineError> {
        require_reason(reason)?;
        let (run, step) = self.step_of(run_id, key).await?;
        check_run(&run)?;
        if step.provider == Provider::Human {
            return Err(EngineError::NotAllowed(format!(
                "{key} is a step for people, not a provider: confirm its items with `passage confirm`"
            )));
        }
        let mut proof = self.prove_absent(&run, &step).await?;
        proof.operator = operator.to_owned();
        proof.reason = reason.to_owned();
        self.close_as_absent(run_id, &step, &proof).await
    }

    async fn step_of(&self, run_id: &RunId, key: &StepKey) -> Result<(Run, Step), EngineError> {
        let Some(run) = self.ports.store.run(run_id).await? else {
            return Err(EngineError::NotFound(format!("run {run_id}")));
        };
        let steps = self.ports.store.steps(run_id).await?;
        let step = steps
            .into_iter()
            .find(|s| &s.key == key)
            .ok_or_else(|| EngineError::NotFound(format!("step {key} in run {run_id}")))?;
        Ok((run, step))
    }

    /// Runs the provider's lookup (its snapshot, which only reads) for the run's leaver and
    /// answers the proof of absence, or why there is none.
    async fn prove_absent(&self, run: &Run, step: &Step) -> Result<AbsenceProof, EngineError> {
        let policy = self
            .ports
            .tenants
            .tenant(&run.tenant)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("tenant {}", run.tenant)))?;
        let read = app_step_key(step.provider, step.app.as_deref(), Action::Snapshot);
        let connector = self
            .ports
            .connectors
            .connector_for(&policy, step)
            .filter(|c| c.supports(Action::Snapshot))
            .ok_or_else(|| {
                EngineError::NotAllowed(format!(
                    "no {} connection that can look the leaver up is configured, so absence cannot be proven",
                    step.provider
                ))
            })?;
        let read_at = self.now();
        let request = ActionRequest {
            tenant: run.tenant.clone(),
            run_id: run.id.clone(),
            step_key: read.clone(),
            action: Action::Snapshot,
            subject: run.subject.clone(),
            delegate: None,
            attempt: 0,
            prior: BTreeMap::new(),
            operation: None,
        };
        let report = connector.execute(&request).await;
        let failure = match report.outcome {
            ActionOutcome::Failed(f)
                if f.class == FailureClass::Permanent && f.code == AbsenceProof::NOT_FOUND =>
            {
                f
            }
            other => return Err(refusal(run, step, &read, other)),
        };
        Ok(AbsenceProof {
            operator: String::new(),
            reason: String::new(),
            at: self.now(),
            read_at,
            read,
            code: failure.code,
            answer: failure.message,
            calls: report.calls,
        })
    }

    /// Stores the proof on every unfinished step of the provider (and app) in one write, then
    /// lets the run move on: dependents released, a block reconsidered, the gate looked at.
    async fn close_as_absent(
        &self,
        run_id: &RunId,
        named: &Step,
        proof: &AbsenceProof,
    ) -> Result<Vec<Step>, EngineError> {
        for _ in 0..self.settings.conflict_retries {
            let (run, _) = self.step_of(run_id, &named.key).await?;
            check_run(&run)?;
            let steps = self.ports.store.steps(run_id).await?;
            let mut closing: Vec<Step> = steps
                .into_iter()
                .filter(|s| same_account(s, named) && !is_settled(s.state))
                .collect();
            if let Some(busy) = closing.iter().find(|s| s.state == StepState::InFlight) {
                return Err(EngineError::NotAllowed(format!(
                    "{} is being worked right now; run the command again once its attempt ends",
                    busy.key
                )));
            }
            if closing.is_empty() {
                return Err(EngineError::NotAllowed(format!(
                    "every {} step of run {run_id} is already finished",
                    named.scope()
                )));
            }
            let now = self.now();
            let mut write = Write::new(&run, now);
            for step in &mut closing {
                write.step(step, StepInput::ProvenAbsent)?;
                step.lease = None;
                step.not_before = None;
                step.absence = Some(proof.clone());
                write.commit.steps.push(step.clone());
            }
            write.commit.events.push(RunEvent::new(
                run_id,
                now,
                "step.not_applicable",
                &format!("operator:{}", proof.operator),
                json!({
                    "steps": closing.iter().map(|s| &s.key).collect::<Vec<_>>(),
                    "reason": proof.reason,
                    "read": proof.read,
                    "read_at": proof.read_at,
                    "answer": proof.answer,
                    "request_ids": proof.request_ids(),
                }),
            ));
            if self.write(write).await?.is_none() {
                continue;
            }
            for s in &mut closing {
                s.version += 1;
            }
            return Ok(closing);
        }
        Err(EngineError::Contended(self.settings.conflict_retries))
    }
}

fn check_run(run: &Run) -> Result<(), EngineError> {
    if run.state.is_open() || run.state == RunState::Scheduled {
        return Ok(());
    }
    Err(EngineError::NotAllowed(format!(
        "run {} is {}; steps can be closed as not applicable only on a scheduled or open run",
        run.id,
        run.state.as_str()
    )))
}

/// Steps acting on the same account: the provider's, or one app's of a provider serving several.
fn same_account(step: &Step, named: &Step) -> bool {
    step.provider == named.provider && step.app == named.app
}

fn is_settled(state: StepState) -> bool {
    matches!(
        state,
        StepState::Verified | StepState::Waived | StepState::NotApplicable
    )
}

/// Why the read did not prove the leaver absent, and what to do instead.
fn refusal(run: &Run, step: &Step, read: &StepKey, outcome: ActionOutcome) -> EngineError {
    let retry = format!("`passage retry {} {}`", run.id, step.key);
    let why = match outcome {
        ActionOutcome::Done(done) => format!(
            "{read} found the leaver ({}): they have an account, so {} applies; fix what blocks it and {retry}",
            done.summary, step.key
        ),
        ActionOutcome::Pending(p) => format!(
            "{read} did not complete ({}), so absence is not proven; try again later",
            p.what
        ),
        ActionOutcome::Failed(f) => match f.class {
            FailureClass::Throttled { .. } => format!(
                "{read} was throttled by the provider ({}), so absence is not proven; try again in a minute",
                f.code
            ),
            _ => format!(
                "{read} did not prove the leaver absent: {} ({}); only a completed read that finds no such user does",
                f.message, f.code
            ),
        },
    };
    EngineError::NotAllowed(why)
}
