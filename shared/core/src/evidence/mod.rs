//! Evidence bundle v1: what a closed run proves, in a form an auditor verifies offline with
//! `openssl`, `sha256sum` and `jq`.
//!
//! Layout of a bundle directory:
//! - `manifest.json`: RFC 8785 canonical JSON; lists every other evidence file with its SHA-256.
//! - `statement.txt`: a small fixed-layout text pinning the manifest's SHA-256, tenant, run,
//!   sequence and previous manifest hash. This is what is signed: it stays under KMS's 4 KiB RAW
//!   limit whatever the manifest's size, so the key file and KMS sign the same way.
//! - `statement.sig`: DER ECDSA P-256/SHA-256 signature of `statement.txt`.
//! - `statement.tsr`: when a timestamp authority is configured, its RFC 3161 token over the
//!   signature.
//! - `signing-key.pem`: the public key. Trust comes from the tenant's published key set
//!   ([`KeySet`]), never from the bundle itself.
//! - `VERIFY.md`, `hr-event.json`, `timeline.json`, `pre-state/…`, `evidence/<provider>/<action>.json`.
//! - `access.json`: every access item the snapshots recorded, graded (removed, absent, remains,
//!   pending, attested) with where each grade was read; `exceptions.json`: the items operators
//!   accepted as staying, with who, why and until when.
//! - `sign-ins.json` (a run under the sign-in watch): each provider's sign-in log reading after
//!   the cutoff, the sign-ins found, and every reopening they caused.
//!
//! Each tenant's bundles form a hash chain; a key rotation is a link of its own
//! ([`build_rotation`]), and signed checkpoints of the chain head ([`Checkpoint`]) show when
//! its newest links are withheld.

mod access;
pub(crate) mod build;
mod chain;
mod checkpoint;
mod controls;
mod files;
mod instructions;
mod keyset;
mod restore_link;
mod rotation;
mod sign_ins;
mod statement;
mod timestamp;
pub(crate) mod verify;

pub use build::public_key_fingerprint;
pub use build::{BundleInput, build_bundle};
pub use chain::{Anchors, verify_anchored, verify_chain};
pub use checkpoint::{CHECKPOINT_SCHEMA, Checkpoint, CheckpointError, SignedCheckpoint};
pub use controls::step_controls;
pub use files::{BundleFiles, PathError, is_safe_path, is_safe_segment};
pub use keyset::{KEYSET_SCHEMA, KeySet, KeyTrustError, PublishedKey, TrustedKeys};
pub use restore_link::{LinkCheck, RestoreLink, check_restore_links};
pub use rotation::{NEXT_KEY_FILE, ROTATION_KIND, RotationInput, build_rotation, rotation_link_id};
pub use statement::{Statement, StatementError};
pub use timestamp::{check_timestamp, timestamp_request};
pub use verify::{TIMESTAMP_FILE, VerifiedBundle, VerifyError, verify_bundle};

/// The manifest's `schema` value.
pub const SCHEMA: &str = "passage.evidence.bundle/v1";
