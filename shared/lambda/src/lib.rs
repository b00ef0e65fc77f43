//! The AWS host. Each Lambda function's `main` builds an [`AwsHost`] once per cold start and
//! hands events to the same engine the embedded host runs: HTTP requests to the shared router,
//! SQS batches to [`batch::handle`], Scheduler payloads to [`cutoff::handle`].

pub use aws_lambda_events;
pub mod batch;
pub mod cutoff;
pub mod fairness;
mod host;
pub mod iam;
pub mod jobs;
pub mod tenants;

pub use host::{AwsHost, HostSecrets};

/// The invocation's deadline, as an instant of this process's clock.
pub fn deadline_of(context: &lambda_runtime::Context) -> std::time::Instant {
    let left = context
        .deadline()
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    std::time::Instant::now() + left
}

/// Logging for every function: JSON to CloudWatch, level from `RUST_LOG`.
pub fn init_tracing() {
    lambda_runtime::tracing::init_default_subscriber();
}
