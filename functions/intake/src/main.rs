//! Intake: termination webhooks in, durable scheduled runs out (same contract as `passage serve`).

use passage_lambda::AwsHost;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    passage_lambda::init_tracing();
    let host = AwsHost::from_env().await?;
    lambda_http::run(host.app()).await
}
