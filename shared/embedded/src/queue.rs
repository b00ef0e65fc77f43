//! The step queue on SQLite, with SQS semantics: visibility timeout, per-message delay, a new
//! receipt per delivery, receive counts and dead letters. One pending copy per message key.

use crate::db::{Database, ms};
use async_trait::async_trait;
use jiff::Timestamp;
use passage_core::ports::{Backlog, Delivery, QueueError, QueueMessage, StepQueue};
use rusqlite::{OptionalExtension, params};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Clone)]
pub struct SqliteQueue {
    db: Database,
    wake: Arc<Notify>,
}

impl SqliteQueue {
    pub fn new(db: Database) -> Self {
        Self {
            db,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Notified on every enqueue, so idle workers in this process start at once instead of
    /// waiting for their next poll.
    pub fn wake(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Makes every message received by an earlier process visible again. The embedded host is the
    /// only receiver of its database (it holds the data directory's lock), so at start-up any
    /// message still marked received belongs to a process that died, and waiting out its
    /// visibility timeout would only delay recovery.
    pub async fn recover_in_flight(&self) -> Result<u64, QueueError> {
        let now = ms(Timestamp::now());
        let n = self
            .db
            .with(move |conn| {
                conn.execute(
                    "UPDATE queue SET receipt = NULL, visible_ms = MIN(visible_ms, ?1) WHERE receipt IS NOT NULL",
                    [now],
                )
            })
            .await
            .map_err(backend)?;
        Ok(n as u64)
    }

    /// Messages waiting or in flight, and dead letters: for status output and tests.
    pub async fn depth(&self) -> Result<(u64, u64), QueueError> {
        self.db
            .with(|conn| {
                let q: i64 = conn.query_row("SELECT COUNT(*) FROM queue", [], |r| r.get(0))?;
                let d: i64 =
                    conn.query_row("SELECT COUNT(*) FROM dead_letters", [], |r| r.get(0))?;
                Ok((q as u64, d as u64))
            })
            .await
            .map_err(backend)
    }

    /// Dead letters with their reasons, newest first.
    pub async fn dead_letters(&self) -> Result<Vec<(String, String, u32)>, QueueError> {
        self.db
            .with(|conn| {
                let mut stmt = conn.prepare(
                    "SELECT body, reason, receive_count FROM dead_letters ORDER BY id DESC",
                )?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                rows.collect()
            })
            .await
            .map_err(backend)
    }

    /// Inserts a raw body, as a misbehaving producer might: for poison-message tests.
    pub async fn enqueue_raw(&self, key: &str, body: &str) -> Result<(), QueueError> {
        let (key, body) = (key.to_owned(), body.to_owned());
        let now = ms(Timestamp::now());
        self.db
            .with(move |conn| {
                conn.execute(
                    "INSERT OR IGNORE INTO queue (dedupe_key, body, visible_ms, enqueued_ms) VALUES (?1, ?2, ?3, ?3)",
                    params![key, body, now],
                )
            })
            .await
            .map_err(backend)?;
        Ok(())
    }
}

fn backend(e: rusqlite::Error) -> QueueError {
    QueueError::Backend(e.to_string())
}

fn delay_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

#[async_trait]
impl StepQueue for SqliteQueue {
    async fn enqueue(&self, message: &QueueMessage, delay: Duration) -> Result<(), QueueError> {
        let body =
            serde_json::to_string(message).map_err(|e| QueueError::Backend(e.to_string()))?;
        let key = message.dedupe_key();
        let now = ms(Timestamp::now());
        let visible = now.saturating_add(delay_ms(delay));
        self.db
            .with(move |conn| {
                // A copy not yet received moves earlier if asked; a copy in flight is left to
                // its receiver, which will ack or release it.
                conn.execute(
                    "INSERT INTO queue (dedupe_key, body, visible_ms, enqueued_ms) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (dedupe_key) DO UPDATE SET visible_ms = MIN(visible_ms, excluded.visible_ms)
                     WHERE receipt IS NULL",
                    params![key, body, visible, now],
                )
            })
            .await
            .map_err(backend)?;
        if delay.is_zero() {
            self.wake.notify_waiters();
        }
        Ok(())
    }

    async fn receive(&self, max: usize, visibility: Duration) -> Result<Vec<Delivery>, QueueError> {
        let now = ms(Timestamp::now());
        let hidden_until = now.saturating_add(delay_ms(visibility));
        self.db
            .with(move |conn| {
                let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let picked: Vec<(i64, String, u32)> = {
                    let mut stmt = tx.prepare_cached(
                        "SELECT id, body, receive_count FROM queue WHERE visible_ms <= ?1
                         ORDER BY visible_ms, id LIMIT ?2",
                    )?;
                    let rows = stmt.query_map(params![now, max as i64], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })?;
                    rows.collect::<Result<_, _>>()?
                };
                let mut out = Vec::with_capacity(picked.len());
                for (id, body, count) in picked {
                    let receipt = format!("{id}:{}", uuid::Uuid::new_v4().simple());
                    tx.execute(
                        "UPDATE queue SET receipt = ?1, receive_count = receive_count + 1, visible_ms = ?2 WHERE id = ?3",
                        params![receipt, hidden_until, id],
                    )?;
                    out.push(Delivery {
                        message: serde_json::from_str(&body).ok(),
                        body,
                        receipt,
                        receive_count: count + 1,
                    });
                }
                tx.commit()?;
                Ok(out)
            })
            .await
            .map_err(backend)
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        let r = receipt.to_owned();
        let n = self
            .db
            .with(move |conn| conn.execute("DELETE FROM queue WHERE receipt = ?1", [r]))
            .await
            .map_err(backend)?;
        if n == 0 {
            return Err(QueueError::StaleReceipt(receipt.to_owned()));
        }
        Ok(())
    }

    async fn release(&self, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        let r = receipt.to_owned();
        let visible = ms(Timestamp::now()).saturating_add(delay_ms(delay));
        let n = self
            .db
            .with(move |conn| {
                conn.execute(
                    "UPDATE queue SET visible_ms = ?1 WHERE receipt = ?2",
                    params![visible, r],
                )
            })
            .await
            .map_err(backend)?;
        if n == 0 {
            return Err(QueueError::StaleReceipt(receipt.to_owned()));
        }
        Ok(())
    }

    async fn requeue(&self, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        let r = receipt.to_owned();
        let visible = ms(Timestamp::now()).saturating_add(delay_ms(delay));
        let n = self
            .db
            .with(move |conn| {
                conn.execute(
                    "UPDATE queue SET visible_ms = ?1, receipt = NULL, receive_count = 0
                     WHERE receipt = ?2",
                    params![visible, r],
                )
            })
            .await
            .map_err(backend)?;
        if n == 0 {
            return Err(QueueError::StaleReceipt(receipt.to_owned()));
        }
        if delay.is_zero() {
            self.wake.notify_waiters();
        }
        Ok(())
    }

    async fn dead_letter(&self, receipt: &str, reason: &str) -> Result<(), QueueError> {
        let (r, reason) = (receipt.to_owned(), reason.to_owned());
        let now = ms(Timestamp::now());
        let moved = self
            .db
            .with(move |conn| {
                let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let row: Option<(i64, String, String, u32)> = tx
                    .query_row(
                        "SELECT id, dedupe_key, body, receive_count FROM queue WHERE receipt = ?1",
                        [&r],
                        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
                    )
                    .optional()?;
                let Some((id, key, body, count)) = row else {
                    return Ok(false);
                };
                tx.execute(
                    "INSERT INTO dead_letters (dedupe_key, body, receive_count, reason, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![key, body, count, reason, now],
                )?;
                tx.execute("DELETE FROM queue WHERE id = ?1", [id])?;
                tx.commit()?;
                Ok(true)
            })
            .await
            .map_err(backend)?;
        if !moved {
            return Err(QueueError::StaleReceipt(receipt.to_owned()));
        }
        Ok(())
    }

    async fn backlog(&self) -> Result<Option<Backlog>, QueueError> {
        let (queued, dead_letters) = SqliteQueue::depth(self).await?;
        Ok(Some(Backlog {
            queued,
            dead_letters,
        }))
    }
}
