use crate::system;
use anyhow::Result;
use passage_server::HttpLimits;
use passage_server::host::{Drained, Host, HostSettings};
use std::path::Path;
use std::time::Duration;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// `text` for people, `json` for log pipelines: one JSON object a line, with one event per
    /// run and step transition (`kind`, `run`, `step`, `actor`).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

impl ServeArgs {
    pub fn json_logs(&self) -> bool {
        self.log_format == LogFormat::Json
    }
}

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
    stop_requested().await?;
    tracing::info!("stopping: no new work; finishing the steps in hand");
    match running.drain(DRAIN_GRACE).await {
        Drained::Finished => tracing::info!("stopped; every step in hand was finished"),
        Drained::Released(n) => tracing::warn!(
            messages = n,
            "stopped; steps still in hand after the grace period were given back to the queue"
        ),
    }
    Ok(())
}

/// How long a stop waits for steps in hand: shorter than the 30 s most supervisors (systemd,
/// Kubernetes, ECS) allow between SIGTERM and SIGKILL.
const DRAIN_GRACE: Duration = Duration::from_secs(20);

/// Ctrl-C, or SIGTERM from a supervisor.
async fn stop_requested() -> Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}
