//! `passage verify`: the same checks as the bundle's VERIFY.md, plus the chain across bundles.

use anyhow::{Result, bail};
use clap::Args;
use passage_core::evidence::{verify_bundle, verify_chain};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct VerifyArgs {
    /// Bundle directories, or directories holding bundles (searched recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Require this signing-key fingerprint (hex SHA-256 of the DER public key).
    #[arg(long)]
    key_fingerprint: Option<String>,
}

/// Bundle directories under `path` (itself, if it holds a manifest).
fn find_bundles(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if path.join("manifest.json").is_file() || path.join("statement.txt").is_file() {
        out.push(path.to_owned());
        return Ok(());
    }
    if !path.is_dir() {
        bail!("{} is not a bundle directory", path.display());
    }
    let mut entries: Vec<_> = std::fs::read_dir(path)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for e in entries {
        if e.file_type()?.is_dir() && !e.file_name().to_string_lossy().starts_with('.') {
            find_bundles(&e.path(), out)?;
        }
    }
    Ok(())
}

pub fn run(args: VerifyArgs) -> Result<()> {
    let mut dirs = Vec::new();
    for p in &args.paths {
        find_bundles(p, &mut dirs)?;
    }
    if dirs.is_empty() {
        bail!("no evidence bundle found under the given paths");
    }
    let mut verified = Vec::new();
    let mut failures = 0;
    for dir in &dirs {
        let result = passage_embedded::read_bundle_dir(dir)
            .map_err(|e| e.to_string())
            .and_then(|files| {
                verify_bundle(&files, args.key_fingerprint.as_deref()).map_err(|e| e.to_string())
            });
        match result {
            Ok(b) => {
                println!(
                    "OK    {}  tenant {} run {} sequence {} ({} files, key {})",
                    dir.display(),
                    b.tenant,
                    b.run_id,
                    b.sequence,
                    b.files_checked,
                    &b.key_fingerprint[..16]
                );
                verified.push(b);
            }
            Err(reason) => {
                failures += 1;
                println!("FAIL  {}: {reason}", dir.display());
            }
        }
    }
    if failures > 0 {
        bail!("{failures} of {} bundles failed verification", dirs.len());
    }
    verify_chain(&verified)?;
    println!("chain OK ({} bundles)", verified.len());
    Ok(())
}
