//! The run store on SQLite. Each record is a JSON document plus the columns queries need;
//! every update is version-checked inside one transaction.

use crate::db::{Database, ms};
use async_trait::async_trait;
use jiff::Timestamp;
use passage_core::ports::{ChainHead, Commit, InsertOutcome, RunFilter, RunStore, StoreError};
use passage_core::secret::Secret;
use passage_core::{AttemptRecord, Run, RunEvent, RunId, Step, TenantId};
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Clone)]
pub struct SqliteStore {
    db: Database,
}

impl SqliteStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    pub(crate) fn db(&self) -> &Database {
        &self.db
    }
}

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn to_doc<T: Serialize>(v: &T) -> Result<String, rusqlite::Error> {
    serde_json::to_string(v).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn from_doc<T: DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Why a commit's transaction was abandoned.
enum Abort {
    Conflict(String),
    Sql(rusqlite::Error),
}

impl From<rusqlite::Error> for Abort {
    fn from(e: rusqlite::Error) -> Self {
        Abort::Sql(e)
    }
}

/// The run already stored for this request (same tenant and idempotency key), if any.
fn same_request(tx: &Transaction<'_>, run: &Run) -> rusqlite::Result<Option<RunId>> {
    tx.query_row(
        "SELECT id FROM runs WHERE tenant = ?1 AND idempotency_key = ?2",
        params![run.tenant.as_str(), run.idempotency_key],
        |r| r.get::<_, String>(0),
    )
    .optional()
    .map(|id| id.map(RunId::new))
}

/// The employee's open (scheduled, running or blocked) run in the tenant, if any.
fn open_run_of(tx: &Transaction<'_>, run: &Run) -> rusqlite::Result<Option<RunId>> {
    tx.query_row(
        "SELECT id FROM runs WHERE tenant = ?1 AND employee_id = ?2
           AND state IN ('scheduled', 'running', 'blocked')",
        params![run.tenant.as_str(), run.subject.employee_id],
        |r| r.get::<_, String>(0),
    )
    .optional()
    .map(|id| id.map(RunId::new))
}

fn apply_commit(tx: &Transaction<'_>, c: &Commit) -> Result<(), Abort> {
    for run in &c.runs {
        let mut stored = run.clone();
        stored.version = run.version + 1;
        let n = tx.execute(
            "UPDATE runs SET state = ?1, cutoff_ms = ?2, version = ?3, doc = ?4
             WHERE id = ?5 AND version = ?6",
            params![
                run.state.as_str(),
                ms(run.cutoff.at),
                stored.version as i64,
                to_doc(&stored)?,
                run.id.as_str(),
                run.version as i64
            ],
        )?;
        if n != 1 {
            return Err(Abort::Conflict(format!("run {}", run.id)));
        }
    }
    for step in &c.steps {
        let mut stored = step.clone();
        stored.version = step.version + 1;
        let n = tx.execute(
            "UPDATE steps SET version = ?1, doc = ?2 WHERE run_id = ?3 AND key = ?4 AND version = ?5",
            params![
                stored.version as i64,
                to_doc(&stored)?,
                step.run_id.as_str(),
                step.key.as_str(),
                step.version as i64
            ],
        )?;
        if n != 1 {
            return Err(Abort::Conflict(format!(
                "step {} of {}",
                step.key, step.run_id
            )));
        }
    }
    // An attempt is stored when claimed (`started`) and again when it ends: the later record
    // replaces the earlier. The commit that carries it is version-checked on the step, so only
    // the worker holding the step can write its attempt.
    for a in &c.attempts {
        tx.execute(
            "INSERT INTO attempts (run_id, step_key, number, doc) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (run_id, step_key, number) DO UPDATE SET doc = excluded.doc",
            params![a.run_id.as_str(), a.step_key.as_str(), a.number, to_doc(a)?],
        )?;
    }
    insert_events(tx, &c.events)?;
    if let Some((tenant, expected, next)) = &c.chain {
        let current = chain_head(tx, tenant)?;
        if &current != expected {
            return Err(Abort::Conflict(format!(
                "evidence chain of tenant {tenant}"
            )));
        }
        tx.execute(
            "INSERT INTO chain (tenant, sequence, manifest_sha256) VALUES (?1, ?2, ?3)
             ON CONFLICT (tenant) DO UPDATE SET sequence = excluded.sequence,
                 manifest_sha256 = excluded.manifest_sha256",
            params![tenant.as_str(), next.sequence as i64, next.manifest_sha256],
        )?;
    }
    Ok(())
}

fn insert_events(tx: &Transaction<'_>, events: &[RunEvent]) -> Result<(), rusqlite::Error> {
    for e in events {
        tx.execute(
            "INSERT INTO events (run_id, doc) VALUES (?1, ?2)",
            params![e.run_id.as_str(), to_doc(e)?],
        )?;
    }
    Ok(())
}

fn chain_head(tx: &Transaction<'_>, tenant: &TenantId) -> Result<ChainHead, rusqlite::Error> {
    Ok(tx
        .query_row(
            "SELECT sequence, manifest_sha256 FROM chain WHERE tenant = ?1",
            [tenant.as_str()],
            |r| {
                Ok(ChainHead {
                    sequence: r.get::<_, i64>(0)? as u64,
                    manifest_sha256: r.get(1)?,
                })
            },
        )
        .optional()?
        .unwrap_or_else(ChainHead::genesis))
}

#[async_trait]
impl RunStore for SqliteStore {
    async fn insert_run(
        &self,
        run: &Run,
        steps: &[Step],
        events: &[RunEvent],
    ) -> Result<InsertOutcome, StoreError> {
        let (run, steps, events) = (run.clone(), steps.to_vec(), events.to_vec());
        self.db
            .with(move |conn| {
                // IMMEDIATE: take the write lock before reading, so the checks below and the
                // insert are one step for any other connection (a CLI beside the server).
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                if let Some(id) = same_request(&tx, &run)? {
                    return Ok(InsertOutcome::Existing(id));
                }
                // The unique index `one_open_run_per_employee` is the guarantee; reading first
                // turns it into an answer that names the open run.
                if let Some(id) = open_run_of(&tx, &run)?.filter(|_| !run.state.is_terminal()) {
                    return Ok(InsertOutcome::OpenRun(id));
                }
                tx.execute(
                    "INSERT INTO runs (id, tenant, idempotency_key, employee_id, state, cutoff_ms,
                        created_ms, version, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        run.id.as_str(),
                        run.tenant.as_str(),
                        run.idempotency_key,
                        run.subject.employee_id,
                        run.state.as_str(),
                        ms(run.cutoff.at),
                        ms(run.created_at),
                        run.version as i64,
                        to_doc(&run)?
                    ],
                )?;
                for (i, s) in steps.iter().enumerate() {
                    tx.execute(
                        "INSERT INTO steps (run_id, key, ord, version, doc) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![s.run_id.as_str(), s.key.as_str(), i as i64, s.version as i64, to_doc(s)?],
                    )?;
                }
                insert_events(&tx, &events)?;
                tx.commit()?;
                Ok(InsertOutcome::Created)
            })
            .await
            .map_err(backend)
    }

    async fn run(&self, id: &RunId) -> Result<Option<Run>, StoreError> {
        let id = id.clone();
        let doc: Option<String> = self
            .db
            .with(move |conn| {
                conn.query_row("SELECT doc FROM runs WHERE id = ?1", [id.as_str()], |r| {
                    r.get(0)
                })
                .optional()
            })
            .await
            .map_err(backend)?;
        doc.map(|d| from_doc(&d)).transpose()
    }

    async fn steps(&self, id: &RunId) -> Result<Vec<Step>, StoreError> {
        let id = id.clone();
        let docs: Vec<String> = self
            .db
            .with(move |conn| {
                let mut stmt =
                    conn.prepare_cached("SELECT doc FROM steps WHERE run_id = ?1 ORDER BY ord")?;
                let rows = stmt.query_map([id.as_str()], |r| r.get(0))?;
                rows.collect()
            })
            .await
            .map_err(backend)?;
        docs.iter().map(|d| from_doc(d)).collect()
    }

    async fn attempts(&self, id: &RunId) -> Result<Vec<AttemptRecord>, StoreError> {
        let id = id.clone();
        let docs: Vec<String> = self
            .db
            .with(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT doc FROM attempts WHERE run_id = ?1 ORDER BY step_key, number",
                )?;
                let rows = stmt.query_map([id.as_str()], |r| r.get(0))?;
                rows.collect()
            })
            .await
            .map_err(backend)?;
        docs.iter().map(|d| from_doc(d)).collect()
    }

    async fn events(&self, id: &RunId) -> Result<Vec<RunEvent>, StoreError> {
        let id = id.clone();
        let docs: Vec<String> = self
            .db
            .with(move |conn| {
                let mut stmt =
                    conn.prepare_cached("SELECT doc FROM events WHERE run_id = ?1 ORDER BY seq")?;
                let rows = stmt.query_map([id.as_str()], |r| r.get(0))?;
                rows.collect()
            })
            .await
            .map_err(backend)?;
        docs.iter().map(|d| from_doc(d)).collect()
    }

    async fn commit(&self, commit: Commit) -> Result<(), StoreError> {
        let outcome = self
            .db
            .with(move |conn| {
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                match apply_commit(&tx, &commit) {
                    Ok(()) => {
                        tx.commit()?;
                        Ok(Ok(()))
                    }
                    // Dropping the transaction rolls every change back.
                    Err(Abort::Conflict(what)) => Ok(Err(what)),
                    Err(Abort::Sql(e)) => Err(e),
                }
            })
            .await
            .map_err(backend)?;
        outcome.map_err(StoreError::Conflict)
    }

    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>, StoreError> {
        let filter = filter.clone();
        let docs: Vec<String> = self
            .db
            .with(move |conn| {
                let mut sql = String::from("SELECT doc FROM runs WHERE 1 = 1");
                let mut args: Vec<String> = Vec::new();
                if let Some(t) = &filter.tenant {
                    args.push(t.to_string());
                    sql.push_str(&format!(" AND tenant = ?{}", args.len()));
                }
                if let Some(s) = &filter.state {
                    args.push(s.as_str().to_owned());
                    sql.push_str(&format!(" AND state = ?{}", args.len()));
                }
                if let Some(e) = &filter.employee_id {
                    args.push(e.clone());
                    sql.push_str(&format!(" AND employee_id = ?{}", args.len()));
                }
                sql.push_str(" ORDER BY created_ms DESC, id");
                if let Some(limit) = filter.limit {
                    sql.push_str(&format!(" LIMIT {limit}"));
                }
                let mut stmt = conn.prepare(&sql)?;
                let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| r.get(0))?;
                rows.collect()
            })
            .await
            .map_err(backend)?;
        docs.iter().map(|d| from_doc(d)).collect()
    }

    async fn due_runs(&self, now: Timestamp) -> Result<Vec<RunId>, StoreError> {
        let now = ms(now);
        self.db
            .with(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT id FROM runs WHERE state = 'scheduled' AND cutoff_ms <= ?1 ORDER BY cutoff_ms",
                )?;
                let rows = stmt.query_map([now], |r| Ok(RunId::new(r.get::<_, String>(0)?)))?;
                rows.collect()
            })
            .await
            .map_err(backend)
    }

    async fn open_runs(&self) -> Result<Vec<RunId>, StoreError> {
        self.db
            .with(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT id FROM runs WHERE state IN ('running', 'blocked') ORDER BY created_ms",
                )?;
                let rows = stmt.query_map([], |r| Ok(RunId::new(r.get::<_, String>(0)?)))?;
                rows.collect()
            })
            .await
            .map_err(backend)
    }

    async fn chain_head(&self, tenant: &TenantId) -> Result<ChainHead, StoreError> {
        let tenant = tenant.clone();
        self.db
            .with(move |conn| {
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                chain_head(&tx, &tenant)
            })
            .await
            .map_err(backend)
    }

    async fn learned_secret(
        &self,
        tenant: &TenantId,
        vendor: &str,
    ) -> Result<Option<Secret>, StoreError> {
        let (tenant, vendor) = (tenant.to_string(), vendor.to_owned());
        self.db
            .with(move |conn| {
                conn.query_row(
                    "SELECT secret FROM learned_secrets WHERE tenant = ?1 AND vendor = ?2",
                    rusqlite::params![tenant, vendor],
                    |r| r.get::<_, String>(0),
                )
                .optional()
            })
            .await
            .map(|s| s.map(Secret::new))
            .map_err(backend)
    }

    async fn check(&self) -> Result<(), StoreError> {
        self.db.check().await.map_err(backend)
    }

    async fn count_termination(
        &self,
        tenant: &TenantId,
        key: &str,
        at: Timestamp,
        window: std::time::Duration,
        cap: u32,
    ) -> Result<u32, StoreError> {
        crate::guard::count_termination(&self.db, tenant, key, at, window, cap)
            .await
            .map_err(backend)
    }

    async fn learn_secret(
        &self,
        tenant: &TenantId,
        vendor: &str,
        secret: &Secret,
    ) -> Result<(), StoreError> {
        let (tenant, vendor) = (tenant.to_string(), vendor.to_owned());
        let secret = secret.expose().to_owned();
        let at = Timestamp::now().as_millisecond();
        self.db
            .with(move |conn| {
                conn.execute(
                    "INSERT INTO learned_secrets (tenant, vendor, secret, at_ms) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (tenant, vendor) DO UPDATE SET secret = excluded.secret, at_ms = excluded.at_ms",
                    rusqlite::params![tenant, vendor, secret, at],
                )
                .map(|_| ())
            })
            .await
            .map_err(backend)
    }
}
