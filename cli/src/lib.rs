//! The `passage` command's library: configuration, the embedded wiring, the commands, and the
//! sandbox harness the demo, benchmarks and end-to-end tests share.

pub mod commands;
#[cfg(feature = "sandbox")]
pub mod harness;
pub mod output;
pub mod remote;
pub mod system;
