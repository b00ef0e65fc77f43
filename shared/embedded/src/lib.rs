//! Adapters for running Passage as one process (the host that wires them is `passage-server`): SQLite (WAL) for runs, steps, events, the step
//! queue and timers; a P-256 key file per tenant for signatures; bundles on the local disk;
//! provider budgets in memory, shared by the process's workers.
//!
//! Everything lives under one data directory, so backing up or moving an installation is
//! copying a folder.

mod audit;
mod db;
mod evidence_fs;
mod guard;
mod key_file;
mod key_vault;
mod pacer;
mod private;
mod queue;
mod store;
mod timer;

pub use db::{Database, DbError};
pub use evidence_fs::{FsEvidenceStore, read_bundle_dir};
pub use key_file::{KeyFileError, KeyFileSigner};
pub use key_vault::KeyFileVault;
pub use pacer::InProcessPacer;
pub use passage_core::ports::StaticTenants;
pub use private::{Tightened, create_private_dir_all, make_private, private_file};
pub use queue::SqliteQueue;
pub use store::SqliteStore;
pub use timer::SqliteTimer;
