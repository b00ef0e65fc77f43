//! The embedded adapters against the port contracts, and the engine running on them.
//!
//! One test binary for the crate (modules inside), so the suite links once.

mod contract;
mod engine_commands;
mod engine_restore;
mod engine_retry;
mod engine_watch;
mod engine_world;
mod store_contract;
