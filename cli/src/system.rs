//! Opening the embedded system described by a config file.

use anyhow::{Context, Result};
use passage_config::Config;
use passage_connectors::Registry;
use passage_core::engine::EngineSettings;
use passage_embedded::System;
use std::path::Path;
use std::sync::Arc;

pub fn open(config_path: &Path) -> Result<(Config, System)> {
    let config = Config::load(config_path)?;
    let (policies, connections) = config.resolve()?;
    let system = System::open(
        &config.server.data_dir,
        policies,
        Arc::new(Registry::new(connections)),
        EngineSettings {
            lease: std::time::Duration::from_secs(config.server.lease_seconds.max(1)),
            ..EngineSettings::default()
        },
    )
    .with_context(|| {
        format!(
            "opening data directory {}",
            config.server.data_dir.display()
        )
    })?;
    Ok((config, system))
}
