//! The configuration of one deployment in Secrets Manager, laid out as the functions read it:
//! one secret per tenant under a prefix, and one settings secret (operators, notices).

use crate::provision::ProvisionError;
use aws_config::SdkConfig;
use aws_sdk_secretsmanager::operation::create_secret::CreateSecretError;
use passage_aws::error_text;

/// Where a deployment's configuration was put.
#[derive(Clone, Debug)]
pub struct ConfigSecrets {
    /// The per-tenant secrets' prefix (`TENANT_SECRET_PREFIX`).
    pub tenant_prefix: String,
    /// The settings secret (`SETTINGS_SECRET_ARN`) and its text.
    pub settings_arn: String,
    pub settings: String,
}

fn fail(what: &str, detail: impl Into<String>) -> ProvisionError {
    ProvisionError {
        what: what.to_owned(),
        detail: detail.into(),
    }
}

/// Splits a whole `passage.toml` into per-tenant secrets `<prefix>tenants/<id>` and a settings
/// secret `<prefix>settings`, as an operator moving to (or setting up) AWS would.
pub async fn store_configuration(
    config: &SdkConfig,
    prefix: &str,
    whole_toml: &str,
) -> Result<ConfigSecrets, ProvisionError> {
    let (settings, tenants) =
        passage_config::split(whole_toml).map_err(|e| fail("configuration", format!("{e:#}")))?;
    let tenant_prefix = format!("{prefix}tenants/");
    for (tenant, text) in &tenants {
        put_tenant_secret(config, &tenant_prefix, tenant.as_str(), text).await?;
    }
    let settings_arn = put_secret(config, &format!("{prefix}settings"), &settings).await?;
    Ok(ConfigSecrets {
        tenant_prefix,
        settings_arn,
        settings,
    })
}

/// Creates the tenant's secret, or puts a new current version of it (a rotation).
pub async fn put_tenant_secret(
    config: &SdkConfig,
    tenant_prefix: &str,
    tenant: &str,
    text: &str,
) -> Result<String, ProvisionError> {
    put_secret(config, &format!("{tenant_prefix}{tenant}"), text).await
}

async fn put_secret(config: &SdkConfig, name: &str, value: &str) -> Result<String, ProvisionError> {
    let client = aws_sdk_secretsmanager::Client::new(config);
    match client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
    {
        Ok(out) => Ok(out.arn.unwrap_or_else(|| name.to_owned())),
        Err(e) => match e.as_service_error() {
            Some(CreateSecretError::ResourceExistsException(_)) => {
                let out = client
                    .put_secret_value()
                    .secret_id(name)
                    .secret_string(value)
                    .send()
                    .await
                    .map_err(|e| fail(name, error_text(&e)))?;
                Ok(out.arn.unwrap_or_else(|| name.to_owned()))
            }
            _ => Err(fail(name, error_text(&e))),
        },
    }
}
