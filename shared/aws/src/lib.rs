//! passage-aws: the ports of `passage-core` on AWS.
//!
//! - [`DynamoStore`]: runs, steps, attempts, events and evidence chains in one DynamoDB table,
//!   every commit one version-checked `TransactWriteItems`.
//! - [`SqsQueue`]: the step and finalize queues on SQS, with a dead-letter queue.
//! - [`KmsVault`]: one KMS key per tenant behind an alias, signing ECDSA P-256/SHA-256
//!   ([`KmsSigner`]); the key sets and checkpoints published in S3.
//! - [`S3Evidence`]: bundles in S3, under Object Lock when configured.
//! - [`SchedulerTimer`]: one EventBridge Scheduler `at()` schedule per run's cutoff.
//! - [`DynamoPacer`]: provider budgets in the same table, shared by concurrent invocations.
//! - [`TenantSecrets`]: one Secrets Manager secret per tenant, read on demand.
//! - [`TenantSlots`]: a bounded number of holders per tenant across every instance (fair
//!   sharing of the step workers; one finalizer per tenant's evidence chain).
//!
//! Clients come from one [`aws_config::SdkConfig`] ([`sdk_config`]), which honours
//! `AWS_ENDPOINT_URL`, so the same code talks to AWS or to the local emulator (`sandbox/moto`).

mod audit;
mod config;
mod evidence;
mod guard;
mod key_vault;
mod open_runs;
mod pacer;
mod queue;
mod secrets;
mod signer;
mod slots;
mod store;
mod timer;

pub use config::{AwsNames, ConfigError, sdk_config};
pub use evidence::S3Evidence;
pub use key_vault::KmsVault;
pub use open_runs::{OpenPage, OpenRun};
pub use pacer::DynamoPacer;
pub use queue::{DeadLetter, SqsQueue, delivery_from_sqs};
pub use secrets::{SecretError, TenantSecrets, secret_string};
pub use signer::KmsSigner;
pub use slots::{Slot, TenantSlots};
pub use store::{DynamoStore, GSI_EMPLOYEE, GSI_OPEN, GSI_TENANT};
pub use timer::SchedulerTimer;

/// An SDK error with its whole chain of causes: the `Display` of an `SdkError` alone says
/// little more than "service error".
pub fn error_text<E: std::error::Error>(e: &E) -> String {
    aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()
}
