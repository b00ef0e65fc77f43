//! Secrets Manager: the link keys and operator settings (read at cold start), and one secret
//! per tenant (read on demand, see [`TenantSecrets`]).

use aws_config::SdkConfig;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType};
use passage_core::TenantId;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("reading secret {arn}: {detail}")]
    Read { arn: String, detail: String },
    #[error("secret {0} has no string value (binary secrets are not supported)")]
    NotText(String),
}

/// The string value of the secret `arn` (name or ARN), current version.
pub async fn secret_string(config: &SdkConfig, arn: &str) -> Result<String, SecretError> {
    let client = aws_sdk_secretsmanager::Client::new(config);
    read(&client, arn).await?.ok_or_else(|| SecretError::Read {
        arn: arn.to_owned(),
        detail: "no such secret".into(),
    })
}

/// The secret's current string value; `None` when there is no such secret.
async fn read(
    client: &aws_sdk_secretsmanager::Client,
    id: &str,
) -> Result<Option<String>, SecretError> {
    let out = match client.get_secret_value().secret_id(id).send().await {
        Ok(out) => out,
        Err(e) => {
            return match e.as_service_error() {
                Some(GetSecretValueError::ResourceNotFoundException(_)) => Ok(None),
                _ => Err(SecretError::Read {
                    arn: id.to_owned(),
                    detail: crate::error_text(&e),
                }),
            };
        }
    };
    out.secret_string()
        .map(|s| Some(s.to_owned()))
        .ok_or_else(|| SecretError::NotText(id.to_owned()))
}

/// One secret per tenant, named `<prefix><tenant id>` (e.g. `passage/prod/tenants/acme`):
/// each holds that tenant's `[[tenants]]` table, credentials and webhook secrets included.
/// A tenant is added, changed or rotated by writing its own secret; no other tenant's secret
/// is read, and none is large.
#[derive(Clone)]
pub struct TenantSecrets {
    client: aws_sdk_secretsmanager::Client,
    prefix: String,
}

impl TenantSecrets {
    pub fn new(config: &SdkConfig, prefix: impl Into<String>) -> Self {
        Self {
            client: aws_sdk_secretsmanager::Client::new(config),
            prefix: prefix.into(),
        }
    }

    /// The name of the tenant's secret.
    pub fn name_of(&self, tenant: &TenantId) -> String {
        format!("{}{tenant}", self.prefix)
    }

    /// The tenant's configuration text; `None` when the tenant has no secret.
    pub async fn read(&self, tenant: &TenantId) -> Result<Option<String>, SecretError> {
        read(&self.client, &self.name_of(tenant)).await
    }

    /// Every tenant with a secret under the prefix, from the secrets' names only (no value is
    /// read). One call per hundred tenants.
    pub async fn list(&self) -> Result<Vec<TenantId>, SecretError> {
        let filter = Filter::builder()
            .key(FilterNameStringType::Name)
            .values(&self.prefix)
            .build();
        let mut tenants = Vec::new();
        let mut next = None;
        loop {
            let out = self
                .client
                .list_secrets()
                .filters(filter.clone())
                .max_results(100)
                .set_next_token(next)
                .send()
                .await
                .map_err(|e| SecretError::Read {
                    arn: format!("{}*", self.prefix),
                    detail: crate::error_text(&e),
                })?;
            for s in out.secret_list() {
                // The name filter matches by prefix word-wise; keep exact prefixes only.
                let id = s.name().and_then(|n| n.strip_prefix(self.prefix.as_str()));
                if let Some(id) = id.filter(|id| passage_core::ids::is_valid_tenant_id(id)) {
                    tenants.push(TenantId::new(id));
                }
            }
            next = out.next_token;
            if next.is_none() {
                tenants.sort();
                tenants.dedup();
                return Ok(tenants);
            }
        }
    }
}
