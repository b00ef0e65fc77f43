//! `passage link`: a signed, expiring URL for an auditor to fetch one bundle.

use crate::system;
use anyhow::{Result, bail};
use clap::Args;
use passage_core::RunId;
use passage_core::link::{self, LinkScope};
use passage_core::ports::RunStore;
use std::path::Path;

#[derive(Args)]
pub struct LinkArgs {
    run_id: String,
    /// How long the link stays valid, in hours.
    #[arg(long, default_value_t = 168)]
    hours: i64,
}

pub async fn run(config_path: &Path, args: LinkArgs) -> Result<()> {
    let (config, system) = system::open_store(config_path)?;
    if !(1..=24 * 90).contains(&args.hours) {
        bail!("--hours must be between 1 and 2160 (90 days)");
    }
    let Some(run) = system.store.run(&RunId::new(args.run_id.as_str())).await? else {
        bail!("no run {}", args.run_id);
    };
    if run.bundle.is_none() {
        bail!(
            "run {} is {} and has no bundle yet",
            run.id,
            run.state.as_str()
        );
    }
    let scope = LinkScope {
        tenant: run.tenant.to_string(),
        run_id: run.id.to_string(),
        expires: jiff::Timestamp::now().as_second() + args.hours * 3600,
    };
    let base = config
        .server
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.server.listen));
    println!(
        "{}{}",
        base.trim_end_matches('/'),
        link::path(system.link_key.expose().as_bytes(), &scope)
    );
    Ok(())
}
