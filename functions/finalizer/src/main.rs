//! Finalizer: closure gate, evidence bundle, KMS signature, bundle to S3.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    passage_lambda::batch::serve(|names| &names.finalize_queue_url).await
}
