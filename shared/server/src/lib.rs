//! The embedded host, as `passage-lambda` is the AWS host: it opens one data directory with the
//! embedded adapters ([`System`]) and runs the HTTP API, step workers, the cutoff timer, the
//! sweep and the HR reconcile in one process ([`Host`]), over the same engine the Lambda
//! functions run; its workers pace provider calls in shared budgets ([`pacing`]).

pub mod host;
pub mod listener;
mod pacing;
mod system;

pub use host::{Host, HostSettings, Running};
pub use listener::HttpLimits;
pub use pacing::pacing;
pub use system::{System, SystemError};
