//! Passage's domain and engine.
//!
//! Everything here is pure: state lives behind the [`ports`], which the hosts (the embedded
//! process and the AWS functions) fill with real adapters. The same [`engine::Engine`] runs
//! unchanged on either set, which is what keeps a run's meaning identical between them.

pub mod access;
pub mod compliance;
pub mod cutoff;
pub mod domain;
pub mod engine;
pub mod evidence;
pub mod gate;
pub mod guard;
pub mod ids;
pub mod link;
pub mod machine;
pub mod pace;
pub mod plan;
pub mod ports;
pub mod preview;
pub mod remedy;
pub mod report;
pub mod restore;
pub mod retry;
pub mod seal;
pub mod secret;

pub use domain::*;
pub use ids::{RunId, StepKey, TenantId};
