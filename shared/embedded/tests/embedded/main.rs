//! The embedded adapters against the port contracts.
//!
//! One test binary for the crate (modules inside), so the suite links once.

mod contract;
mod store_contract;
