//! Cutoff timers in SQLite, fired by the host's timer loop. Durable, so a restart loses none.

use crate::db::{Database, ms};
use async_trait::async_trait;
use jiff::Timestamp;
use passage_core::ports::{Timer, TimerError};
use passage_core::{RunId, TenantId};
use rusqlite::{OptionalExtension, params};

#[derive(Clone)]
pub struct SqliteTimer {
    db: Database,
}

impl SqliteTimer {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Runs whose timer is due at `now`.
    pub async fn due(&self, now: Timestamp) -> Result<Vec<RunId>, TimerError> {
        let now = ms(now);
        self.db
            .with(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT run_id FROM timers WHERE fire_ms <= ?1 ORDER BY fire_ms",
                )?;
                let rows = stmt.query_map([now], |r| Ok(RunId::new(r.get::<_, String>(0)?)))?;
                rows.collect()
            })
            .await
            .map_err(|e| TimerError(e.to_string()))
    }

    /// When the next timer fires, so the loop can sleep exactly until then.
    pub async fn next(&self) -> Result<Option<Timestamp>, TimerError> {
        let next: Option<i64> = self
            .db
            .with(|conn| {
                conn.query_row("SELECT MIN(fire_ms) FROM timers", [], |r| r.get(0))
                    .optional()
                    .map(Option::flatten)
            })
            .await
            .map_err(|e| TimerError(e.to_string()))?;
        Ok(next.and_then(|m| Timestamp::from_millisecond(m).ok()))
    }
}

#[async_trait]
impl Timer for SqliteTimer {
    async fn schedule(
        &self,
        tenant: &TenantId,
        run: &RunId,
        at: Timestamp,
    ) -> Result<(), TimerError> {
        let (tenant, run, at) = (tenant.to_string(), run.to_string(), ms(at));
        self.db
            .with(move |conn| {
                conn.execute(
                    "INSERT INTO timers (run_id, tenant, fire_ms) VALUES (?1, ?2, ?3)
                     ON CONFLICT (run_id) DO UPDATE SET fire_ms = excluded.fire_ms",
                    params![run, tenant, at],
                )
            })
            .await
            .map_err(|e| TimerError(e.to_string()))?;
        Ok(())
    }

    async fn cancel(&self, run: &RunId) -> Result<(), TimerError> {
        let run = run.to_string();
        self.db
            .with(move |conn| conn.execute("DELETE FROM timers WHERE run_id = ?1", [run]))
            .await
            .map_err(|e| TimerError(e.to_string()))?;
        Ok(())
    }
}
