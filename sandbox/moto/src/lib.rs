//! passage-moto: the local AWS the tests and the `local_stack` example run against.
//!
//! - [`Moto`]: `moto_server` from PyPI on a free loopback port, started through a launcher that
//!   gives DynamoDB requests the isolation real DynamoDB has.
//! - [`provision`]: the table, queues, key, bucket and schedule group of one deployment, as
//!   the SAM template would create them (with random names, so suites can share one emulator).
//! - [`store_configuration`]: a `passage.toml` as per-tenant secrets and a settings secret.
//!
//! Nothing here ships: the Lambda functions never link it.

mod launcher;
mod provision;
mod secrets;

pub use launcher::{Moto, sdk_config_for};
pub use provision::{
    MAX_RECEIVE_COUNT, ProvisionError, QUEUE_VISIBILITY_SECS, TEST_OBJECT_LOCK_DAYS, provision,
    provision_tenant_key,
};
pub use secrets::{ConfigSecrets, put_tenant_secret, store_configuration};
