//! Provider connectors. Each turns Passage's provider-neutral actions into the provider's API
//! calls, reads the effect back, and classifies errors (retryable or permanent) at this
//! boundary so the engine never has to know a provider's error dialect.

mod call;
pub mod github;
pub mod google;
mod handover;
pub mod http;
pub mod jumpcloud;
pub mod jwt;
pub mod microsoft;
mod oauth;
pub mod okta;
mod pace;
pub mod permissions;
pub mod preflight;
mod registry;
pub mod scim;
pub mod skew;
pub mod slack;
pub mod tsa;

pub use pace::{ALL as PACE_ALL, PacePlan, Pacing, UnknownFamily};
pub use registry::{ConnectionSettings, PacePlans, Registry};
