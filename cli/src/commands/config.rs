//! `passage config check`: every problem of the config file at once.

use anyhow::{Result, bail};
use clap::Subcommand;
use std::path::Path;

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Check the config file: every problem, where it is and how to fix it.
    Check,
}

pub fn run(config_path: &Path, cmd: ConfigCommand) -> Result<()> {
    match cmd {
        ConfigCommand::Check => check(config_path),
    }
}

fn check(config_path: &Path) -> Result<()> {
    let problems = passage_config::check_file(config_path);
    if problems.is_empty() {
        println!("{}: no problems found", config_path.display());
        return Ok(());
    }
    for p in &problems {
        println!("{p}");
    }
    bail!("{} problem(s) in {}", problems.len(), config_path.display())
}
