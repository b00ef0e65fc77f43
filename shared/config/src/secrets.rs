//! Secret values: written inline, or named (`env:NAME`, `file:PATH`) so the config file itself
//! can be committed or shared without them.

use anyhow::{Context, Result};
use passage_core::secret::Secret;
use serde::de::DeserializeOwned;

/// A secret the config names but that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable {0} (named in the config) is not set")]
    MissingEnv(String),
    #[error("reading secret file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
}

impl SecretError {
    /// How to make the secret readable.
    pub fn fix(&self) -> String {
        match self {
            SecretError::MissingEnv(name) => format!(
                "export {name}=<value> in the environment passage runs in, or write \
                 `file:PATH` to read it from a file"
            ),
            SecretError::File { path, .. } => {
                format!("create {path} holding only the value (mode 0600), or write `env:NAME`")
            }
        }
    }
}

/// `env:NAME`, `file:PATH`, or the value itself.
pub fn resolve_secret(spec: &str) -> Result<Secret> {
    Ok(read_secret(spec)?)
}

/// As [`resolve_secret`], with the failure typed.
pub fn read_secret(spec: &str) -> Result<Secret, SecretError> {
    if let Some(name) = spec.strip_prefix("env:") {
        let v = std::env::var(name).map_err(|_| SecretError::MissingEnv(name.to_owned()))?;
        return Ok(Secret::new(v.trim()));
    }
    if let Some(path) = spec.strip_prefix("file:") {
        let v = std::fs::read_to_string(path).map_err(|source| SecretError::File {
            path: path.to_owned(),
            source,
        })?;
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
