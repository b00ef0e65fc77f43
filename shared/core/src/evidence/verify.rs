//! Offline verification of bundles, the same checks VERIFY.md spells out for openssl.

use super::build::{public_key_fingerprint, sha256_hex};
use super::keyset::{KeyTrustError, TrustedKeys};
use super::rotation::{NEXT_KEY_FILE, ROTATION_KIND};
use super::{BundleFiles, SCHEMA, Statement};
use jiff::Timestamp;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{DerSignature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use serde_json::Value;
use std::collections::BTreeSet;

/// Files that the manifest cannot list (they are the manifest, sign it, or timestamp the
/// signature); everything else must be listed, so an added file is as detectable as a changed
/// one.
const SELF_FILES: [&str; 5] = [
    "manifest.json",
    "statement.txt",
    "statement.sig",
    "signing-key.pem",
    TIMESTAMP_FILE,
];

/// The RFC 3161 timestamp token over `statement.sig`, when a timestamp authority is configured.
pub const TIMESTAMP_FILE: &str = "statement.tsr";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("{0} is missing from the bundle")]
    MissingFile(String),
    #[error("signing-key.pem is not a P-256 public key: {0}")]
    BadKey(String),
    #[error("untrusted signing key: {0}")]
    UntrustedKey(KeyTrustError),
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
    #[error("statement.tsr is not a timestamp of statement.sig: {0}")]
    Timestamp(String),
    #[error("{0} is in the bundle but not listed in the manifest")]
    UnlistedFile(String),
    #[error("chain broken for tenant {tenant}: {detail}")]
    Chain { tenant: String, detail: String },
    #[error("checkpoint of tenant {tenant}: {detail}")]
    Checkpoint { tenant: String, detail: String },
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
    /// When the bundle says it was signed (its manifest's `created_at`).
    pub signed_at: Option<Timestamp>,
    /// For a key rotation link: the key that signs every later link.
    pub next_key_sha256: Option<String>,
    /// Whether the signature carries a timestamp authority's token (`statement.tsr`), and
    /// the authority's time when it states it in whole seconds.
    pub timestamped: Option<Option<Timestamp>>,
    /// For a restore run's bundle: the original run's bundle it names.
    pub restores: Option<super::RestoreLink>,
}

/// Verifies one bundle: signature, statement, manifest and every listed file. With `trusted`,
/// the key must also be one of those keys, valid when the bundle was signed.
pub fn verify_bundle(
    files: &BundleFiles,
    trusted: Option<&TrustedKeys>,
) -> Result<VerifiedBundle, VerifyError> {
    let (statement, fingerprint) = signed_statement(files)?;
    let manifest = manifest_of(files, &statement, &fingerprint, SCHEMA)?;
    let files_checked = check_files(files, &manifest)?;
    let signed_at = manifest["created_at"]
        .as_str()
        .and_then(|t| t.parse::<Timestamp>().ok());
    if let Some(trusted) = trusted {
        trusted
            .check(&statement.tenant, &fingerprint, signed_at)
            .map_err(VerifyError::UntrustedKey)?;
    }
    let timestamped = match files.get(TIMESTAMP_FILE) {
        Some(token) => Some(
            super::check_timestamp(token, need(files, "statement.sig")?)
                .map_err(VerifyError::Timestamp)?,
        ),
        None => None,
    };
    Ok(VerifiedBundle {
        restores: super::restore_link::link_of(&manifest)?,
        timestamped,
        next_key_sha256: rotation_of(files, &manifest)?,
        tenant: statement.tenant,
        run_id: statement.run_id,
        sequence: statement.sequence,
        manifest_sha256: statement.manifest_sha256,
        prev_manifest_sha256: statement.prev_manifest_sha256,
        key_fingerprint: fingerprint,
        files_checked,
        signed_at,
    })
}

/// A rotation link's new key, once `next-key.pem` (listed, so already hash-checked) is the key
/// the manifest names; `None` for a run bundle.
fn rotation_of(files: &BundleFiles, manifest: &Value) -> Result<Option<String>, VerifyError> {
    match manifest.get("kind").and_then(Value::as_str) {
        None | Some("run") => return Ok(None),
        Some(ROTATION_KIND) => {}
        Some(other) => {
            return Err(VerifyError::ManifestShape(format!(
                "unknown kind {other:?}"
            )));
        }
    }
    let named = manifest["rotation"]["next_key_sha256"]
        .as_str()
        .ok_or_else(|| VerifyError::ManifestShape("a rotation names no next key".into()))?;
    let pem = std::str::from_utf8(need(files, NEXT_KEY_FILE)?)
        .map_err(|_| VerifyError::BadKey(format!("{NEXT_KEY_FILE} is not UTF-8")))?;
    let found = public_key_fingerprint(pem).map_err(VerifyError::BadKey)?;
    if found != named {
        return Err(VerifyError::ManifestMismatch {
            field: "rotation.next_key_sha256",
        });
    }
    Ok(Some(found))
}

fn need<'a>(files: &'a BundleFiles, path: &str) -> Result<&'a [u8], VerifyError> {
    files
        .get(path)
        .ok_or_else(|| VerifyError::MissingFile(path.to_owned()))
}

/// The statement, once its signature verifies with the bundle's key, with that key's
/// fingerprint.
pub(crate) fn signed_statement(files: &BundleFiles) -> Result<(Statement, String), VerifyError> {
    let pem = std::str::from_utf8(need(files, "signing-key.pem")?)
        .map_err(|_| VerifyError::BadKey("not UTF-8".into()))?;
    let key =
        VerifyingKey::from_public_key_pem(pem).map_err(|e| VerifyError::BadKey(e.to_string()))?;
    let fingerprint = public_key_fingerprint(pem).map_err(VerifyError::BadKey)?;
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
