//! The cutoff function's events: one run's cutoff (`{"run_id","tenant"}`), the periodic sweep
//! (`{"sweep": true}`) and the hourly HR reconcile (`{"reconcile": true}`), both fanned out per
//! tenant ([`crate::jobs`]), and batches from the tenant-jobs queue (an SQS event).

use crate::AwsHost;
use crate::jobs::{self, TenantJob};
use aws_lambda_events::event::sqs::SqsEvent;
use passage_core::RunId;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Trigger {
    Cutoff { run_id: String },
    Sweep { sweep: bool },
    Reconcile { reconcile: bool },
}

pub async fn handle(host: &AwsHost, payload: Value) -> anyhow::Result<Value> {
    handle_within(host, payload, crate::batch::DEFAULT_BUDGET).await
}

/// Handles one invocation; a batch of tenant jobs gets `budget` for all its records.
pub async fn handle_within(
    host: &AwsHost,
    payload: Value,
    budget: Duration,
) -> anyhow::Result<Value> {
    if payload.get("Records").is_some() {
        let event: SqsEvent = serde_json::from_value(payload)?;
        return Ok(serde_json::to_value(
            tenant_jobs(host, event, budget).await,
        )?);
    }
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
        Trigger::Sweep { .. } => Ok(json!({"sweep_jobs": jobs::fan_out(host, "sweep").await?})),
        Trigger::Reconcile { .. } => {
            Ok(json!({"reconcile_jobs": jobs::fan_out(host, "reconcile").await?}))
        }
    }
}

/// Works each job of the batch concurrently within `budget`; a job that fails or runs out of
/// time is reported alone in `batchItemFailures` and comes back after the queue's visibility
/// timeout. One tenant's HR outage or broken configuration fails only that tenant's job.
pub async fn tenant_jobs(
    host: &AwsHost,
    event: SqsEvent,
    budget: Duration,
) -> aws_lambda_events::event::sqs::SqsBatchResponse {
    let work = event.records.into_iter().map(|record| async move {
        let id = record.message_id.clone().unwrap_or_default();
        let job: TenantJob = match serde_json::from_str(record.body.as_deref().unwrap_or("")) {
            Ok(job) => job,
            Err(e) => {
                // Retrying cannot make it readable: drop it, loudly.
                tracing::error!(message_id = %id, error = %e, "unreadable tenant job dropped");
                return None;
            }
        };
        match tokio::time::timeout(budget, jobs::run(host, job.clone())).await {
            Ok(Ok(report)) => {
                tracing::info!(%report, "tenant job done");
                None
            }
            Ok(Err(e)) => {
                tracing::warn!(?job, error = %format!("{e:#}"), "tenant job failed");
                Some(id)
            }
            Err(_) => {
                tracing::warn!(?job, "tenant job out of time");
                Some(id)
            }
        }
    });
    let mut response = aws_lambda_events::event::sqs::SqsBatchResponse::default();
    for failed in futures::future::join_all(work).await.into_iter().flatten() {
        response.add_failure(failed);
    }
    response
}
