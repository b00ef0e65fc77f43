//! The provider sections of a tenant, one module each. Every module owns its section's serde
//! struct and the one conversion from it into the connector's settings (and the tenant
//! policy's part for that provider), so a provider's keys, defaults and refusals sit together.

mod github;
mod google;
mod jumpcloud;
mod microsoft;
mod okta;
mod pace;
mod saas;
mod scim;
mod slack;

pub use github::GithubConfig;
pub use google::GoogleConfig;
pub use jumpcloud::JumpCloudConfig;
pub use microsoft::MicrosoftConfig;
pub use okta::OktaConfig;
pub use pace::PaceConfig;
pub use saas::ManualAppConfig;
pub use scim::ScimAppConfig;
pub use slack::SlackConfig;

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
        slack: match &t.slack {
            Some(s) => s.settings(at)?,
            None => None,
        },
        github: t.github.as_ref().map(|g| g.settings(at)).transpose()?,
        scim: t
            .scim_apps
            .iter()
            .map(|a| Ok((a.app.clone(), a.settings(at)?)))
            .collect::<Result<_>>()?,
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

/// The tenant's SaaS apps: Slack, GitHub, its SCIM apps and its apps without an API, their
/// names checked first.
pub(crate) fn saas_policy(t: &TenantConfig) -> Result<passage_core::SaasPolicy> {
    let names = t.scim_apps.iter().map(|a| a.app.as_str());
    saas::check_app_names(names.chain(t.manual_apps.iter().map(|a| a.app.as_str())))?;
    Ok(passage_core::SaasPolicy {
        slack: t.slack.as_ref().map(SlackConfig::policy).transpose()?,
        github: t.github.as_ref().map(GithubConfig::policy).transpose()?,
        scim: t
            .scim_apps
            .iter()
            .map(ScimAppConfig::policy)
            .collect::<Result<_>>()?,
        manual: t
            .manual_apps
            .iter()
            .map(ManualAppConfig::policy)
            .collect::<Result<_>>()?,
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
