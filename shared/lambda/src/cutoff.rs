//! Scheduler payloads: one run's cutoff (`{"run_id","tenant"}`), the periodic sweep
//! (`{"sweep": true}`), which also reports runs blocked past their SLA as a metric, and the
//! hourly HR reconcile (`{"reconcile": true}`).

use crate::AwsHost;
use passage_core::RunId;
use passage_core::ports::RunFilter;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Trigger {
    Cutoff { run_id: String },
    Sweep { sweep: bool },
    Reconcile { reconcile: bool },
}

/// How long a run may stay blocked before it counts against the SLA metric.
const BLOCKED_SLA_SECONDS: i64 = 4 * 3600;

pub async fn handle(host: &AwsHost, payload: Value) -> anyhow::Result<Value> {
    let trigger: Trigger = serde_json::from_value(payload.clone())
        .map_err(|e| anyhow::anyhow!("unrecognised cutoff payload {payload}: {e}"))?;
    match trigger {
        Trigger::Cutoff { run_id } => {
            let fired = host
                .engine
                .fire_cutoff(&RunId::new(run_id.as_str()))
                .await?;
            Ok(json!({"run_id": run_id, "fired": format!("{fired:?}")}))
        }
        Trigger::Reconcile { .. } => {
            let mut reports = Vec::new();
            for tenant in &host.reconcile_tenants {
                // One tenant's HR outage must not stop the others' reconcile.
                match host.engine.reconcile(tenant, None).await {
                    Ok(r) => reports.push(serde_json::to_value(r)?),
                    Err(e) => reports.push(json!({"tenant": tenant, "error": e.to_string()})),
                }
            }
            Ok(json!({"reconciled": reports}))
        }
        Trigger::Sweep { .. } => {
            let report = host.engine.sweep().await?;
            let now = jiff::Timestamp::now();
            let blocked = host
                .engine
                .ports()
                .store
                .list_runs(&RunFilter {
                    state: Some(passage_core::RunState::Blocked),
                    ..RunFilter::default()
                })
                .await?;
            let past_sla = blocked
                .iter()
                .filter(|r| (now - r.cutoff.at).get_seconds() > BLOCKED_SLA_SECONDS)
                .count();
            // CloudWatch embedded metric format: the alarm on BlockedRunsPastSla reads this.
            println!(
                "{}",
                json!({
                    "_aws": {"Timestamp": now.as_millisecond(), "CloudWatchMetrics": [{
                        "Namespace": "Passage", "Dimensions": [[]],
                        "Metrics": [{"Name": "BlockedRunsPastSla", "Unit": "Count"}]}]},
                    "BlockedRunsPastSla": past_sla,
                })
            );
            Ok(
                json!({"started": report.started, "requeued": report.requeued, "finalizations": report.finalizations, "blocked_past_sla": past_sla}),
            )
        }
    }
}
