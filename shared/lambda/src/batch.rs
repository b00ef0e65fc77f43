//! SQS batches (step and finalize queues) to the engine, with partial batch failures.
//!
//! The records of a batch run concurrently, each within the time the invocation has left: a
//! record that runs out of time goes back alone (its claim's lease decides when it is tried
//! again) and its batch mates' results stand. Before a record is worked, its tenant must hold
//! one of its slots ([`crate::fairness`]); a record turned away is sent again for later, as a
//! fresh message, so waiting its turn never counts towards the dead-letter limit.

use crate::AwsHost;
use crate::fairness::Admission;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use passage_core::engine::Disposition;
use passage_core::ports::{Delivery, StepQueue};
use std::time::{Duration, Instant};

/// What a batch may take when no Lambda deadline is known (tests, local runs): under the step
/// and finalizer functions' 60 s timeout.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(50);
/// Kept back from the Lambda deadline for answering and reporting failures.
const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

/// The time a batch may take: until `deadline` (the invocation's) less a margin.
pub fn budget_until(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .saturating_sub(DEADLINE_MARGIN)
}

/// Handles the batch within [`DEFAULT_BUDGET`].
pub async fn handle(host: &AwsHost, event: SqsEvent, queue_url: &str) -> SqsBatchResponse {
    handle_within(host, event, queue_url, DEFAULT_BUDGET).await
}

/// Handles each record concurrently; records to retry are reported in `batchItemFailures`
/// (with their visibility already set to the backoff), so one slow step never re-runs its
/// batch mates.
pub async fn handle_within(
    host: &AwsHost,
    event: SqsEvent,
    queue_url: &str,
    budget: Duration,
) -> SqsBatchResponse {
    let records = event
        .records
        .into_iter()
        .map(|record| handle_record(host, record, queue_url, budget));
    let mut response = SqsBatchResponse::default();
    for failed in futures::future::join_all(records)
        .await
        .into_iter()
        .flatten()
    {
        response.add_failure(failed);
    }
    response
}

/// One record, within `budget`: its message id when it must be delivered again.
async fn handle_record(
    host: &AwsHost,
    record: SqsMessage,
    queue_url: &str,
    budget: Duration,
) -> Option<String> {
    let message_id = record.message_id.clone().unwrap_or_default();
    let receive_count = record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let delivery = passage_aws::delivery_from_sqs(
        queue_url,
        &message_id,
        record.receipt_handle.as_deref().unwrap_or_default(),
        record.body.as_deref().unwrap_or_default(),
        receive_count,
    );
    // The slot's lease outlasts the work it guards, so a dying invocation blocks its tenant
    // for at most this long.
    let lease = budget + DEADLINE_MARGIN + Duration::from_secs(30);
    match tokio::time::timeout(budget, admitted(host, &delivery, &message_id, lease)).await {
        Ok(retry) => retry.then_some(message_id),
        Err(_) => {
            tracing::warn!(%message_id, ?budget, "out of time; only this record goes back");
            // Visible again once the claim this attempt holds has lapsed.
            let lease = host.engine.settings().lease;
            if let Err(e) = host.queue.release(&delivery.receipt, lease).await {
                tracing::warn!(%message_id, error = %e, "visibility not changed; default timeout applies");
            }
            Some(message_id)
        }
    }
}

/// Works the delivery if its tenant has a free slot, else sends it again for later.
async fn admitted(host: &AwsHost, delivery: &Delivery, message_id: &str, lease: Duration) -> bool {
    match host.fairness.admit(host, delivery, lease).await {
        Admission::Go(slot) => {
            let retry = dispose(host, delivery, message_id).await;
            if let Some(slot) = slot {
                host.fairness.release(&slot).await;
            }
            retry
        }
        Admission::Wait(delay) => match host.queue.requeue(&delivery.receipt, delay).await {
            Ok(()) => false,
            Err(e) => {
                tracing::warn!(%message_id, error = %e, "could not defer; will be redelivered");
                true
            }
        },
    }
}

/// Hands the delivery to the engine and carries out its answer; `true` to retry.
async fn dispose(host: &AwsHost, delivery: &Delivery, message_id: &str) -> bool {
    match host.engine.handle(delivery).await {
        Ok(Disposition::Ack) => false,
        Ok(Disposition::Requeue(delay)) => {
            // Sent again as a fresh message and this copy deleted; if that fails, let SQS
            // deliver this one again after its visibility timeout.
            match host.queue.requeue(&delivery.receipt, delay).await {
                Ok(()) => false,
                Err(e) => {
                    tracing::warn!(%message_id, error = %e, "not requeued; redelivered after the visibility timeout");
                    true
                }
            }
        }
        Ok(Disposition::DeadLetter(reason)) => {
            tracing::warn!(%message_id, %reason, "dead-lettering");
            // Moved to the DLQ and deleted; if that fails, let SQS redrive it.
            host.queue
                .dead_letter(&delivery.receipt, &reason)
                .await
                .is_err()
        }
        Err(e) => {
            tracing::error!(%message_id, error = %e, "handling failed; will be redelivered");
            true
        }
    }
}

/// The whole life of a queue-consuming function: build the host once, then hand every batch
/// from the queue `queue` picks to [`handle_within`], within the invocation's own deadline.
pub async fn serve(queue: fn(&passage_aws::AwsNames) -> &str) -> Result<(), lambda_runtime::Error> {
    crate::init_tracing();
    let host = AwsHost::from_env().await?;
    let host = &host;
    let url = queue(&host.names);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<SqsEvent>| async move {
            let budget = budget_until(crate::deadline_of(&event.context));
            Ok::<_, lambda_runtime::Error>(handle_within(host, event.payload, url, budget).await)
        },
    ))
    .await
}
