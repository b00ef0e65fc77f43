//! Cutoff: a run's one-time schedule fired, the periodic sweep or reconcile is due (fanned out
//! per tenant), or a batch of those per-tenant jobs arrived from their queue.

use lambda_runtime::{LambdaEvent, service_fn};
use passage_lambda::AwsHost;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    passage_lambda::init_tracing();
    let host = AwsHost::from_env().await?;
    let host = &host;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let budget =
            passage_lambda::batch::budget_until(passage_lambda::deadline_of(&event.context));
        passage_lambda::cutoff::handle_within(host, event.payload, budget)
            .await
            .map_err(lambda_runtime::Error::from)
    }))
    .await
}
