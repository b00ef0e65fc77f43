//! Step worker: SQS batches of steps, partial batch failures with per-message backoff.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    passage_lambda::batch::serve(|names| &names.step_queue_url).await
}
