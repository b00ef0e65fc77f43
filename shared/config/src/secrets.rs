//! Secret values: written inline, or named (`env:NAME`, `file:PATH`) so the config file itself
//! can be committed or shared without them.

use anyhow::{Context, Result};
use passage_core::secret::Secret;
use serde::de::DeserializeOwned;

/// `env:NAME`, `file:PATH`, or the value itself.
pub fn resolve_secret(spec: &str) -> Result<Secret> {
    if let Some(name) = spec.strip_prefix("env:") {
        let v = std::env::var(name).with_context(|| {
            format!("environment variable {name} (named in the config) is not set")
        })?;
        return Ok(Secret::new(v.trim()));
    }
    if let Some(path) = spec.strip_prefix("file:") {
        let v =
            std::fs::read_to_string(path).with_context(|| format!("reading secret file {path}"))?;
        return Ok(Secret::new(v.trim()));
    }
    Ok(Secret::new(spec))
}

/// An adapter's settings read from a free-form table (`hr_api`, `notify`) once every
/// `env:`/`file:` string in it is replaced by what it names; `key` is the table's path in the
/// file, for messages.
pub(crate) fn settings_from_table<T: DeserializeOwned>(
    table: &toml::Table,
    key: &str,
) -> Result<T> {
    let resolved = resolve_table(table).with_context(|| key.to_owned())?;
    toml::Value::Table(resolved)
        .try_into()
        .map_err(|e| anyhow::anyhow!("{key}: {e}"))
}

fn resolve_table(table: &toml::Table) -> Result<toml::Table> {
    fn walk(v: &toml::Value) -> Result<toml::Value> {
        Ok(match v {
            toml::Value::String(s) if s.starts_with("env:") || s.starts_with("file:") => {
                toml::Value::String(resolve_secret(s)?.expose().to_owned())
            }
            toml::Value::Array(a) => toml::Value::Array(a.iter().map(walk).collect::<Result<_>>()?),
            toml::Value::Table(t) => toml::Value::Table(resolve_table(t)?),
            other => other.clone(),
        })
    }
    table
        .iter()
        .map(|(k, v)| Ok((k.clone(), walk(v)?)))
        .collect()
}
