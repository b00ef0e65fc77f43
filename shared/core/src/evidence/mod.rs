//! Evidence bundle v1: what a closed run proves, in a form an auditor verifies offline with
//! `openssl`, `sha256sum` and `jq`.
//!
//! Layout of a bundle directory:
//! - `manifest.json`: RFC 8785 canonical JSON; lists every other evidence file with its SHA-256.
//! - `statement.txt`: a small fixed-layout text pinning the manifest's SHA-256, tenant, run,
//!   sequence and previous manifest hash. This is what is signed: it stays under KMS's 4 KiB RAW
//!   limit whatever the manifest's size, so the key file and KMS sign the same way.
//! - `statement.sig`: DER ECDSA P-256/SHA-256 signature of `statement.txt`.
//! - `signing-key.pem`: the public key (trust comes from its published fingerprint).
//! - `VERIFY.md`, `hr-event.json`, `timeline.json`, `pre-state/…`, `evidence/<provider>/<action>.json`.

pub(crate) mod build;
mod controls;
mod files;
mod statement;
pub(crate) mod verify;

pub use build::public_key_fingerprint;
pub use build::{BundleInput, build_bundle};
pub use controls::step_controls;
pub use files::{BundleFiles, PathError, is_safe_path, is_safe_segment};
pub use statement::{Statement, StatementError};
pub use verify::{VerifiedBundle, VerifyError, verify_bundle, verify_chain};

/// The manifest's `schema` value.
pub const SCHEMA: &str = "passage.evidence.bundle/v1";
