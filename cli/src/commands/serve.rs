use crate::system;
use anyhow::Result;
use passage_server::HttpLimits;
use passage_server::host::{Host, HostSettings};
use std::path::Path;
use std::time::Duration;

pub async fn run(config_path: &Path) -> Result<()> {
    let system::Opened {
        config,
        system,
        operators,
        reconcile,
    } = system::open_all(config_path)?;
    system::prepare_signing_keys(&config, &system).await?;
    let host = Host {
        engine: system.engine.clone(),
        queue: system.queue.clone(),
        timer: system.timer.clone(),
        settings: HostSettings {
            listen: config.server.listen,
            workers: config.server.workers,
            sweep_every: Duration::from_secs(config.server.sweep_seconds.max(1)),
            idle_poll: Duration::from_millis(200),
            visibility: Duration::from_secs(config.server.lease_seconds.max(1) + 30),
            link_key: system.link_key.clone(),
            lock_file: Some(config.server.data_dir.join("serve.lock")),
            operators,
            reconcile,
            reconcile_every: Duration::from_secs(config.server.reconcile_minutes.max(1) * 60),
            http: HttpLimits {
                header_timeout: Duration::from_secs(config.server.header_timeout_seconds.max(1)),
                body_timeout: Duration::from_secs(config.server.body_timeout_seconds.max(1)),
                max_connections: config.server.max_connections.max(1),
            },
        },
    };
    let running = host.start().await?;
    tracing::info!(
        addr = %running.addr,
        data_dir = %config.server.data_dir.display(),
        tenants = config.tenants.len(),
        "passage serving"
    );
    // A machine-readable line for supervisors and tests that start on port 0.
    println!("listening on http://{}", running.addr);
    tokio::signal::ctrl_c().await?;
    tracing::info!("shutting down");
    running.shutdown().await;
    Ok(())
}
