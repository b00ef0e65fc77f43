//! Adapters for running Passage as one process (the host that wires them is `passage-server`): SQLite (WAL) for runs, steps, events, the step
//! queue and timers; a P-256 key file for signatures; bundles on the local disk; provider
//! budgets in memory, shared by the process's workers.
//!
//! Everything lives under one data directory, so backing up or moving an installation is
//! copying a folder.

mod db;
mod evidence_fs;
mod key_file;
mod pacer;
mod queue;
mod store;
mod timer;

pub use db::{Database, DbError};
pub use evidence_fs::{FsEvidenceStore, read_bundle_dir};
pub use key_file::{KeyFileError, KeyFileSigner};
pub use pacer::InProcessPacer;
pub use passage_core::ports::StaticTenants;
pub use queue::SqliteQueue;
pub use store::SqliteStore;
pub use timer::SqliteTimer;
