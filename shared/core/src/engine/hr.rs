//! The HR system as the authority: applying what it says about an employee (after a webhook
//! hint, or on a periodic reconcile) to Passage's runs. A termination without a run gets one;
//! a moved date moves a scheduled run's cutoff; a rescinded termination cancels a scheduled
//! run. Each change is recorded with where it came from.

use super::intake::{Accepted, LeaverRequest};
use super::{Engine, EngineError};
use crate::cutoff::{self, Cutoff, CutoffRequest};
use crate::domain::{Run, RunEvent, RunSource, RunState, TenantPolicy};
use crate::ids::{RunId, TenantId};
use crate::ports::{Commit, EmploymentStatus, HrRecord, RunFilter};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};

/// How far back a reconcile looks for terminations unless told otherwise: far enough to catch
/// a webhook lost weeks ago, near enough to keep one pass cheap.
pub const RECONCILE_DAYS: i64 = 30;

/// How an HR fact reached Passage.
#[derive(Clone, Debug)]
pub enum HrOrigin {
    /// A vendor webhook, authenticated, whose hint led to fetching the record.
    Webhook {
        vendor: String,
        delivery_id: String,
        verified_by: String,
        received_at: Timestamp,
        body_sha256: String,
        hint: Value,
    },
    /// The periodic comparison of the HR system with Passage.
    Reconcile { vendor: String, at: Timestamp },
}

impl HrOrigin {
    fn vendor(&self) -> &str {
        match self {
            HrOrigin::Webhook { vendor, .. } | HrOrigin::Reconcile { vendor, .. } => vendor,
        }
    }

    fn actor(&self) -> String {
        match self {
            HrOrigin::Webhook { vendor, .. } => format!("hr:{vendor}"),
            HrOrigin::Reconcile { vendor, .. } => format!("hr:{vendor}:reconcile"),
        }
    }

    /// The source a run started by this fact records, with the HR record as fetched.
    fn run_source(&self, record: Value) -> RunSource {
        match self {
            HrOrigin::Webhook {
                vendor,
                delivery_id,
                verified_by,
                received_at,
                body_sha256,
                hint,
            } => RunSource::Webhook {
                vendor: vendor.clone(),
                delivery_id: delivery_id.clone(),
                verified_by: verified_by.clone(),
                received_at: *received_at,
                body_sha256: body_sha256.clone(),
                event: json!({"hint": hint, "hr_record": record}),
            },
            HrOrigin::Reconcile { vendor, at } => RunSource::Reconcile {
                vendor: vendor.clone(),
                found_at: *at,
                record,
            },
        }
    }

    /// What goes into the evidence about the source (no secrets: the delivery was verified).
    fn describe(&self) -> Value {
        match self {
            HrOrigin::Webhook {
                vendor,
                delivery_id,
                verified_by,
                received_at,
                body_sha256,
                hint,
            } => json!({"via": "webhook", "vendor": vendor, "delivery_id": delivery_id,
                "verified_by": verified_by, "received_at": received_at,
                "body_sha256": body_sha256, "hint": hint}),
            HrOrigin::Reconcile { vendor, at } => {
                json!({"via": "reconcile", "vendor": vendor, "at": at})
            }
        }
    }
}

/// What applying one HR record did.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum HrOutcome {
    Created {
        run_id: RunId,
        cutoff_at: Timestamp,
        state: RunState,
    },
    /// The run already existed for this delivery or this termination.
    Existing {
        run_id: RunId,
        cutoff_at: Timestamp,
        state: RunState,
    },
    Rescheduled {
        run_id: RunId,
        previous_cutoff: Timestamp,
        cutoff_at: Timestamp,
    },
    Cancelled {
        run_id: RunId,
    },
    /// Nothing to do, and why.
    Unchanged {
        #[serde(skip_serializing_if = "Option::is_none")]
        run_id: Option<RunId>,
        why: String,
    },
}

impl HrOutcome {
    /// What intake answered: a new run, or one it already had for this termination.
    fn accepted(accepted: Accepted) -> Self {
        let Accepted {
            run_id,
            created,
            state,
            cutoff_at,
            ..
        } = accepted;
        if created {
            HrOutcome::Created {
                run_id,
                cutoff_at,
                state,
            }
        } else {
            HrOutcome::Existing {
                run_id,
                cutoff_at,
                state,
            }
        }
    }
}

/// Whether the employee's last run already settled this termination: a closed run offboarded
/// it, and an operator's cancellation of the same termination stands until HR records a
/// different date.
fn settled(last: &Run, cutoff: &Cutoff) -> Option<HrOutcome> {
    match last.state {
        RunState::Closed => Some(HrOutcome::Unchanged {
            run_id: Some(last.id.clone()),
            why: "this employee's leaver run is already closed".into(),
        }),
        RunState::Cancelled
            if last.cutoff.at == cutoff.at
                && !last
                    .cancellation
                    .as_ref()
                    .is_some_and(|c| c.actor.starts_with("hr:")) =>
        {
            Some(HrOutcome::Unchanged {
                run_id: Some(last.id.clone()),
                why: "an operator cancelled the run for this termination".into(),
            })
        }
        _ => None,
    }
}

/// What one reconcile pass found and did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ReconcileReport {
    pub tenant: String,
    pub vendor: String,
    pub checked: usize,
    pub created: Vec<RunId>,
    pub rescheduled: Vec<RunId>,
    pub cancelled: Vec<RunId>,
    /// Employees the HR system could not answer for, with the reason; retried next pass.
    pub errors: Vec<String>,
}

impl Engine {
    /// The cutoff an HR record asks for under the tenant's time policy: the location's zone
    /// (tenant policy first, then the HR system's), its end of day, and an immediate cut for an
    /// involuntary termination when the tenant wants one.
    pub fn cutoff_for(
        &self,
        policy: &TenantPolicy,
        record: &HrRecord,
    ) -> Result<Cutoff, EngineError> {
        let (zone, end_of_day) =
            policy.time_rules(record.work_location.as_deref(), record.time_zone.as_deref());
        let request = if record.involuntary == Some(true) && policy.involuntary_immediate {
            CutoffRequest::Immediate
        } else if let Some(day) = record.last_day_worked.or(record.termination_date) {
            CutoffRequest::LastWorkingDay(day)
        } else {
            return Err(EngineError::NotAllowed(format!(
                "the HR record of employee {} shows a termination but no date",
                record.employee_id
            )));
        };
        cutoff::resolve(&request, &zone, end_of_day, self.now())
            .map_err(|e| EngineError::NotAllowed(e.to_string()))
    }

    /// Brings Passage in line with one HR record.
    pub async fn apply_hr_record(
        &self,
        policy: &TenantPolicy,
        record: &HrRecord,
        origin: HrOrigin,
        idempotency_key: &str,
    ) -> Result<HrOutcome, EngineError> {
        let runs = self
            .ports
            .store
            .list_runs(&RunFilter {
                tenant: Some(policy.id.clone()),
                employee_id: Some(record.employee_id.clone()),
                ..RunFilter::default()
            })
            .await?;
        let open = runs.iter().find(|r| !r.state.is_terminal()).cloned();
        let record_json = serde_json::to_value(record).unwrap_or(Value::Null);
        match record.status {
            EmploymentStatus::Active => self.rescinded(open, record, &origin, record_json).await,
            EmploymentStatus::Terminated => {
                let cutoff = self.cutoff_for(policy, record)?;
                if let Some(run) = open {
                    return self.align_open_run(run, cutoff, &origin, record_json).await;
                }
                if let Some(settled) = runs.first().and_then(|last| settled(last, &cutoff)) {
                    return Ok(settled);
                }
                let source = origin.run_source(record_json);
                let request = LeaverRequest {
                    employee_id: record.employee_id.clone(),
                    email: record.email.clone(),
                    display_name: record.display_name.clone(),
                    time_zone: Some(cutoff.zone.clone()),
                    cutoff: CutoffRequest::Exact(cutoff.at),
                    manager: record.manager.clone(),
                };
                let accepted = self
                    .accept(policy, source, idempotency_key, request, cutoff)
                    .await?;
                Ok(HrOutcome::accepted(accepted))
            }
        }
    }

    /// HR shows the employee active again: a scheduled run is cancelled; one past its cutoff
    /// is only noted, since access was already cut and must be restored by hand.
    async fn rescinded(
        &self,
        open: Option<Run>,
        record: &HrRecord,
        origin: &HrOrigin,
        record_json: Value,
    ) -> Result<HrOutcome, EngineError> {
        let Some(run) = open else {
            return Ok(HrOutcome::Unchanged {
                run_id: None,
                why: "no termination on record and no run open".into(),
            });
        };
        if run.state == RunState::Scheduled {
            let reason = format!(
                "termination rescinded in {} (employee {} is active again)",
                origin.vendor(),
                record.employee_id
            );
            self.cancel_with(
                &run.id,
                &origin.actor(),
                &reason,
                json!({"source": origin.describe(), "hr_record": record_json}),
            )
            .await?;
            return Ok(HrOutcome::Cancelled { run_id: run.id });
        }
        self.note(
            &run,
            "hr.rescinded_after_cutoff",
            &origin.actor(),
            json!({"source": origin.describe(), "hr_record": record_json,
                "message": "HR shows the employee active again, but access was already cut; restore it by hand"}),
        )
        .await?;
        Ok(HrOutcome::Unchanged {
            run_id: Some(run.id),
            why: format!(
                "termination rescinded after the cutoff; the run is {} and access must be restored by hand",
                run.state.as_str()
            ),
        })
    }

    /// A termination HR still has: move a scheduled run's cutoff if the date moved.
    async fn align_open_run(
        &self,
        run: Run,
        cutoff: Cutoff,
        origin: &HrOrigin,
        record: Value,
    ) -> Result<HrOutcome, EngineError> {
        if run.cutoff.at == cutoff.at {
            return Ok(HrOutcome::Existing {
                run_id: run.id,
                cutoff_at: run.cutoff.at,
                state: run.state,
            });
        }
        if run.state != RunState::Scheduled {
            self.note(
                &run,
                "hr.date_changed_after_cutoff",
                &origin.actor(),
                json!({"source": origin.describe(), "hr_record": record, "cutoff": run.cutoff.at, "hr_cutoff": cutoff.at}),
            )
            .await?;
            return Ok(HrOutcome::Unchanged {
                run_id: Some(run.id),
                why: "HR moved the date after the cutoff; access is already being cut".into(),
            });
        }
        let previous = run.cutoff.at;
        let reason = format!("termination date changed in {}", origin.vendor());
        let updated = self
            .move_cutoff(
                &run.id,
                cutoff,
                &origin.actor(),
                &reason,
                json!({"source": origin.describe(), "hr_record": record}),
            )
            .await?;
        Ok(HrOutcome::Rescheduled {
            run_id: updated.id,
            previous_cutoff: previous,
            cutoff_at: updated.cutoff.at,
        })
    }

    /// Compares the tenant's HR system with Passage: every termination dated from `since`
    /// (default: [`RECONCILE_DAYS`] before today, UTC) gets its run (or its moved date), and
    /// every scheduled run whose employee HR no longer shows as terminated is cancelled.
    pub async fn reconcile(
        &self,
        tenant: &TenantId,
        since: Option<jiff::civil::Date>,
    ) -> Result<ReconcileReport, EngineError> {
        let since = since.unwrap_or_else(|| self.reconcile_from());
        let policy = self
            .ports
            .tenants
            .tenant(tenant)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("tenant {tenant}")))?;
        let source = self.ports.hr.source(&policy).ok_or_else(|| {
            EngineError::NotAllowed(format!("tenant {tenant} has no HR system API configured"))
        })?;
        let vendor = source.vendor().to_owned();
        let mut report = ReconcileReport {
            tenant: tenant.to_string(),
            vendor: vendor.clone(),
            ..ReconcileReport::default()
        };
        let now = self.now();
        let origin = HrOrigin::Reconcile {
            vendor: vendor.clone(),
            at: now,
        };
        let terminations = source
            .terminations(since)
            .await
            .map_err(|e| EngineError::Unavailable(e.to_string()))?;
        let mut seen = std::collections::BTreeSet::new();
        for record in &terminations {
            seen.insert(record.employee_id.clone());
            report.checked += 1;
            let key = format!(
                "{vendor}:reconcile:{}:{}",
                record.employee_id,
                record
                    .last_day_worked
                    .or(record.termination_date)
                    .map(|d| d.to_string())
                    .unwrap_or_default()
            );
            self.reconcile_one(&policy, record, &origin, &key, &mut report)
                .await?;
        }
        // Scheduled runs HR no longer lists: ask about each one directly.
        let scheduled = self
            .ports
            .store
            .list_runs(&RunFilter {
                tenant: Some(tenant.clone()),
                state: Some(RunState::Scheduled),
                ..RunFilter::default()
            })
            .await?;
        for run in scheduled
            .iter()
            .filter(|r| !seen.contains(&r.subject.employee_id))
        {
            report.checked += 1;
            match source.employee(&run.subject.employee_id).await {
                Ok(Some(record)) => {
                    let key = format!("{vendor}:reconcile:{}:check", record.employee_id);
                    self.reconcile_one(&policy, &record, &origin, &key, &mut report)
                        .await?;
                }
                Ok(None) => report.errors.push(format!(
                    "{}: not found in {vendor}; the run is left as it is",
                    run.subject.employee_id
                )),
                Err(e) => report
                    .errors
                    .push(format!("{}: {e}", run.subject.employee_id)),
            }
        }
        Ok(report)
    }

    /// Where a reconcile starts unless told: [`RECONCILE_DAYS`] before today, UTC.
    fn reconcile_from(&self) -> jiff::civil::Date {
        let today = self.now().to_zoned(jiff::tz::TimeZone::UTC).date();
        today
            .checked_sub(jiff::Span::new().days(RECONCILE_DAYS))
            .unwrap_or(today)
    }

    /// Applies one record in a reconcile pass and tallies the outcome. A record that cannot be
    /// applied (no date, an unknown zone) is reported and tried again next pass.
    async fn reconcile_one(
        &self,
        policy: &TenantPolicy,
        record: &HrRecord,
        origin: &HrOrigin,
        key: &str,
        report: &mut ReconcileReport,
    ) -> Result<(), EngineError> {
        match self
            .apply_hr_record(policy, record, origin.clone(), key)
            .await
        {
            Ok(outcome) => tally(report, outcome),
            Err(EngineError::NotAllowed(why)) => {
                report.errors.push(format!("{}: {why}", record.employee_id))
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Records an event on a run without changing it (an HR change that came too late).
    async fn note(
        &self,
        run: &Run,
        kind: &str,
        actor: &str,
        data: Value,
    ) -> Result<(), EngineError> {
        let event = RunEvent::new(&run.id, self.now(), kind, actor, data);
        self.ports
            .store
            .commit(Commit {
                events: vec![event],
                ..Commit::default()
            })
            .await?;
        Ok(())
    }
}

fn tally(report: &mut ReconcileReport, outcome: HrOutcome) {
    match outcome {
        HrOutcome::Created { run_id, .. } => report.created.push(run_id),
        HrOutcome::Rescheduled { run_id, .. } => report.rescheduled.push(run_id),
        HrOutcome::Cancelled { run_id } => report.cancelled.push(run_id),
        HrOutcome::Existing { .. } | HrOutcome::Unchanged { .. } => {}
    }
}
