//! The go-live guard: a burst of terminations for one tenant (an HR export gone wrong, a
//! mistaken bulk change) holds the runs past the tenant's limit before any provider is called,
//! until an operator approves them or cancels them.

use super::{Engine, EngineError};
use crate::domain::{Run, RunEvent, RunHold, RunState, TenantPolicy};
use crate::guard;
use crate::ids::{RunId, TenantId};
use crate::ports::RunFilter;
use jiff::Timestamp;
use serde_json::json;

/// Which held runs an operator approves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Approval {
    One(RunId),
    /// Every run of the tenant the guard holds.
    All,
}

impl Engine {
    /// Counts this termination against the tenant's guard and answers the hold a new run gets,
    /// if any. `key` is the run's idempotency key, so a redelivery is counted once.
    pub(crate) async fn guard_hold(
        &self,
        policy: &TenantPolicy,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<RunHold>, EngineError> {
        let Some(limits) = &policy.guard else {
            return Ok(None);
        };
        let count = self
            .ports
            .store
            .count_termination(&policy.id, key, now, limits.window, guard::cap(limits))
            .await?;
        Ok(guard::hold(limits, policy.id.as_str(), count, now))
    }

    /// Releases held runs of `tenant`: each is recorded as approved by `operator` and armed as
    /// if it had just been accepted (started at once if its cutoff has passed). Returns the
    /// runs approved.
    pub async fn approve(
        &self,
        tenant: &TenantId,
        which: Approval,
        operator: &str,
    ) -> Result<Vec<Run>, EngineError> {
        let ids = match which {
            Approval::One(id) => vec![id],
            Approval::All => self.held_runs(tenant).await?,
        };
        let mut approved = Vec::new();
        for id in ids {
            let run = self
                .change_run(&id, |run, now, _write| {
                    if &run.tenant != tenant {
                        return Err(EngineError::NotFound(format!(
                            "run {id} in tenant {tenant}"
                        )));
                    }
                    let Some(hold) = run.hold.take().filter(|_| run.state == RunState::Scheduled)
                    else {
                        return Err(EngineError::NotAllowed(format!(
                            "run {id} is {}: only a run the go-live guard holds can be approved",
                            run.shown_state()
                        )));
                    };
                    Ok(RunEvent::new(
                        &id,
                        now,
                        "run.approved",
                        &format!("operator:{operator}"),
                        json!({"hold": hold}),
                    ))
                })
                .await?;
            self.arm_timer(&run).await?;
            approved.push(run);
        }
        Ok(approved)
    }

    /// The tenant's runs the guard holds, oldest first.
    pub async fn held_runs(&self, tenant: &TenantId) -> Result<Vec<RunId>, EngineError> {
        let runs = self
            .ports
            .store
            .list_runs(&RunFilter {
                tenant: Some(tenant.clone()),
                state: Some(RunState::Scheduled),
                ..RunFilter::default()
            })
            .await?;
        Ok(runs
            .into_iter()
            .rev()
            .filter(Run::is_held)
            .map(|r| r.id)
            .collect())
    }
}
