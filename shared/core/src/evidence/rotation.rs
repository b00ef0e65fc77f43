//! Key rotation links: a chain link, signed by the tenant's current key, that names the key
//! signing every later link. Rotation happens in the chain, so a verifier sees each change of
//! key where it happened and who authorised it.

use super::build::{public_key_fingerprint, sha256_hex};
use super::instructions::verify_instructions;
use super::{BundleFiles, SCHEMA, Statement};
use jiff::Timestamp;
use serde_json::json;

/// The manifest `kind` of a rotation link (run bundles are `run`).
pub const ROTATION_KIND: &str = "key-rotation";
/// The file holding the new public key.
pub const NEXT_KEY_FILE: &str = "next-key.pem";

pub struct RotationInput<'a> {
    pub tenant: &'a str,
    pub sequence: u64,
    pub prev_manifest_sha256: &'a str,
    /// The current key, which signs the link.
    pub key_id: &'a str,
    pub public_key_pem: &'a str,
    /// The key that takes over.
    pub next_key_id: &'a str,
    pub next_public_key_pem: &'a str,
    pub created_at: Timestamp,
}

/// The link's id in the evidence store: one per new key, so a rotation that is tried again
/// (after losing the chain's compare-and-set, or a crash) replaces its own earlier attempt.
pub fn rotation_link_id(next_key_sha256: &str) -> String {
    format!("keys-{}", &next_key_sha256[..next_key_sha256.len().min(16)])
}

/// Builds every file of the rotation link except the signature, and the statement to sign.
pub fn build_rotation(input: &RotationInput<'_>) -> Result<(BundleFiles, Statement), String> {
    let next_fingerprint = public_key_fingerprint(input.next_public_key_pem)?;
    let link_id = rotation_link_id(&next_fingerprint);
    let mut files = BundleFiles::new();
    let bad = |e: super::PathError| e.to_string();
    files
        .insert(NEXT_KEY_FILE, input.next_public_key_pem.as_bytes().to_vec())
        .map_err(bad)?;
    files
        .insert(
            "VERIFY.md",
            verify_instructions(input.tenant, true).into_bytes(),
        )
        .map_err(bad)?;
    let file_list: Vec<_> = files
        .iter()
        .map(|(p, b)| json!({"path": p, "sha256": sha256_hex(b), "size": b.len()}))
        .collect();
    let manifest = json!({
        "schema": SCHEMA,
        "kind": ROTATION_KIND,
        "tenant": input.tenant,
        "run_id": link_id,
        "sequence": input.sequence,
        "prev_manifest_sha256": input.prev_manifest_sha256,
        "created_at": input.created_at,
        "signing": {
            "algorithm": "ECDSA_P256_SHA256",
            "key_id": input.key_id,
            "public_key_sha256": public_key_fingerprint(input.public_key_pem)?,
            "signed_file": "statement.txt",
            "signature_file": "statement.sig",
        },
        "rotation": {
            "next_key_sha256": next_fingerprint,
            "next_key_id": input.next_key_id,
            "next_public_key": NEXT_KEY_FILE,
        },
        "files": file_list,
    });
    let bytes = passage_jcs::to_canonical_vec(&manifest).map_err(|e| e.to_string())?;
    let manifest_sha256 = sha256_hex(&bytes);
    files.insert("manifest.json", bytes).map_err(bad)?;
    let statement = Statement {
        tenant: input.tenant.to_owned(),
        run_id: link_id,
        sequence: input.sequence,
        manifest_sha256,
        prev_manifest_sha256: input.prev_manifest_sha256.to_owned(),
        key_id: input.key_id.to_owned(),
    };
    Ok((files, statement))
}
