//! SQS batches (step and finalize queues) to the engine, with partial batch failures.

use crate::AwsHost;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use passage_core::engine::Disposition;
use passage_core::ports::StepQueue;

/// Handles each record; records to retry are reported in `batchItemFailures`, so one slow step
/// never re-runs its batch mates. A step that must wait is sent again as a fresh message.
pub async fn handle(host: &AwsHost, event: SqsEvent, queue_url: &str) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
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
        let retry = match host.engine.handle(&delivery).await {
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
        };
        if retry {
            response.add_failure(message_id);
        }
    }
    response
}

/// The whole life of a queue-consuming function: build the host once, then hand every batch
/// from the queue `queue` picks to [`handle`].
pub async fn serve(queue: fn(&passage_aws::AwsNames) -> &str) -> Result<(), lambda_runtime::Error> {
    crate::init_tracing();
    let host = AwsHost::from_env().await?;
    let host = &host;
    let url = queue(&host.names);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<SqsEvent>| async move {
            Ok::<_, lambda_runtime::Error>(handle(host, event.payload, url).await)
        },
    ))
    .await
}
