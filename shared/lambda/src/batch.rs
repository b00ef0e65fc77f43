//! SQS batches (step and finalize queues) to the engine, with partial batch failures.
//!
//! The records of a batch run concurrently, each within the time the invocation has left: a
//! record that runs out of time goes back alone (its claim's lease decides when it is tried
//! again) and its batch mates' results stand. Before a tenant's records of the batch are
//! worked, the invocation takes one of that tenant's slots ([`crate::fairness`]); records turned
//! away are sent again for later, as fresh messages, so waiting a turn never counts towards the
//! dead-letter limit.

use crate::AwsHost;
use crate::fairness::{Admission, Scope};
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
    let records: Vec<Record> = event
        .records
        .into_iter()
        .map(|r| Record::from_sqs(r, queue_url))
        .collect();
    let mut response = SqsBatchResponse::default();
    for failed in by_scope(host, records, budget).await {
        response.add_failure(failed);
    }
    response
}

/// One record of a batch, as the engine takes it.
struct Record {
    message_id: String,
    delivery: Delivery,
}

impl Record {
    fn from_sqs(record: SqsMessage, queue_url: &str) -> Self {
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
        Self {
            message_id,
            delivery,
        }
    }
}

/// Groups the records by tenant (and kind of work), takes one slot per group, and works the
/// admitted groups' records concurrently; the rest are sent again for later. Returns the ids to
/// report as failures.
async fn by_scope(host: &AwsHost, records: Vec<Record>, budget: Duration) -> Vec<String> {
    let scopes =
        futures::future::join_all(records.iter().map(|r| host.fairness.scope_of(&r.delivery)))
            .await;
    let mut groups: Vec<(Option<Scope>, Vec<Record>)> = Vec::new();
    let mut failed = Vec::new();
    for (record, scope) in records.into_iter().zip(scopes) {
        let scope = match scope {
            Ok(scope) => scope,
            Err(e) => {
                tracing::warn!(message_id = %record.message_id, error = %e, "tenant unknown; will be redelivered");
                failed.push(record.message_id);
                continue;
            }
        };
        match groups.iter_mut().find(|(s, _)| *s == scope) {
            Some((_, group)) => group.push(record),
            None => groups.push((scope, vec![record])),
        }
    }
    let results = futures::future::join_all(
        groups
            .into_iter()
            .map(|(scope, group)| handle_group(host, scope, group, budget)),
    )
    .await;
    failed.extend(results.into_iter().flatten());
    failed
}

/// One tenant's records of the batch: worked under one slot, or all deferred.
async fn handle_group(
    host: &AwsHost,
    scope: Option<Scope>,
    group: Vec<Record>,
    budget: Duration,
) -> Vec<String> {
    // The slot's lease outlasts the work it guards, so a dying invocation holds its tenant's
    // slot for at most this long.
    let lease = budget + DEADLINE_MARGIN + Duration::from_secs(30);
    let admission = match &scope {
        Some(scope) => host.fairness.admit(host, scope, lease).await,
        None => Admission::Go(None),
    };
    match admission {
        Admission::Go(slot) => {
            let work = group.iter().map(|r| handle_record(host, r, budget));
            let failed = futures::future::join_all(work).await;
            if let Some(slot) = slot {
                host.fairness.release(&slot).await;
            }
            failed.into_iter().flatten().collect()
        }
        Admission::Wait(delay) => {
            let mut failed = Vec::new();
            for r in group {
                if let Err(e) = host.queue.requeue(&r.delivery.receipt, delay).await {
                    tracing::warn!(message_id = %r.message_id, error = %e, "could not defer; will be redelivered");
                    failed.push(r.message_id);
                }
            }
            failed
        }
    }
}

/// One record, within `budget`: its message id when it must be delivered again.
async fn handle_record(host: &AwsHost, record: &Record, budget: Duration) -> Option<String> {
    let Record {
        message_id,
        delivery,
    } = record;
    match tokio::time::timeout(budget, dispose(host, delivery, message_id)).await {
        Ok(retry) => retry.then(|| message_id.clone()),
        Err(_) => {
            tracing::warn!(%message_id, ?budget, "out of time; only this record goes back");
            // Visible again once the claim this attempt holds has lapsed.
            let lease = host.engine.settings().lease;
            if let Err(e) = host.queue.release(&delivery.receipt, lease).await {
                tracing::warn!(%message_id, error = %e, "visibility not changed; default timeout applies");
            }
            Some(message_id.clone())
        }
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
