//! Opening the embedded system described by a config file.

use anyhow::{Context, Result};
use passage_config::{Config, ServerConfig, Wiring};
use passage_core::TenantId;
use passage_core::engine::EngineSettings;
use passage_core::ports::TimestampAuthority;
use passage_core::secret::Secret;
use passage_http::Operators;
use passage_server::System;
use std::path::Path;
use std::time::Duration;

/// The configuration, the system it describes, and what the host loops take from it.
pub struct Opened {
    pub config: Config,
    pub system: System,
    pub operators: Operators,
    /// Tenants with an HR system API, compared with Passage by the reconcile.
    pub reconcile: Vec<TenantId>,
}

pub fn open(config_path: &Path) -> Result<(Config, System)> {
    let o = open_all(config_path)?;
    Ok((o.config, o.system))
}

pub fn open_all(config_path: &Path) -> Result<Opened> {
    let config = Config::load(config_path)?;
    let settings = engine_settings(&config.server);
    let Wiring {
        integrations,
        operators,
        reconcile,
    } = config
        .wiring(passage_server::pacing(settings.lease))
        .map_err(|e| every_problem(config_path, e))?;
    let data_dir = &config.server.data_dir;
    let timestamps = match &config.server.tsa_url {
        Some(url) => {
            let url = url::Url::parse(url)
                .with_context(|| format!("[server] tsa_url {url:?} is not a URL"))?;
            let tsa = passage_connectors::tsa::HttpTimestampAuthority::new(url)?;
            Some(std::sync::Arc::new(tsa) as std::sync::Arc<dyn TimestampAuthority>)
        }
        None => None,
    };
    let system = System::open_with(data_dir, integrations, settings, timestamps)
        .with_context(|| format!("opening data directory {}", data_dir.display()))?;
    Ok(Opened {
        config,
        system,
        operators,
        reconcile,
    })
}

fn engine_settings(server: &ServerConfig) -> EngineSettings {
    let mut backoff = passage_core::retry::Backoff::default();
    if let Some(cap) = server.retry_cap_seconds {
        backoff.cap = Duration::from_secs(cap.max(1));
    }
    EngineSettings {
        lease: Duration::from_secs(server.lease_seconds.max(1)),
        backoff,
        // With a public URL, hand-over reminders carry the manager's confirmation link (signed
        // with the installation's link key, which the system fills in when it opens).
        confirm_links: server
            .public_url
            .as_ref()
            .map(|url| passage_config::confirm_links(url.clone(), Secret::new(""))),
        ..EngineSettings::default()
    }
}

/// The store and evidence of the installation, for commands that only read them (`runs list`,
/// `runs show`, `link`): no tenant's provider or webhook secret is read, so they work on a
/// machine or in a shell that holds none.
pub fn open_store(config_path: &Path) -> Result<(Config, System)> {
    let config = Config::load(config_path)?;
    let data_dir = &config.server.data_dir;
    let system = System::open(
        data_dir,
        passage_config::Integrations::none(),
        engine_settings(&config.server),
    )
    .with_context(|| format!("opening data directory {}", data_dir.display()))?;
    Ok((config, system))
}

/// A wiring failure, replaced by every problem of the file when there is more than one, so
/// the administrator fixes them in one pass.
fn every_problem(config_path: &Path, first: anyhow::Error) -> anyhow::Error {
    let problems = passage_config::check_file(config_path);
    if problems.len() <= 1 {
        return first;
    }
    let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
    anyhow::anyhow!(
        "{} problems in {}:\n{}",
        problems.len(),
        config_path.display(),
        list.join("\n")
    )
}

/// Says so when no `passage serve` holds this installation's data directory: a change made by
/// the CLI is stored, but nothing acts on it until a server runs.
pub fn warn_if_not_serving(system: &System) {
    let lock = system.data_dir.join("serve.lock");
    let free = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .is_ok_and(|f| f.try_lock().is_ok());
    if free {
        eprintln!(
            "note: no `passage serve` is running on {}; the change is stored and takes effect \
             when the server starts",
            system.data_dir.display()
        );
    }
}

/// Makes sure every configured tenant can sign before anything runs: a tenant that has bundles
/// but lost its key stops the host here, with the reason, instead of failing its next closure.
pub async fn prepare_signing_keys(config: &Config, system: &System) -> Result<()> {
    for tenant in &config.tenants {
        system
            .engine
            .prepare_signing_key(&TenantId::new(&tenant.id))
            .await
            .with_context(|| format!("signing key of tenant {}", tenant.id))?;
    }
    Ok(())
}
