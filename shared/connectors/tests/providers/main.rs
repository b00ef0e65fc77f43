//! Each provider's connector against its emulator, the fault matrix, and conformance with the published specs.
//!
//! One test binary for the crate (modules inside), so the suite links once.

mod common;
mod conformance;
mod fault_matrix;
mod google;
mod jumpcloud;
mod microsoft;
mod okta;
mod pacing;
