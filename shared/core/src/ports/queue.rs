use crate::ids::{RunId, StepKey};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Work for a worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum QueueMessage {
    Step { run_id: RunId, step_key: StepKey },
    Finalize { run_id: RunId },
}

impl QueueMessage {
    /// Identity for de-duplication: one live message per step or finalization.
    pub fn dedupe_key(&self) -> String {
        match self {
            QueueMessage::Step { run_id, step_key } => format!("step:{run_id}:{step_key}"),
            QueueMessage::Finalize { run_id } => format!("finalize:{run_id}"),
        }
    }

    pub fn run_id(&self) -> &RunId {
        match self {
            QueueMessage::Step { run_id, .. } | QueueMessage::Finalize { run_id } => run_id,
        }
    }
}

/// A received message. Invisible to other receivers until acked, released or its visibility
/// timeout passes (then it is delivered again: at-least-once).
#[derive(Clone, Debug)]
pub struct Delivery {
    /// `None` when the body could not be decoded (a poison message): it goes to dead letters.
    pub message: Option<QueueMessage>,
    /// Raw body, kept for dead-letter records.
    pub body: String,
    /// Handle for this delivery only; a later delivery of the same message has a new one.
    pub receipt: String,
    /// How many times the message has been received, this time included.
    pub receive_count: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue: {0}")]
    Backend(String),
    #[error("queue: receipt {0} is no longer valid (the message was received again)")]
    StaleReceipt(String),
}

/// The step queue. SQS-like: visibility timeout, per-message delay, dead letters.
#[async_trait]
pub trait StepQueue: Send + Sync {
    /// Queues `message`, visible after `delay`. If the same message (same dedupe key) is already
    /// queued and not yet received, this may be dropped: at most one pending copy is needed.
    async fn enqueue(&self, message: &QueueMessage, delay: Duration) -> Result<(), QueueError>;
    /// Receives up to `max` visible messages, hiding each for `visibility`.
    async fn receive(&self, max: usize, visibility: Duration) -> Result<Vec<Delivery>, QueueError>;
    /// Done with the delivery: delete the message.
    async fn ack(&self, receipt: &str) -> Result<(), QueueError>;
    /// Make the message visible again after `delay` (retry later; SQS ChangeMessageVisibility).
    /// The next delivery counts as another receive of the same message.
    async fn release(&self, receipt: &str, delay: Duration) -> Result<(), QueueError>;
    /// Give the message back to be delivered after `delay` as if newly queued: its receive
    /// count starts over. For a delivery that did its work by finding the step must wait (a
    /// backoff, a throttle, an operation still running, another worker's lease), so waiting,
    /// however long, never brings a message nearer the dead-letter limit.
    async fn requeue(&self, receipt: &str, delay: Duration) -> Result<(), QueueError>;
    /// Move the message to the dead-letter store with a reason.
    async fn dead_letter(&self, receipt: &str, reason: &str) -> Result<(), QueueError>;
    /// How much work is waiting, for monitoring (`/metrics`); `None` where the backend cannot
    /// say. An approximation on SQS, as SQS itself reports it.
    async fn backlog(&self) -> Result<Option<Backlog>, QueueError> {
        Ok(None)
    }
}

/// Messages queued (waiting, delayed or in flight) and dead letters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backlog {
    pub queued: u64,
    pub dead_letters: u64,
}
