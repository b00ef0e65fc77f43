//! A restore bundle's link to the leaver run it undid: the manifest names that run's bundle by
//! its place in the chain and its manifest's SHA-256, and a verifier given both bundles checks
//! the two agree.

use super::VerifyError;
use super::verify::VerifiedBundle;
use serde_json::Value;

/// The original bundle a restore bundle names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreLink {
    pub run_id: String,
    pub sequence: u64,
    pub manifest_sha256: String,
}

/// What a verifier could establish about one restore bundle's link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkCheck {
    /// The original bundle was among those verified and is the one named.
    Linked {
        restore_run: String,
        original_run: String,
    },
    /// The original bundle was not given, so only the restore bundle's claim is known.
    OriginalNotGiven {
        restore_run: String,
        original_run: String,
    },
}

/// The link a verified manifest states, if it is a restore's.
pub(crate) fn link_of(manifest: &Value) -> Result<Option<RestoreLink>, VerifyError> {
    let Some(link) = manifest.get("restores") else {
        return Ok(None);
    };
    let shape = |what: &str| VerifyError::ManifestShape(format!("restores.{what} is missing"));
    Ok(Some(RestoreLink {
        run_id: link["run_id"]
            .as_str()
            .ok_or_else(|| shape("run_id"))?
            .to_owned(),
        sequence: link["sequence"].as_u64().ok_or_else(|| shape("sequence"))?,
        manifest_sha256: link["manifest_sha256"]
            .as_str()
            .ok_or_else(|| shape("manifest_sha256"))?
            .to_owned(),
    }))
}

/// Checks each restore bundle's link against the original bundle, when that was verified too:
/// a named bundle whose manifest differs (or a run's bundle at another place in the chain) is
/// a broken link.
pub fn check_restore_links(bundles: &[VerifiedBundle]) -> Result<Vec<LinkCheck>, VerifyError> {
    let mut out = Vec::new();
    for restore in bundles {
        let Some(link) = &restore.restores else {
            continue;
        };
        let original = bundles
            .iter()
            .find(|b| b.tenant == restore.tenant && b.run_id == link.run_id);
        let restore_run = restore.run_id.clone();
        let original_run = link.run_id.clone();
        match original {
            None => out.push(LinkCheck::OriginalNotGiven {
                restore_run,
                original_run,
            }),
            Some(b) if b.manifest_sha256 == link.manifest_sha256 && b.sequence == link.sequence => {
                out.push(LinkCheck::Linked {
                    restore_run,
                    original_run,
                })
            }
            Some(b) => {
                return Err(VerifyError::Chain {
                    tenant: restore.tenant.clone(),
                    detail: format!(
                        "restore run {restore_run} names bundle {} of run {original_run} with manifest {}, but that run's bundle given is {} with manifest {}",
                        link.sequence, link.manifest_sha256, b.sequence, b.manifest_sha256
                    ),
                });
            }
        }
    }
    Ok(out)
}
