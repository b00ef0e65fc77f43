//! The AWS host. Each Lambda function's `main` builds an [`AwsHost`] once per cold start and
//! hands events to the same engine the embedded host runs: HTTP requests to the shared router,
//! SQS batches to [`batch::handle`], Scheduler payloads to [`cutoff::handle`].

pub use aws_lambda_events;
pub mod batch;
pub mod cutoff;
mod host;
pub mod iam;

pub use host::AwsHost;

/// Logging for every function: JSON to CloudWatch, level from `RUST_LOG`.
pub fn init_tracing() {
    lambda_runtime::tracing::init_default_subscriber();
}
