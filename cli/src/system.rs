//! Opening the embedded system described by a config file.

use anyhow::{Context, Result};
use passage_config::{Config, ServerConfig, Wiring};
use passage_core::TenantId;
use passage_core::engine::EngineSettings;
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
    } = config.wiring(passage_server::pacing(settings.lease))?;
    let data_dir = &config.server.data_dir;
    let system = System::open(data_dir, integrations, settings)
        .with_context(|| format!("opening data directory {}", data_dir.display()))?;
    Ok(Opened {
        config,
        system,
        operators,
        reconcile,
    })
}

fn engine_settings(server: &ServerConfig) -> EngineSettings {
    EngineSettings {
        lease: Duration::from_secs(server.lease_seconds.max(1)),
        // With a public URL, hand-over reminders carry the manager's confirmation link (signed
        // with the installation's link key, which the system fills in when it opens).
        confirm_links: server
            .public_url
            .as_ref()
            .map(|url| passage_config::confirm_links(url.clone(), Secret::new(""))),
        ..EngineSettings::default()
    }
}
