//! Opening the embedded system described by a config file.

use anyhow::{Context, Result};
use passage_config::Config;
use passage_connectors::Registry;
use passage_core::engine::EngineSettings;
use passage_http::Operators;
use passage_server::{Integrations, System};
use std::path::Path;
use std::sync::Arc;

/// The configuration, the system it describes, and its operators.
pub struct Opened {
    pub config: Config,
    pub system: System,
    pub operators: Operators,
}

pub fn open(config_path: &Path) -> Result<(Config, System)> {
    let o = open_all(config_path)?;
    Ok((o.config, o.system))
}

pub fn open_all(config_path: &Path) -> Result<Opened> {
    let config = Config::load(config_path)?;
    let resolved = config.resolve_all()?;
    let notifier = passage_notify::ChannelNotifier::new(&resolved.notify)
        .context("notify settings are unusable")?;
    let integrations = Integrations {
        connectors: Arc::new(Registry::new(resolved.connections)),
        hr: Arc::new(passage_hrapi::HrRegistry::new(resolved.hr_apis)),
        notifier: Arc::new(notifier),
    };
    let operators = Operators::new(resolved.operators);
    let system = System::open(
        &config.server.data_dir,
        resolved.policies,
        integrations,
        EngineSettings {
            lease: std::time::Duration::from_secs(config.server.lease_seconds.max(1)),
            // With a public URL, hand-over reminders carry the manager's confirmation link
            // (signed with the installation's link key when the system opens).
            confirm_links: config.server.public_url.as_ref().map(|url| {
                passage_core::engine::ConfirmLinks {
                    base_url: url.clone(),
                    key: passage_core::secret::Secret::new(""),
                    valid_for: std::time::Duration::from_secs(14 * 86_400),
                }
            }),
            ..EngineSettings::default()
        },
    )
    .with_context(|| {
        format!(
            "opening data directory {}",
            config.server.data_dir.display()
        )
    })?;
    Ok(Opened {
        config,
        system,
        operators,
    })
}
