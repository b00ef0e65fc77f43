//! Offline verification of bundles, the same checks VERIFY.md spells out for openssl.

use super::build::{public_key_fingerprint, sha256_hex};
use super::{BundleFiles, SCHEMA, Statement};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{DerSignature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use serde_json::Value;
use std::collections::BTreeSet;

/// Files that the manifest cannot list (they are the manifest or sign it); everything else must
/// be listed, so an added file is as detectable as a changed one.
const SELF_FILES: [&str; 4] = [
    "manifest.json",
    "statement.txt",
    "statement.sig",
    "signing-key.pem",
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("{0} is missing from the bundle")]
    MissingFile(String),
    #[error("signing-key.pem is not a P-256 public key: {0}")]
    BadKey(String),
    #[error("the signing key's fingerprint is {found}, not the expected {expected}")]
    UntrustedKey { expected: String, found: String },
    #[error("statement.sig is not a DER ECDSA signature: {0}")]
    BadSignatureEncoding(String),
    #[error("statement.sig does not verify against statement.txt with signing-key.pem")]
    BadSignature,
    #[error("statement.txt is invalid: {0}")]
    Statement(String),
    #[error("manifest.json has SHA-256 {found} but the signed statement names {expected}")]
    ManifestHash { expected: String, found: String },
    #[error("manifest.json is not valid JSON: {0}")]
    ManifestJson(String),
    #[error("manifest.json is not in RFC 8785 canonical form")]
    NotCanonical,
    #[error("manifest.json field {field} disagrees with the signed statement")]
    ManifestMismatch { field: &'static str },
    #[error("manifest.json is malformed: {0}")]
    ManifestShape(String),
    #[error("{path} has SHA-256 {found} but the manifest names {expected}")]
    FileHash {
        path: String,
        expected: String,
        found: String,
    },
    #[error("{path} has {found} bytes but the manifest names {expected}")]
    FileSize {
        path: String,
        expected: u64,
        found: u64,
    },
    #[error("{0} is in the bundle but not listed in the manifest")]
    UnlistedFile(String),
    #[error("chain broken for tenant {tenant}: {detail}")]
    Chain { tenant: String, detail: String },
}

/// What a verified bundle says about itself, for chain checks and display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedBundle {
    pub tenant: String,
    pub run_id: String,
    pub sequence: u64,
    pub manifest_sha256: String,
    pub prev_manifest_sha256: String,
    pub key_fingerprint: String,
    pub files_checked: usize,
}

/// Verifies one bundle: signature, statement, manifest and every listed file. With
/// `trusted_fingerprint`, the key must also be the pinned one.
pub fn verify_bundle(
    files: &BundleFiles,
    trusted_fingerprint: Option<&str>,
) -> Result<VerifiedBundle, VerifyError> {
    let (statement, fingerprint) = signed_statement(files, trusted_fingerprint)?;
    let manifest = manifest_of(files, &statement, &fingerprint, SCHEMA)?;
    let files_checked = check_files(files, &manifest)?;
    Ok(VerifiedBundle {
        tenant: statement.tenant,
        run_id: statement.run_id,
        sequence: statement.sequence,
        manifest_sha256: statement.manifest_sha256,
        prev_manifest_sha256: statement.prev_manifest_sha256,
        key_fingerprint: fingerprint,
        files_checked,
    })
}

fn need<'a>(files: &'a BundleFiles, path: &str) -> Result<&'a [u8], VerifyError> {
    files
        .get(path)
        .ok_or_else(|| VerifyError::MissingFile(path.to_owned()))
}

/// The statement, once its signature verifies with the bundle's key (the pinned one, if
/// given), with that key's fingerprint.
pub(crate) fn signed_statement(
    files: &BundleFiles,
    trusted_fingerprint: Option<&str>,
) -> Result<(Statement, String), VerifyError> {
    let pem = std::str::from_utf8(need(files, "signing-key.pem")?)
        .map_err(|_| VerifyError::BadKey("not UTF-8".into()))?;
    let key =
        VerifyingKey::from_public_key_pem(pem).map_err(|e| VerifyError::BadKey(e.to_string()))?;
    let fingerprint = public_key_fingerprint(pem).map_err(VerifyError::BadKey)?;
    if let Some(expected) = trusted_fingerprint
        && !expected.eq_ignore_ascii_case(&fingerprint)
    {
        return Err(VerifyError::UntrustedKey {
            expected: expected.to_owned(),
            found: fingerprint,
        });
    }
    let statement_bytes = need(files, "statement.txt")?;
    let sig = DerSignature::try_from(need(files, "statement.sig")?)
        .map_err(|e| VerifyError::BadSignatureEncoding(e.to_string()))?;
    key.verify(statement_bytes, &sig)
        .map_err(|_| VerifyError::BadSignature)?;
    let statement_text = std::str::from_utf8(statement_bytes)
        .map_err(|_| VerifyError::Statement("not UTF-8".into()))?;
    let statement =
        Statement::parse(statement_text).map_err(|e| VerifyError::Statement(e.to_string()))?;
    Ok((statement, fingerprint))
}

/// The manifest, once it is the one the statement names, in canonical form, of `schema`, and
/// agrees with the statement and the signing key.
pub(crate) fn manifest_of(
    files: &BundleFiles,
    statement: &Statement,
    fingerprint: &str,
    schema: &str,
) -> Result<Value, VerifyError> {
    let manifest_bytes = need(files, "manifest.json")?;
    let found = sha256_hex(manifest_bytes);
    if found != statement.manifest_sha256 {
        return Err(VerifyError::ManifestHash {
            expected: statement.manifest_sha256.clone(),
            found,
        });
    }
    let manifest: Value = serde_json::from_slice(manifest_bytes)
        .map_err(|e| VerifyError::ManifestJson(e.to_string()))?;
    let canonical =
        passage_jcs::to_canonical_vec(&manifest).map_err(|_| VerifyError::NotCanonical)?;
    if canonical != manifest_bytes {
        return Err(VerifyError::NotCanonical);
    }
    let field = |name: &str| manifest.get(name).cloned().unwrap_or(Value::Null);
    let checks: [(&'static str, Value); 5] = [
        ("schema", Value::from(schema)),
        ("tenant", Value::from(statement.tenant.clone())),
        ("run_id", Value::from(statement.run_id.clone())),
        ("sequence", Value::from(statement.sequence)),
        (
            "prev_manifest_sha256",
            Value::from(statement.prev_manifest_sha256.clone()),
        ),
    ];
    for (name, expected) in checks {
        if field(name) != expected {
            return Err(VerifyError::ManifestMismatch { field: name });
        }
    }
    if manifest["signing"]["public_key_sha256"].as_str() != Some(fingerprint) {
        return Err(VerifyError::ManifestMismatch {
            field: "signing.public_key_sha256",
        });
    }
    Ok(manifest)
}

/// Checks every file the manifest lists against its hash and size, and that no other file is
/// in the bundle. Returns how many were checked.
pub(crate) fn check_files(files: &BundleFiles, manifest: &Value) -> Result<usize, VerifyError> {
    let listed = manifest["files"]
        .as_array()
        .ok_or_else(|| VerifyError::ManifestShape("files is not an array".into()))?;
    let mut seen = BTreeSet::new();
    for entry in listed {
        let path = entry["path"]
            .as_str()
            .ok_or_else(|| VerifyError::ManifestShape("a files[] entry has no path".into()))?;
        let expected = entry["sha256"]
            .as_str()
            .ok_or_else(|| VerifyError::ManifestShape(format!("{path} has no sha256")))?;
        let size = entry["size"]
            .as_u64()
            .ok_or_else(|| VerifyError::ManifestShape(format!("{path} has no size")))?;
        let bytes = need(files, path)?;
        let found = sha256_hex(bytes);
        if found != expected {
            return Err(VerifyError::FileHash {
                path: path.to_owned(),
                expected: expected.to_owned(),
                found,
            });
        }
        if bytes.len() as u64 != size {
            return Err(VerifyError::FileSize {
                path: path.to_owned(),
                expected: size,
                found: bytes.len() as u64,
            });
        }
        seen.insert(path.to_owned());
    }
    for path in files.paths() {
        if !seen.contains(path) && !SELF_FILES.contains(&path.as_str()) {
            return Err(VerifyError::UnlistedFile(path.clone()));
        }
    }
    Ok(seen.len())
}

/// Checks the hash chain across verified bundles, per tenant: sorted by sequence, each one's
/// `prev_manifest_sha256` must be the previous one's manifest hash, with no gaps. A chain that
/// starts at sequence 1 must start from the genesis value (64 zeros); a partial chain (an
/// auditor's sample) is checked from its first bundle on.
pub fn verify_chain(bundles: &[VerifiedBundle]) -> Result<(), VerifyError> {
    let mut by_tenant: std::collections::BTreeMap<&str, Vec<&VerifiedBundle>> =
        std::collections::BTreeMap::new();
    for b in bundles {
        by_tenant.entry(b.tenant.as_str()).or_default().push(b);
    }
    for (tenant, mut list) in by_tenant {
        list.sort_by_key(|b| b.sequence);
        let chain_err = |detail: String| VerifyError::Chain {
            tenant: tenant.to_owned(),
            detail,
        };
        if list[0].sequence == 1 && list[0].prev_manifest_sha256 != "0".repeat(64) {
            return Err(chain_err(
                "the first bundle does not start from the genesis hash".into(),
            ));
        }
        for pair in list.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if b.sequence == a.sequence {
                return Err(chain_err(format!(
                    "two bundles claim sequence {} ({} and {})",
                    a.sequence, a.run_id, b.run_id
                )));
            }
            if b.sequence != a.sequence + 1 {
                return Err(chain_err(format!(
                    "sequence {} is followed by {}: bundles are missing",
                    a.sequence, b.sequence
                )));
            }
            if b.prev_manifest_sha256 != a.manifest_sha256 {
                return Err(chain_err(format!(
                    "bundle {} (sequence {}) does not point at bundle {} (sequence {})",
                    b.run_id, b.sequence, a.run_id, a.sequence
                )));
            }
        }
    }
    Ok(())
}
