//! Webhook verification and the leaver event against the vendors' vectors and fixtures.
//!
//! One test binary for the crate (modules inside), so the suite links once.

mod evidence;
mod leaver_event;
mod schema_agreement;
mod standard_webhooks;
mod vendors;
