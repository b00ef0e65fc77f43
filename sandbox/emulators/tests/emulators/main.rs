//! The emulators against their providers' documented behaviour, over real HTTP.
//!
//! One test binary for the crate (modules inside), so the suite links once.

#[cfg(feature = "google")]
mod google_auth;
#[cfg(feature = "google")]
mod google_chaos;
#[cfg(feature = "google")]
mod google_directory;
#[cfg(feature = "google")]
mod google_faults;
#[cfg(feature = "google")]
mod google_gmail;
#[cfg(feature = "google")]
mod google_licensing_transfer;
#[cfg(feature = "google")]
mod google_support;
#[cfg(feature = "google")]
mod google_sweep;
#[cfg(feature = "hr")]
mod hr_chaos;
#[cfg(feature = "jumpcloud")]
mod jumpcloud_actions;
#[cfg(feature = "jumpcloud")]
mod jumpcloud_auth;
#[cfg(feature = "jumpcloud")]
mod jumpcloud_chaos;
#[cfg(feature = "jumpcloud")]
mod jumpcloud_faults;
#[cfg(feature = "jumpcloud")]
mod jumpcloud_reads;
#[cfg(feature = "jumpcloud")]
mod jumpcloud_support;
#[cfg(feature = "microsoft")]
mod microsoft_actions;
#[cfg(feature = "microsoft")]
mod microsoft_auth;
#[cfg(feature = "microsoft")]
mod microsoft_chaos;
#[cfg(feature = "microsoft")]
mod microsoft_common;
#[cfg(feature = "microsoft")]
mod microsoft_faults;
#[cfg(feature = "microsoft")]
mod microsoft_grants;
#[cfg(feature = "microsoft")]
mod microsoft_sweep;
mod okta_actions;
mod okta_chaos;
mod okta_factors_apps;
mod okta_faults;
mod okta_oauth;
mod okta_oidc;
mod okta_reads;
mod okta_roles;
mod support;
