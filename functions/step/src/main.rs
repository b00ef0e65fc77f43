//! Step worker: SQS batches of steps, partial batch failures with per-message backoff.

use lambda_runtime::{LambdaEvent, service_fn};
use passage_lambda::AwsHost;
use passage_lambda::aws_lambda_events::event::sqs::SqsEvent;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    passage_lambda::init_tracing();
    let host = AwsHost::from_env().await?;
    let host = &host;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(
            passage_lambda::batch::handle(host, event.payload, &host.names.step_queue_url).await,
        )
    }))
    .await
}
