//! `passage verify`: the same checks as the bundle's VERIFY.md, plus the chain and the
//! continuity of keys across bundles, anchored to trusted keys and checkpoints when given.
//! A signed period report among the paths is checked the same way, and against the bundle at
//! the chain head it says it covers when that bundle is given too.

use anyhow::{Context, Result, bail};
use clap::Args;
use passage_core::evidence::{
    Anchors, BundleFiles, Checkpoint, KeySet, LinkCheck, SignedCheckpoint, TrustedKeys,
    VerifiedBundle, check_restore_links, verify_anchored, verify_bundle,
};
use passage_core::report::{REPORT_BUNDLE_SCHEMA, VerifiedReport, check_covers, verify_report};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct VerifyArgs {
    /// Bundle directories, or directories holding bundles (searched recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The tenant's published key set (`passage keys export`, or
    /// `GET /v1/tenants/{tenant}/keys.json`) or a PEM public key. Bundles signed by any other
    /// key, or outside the key's validity, fail. Repeatable.
    #[arg(long, value_name = "FILE")]
    trusted_keys: Vec<PathBuf>,
    /// Trust this signing-key fingerprint (hex SHA-256 of the DER public key) at any time.
    /// Repeatable, so a rotated chain can be pinned.
    #[arg(long)]
    key_fingerprint: Vec<String>,
    /// A signed checkpoint of a chain head (`passage keys checkpoint`): the bundles given must
    /// reach its sequence, so withheld newest bundles show. Repeatable.
    #[arg(long, value_name = "FILE")]
    checkpoint: Vec<PathBuf>,
}

/// The keys the bundles must be signed by, if any were given.
fn trusted_keys(args: &VerifyArgs) -> Result<Option<TrustedKeys>> {
    if args.trusted_keys.is_empty() && args.key_fingerprint.is_empty() {
        return Ok(None);
    }
    let mut trusted = TrustedKeys::fingerprints(&args.key_fingerprint);
    for path in &args.trusted_keys {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let keys = KeySet::parse_trusted(&bytes)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        trusted.merge(keys);
    }
    Ok(Some(trusted))
}

fn checkpoints(args: &VerifyArgs) -> Result<Vec<Checkpoint>> {
    args.checkpoint
        .iter()
        .map(|path| {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            SignedCheckpoint::verify(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
        })
        .collect()
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

/// Whether a signed directory is a period report rather than a run's bundle.
fn is_report(files: &BundleFiles) -> bool {
    files
        .get("manifest.json")
        .and_then(|m| serde_json::from_slice::<serde_json::Value>(m).ok())
        .is_some_and(|m| m["schema"] == REPORT_BUNDLE_SCHEMA)
}

/// What the directories given verified as.
#[derive(Default)]
struct Verified {
    bundles: Vec<VerifiedBundle>,
    reports: Vec<VerifiedReport>,
    failures: usize,
}

/// Verifies each directory on its own, printing one line for each.
fn verify_each(dirs: &[PathBuf], trusted: Option<&TrustedKeys>) -> Verified {
    let mut out = Verified::default();
    for dir in dirs {
        let files = match passage_embedded::read_bundle_dir(dir) {
            Ok(files) => files,
            Err(e) => {
                out.failures += 1;
                println!("FAIL  {}: {e}", dir.display());
                continue;
            }
        };
        let line = if is_report(&files) {
            verify_report(&files, trusted).map(|r| {
                let line = describe_report(&r);
                out.reports.push(r);
                line
            })
        } else {
            verify_bundle(&files, trusted).map(|b| {
                let line = describe(&b);
                out.bundles.push(b);
                line
            })
        };
        match line {
            Ok(line) => println!("OK    {}  {line}", dir.display()),
            Err(reason) => {
                out.failures += 1;
                println!("FAIL  {}: {reason}", dir.display());
            }
        }
    }
    out
}

pub fn run(args: VerifyArgs) -> Result<()> {
    let trusted = trusted_keys(&args)?;
    let checkpoints = checkpoints(&args)?;
    let mut dirs = Vec::new();
    for p in &args.paths {
        find_bundles(p, &mut dirs)?;
    }
    if dirs.is_empty() {
        bail!("no evidence bundle found under the given paths");
    }
    let verified = verify_each(&dirs, trusted.as_ref());
    if verified.failures > 0 {
        bail!(
            "{} of {} bundles failed verification",
            verified.failures,
            dirs.len()
        );
    }
    verify_anchored(
        &verified.bundles,
        Anchors {
            trusted: trusted.as_ref(),
            checkpoints: &checkpoints,
        },
    )?;
    for r in &verified.reports {
        check_covers(r, &verified.bundles)?;
    }
    for link in check_restore_links(&verified.bundles)? {
        match link {
            LinkCheck::Linked {
                restore_run,
                original_run,
            } => println!("restore link OK: run {restore_run} restores run {original_run}"),
            LinkCheck::OriginalNotGiven {
                restore_run,
                original_run,
            } => println!(
                "restore run {restore_run} names run {original_run}, whose bundle was not given: the link is unchecked"
            ),
        }
    }
    if !verified.bundles.is_empty() {
        println!(
            "chain OK ({} bundles, keys continuous)",
            verified.bundles.len()
        );
    }
    for c in &checkpoints {
        println!(
            "checkpoint OK: tenant {} sequence {} of {}",
            c.tenant, c.sequence, c.at
        );
    }
    if trusted.is_none() {
        println!(
            "WARNING: no trusted keys given (--trusted-keys). The signatures show only that each \
             bundle is unchanged since someone signed it; they prove nothing about who signed. \
             Verify against the tenant's published key set."
        );
    }
    Ok(())
}

fn describe_report(r: &VerifiedReport) -> String {
    format!(
        "tenant {} period report {} covering sequence {} ({} files, key {}, population sha256 {})",
        r.tenant,
        r.period,
        r.covers_sequence,
        r.files_checked,
        &r.key_fingerprint[..16],
        r.population_sha256
    )
}

fn describe(b: &VerifiedBundle) -> String {
    let mut line = format!(
        "tenant {} run {} sequence {} ({} files, key {})",
        b.tenant,
        b.run_id,
        b.sequence,
        b.files_checked,
        &b.key_fingerprint[..16]
    );
    if let Some(next) = &b.next_key_sha256 {
        line.push_str(&format!(", rotates to key {}", &next[..16]));
    }
    match b.timestamped {
        Some(Some(at)) => line.push_str(&format!(", timestamped {at}")),
        Some(None) => line.push_str(", timestamped"),
        None => {}
    }
    line
}
