//! `passage.toml`: where data lives, where to listen, and each tenant's policy and connections.
//!
//! Secrets may be written inline, but need not be: `env:NAME` reads an environment variable and
//! `file:PATH` a file, so the config file itself can be committed or shared.
//!
//! [`file`] is the format, [`Config::resolve_all`] turns it into what the engine takes (tenant
//! policies, one module per provider's connection, operators, HR APIs, notices), and
//! [`Config::wiring`] builds from that what both hosts share.

mod check;
pub mod file;
mod operators;
mod policy;
pub mod providers;
mod resolve;
mod secrets;
mod split;
mod wiring;

pub use check::{Problem, check_file};
pub use file::{
    ChannelConfig, Config, EarlyConfig, HrWebhookConfig, HumanConfig, HumanStepConfig,
    LocationConfig, OperatorConfig, ServerConfig, TenantConfig,
};
pub use passage_connectors::Pacing;
pub use providers::{
    GithubConfig, GoogleConfig, JumpCloudConfig, ManualAppConfig, MicrosoftConfig, OktaConfig,
    PaceConfig, ScimAppConfig, SlackConfig,
};
pub use resolve::Resolved;
pub use secrets::{SecretError, resolve_secret};
pub use split::{Settings, TenantParts, resolve_settings, resolve_tenant, split};
pub use wiring::{CONFIRM_LINKS_VALID_FOR, Integrations, Wiring, confirm_links};

#[cfg(test)]
mod tests;
