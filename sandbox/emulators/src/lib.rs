//! passage-sandbox: identity-provider emulators that speak the providers'
//! real HTTP APIs on loopback, so Passage's connectors, demos and
//! benchmarks run against something that behaves like production —
//! including its errors, pagination, rate limits and audit logs — without
//! touching a real tenant.
//!
//! Each provider (and each SaaS app: a generic SCIM server, Slack, GitHub) lives in its own
//! module; behaviour common to all of them
//! (fault knobs, rate-limit windows, counters, server plumbing) lives in
//! [`common`].

pub mod common;
#[cfg(feature = "github")]
pub mod github;
#[cfg(feature = "google")]
pub mod google;
#[cfg(feature = "hr")]
pub mod hr;
#[cfg(feature = "jumpcloud")]
pub mod jumpcloud;
#[cfg(feature = "microsoft")]
pub mod microsoft;
pub mod okta;
#[cfg(feature = "scim")]
pub mod scim;
#[cfg(feature = "sinks")]
pub mod sinks;
#[cfg(feature = "slack")]
pub mod slack;

pub use okta::{OktaConfig, OktaEmulator, demo_seed};
