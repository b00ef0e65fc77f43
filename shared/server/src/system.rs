//! Wiring the embedded adapters into an engine from one data directory.

use passage_config::Integrations;
use passage_core::engine::{Engine, EngineSettings, Ports};
use passage_core::ports::SystemClock;
use passage_core::ports::TimestampAuthority;
use passage_core::secret::Secret;
use passage_embedded::{
    Database, DbError, FsEvidenceStore, KeyFileVault, SqliteQueue, SqliteStore, SqliteTimer,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Everything an embedded installation is made of.
#[derive(Clone)]
pub struct System {
    pub engine: Engine,
    pub store: SqliteStore,
    pub queue: SqliteQueue,
    pub timer: SqliteTimer,
    pub evidence: FsEvidenceStore,
    pub link_key: Secret,
    pub data_dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum SystemError {
    #[error("data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Db(#[from] DbError),
}

impl System {
    /// Opens (creating on first start) `data_dir`: `passage.db`, `keys/<tenant>/`, `link.key`
    /// and `bundles/`, and wires them with `integrations` (the same on both hosts, see
    /// [`passage_config::Wiring`]) into an engine.
    pub fn open(
        data_dir: &Path,
        integrations: Integrations,
        settings: EngineSettings,
    ) -> Result<Self, SystemError> {
        Self::open_with(data_dir, integrations, settings, None)
    }

    /// [`System::open`], with a timestamp authority that timestamps every bundle's signature.
    pub fn open_with(
        data_dir: &Path,
        integrations: Integrations,
        settings: EngineSettings,
        timestamps: Option<Arc<dyn TimestampAuthority>>,
    ) -> Result<Self, SystemError> {
        let dir_err = |source| SystemError::DataDir {
            path: data_dir.to_owned(),
            source,
        };
        report_tightened(&passage_embedded::make_private(data_dir).map_err(dir_err)?);
        let db = Database::open(&data_dir.join("passage.db"))?;
        let store = SqliteStore::new(db.clone());
        let queue = SqliteQueue::new(db.clone());
        let timer = SqliteTimer::new(db);
        let evidence = FsEvidenceStore::new(data_dir.join("bundles"));
        // Keys are per tenant; an earlier release's one `signing-key.pem` is adopted only by
        // tenants whose chains it began (see `Engine::prepare_signing_key`).
        let keys = KeyFileVault::new(
            data_dir.join("keys"),
            Some(data_dir.join("signing-key.pem")),
        );
        let link_key = load_or_create_secret(&data_dir.join("link.key")).map_err(dir_err)?;
        // Confirmation links are signed with the installation's link key, like auditor links.
        let mut settings = settings;
        if let Some(links) = settings.confirm_links.as_mut() {
            links.key = link_key.clone();
        }
        let ports = Ports {
            store: Arc::new(store.clone()),
            queue: Arc::new(queue.clone()),
            keys: Arc::new(keys),
            timestamps,
            evidence: Arc::new(evidence.clone()),
            timer: Arc::new(timer.clone()),
            clock: Arc::new(SystemClock),
            connectors: integrations.connectors,
            tenants: integrations.tenants,
            hr: integrations.hr,
            notifier: integrations.notifier,
            audit: Arc::new(store.clone()),
        };
        Ok(Self {
            engine: Engine::new(ports, settings),
            store,
            queue,
            timer,
            evidence,
            link_key,
            data_dir: data_dir.to_owned(),
        })
    }
}

/// A random 32-byte key kept hex-encoded in a 0600 file, created once.
fn load_or_create_secret(path: &Path) -> std::io::Result<Secret> {
    if !path.exists() {
        match passage_embedded::private_file()
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(mut f) => {
                let key: [u8; 32] = rand::random();
                f.write_all(hex::encode(key).as_bytes())?;
                f.sync_all()?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Secret::new(std::fs::read_to_string(path)?.trim()))
}

/// Says what was readable by others before this start and no longer is: each of the first few
/// paths, then how many more.
fn report_tightened(changed: &[passage_embedded::Tightened]) {
    const NAMED: usize = 20;
    for t in changed.iter().take(NAMED) {
        tracing::warn!(
            path = %t.path.display(),
            was = format_args!("{:o}", t.was),
            now = format_args!("{:o}", t.now),
            "the data directory was readable by other users; permissions tightened"
        );
    }
    if changed.len() > NAMED {
        tracing::warn!(
            more = changed.len() - NAMED,
            "permissions tightened on further files in the data directory"
        );
    }
}
