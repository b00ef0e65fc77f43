//! `passage keys`: each tenant's signing keys, what is published about them, rotation and
//! checkpoints of the evidence chain.

use crate::system;
use anyhow::{Result, bail};
use clap::Subcommand;
use passage_config::Config;
use passage_core::TenantId;
use passage_core::evidence::KeySet;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Each tenant's signing keys and when each may sign.
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Write a tenant's published key set (JSON), what auditors verify bundles against.
    Export {
        #[arg(long)]
        tenant: String,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Replace a tenant's signing key: the current key signs a rotation statement naming the
    /// new one, as the next link of the tenant's chain.
    Rotate {
        #[arg(long)]
        tenant: String,
    },
    /// Sign and publish a checkpoint of a tenant's chain head (its newest sequence and hash).
    Checkpoint {
        #[arg(long)]
        tenant: String,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// The tenant, once the configuration names it.
fn configured(config: &Config, tenant: &str) -> Result<TenantId> {
    if !config.tenants.iter().any(|t| t.id == tenant) {
        bail!("tenant {tenant} is not in the configuration");
    }
    Ok(TenantId::new(tenant))
}

fn emit(out: Option<&Path>, json: &impl serde::Serialize) -> Result<()> {
    let mut text = serde_json::to_string_pretty(json)?;
    text.push('\n');
    match out {
        Some(path) => std::fs::write(path, text)?,
        None => print!("{text}"),
    }
    Ok(())
}

fn print_set(set: &KeySet) {
    println!("tenant {}", set.tenant);
    for key in &set.keys {
        let show = |t: Option<jiff::Timestamp>, open: &str| {
            t.map_or_else(|| open.to_owned(), |t| t.to_string())
        };
        let state = if key.valid_until.is_none() {
            "current"
        } else {
            "retired"
        };
        println!(
            "  {}  {state:<7}  from {} until {}  {}",
            key.key_sha256,
            show(key.valid_from, "(before key sets)"),
            show(key.valid_until, "(now)"),
            key.key_id
        );
    }
}

pub async fn run(config_path: &Path, cmd: KeysCommand) -> Result<()> {
    let (config, system) = system::open(config_path)?;
    let engine = &system.engine;
    match cmd {
        KeysCommand::List { tenant } => {
            let tenants: Vec<TenantId> = match tenant {
                Some(t) => vec![configured(&config, &t)?],
                None => config
                    .tenants
                    .iter()
                    .map(|t| TenantId::new(&t.id))
                    .collect(),
            };
            for tenant in tenants {
                print_set(&engine.prepare_signing_key(&tenant).await?);
            }
        }
        KeysCommand::Export { tenant, out } => {
            let tenant = configured(&config, &tenant)?;
            emit(out.as_deref(), &engine.prepare_signing_key(&tenant).await?)?;
        }
        KeysCommand::Rotate { tenant } => {
            let tenant = configured(&config, &tenant)?;
            let rotated = engine.rotate_signing_key(&tenant).await?;
            println!(
                "tenant {tenant}: key {} retired, key {} signs from sequence {} on (the rotation statement is link {})",
                rotated.old_key_sha256,
                rotated.new_key_sha256,
                rotated.sequence + 1,
                rotated.sequence
            );
        }
        KeysCommand::Checkpoint { tenant, out } => {
            let tenant = configured(&config, &tenant)?;
            emit(out.as_deref(), &engine.checkpoint(&tenant).await?)?;
        }
    }
    Ok(())
}
