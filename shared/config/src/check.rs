//! `passage config check`: every problem of a config file at once, each with the key it is at
//! and how to fix it, so an administrator does not start the server nine times to find nine
//! missing variables.

use crate::file::Config;
use crate::secrets::{SecretError, read_secret};
use std::path::Path;

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where: a key path such as `tenants[acme].okta.api_token`, or `file` for the whole file.
    pub at: String,
    pub message: String,
    pub fix: Option<String>,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, "\n    fix: {fix}")?;
        }
        Ok(())
    }
}

/// Every problem of the config file at `path`; empty when it is good to serve with.
pub fn check_file(path: &Path) -> Vec<Problem> {
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            return vec![Problem {
                at: "file".into(),
                message: format!("{e:#}"),
                fix: Some(
                    "correct the file at the line named; `passage init` writes a starter file"
                        .into(),
                ),
            }];
        }
    };
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut raw: toml::Table = toml::from_str(&text).unwrap_or_default();
    if let Some(folder) = std::path::absolute(path)
        .ok()
        .and_then(|p| p.parent().map(Path::to_owned))
    {
        crate::file::paths::anchor(&mut raw, &folder);
    }
    let mut problems = secret_problems(&raw);
    problems.extend(section_problems(&config));
    problems
}

/// Every `env:`/`file:` reference that cannot be read, with its key path.
fn secret_problems(raw: &toml::Table) -> Vec<Problem> {
    let mut out = Vec::new();
    walk(
        &toml::Value::Table(raw.clone()),
        String::new(),
        &mut |at, spec| {
            if let Err(e) = read_secret(spec) {
                out.push(Problem {
                    at: at.to_owned(),
                    message: e.to_string(),
                    fix: Some(e.fix()),
                });
            }
        },
    );
    out
}

fn walk(value: &toml::Value, at: String, seen: &mut dyn FnMut(&str, &str)) {
    match value {
        toml::Value::String(s) if s.starts_with("env:") || s.starts_with("file:") => seen(&at, s),
        toml::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                // Tenants and operators are named by id/name, other lists by position.
                let name = v
                    .get("id")
                    .or_else(|| v.get("name"))
                    .and_then(toml::Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| i.to_string());
                walk(v, format!("{at}[{name}]"), seen);
            }
        }
        toml::Value::Table(t) => {
            for (k, v) in t {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                walk(v, path, seen);
            }
        }
        _ => {}
    }
}

/// What each section refuses once its secrets are read, one problem per section (a missing
/// secret is already listed by [`secret_problems`], so it is not repeated here).
fn section_problems(config: &Config) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut note = |at: String, e: anyhow::Error| {
        if e.chain().any(|c| c.is::<SecretError>()) {
            return;
        }
        out.push(Problem {
            at,
            message: format!("{e:#}"),
            fix: None,
        });
    };
    for t in &config.tenants {
        let at = format!("tenant {}", t.id);
        if let Err(e) = crate::policy::tenant_policy(t, &at) {
            note(format!("tenants[{}]", t.id), e);
        }
        if let Err(e) = crate::providers::connection_settings(t, &at) {
            note(format!("tenants[{}]", t.id), e);
        }
        if let Some(api) = &t.hr_api
            && let Err(e) = crate::secrets::settings_from_table::<passage_hrapi::HrSettings>(
                api,
                &format!("{at}: hr_api"),
            )
        {
            note(format!("tenants[{}].hr_api", t.id), e);
        }
    }
    let oidc = crate::operators::oidc_providers(&config.oidc).unwrap_or_else(|e| {
        note("oidc".into(), e);
        Vec::new()
    });
    if let Err(e) = crate::operators::operators(&config.operators, &config.tenants, &oidc) {
        note("operators".into(), e);
    }
    if let Some(table) = &config.notify
        && let Err(e) =
            crate::secrets::settings_from_table::<passage_notify::NotifySettings>(table, "notify")
    {
        note("notify".into(), e);
    }
    out
}
