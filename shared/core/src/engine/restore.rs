//! Restore runs: an operator undoes a closed leaver run (rehire, rescinded termination). The
//! plan comes from the original run's snapshot and graded evidence (`crate::restore`); the run
//! then goes through the same step machine, gate, read-back and signed bundle as any other,
//! and its bundle names the original run's.

use super::{Engine, EngineError};
use crate::cutoff::{self, CutoffRequest};
use crate::domain::{RestoreOrigin, RestorePlan, Run, RunEvent, RunSource, RunState};
use crate::ids::{RunId, TenantId};
use crate::ports::{InsertOutcome, RunFilter};
use crate::restore::{self, Original};
use serde::Serialize;
use serde_json::json;

/// What an operator asks of a restore.
#[derive(Clone, Debug)]
pub struct RestoreRequest {
    /// The leaver run to undo.
    pub original: RunId,
    /// Item keys (or prefixes such as `okta` or `microsoft.mailbox`) to restrict it to.
    pub only: Vec<String>,
    pub note: Option<String>,
}

/// A restore's plan and, once started, its run.
#[derive(Clone, Debug, Serialize)]
pub struct RestoreAnswer {
    pub original_run: RunId,
    pub original_manifest_sha256: String,
    pub plan: RestorePlan,
    /// The restore run, when started (absent for a dry run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<RunId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<RunState>,
}

impl Engine {
    /// The restore plan of `request.original`, without starting anything (`passage restore`
    /// without `--yes`).
    pub async fn plan_restore(
        &self,
        tenant: &TenantId,
        request: &RestoreRequest,
    ) -> Result<(Run, RestorePlan), EngineError> {
        let run = self
            .ports
            .store
            .run(&request.original)
            .await?
            .filter(|r| &r.tenant == tenant)
            .ok_or_else(|| EngineError::NotFound(format!("run {}", request.original)))?;
        restore::restorable(&run).map_err(|e| EngineError::NotAllowed(e.to_string()))?;
        let steps = self.ports.store.steps(&run.id).await?;
        let original = Original {
            run: &run,
            steps: &steps,
            onedrive_retention: restore::ONEDRIVE_RETENTION,
        };
        let plan = restore::plan(&original, &request.only, self.now());
        Ok((run, plan))
    }

    /// Starts the restore of `request.original` as its own run in `actor`'s name. Refused for a
    /// run that is not closed, and while another restore of it (or any run of the person) is
    /// open.
    pub async fn start_restore(
        &self,
        tenant: &TenantId,
        request: RestoreRequest,
        actor: &str,
    ) -> Result<RestoreAnswer, EngineError> {
        if actor.trim().is_empty() {
            return Err(EngineError::Invalid("an actor is required".into()));
        }
        let (original, plan) = self.plan_restore(tenant, &request).await?;
        self.refuse_open_restore(&original).await?;
        if plan.items.is_empty() {
            return Err(EngineError::NotAllowed(format!(
                "nothing of run {} can be restored ({} items cannot be)",
                original.id,
                plan.not_restorable.len()
            )));
        }
        let policy = self
            .ports
            .tenants
            .tenant(tenant)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("tenant {tenant}")))?;
        let run = self.restore_run(&policy, &original, &request, plan.clone(), actor)?;
        let steps = restore::steps(&run.id, &plan, &self.ports.store.steps(&original.id).await?);
        let actor_name = super::intake::actor_of(&run.source);
        let created = RunEvent::new(
            &run.id,
            run.created_at,
            "run.created",
            &actor_name,
            json!({"restores": original.id, "steps": steps.iter().map(|s| &s.key).collect::<Vec<_>>()}),
        );
        match self
            .ports
            .store
            .insert_run(&run, &steps, &[created])
            .await?
        {
            InsertOutcome::Created => {}
            InsertOutcome::Existing(id) | InsertOutcome::OpenRun(id) => {
                return Err(EngineError::NotAllowed(format!(
                    "run {id} of this person is open; a restore starts once it is closed"
                )));
            }
        }
        self.end_original_watch(&original, &run, &actor_name)
            .await?;
        let state = self.arm(&run, self.now()).await;
        Ok(RestoreAnswer {
            original_run: original.id.clone(),
            original_manifest_sha256: origin_digest(&run),
            plan,
            run_id: Some(run.id.clone()),
            state: Some(state),
        })
    }

    /// A restore of `original` that is still open refuses a second.
    async fn refuse_open_restore(&self, original: &Run) -> Result<(), EngineError> {
        let runs = self
            .ports
            .store
            .list_runs(&RunFilter {
                tenant: Some(original.tenant.clone()),
                employee_id: Some(original.subject.employee_id.clone()),
                ..RunFilter::default()
            })
            .await?;
        let open = runs.iter().find(|r| {
            !r.state.is_terminal() && r.restore().is_some_and(|o| o.original_run == original.id)
        });
        match open {
            Some(r) => Err(EngineError::NotAllowed(format!(
                "restore run {} of run {} is still {}; a second restore waits until it closes",
                r.id,
                original.id,
                r.state.as_str()
            ))),
            None => Ok(()),
        }
    }

    /// The restore run, due now, for the same person as `original`.
    fn restore_run(
        &self,
        policy: &crate::domain::TenantPolicy,
        original: &Run,
        request: &RestoreRequest,
        plan: RestorePlan,
        actor: &str,
    ) -> Result<Run, EngineError> {
        let now = self.now();
        let bundle =
            restore::restorable(original).map_err(|e| EngineError::NotAllowed(e.to_string()))?;
        let zone = original.subject.time_zone.clone();
        let cutoff = cutoff::resolve(
            &CutoffRequest::Immediate,
            &zone,
            jiff::civil::Time::midnight(),
            now,
        )
        .map_err(|e| EngineError::Invalid(e.to_string()))?;
        let source = RunSource::Restore(Box::new(RestoreOrigin {
            actor: actor.to_owned(),
            received_at: now,
            note: request.note.clone(),
            original_run: original.id.clone(),
            original_sequence: bundle.sequence,
            original_manifest_sha256: bundle.manifest_sha256.clone(),
            only: request.only.clone(),
            plan,
        }));
        let leaver = super::LeaverRequest {
            employee_id: original.subject.employee_id.clone(),
            email: original.subject.email.clone(),
            display_name: original.subject.display_name.clone(),
            time_zone: Some(zone),
            cutoff: CutoffRequest::Immediate,
            manager: original.subject.manager.clone(),
        };
        let key = format!("restore:{}:{}", original.id, now.as_millisecond());
        Ok(super::intake::scheduled_run(
            policy, source, &key, leaver, cutoff, now,
        ))
    }

    /// The person is coming back: the original run's sign-in watch ends now, so their new
    /// sign-ins do not reopen it, and its timeline says which run restored it.
    async fn end_original_watch(
        &self,
        original: &Run,
        restore_run: &Run,
        actor: &str,
    ) -> Result<(), EngineError> {
        for _ in 0..self.settings.conflict_retries {
            let Some(mut run) = self.ports.store.run(&original.id).await? else {
                return Ok(());
            };
            let now = self.now();
            if let Some(watch) = run.sign_in_watch.as_mut() {
                watch.until = watch.until.min(now);
                watch.last_read = watch.last_read.min(now);
            }
            let event = RunEvent::new(
                &run.id,
                now,
                "run.restore_started",
                actor,
                json!({"restore_run": restore_run.id}),
            );
            let commit = crate::ports::Commit {
                runs: vec![run],
                events: vec![event],
                ..crate::ports::Commit::default()
            };
            if self.try_commit(commit).await? {
                return Ok(());
            }
        }
        Err(EngineError::Contended(self.settings.conflict_retries))
    }
}

fn origin_digest(run: &Run) -> String {
    run.restore()
        .map(|o| o.original_manifest_sha256.clone())
        .unwrap_or_default()
}
