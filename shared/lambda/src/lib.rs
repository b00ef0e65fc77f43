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

/// The timestamp authority named by `TSA_URL`, if set: every bundle's signature gets its
/// RFC 3161 token.
pub fn timestamps_from_env()
-> anyhow::Result<Option<std::sync::Arc<dyn passage_core::ports::TimestampAuthority>>> {
    let Some(url) = std::env::var("TSA_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
    else {
        return Ok(None);
    };
    let url = url::Url::parse(url.trim())
        .map_err(|e| anyhow::anyhow!("TSA_URL {url:?} is not a URL: {e}"))?;
    Ok(Some(std::sync::Arc::new(
        passage_connectors::tsa::HttpTimestampAuthority::new(url)?,
    )))
}
