//! The configuration as the AWS host keeps it: one small settings text (operators, notices)
//! and one text per tenant, each with that tenant's `[[tenants]]` table alone. A tenant's text
//! is read and checked on its own, so a mistake in one tenant's configuration touches no other.

use crate::file::Config;
use crate::operators::{oidc_providers, operators_of_elsewhere};
use crate::secrets::settings_from_table;
use anyhow::{Context, Result, bail};
use passage_connectors::ConnectionSettings;
use passage_core::{TenantId, TenantPolicy};

/// One tenant, resolved: its policy, its provider connections and its HR system API.
pub struct TenantParts {
    pub policy: TenantPolicy,
    pub connections: ConnectionSettings,
    pub hr_api: Option<passage_hrapi::HrSettings>,
}

/// The deployment-wide part: who may operate, and how notices leave.
pub struct Settings {
    pub operators: passage_http::Operators,
    pub notify: passage_notify::NotifySettings,
}

/// Resolves the text of tenant `expected`'s own configuration: exactly one `[[tenants]]` table,
/// with that id, and nothing else.
pub fn resolve_tenant(text: &str, expected: &TenantId) -> Result<TenantParts> {
    let config = Config::parse(text)?;
    if !config.operators.is_empty() || !config.oidc.is_empty() || config.notify.is_some() {
        bail!(
            "a tenant's configuration holds its [[tenants]] table only (operators, [[oidc]] and [notify] belong in the settings)"
        );
    }
    match config.tenants.as_slice() {
        [t] if t.id == expected.as_str() => {}
        [t] => bail!(
            "it configures tenant {:?}, not {:?}",
            t.id,
            expected.as_str()
        ),
        other => bail!("it must hold one [[tenants]] table, not {}", other.len()),
    }
    let mut resolved = config.resolve_all()?;
    let policy = resolved.policies.pop().context("no tenant resolved")?;
    Ok(TenantParts {
        connections: resolved.connections.remove(&policy.id).unwrap_or_default(),
        hr_api: resolved.hr_apis.remove(&policy.id),
        policy,
    })
}

/// Resolves the deployment's settings text: `[[operators]]` and `[notify]`, no tenants.
pub fn resolve_settings(text: &str) -> Result<Settings> {
    let config = Config::parse(text)?;
    if !config.tenants.is_empty() {
        bail!("the settings hold no [[tenants]]: each tenant has its own configuration");
    }
    let notify = match &config.notify {
        Some(table) => settings_from_table(table, "notify")?,
        None => passage_notify::NotifySettings::default(),
    };
    let oidc = oidc_providers(&config.oidc)?;
    Ok(Settings {
        operators: passage_http::Operators::new(operators_of_elsewhere(&config.operators, &oidc)?)
            .with_oidc(oidc),
        notify,
    })
}

/// Splits a whole `passage.toml` into the settings text and one text per tenant, as the AWS
/// host reads them (for moving an existing configuration into per-tenant secrets).
pub fn split(text: &str) -> Result<(String, Vec<(TenantId, String)>)> {
    Config::parse(text)?;
    let mut table: toml::Table = toml::from_str(text)?;
    table.remove("server");
    let tenants = match table.remove("tenants") {
        Some(toml::Value::Array(list)) => list,
        Some(_) => bail!("tenants must be an array of tables"),
        None => Vec::new(),
    };
    let mut out = Vec::with_capacity(tenants.len());
    for t in tenants {
        let id = t
            .get("id")
            .and_then(|v| v.as_str())
            .context("a tenant without an id")?
            .to_owned();
        let one = toml::Table::from_iter([("tenants".to_owned(), toml::Value::Array(vec![t]))]);
        out.push((TenantId::new(id), toml::to_string(&one)?));
    }
    Ok((toml::to_string(&table)?, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHOLE: &str = r#"
[[tenants]]
id = "acme"
webhook_secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
[tenants.okta]
org_url = "https://acme.okta.com"
api_token = "t0k3n"

[[tenants]]
id = "globex"
webhook_secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]

[[operators]]
name = "msp"
iam_principal = "arn:aws:iam::111122223333:role/Ops"
tenants = ["*", "later-tenant"]
"#;

    #[test]
    fn a_whole_file_splits_into_settings_and_one_text_per_tenant() {
        let (settings, tenants) = split(WHOLE).unwrap();
        assert_eq!(tenants.len(), 2);
        let acme = resolve_tenant(&tenants[0].1, &TenantId::new("acme")).unwrap();
        assert_eq!(acme.policy.id, TenantId::new("acme"));
        assert!(acme.connections.okta.is_some());
        assert!(acme.hr_api.is_none());
        resolve_tenant(&tenants[1].1, &TenantId::new("globex")).unwrap();
        // Operators may name tenants that are not (yet) configured anywhere.
        let s = resolve_settings(&settings).unwrap();
        assert!(format!("{:?}", s.operators).contains("msp"));
    }

    #[test]
    fn a_tenant_text_must_be_that_tenant_alone() {
        let (settings, tenants) = split(WHOLE).unwrap();
        let wrong = resolve_tenant(&tenants[0].1, &TenantId::new("globex"))
            .err()
            .unwrap();
        assert!(wrong.to_string().contains("not \"globex\""), "{wrong}");
        let both = resolve_tenant(WHOLE, &TenantId::new("acme")).err().unwrap();
        assert!(
            both.to_string().contains("[[tenants]] table only"),
            "{both}"
        );
        let typo = resolve_tenant(
            "[[tenants]]\nid = \"acme\"\nwebhok_secrets = []\n",
            &TenantId::new("acme"),
        );
        assert!(typo.is_err());
        assert!(resolve_settings(&tenants[0].1).is_err());
        assert!(resolve_settings(&settings).is_ok());
    }
}
