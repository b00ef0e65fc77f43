//! One SQLite database per data directory, shared by the store, queue and timer.

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The schema, one migration per change, applied in order and recorded in SQLite's
/// `user_version`. A database written by a newer build (a higher `user_version`) is refused
/// rather than guessed at. Never edit a migration that has shipped: add the next one.
fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        // 1: the first schema. `IF NOT EXISTS` because databases made before migrations were
        // recorded already hold these tables (at `user_version` 0).
        M::up(SCHEMA_V1),
        // 2: one leaver, one open run. Two deliveries for the same employee with different
        // event ids, arriving together, must not both create a run: the store refuses the
        // second inside the insert's own transaction.
        M::up(
            "CREATE UNIQUE INDEX IF NOT EXISTS one_open_run_per_employee ON runs (tenant, employee_id)
             WHERE state IN ('scheduled', 'running', 'blocked');",
        ),
        // 3: the tenants' audit log (auditor links issued and fetched), append-only.
        M::up(
            "CREATE TABLE IF NOT EXISTS audit_log (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 tenant TEXT NOT NULL,
                 at_ms INTEGER NOT NULL,
                 doc TEXT NOT NULL
             );
             CREATE INDEX IF NOT EXISTS audit_by_tenant ON audit_log (tenant, at_ms, seq);",
        ),
        // 4: the go-live guard's ledger: each tenant's recent terminations, one row per tenant.
        M::up(
            "CREATE TABLE IF NOT EXISTS guard_ledger (
                 tenant TEXT PRIMARY KEY,
                 doc TEXT NOT NULL
             );",
        ),
    ])
}

const SCHEMA_V1: &str = r#"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    employee_id TEXT NOT NULL,
    state TEXT NOT NULL,
    cutoff_ms INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (tenant, idempotency_key)
);
CREATE INDEX IF NOT EXISTS runs_by_state ON runs (state, cutoff_ms);
CREATE INDEX IF NOT EXISTS runs_by_employee ON runs (tenant, employee_id);
CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    ord INTEGER NOT NULL,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE TABLE IF NOT EXISTS attempts (
    run_id TEXT NOT NULL,
    step_key TEXT NOT NULL,
    number INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (run_id, step_key, number)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_run ON events (run_id, seq);
CREATE TABLE IF NOT EXISTS chain (
    tenant TEXT PRIMARY KEY,
    sequence INTEGER NOT NULL,
    manifest_sha256 TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS learned_secrets (
    tenant TEXT NOT NULL,
    vendor TEXT NOT NULL,
    secret TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant, vendor)
);
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    visible_ms INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt TEXT,
    enqueued_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_by_visibility ON queue (visible_ms);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key TEXT NOT NULL,
    body TEXT NOT NULL,
    receive_count INTEGER NOT NULL,
    reason TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS timers (
    run_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    fire_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS timers_by_time ON timers (fire_ms);
"#;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "the database schema cannot be brought up to date: {0} (a database written by a newer \
         passage is refused; two open runs for one employee must be closed or cancelled first)"
    )]
    Migration(#[from] rusqlite_migration::Error),
    #[error("cannot create the database file {0}: {1}")]
    Create(std::path::PathBuf, std::io::Error),
}

/// A shared connection. SQLite serialises writers anyway; one connection behind a mutex keeps
/// transactions simple and is far faster than any provider call a step makes.
#[derive(Clone)]
pub struct Database {
    conn: Arc<Mutex<Connection>>,
    /// The file, for health checks that must see it as a new reader would (the open
    /// connection keeps reading a file that was since removed or replaced).
    path: Option<std::path::PathBuf>,
}

impl Database {
    /// Opens (creating if needed) the database at `path`: WAL journal, full fsync on commit so an
    /// acknowledged webhook survives power loss, and a busy timeout so CLI commands can write
    /// while a server runs.
    ///
    /// The file is created 0600 before SQLite opens it: SQLite gives its `-wal` and `-shm`
    /// files the database's own mode, so all three stay private to the owner.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        crate::private_file()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| DbError::Create(path.to_owned(), e))?;
        let conn = Connection::open(path)?;
        let mut db = Self::init(conn)?;
        db.path = Some(path.to_owned());
        Ok(db)
    }

    /// An in-memory database, for unit tests.
    pub fn in_memory() -> Result<Self, DbError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Self, DbError> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrations().to_latest(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path: None,
        })
    }

    /// Whether the database can be read: by a fresh read-only connection to its file (so a
    /// file removed, replaced or made unreadable shows), else through the shared connection.
    pub async fn check(&self) -> Result<(), rusqlite::Error> {
        let Some(path) = self.path.clone() else {
            return self
                .with(|c| c.query_row("SELECT count(*) FROM runs", [], |_| Ok(())))
                .await;
        };
        tokio::task::spawn_blocking(move || {
            let conn = Connection::open_with_flags(
                &path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.query_row("SELECT count(*) FROM runs", [], |_| Ok(()))
        })
        .await
        .unwrap_or_else(|e| Err(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))
    }

    /// Runs `f` with the connection on a blocking thread.
    pub async fn with<T, F>(&self, f: F) -> Result<T, rusqlite::Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .unwrap_or_else(|e| Err(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))
    }
}

pub(crate) fn ms(t: jiff::Timestamp) -> i64 {
    t.as_millisecond()
}
