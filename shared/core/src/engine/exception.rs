//! Operators accept access items that cannot be resolved before the run should close.

use super::operator::require_reason;
use super::{Engine, EngineError};
use crate::access::{self, AccessException};
use crate::domain::{Run, RunEvent};
use crate::ids::RunId;
use jiff::Timestamp;
use serde_json::json;

impl Engine {
    /// Accepts one remaining or pending item of an open run as an exception, with who, why and
    /// optionally until when; the run is then looked at again, so it closes if nothing else holds
    /// it. Only an item the run's grading lists as remaining or pending can be accepted: an
    /// exception for something removed would be a claim nobody checked.
    pub async fn except(
        &self,
        run_id: &RunId,
        item: &str,
        operator: &str,
        reason: &str,
        expires_at: Option<Timestamp>,
    ) -> Result<Run, EngineError> {
        require_reason(reason)?;
        let steps = self.ports.store.steps(run_id).await?;
        let graded = access::grade(&steps);
        let Some(found) = graded.iter().find(|i| i.key == item) else {
            return Err(EngineError::NotFound(format!(
                "access item {item} in run {run_id}"
            )));
        };
        if !found.grade.holds() {
            return Err(EngineError::NotAllowed(format!(
                "{item} is {}: only an item that remains or is pending can be accepted",
                found.grade.as_str()
            )));
        }
        let run = self
            .change_run(run_id, |run, now, _write| {
                if !run.state.is_open() {
                    return Err(EngineError::NotAllowed(format!(
                        "run {run_id} is {}; exceptions are accepted only on an open run",
                        run.state.as_str()
                    )));
                }
                run.exceptions.retain(|e| e.item != item);
                run.exceptions.push(AccessException {
                    item: item.to_owned(),
                    operator: operator.to_owned(),
                    reason: reason.to_owned(),
                    at: now,
                    expires_at,
                });
                Ok(RunEvent::new(
                    run_id,
                    now,
                    "access.excepted",
                    &format!("operator:{operator}"),
                    json!({"item": item, "reason": reason, "expires_at": expires_at}),
                ))
            })
            .await?;
        self.release_ready(run_id).await?;
        Ok(run)
    }
}
