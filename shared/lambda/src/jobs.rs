//! Per-tenant jobs: the periodic sweep and HR reconcile, fanned out one tenant at a time.
//!
//! The schedules invoke the cutoff function with `{"sweep": true}` or `{"reconcile": true}`;
//! it lists the tenants (their secrets' names) and puts one job per tenant on the tenant-jobs
//! queue, which feeds the cutoff function again. A sweep job reads one page of one tenant's
//! open runs from `gsi_open`, works those runs, and queues the next page as a new job: however
//! many tenants there are and however many runs they have open, one invocation does one
//! page's work.

use crate::AwsHost;
use anyhow::Context;
use passage_aws::OpenPage;
use passage_core::engine::{Fired, SweepReport};
use passage_core::{RunState, TenantId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Runs one sweep job works at most.
pub const SWEEP_PAGE: usize = 25;
/// How long a run may stay blocked past its cutoff before it counts against the SLA metric.
pub const BLOCKED_SLA_SECONDS: i64 = 4 * 3600;

/// Which of a tenant's open runs a sweep job looks at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SweepPhase {
    /// Scheduled runs whose cutoff (or early window) has come: started.
    #[default]
    Due,
    /// Running runs: stranded steps re-queued, overdue people chased, gates checked.
    Running,
    /// Blocked runs: as running ones, and counted against the SLA when long blocked.
    Blocked,
}

impl SweepPhase {
    fn state(self) -> RunState {
        match self {
            SweepPhase::Due => RunState::Scheduled,
            SweepPhase::Running => RunState::Running,
            SweepPhase::Blocked => RunState::Blocked,
        }
    }

    fn next(self) -> Option<Self> {
        match self {
            SweepPhase::Due => Some(SweepPhase::Running),
            SweepPhase::Running => Some(SweepPhase::Blocked),
            SweepPhase::Blocked => None,
        }
    }
}

/// One message on the tenant-jobs queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum TenantJob {
    Sweep {
        tenant: TenantId,
        #[serde(default)]
        phase: SweepPhase,
        /// Where this page starts; `None` for the phase's first page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cursor: Option<String>,
    },
    Reconcile {
        tenant: TenantId,
    },
}

/// What one sweep job did: the measure of its work.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PageReport {
    /// Index items read (one query).
    pub index_items: usize,
    pub started: usize,
    pub requeued: usize,
    pub finalizations: usize,
    pub notices: usize,
    pub blocked_past_sla: usize,
    /// Whether the next page was queued.
    pub continued: bool,
}

/// Queues one job of `kind` per tenant. Returns how many were queued.
pub async fn fan_out(host: &AwsHost, kind: &str) -> anyhow::Result<usize> {
    let secrets = host
        .tenant_secrets
        .as_ref()
        .context("this function has no TENANT_SECRET_PREFIX, so it knows no tenants")?;
    let tenants = secrets.list().await?;
    let jobs: Vec<String> = tenants
        .into_iter()
        .map(|tenant| match kind {
            "sweep" => TenantJob::Sweep {
                tenant,
                phase: SweepPhase::Due,
                cursor: None,
            },
            _ => TenantJob::Reconcile { tenant },
        })
        .map(|job| serde_json::to_string(&job))
        .collect::<Result<_, _>>()?;
    Ok(host
        .queue
        .send_all(&host.names.tenant_jobs_queue_url, &jobs)
        .await?)
}

/// Works one job.
pub async fn run(host: &AwsHost, job: TenantJob) -> anyhow::Result<Value> {
    match job {
        TenantJob::Reconcile { tenant } => reconcile(host, &tenant).await,
        TenantJob::Sweep {
            tenant,
            phase,
            cursor,
        } => {
            let report = sweep_page(host, &tenant, phase, cursor.as_deref()).await?;
            Ok(json!({"tenant": tenant, "phase": phase, "sweep": report}))
        }
    }
}

async fn reconcile(host: &AwsHost, tenant: &TenantId) -> anyhow::Result<Value> {
    let has_api = match &host.tenants {
        Some(t) => t.has_hr_api(tenant).await?,
        None => false,
    };
    if !has_api {
        return Ok(json!({"tenant": tenant, "reconciled": false}));
    }
    let report = host.engine.reconcile(tenant, None).await?;
    Ok(json!({"tenant": tenant, "reconciled": report}))
}

/// One page of one phase of a tenant's sweep, then the next page (or phase) queued.
pub async fn sweep_page(
    host: &AwsHost,
    tenant: &TenantId,
    phase: SweepPhase,
    cursor: Option<&str>,
) -> anyhow::Result<PageReport> {
    let now = jiff::Timestamp::now();
    let before = match phase {
        SweepPhase::Due => Some(due_horizon(host, tenant, now).await),
        _ => None,
    };
    let page: OpenPage = host
        .store
        .open_page(tenant, phase.state(), before, cursor, SWEEP_PAGE)
        .await?;
    let mut report = PageReport {
        index_items: page.runs.len(),
        ..PageReport::default()
    };
    let mut engine_report = SweepReport::default();
    let sla_line = now.as_millisecond() - BLOCKED_SLA_SECONDS * 1000;
    for run in &page.runs {
        match phase {
            SweepPhase::Due => {
                if host.engine.start_if_due(&run.id).await? == Fired::Started {
                    report.started += 1;
                }
            }
            SweepPhase::Running | SweepPhase::Blocked => {
                host.engine.sweep_run(&run.id, &mut engine_report).await?;
                if phase == SweepPhase::Blocked && run.cutoff_ms < sla_line {
                    report.blocked_past_sla += 1;
                }
            }
        }
    }
    report.requeued = engine_report.requeued;
    report.finalizations = engine_report.finalizations;
    report.notices = engine_report.notices;
    let next = match page.next {
        // Runs started on this page have left the scheduled partition: the rest of it is
        // read from its start again. Only a page where nothing started (early windows, or an
        // index not yet caught up) moves on by position, so every job makes progress.
        Some(_) if phase == SweepPhase::Due && report.started > 0 => Some((phase, None)),
        Some(cursor) => Some((phase, Some(cursor))),
        None => phase.next().map(|p| (p, None)),
    };
    if let Some((phase, cursor)) = next {
        let job = TenantJob::Sweep {
            tenant: tenant.clone(),
            phase,
            cursor,
        };
        host.queue
            .send_all(
                &host.names.tenant_jobs_queue_url,
                &[serde_json::to_string(&job)?],
            )
            .await?;
        report.continued = true;
    }
    if phase == SweepPhase::Blocked {
        emit_blocked_metric(tenant, report.blocked_past_sla, now);
    }
    Ok(report)
}

/// Scheduled runs with a cutoff before this are due, or in their early window.
async fn due_horizon(host: &AwsHost, tenant: &TenantId, now: jiff::Timestamp) -> jiff::Timestamp {
    use passage_core::ports::TenantDirectory;
    let lead = match &host.tenants {
        Some(t) => t
            .tenant(tenant)
            .await
            .ok()
            .flatten()
            .and_then(|p| p.early.map(|e| e.lead)),
        None => None,
    };
    let lead = lead
        .and_then(|l| jiff::SignedDuration::try_from(l).ok())
        .unwrap_or_default();
    // Exclusive bound: a cutoff at exactly now is due.
    now.checked_add(lead + jiff::SignedDuration::from_millis(1))
        .unwrap_or(now)
}

/// CloudWatch embedded metric format: the alarm on BlockedRunsPastSla sums these over each
/// sweep period, across pages and tenants.
fn emit_blocked_metric(tenant: &TenantId, count: usize, now: jiff::Timestamp) {
    println!(
        "{}",
        json!({
            "_aws": {"Timestamp": now.as_millisecond(), "CloudWatchMetrics": [{
                "Namespace": "Passage", "Dimensions": [[]],
                "Metrics": [{"Name": "BlockedRunsPastSla", "Unit": "Count"}]}]},
            "BlockedRunsPastSla": count,
            "tenant": tenant,
        })
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_round_trip_and_phases_run_due_running_blocked() {
        let job = TenantJob::Sweep {
            tenant: TenantId::new("acme"),
            phase: SweepPhase::Running,
            cursor: Some("{\"pk\":[\"S\",\"RUN#r\"]}".into()),
        };
        let text = serde_json::to_string(&job).unwrap();
        assert_eq!(serde_json::from_str::<TenantJob>(&text).unwrap(), job);
        let first: TenantJob = serde_json::from_str(r#"{"job":"sweep","tenant":"acme"}"#).unwrap();
        assert!(matches!(
            first,
            TenantJob::Sweep {
                phase: SweepPhase::Due,
                cursor: None,
                ..
            }
        ));
        assert_eq!(SweepPhase::Due.next(), Some(SweepPhase::Running));
        assert_eq!(SweepPhase::Running.next(), Some(SweepPhase::Blocked));
        assert_eq!(SweepPhase::Blocked.next(), None);
    }
}
