//! Opens a sealed recovery secret (a Mac's lock PIN) with the tenant's recovery private key.
//! Passage never holds that key: this runs where IT keeps it.

use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct UnsealArgs {
    /// The recovery private key (PKCS#8 PEM) whose public half the tenant's `recovery_key` names.
    #[arg(long)]
    key: PathBuf,
    /// A JSON file holding the envelope (the `sealed` object of a step's output), or `-` for stdin.
    envelope: PathBuf,
}

pub fn run(a: UnsealArgs) -> Result<()> {
    let key = std::fs::read_to_string(&a.key)
        .with_context(|| format!("cannot read the recovery key {}", a.key.display()))?;
    let text = if a.envelope.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(&a.envelope)
            .with_context(|| format!("cannot read {}", a.envelope.display()))?
    };
    let mut envelope: serde_json::Value =
        serde_json::from_str(&text).context("the envelope is not JSON")?;
    // Accept the field as the output holds it (`{"sealed": {...}, "note": ...}`) too.
    if envelope.get("sealed").is_some_and(|s| s.is_object()) {
        envelope = envelope["sealed"].take();
    }
    println!("{}", passage_core::seal::open(&key, &envelope)?);
    Ok(())
}
