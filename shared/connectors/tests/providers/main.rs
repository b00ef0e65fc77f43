//! Each provider's (and SaaS app's) connector against its emulator, the fault matrix, and conformance with the published specs.
//!
//! One test binary for the crate (modules inside), so the suite links once.

mod common;
mod conformance;
mod fault_matrix;
mod github;
mod google;
mod google_sweep;
mod jumpcloud;
mod microsoft;
mod okta;
mod pacing;
mod preflight;
mod scim;
mod sign_ins;
mod slack;
