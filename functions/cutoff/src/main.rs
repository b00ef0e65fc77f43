//! Cutoff: a run's one-time schedule fired, or the periodic sweep is due.

use lambda_runtime::{LambdaEvent, service_fn};
use passage_lambda::AwsHost;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    passage_lambda::init_tracing();
    let host = AwsHost::from_env().await?;
    let host = &host;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        passage_lambda::cutoff::handle(host, event.payload)
            .await
            .map_err(lambda_runtime::Error::from)
    }))
    .await
}
