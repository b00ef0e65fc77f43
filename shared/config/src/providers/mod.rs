//! The provider sections of a tenant, one module each. Every module owns its section's serde
//! struct and the one conversion from it into the connector's settings (and the tenant
//! policy's part for that provider), so a provider's keys, defaults and refusals sit together.

mod google;
mod jumpcloud;
mod microsoft;
mod okta;
mod pace;

pub use google::GoogleConfig;
pub use jumpcloud::JumpCloudConfig;
pub use microsoft::MicrosoftConfig;
pub use okta::OktaConfig;
pub use pace::PaceConfig;

use crate::file::TenantConfig;
use anyhow::{Context, Result};
use passage_connectors::{ConnectionSettings, PacePlans};
use passage_core::Provider;

/// The tenant's provider connections; `at` names the tenant in messages ("tenant acme").
pub(crate) fn connection_settings(t: &TenantConfig, at: &str) -> Result<ConnectionSettings> {
    Ok(ConnectionSettings {
        okta: t.okta.as_ref().map(|o| o.settings(at)).transpose()?,
        microsoft: t.microsoft.as_ref().map(|m| m.settings(at)).transpose()?,
        google: t.google.as_ref().map(|g| g.settings(at)).transpose()?,
        jumpcloud: t.jumpcloud.as_ref().map(|j| j.settings(at)).transpose()?,
        pace: PacePlans {
            okta: plan(
                t.okta.as_ref().and_then(|o| o.pace.as_ref()),
                Provider::Okta,
                at,
            )?,
            microsoft: plan(
                t.microsoft.as_ref().and_then(|m| m.pace.as_ref()),
                Provider::Microsoft,
                at,
            )?,
            google: plan(
                t.google.as_ref().and_then(|g| g.pace.as_ref()),
                Provider::Google,
                at,
            )?,
            jumpcloud: plan(
                t.jumpcloud.as_ref().and_then(|j| j.pace.as_ref()),
                Provider::Jumpcloud,
                at,
            )?,
        },
    })
}

/// One provider's budgets: its section's `pace` over the documented limits.
fn plan(
    section: Option<&PaceConfig>,
    provider: Provider,
    at: &str,
) -> Result<passage_connectors::PacePlan> {
    PaceConfig::plan(section, provider, &format!("{at}: {provider}"))
}

/// A provider URL, refused with the key that holds it (`microsoft.graph_url`).
fn parse_url(at: &str, key: &str, value: &str) -> Result<url::Url> {
    url::Url::parse(value).with_context(|| format!("{at}: {key} {value:?} is not a URL"))
}

/// A credential value (`env:`/`file:` or inline), its failure naming the tenant.
fn secret(at: &str, spec: &str) -> Result<passage_core::secret::Secret> {
    crate::secrets::resolve_secret(spec).with_context(|| at.to_owned())
}
