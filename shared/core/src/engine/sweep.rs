//! The safety net: whatever a crash interrupted, a sweep puts back in motion.
//!
//! Every engine write is followed by a queue write; a crash between the two leaves a step
//! `ready` with no message, or a lease held by a dead worker. The sweep re-queues such work
//! (queues de-duplicate, and claims make duplicates harmless) and starts overdue runs. It also
//! tells people what only time reveals: human steps overdue, provider steps past their SLA.

use super::{Engine, EngineError, until};
use crate::domain::StepState;
use crate::gate::{self, Gate};
use crate::ports::QueueMessage;
use std::time::Duration;

/// What a sweep did, for logs and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub started: usize,
    pub requeued: usize,
    pub finalizations: usize,
    /// Reminders and escalations sent for overdue human steps, and alerts for steps past the
    /// tenant's SLA.
    pub notices: usize,
}

impl Engine {
    pub async fn sweep(&self) -> Result<SweepReport, EngineError> {
        let mut report = SweepReport {
            started: self.start_due().await?,
            ..SweepReport::default()
        };
        for run_id in self.ports.store.open_runs().await? {
            self.sweep_run(&run_id, &mut report).await?;
        }
        Ok(report)
    }

    /// Puts one running or blocked run back in motion: re-queues its ready and stranded steps,
    /// chases its overdue human steps and queues its finalization when the gate is open. A host
    /// that pages through open runs itself (the AWS sweep, per tenant) calls this per run.
    pub async fn sweep_run(
        &self,
        run_id: &crate::ids::RunId,
        report: &mut SweepReport,
    ) -> Result<(), EngineError> {
        self.release_ready(run_id).await?;
        let steps = self.ports.store.steps(run_id).await?;
        let now = self.now();
        for s in &steps {
            let delay = match s.state {
                StepState::Ready | StepState::RetryWait | StepState::AwaitingCompletion => {
                    s.not_before.map(|nb| until(now, nb)).unwrap_or_default()
                }
                StepState::InFlight => s
                    .lease
                    .as_ref()
                    .map(|l| until(now, l.until))
                    .unwrap_or_default(),
                _ => continue,
            };
            let msg = QueueMessage::Step {
                run_id: run_id.clone(),
                step_key: s.key.clone(),
            };
            self.ports.queue.enqueue(&msg, delay).await?;
            report.requeued += 1;
        }
        // Only runs waiting on people, or past an SLA, need their run record read.
        let chase = steps.iter().any(|s| s.state == StepState::Awaiting);
        let alert = steps.iter().any(|s| s.state.is_in_progress());
        if (chase || alert)
            && let Some(run) = self.ports.store.run(run_id).await?
        {
            if chase {
                report.notices += self.chase_overdue(&run, &steps).await?;
            }
            if alert {
                report.notices += self.alert_past_sla(&run, &steps).await?;
            }
        }
        // Blocked runs and runs past the tenant's SLA tell someone, once per cause.
        let failed = steps.iter().any(|s| s.state == StepState::Failed);
        if let Some(run) = self.ports.store.run(run_id).await?
            && (failed || !run.alerts.iter().any(|a| a.cause == "sla"))
        {
            report.notices += self.raise_alerts(&run, &steps).await?;
        }
        // The run's exceptions matter only once no step is still being worked: read it then.
        let settled = steps.iter().all(|s| {
            matches!(
                s.state,
                StepState::Verified
                    | StepState::Waived
                    | StepState::NotApplicable
                    | StepState::AwaitingCompletion
            )
        });
        if !settled {
            return Ok(());
        }
        let exceptions = match self.ports.store.run(run_id).await? {
            Some(run) => run.exceptions,
            None => Vec::new(),
        };
        if gate::evaluate_run(&steps, &exceptions, self.now()) == Gate::Open {
            let msg = QueueMessage::Finalize {
                run_id: run_id.clone(),
            };
            self.ports.queue.enqueue(&msg, Duration::ZERO).await?;
            report.finalizations += 1;
        }
        Ok(())
    }
}
