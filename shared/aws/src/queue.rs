//! The step queue on SQS: step messages on one queue, finalize messages on another (so each
//! gets its own function and concurrency), and a dead-letter queue behind both.
//!
//! Receipts are `<queue-url>|<receipt-handle>|<message-id>|<body>`: `ack` and `release` need
//! to know the queue, and `requeue` and `dead_letter` must forward the body, which SQS cannot
//! look up from a receipt handle. They are opaque to the engine and live only as long as one delivery.
//!
//! In Lambda the event source mapping receives the batches; [`delivery_from_sqs`] turns each
//! record into a [`Delivery`]. [`StepQueue::receive`] serves tests and an optional poller.

use crate::{AwsNames, error_text};
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::operation::change_message_visibility::ChangeMessageVisibilityError;
use aws_sdk_sqs::operation::delete_message::DeleteMessageError;
use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName};
use passage_core::ports::{Backlog, Delivery, QueueError, QueueMessage, StepQueue};
use std::time::Duration;

/// SQS delays a message by at most 15 minutes. A longer delay is cut to that: the step's own
/// `not_before` makes the worker requeue it again until its time has come.
const MAX_DELAY_SECS: u64 = 900;
/// A message may stay invisible for at most 12 hours after it was received; a minute is kept
/// back for the time the handler has already spent.
const MAX_VISIBILITY_SECS: u64 = 43_200 - 60;
/// Reasons longer than this are cut in dead-letter records.
const MAX_REASON: usize = 4096;

#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    step_url: String,
    finalize_url: String,
    dead_letter_url: String,
    wait_secs: i32,
}

/// A message kept in the dead-letter queue, as [`SqsQueue::dead_letters`] reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    pub body: String,
    /// Why it was given up (absent when SQS moved it after too many receives).
    pub reason: Option<String>,
    pub source_queue: Option<String>,
}

/// Whole seconds, rounded up so a message is never visible early.
fn ceil_secs(d: Duration, max: u64) -> i32 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.min(max) as i32
}

/// A delivery of an SQS message, received by the Lambda event source mapping or by `receive`.
pub fn delivery_from_sqs(
    queue_url: &str,
    message_id: &str,
    receipt_handle: &str,
    body: &str,
    approximate_receive_count: u32,
) -> Delivery {
    Delivery {
        message: serde_json::from_str(body).ok(),
        body: body.to_owned(),
        receipt: format!("{queue_url}|{receipt_handle}|{message_id}|{body}"),
        receive_count: approximate_receive_count,
    }
}

/// The parts of a receipt made by [`delivery_from_sqs`].
struct Receipt<'a> {
    queue_url: &'a str,
    handle: &'a str,
    message_id: &'a str,
    body: &'a str,
}

fn parse_receipt(receipt: &str) -> Result<Receipt<'_>, QueueError> {
    let mut parts = receipt.splitn(4, '|');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(queue_url), Some(handle), Some(message_id), Some(body))
            if !queue_url.is_empty() && !handle.is_empty() =>
        {
            Ok(Receipt {
                queue_url,
                handle,
                message_id,
                body,
            })
        }
        _ => Err(QueueError::Backend(format!(
            "not an SQS receipt of this adapter: {:.80}",
            receipt
        ))),
    }
}

impl SqsQueue {
    pub fn new(config: &SdkConfig, names: &AwsNames) -> Self {
        Self::from_client(
            Client::new(config),
            &names.step_queue_url,
            &names.finalize_queue_url,
            &names.dead_letter_queue_url,
        )
    }

    pub fn from_client(client: Client, step_url: &str, finalize_url: &str, dlq_url: &str) -> Self {
        Self {
            client,
            step_url: step_url.to_owned(),
            finalize_url: finalize_url.to_owned(),
            dead_letter_url: dlq_url.to_owned(),
            wait_secs: 0,
        }
    }

    /// Long-polls for up to `wait` (at most 20 s) in `receive` when a queue is empty.
    pub fn with_wait_time(mut self, wait: Duration) -> Self {
        self.wait_secs = ceil_secs(wait, 20);
        self
    }

    /// The queue a message goes to.
    pub fn queue_url_for(&self, message: &QueueMessage) -> &str {
        match message {
            QueueMessage::Step { .. } => &self.step_url,
            QueueMessage::Finalize { .. } => &self.finalize_url,
        }
    }

    /// Reads up to ten dead letters without taking them off the queue.
    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>, QueueError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.dead_letter_url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| QueueError::Backend(error_text(&e)))?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let attr = |name: &str| {
                    m.message_attributes()
                        .and_then(|a| a.get(name))
                        .and_then(|v| v.string_value())
                        .map(str::to_owned)
                };
                DeadLetter {
                    reason: attr("reason"),
                    source_queue: attr("source_queue"),
                    body: m.body.clone().unwrap_or_default(),
                }
            })
            .collect())
    }

    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        let r = parse_receipt(receipt)?;
        match self
            .client
            .delete_message()
            .queue_url(r.queue_url)
            .receipt_handle(r.handle)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(DeleteMessageError::ReceiptHandleIsInvalid(_)) => {
                    Err(QueueError::StaleReceipt(short(receipt)))
                }
                _ => Err(QueueError::Backend(error_text(&e))),
            },
        }
    }
}

/// A receipt without its body, for error messages.
fn short(receipt: &str) -> String {
    match parse_receipt(receipt) {
        Ok(r) => format!("{}|{:.24}…", r.queue_url, r.handle),
        Err(_) => format!("{receipt:.80}"),
    }
}

fn text_attribute(value: &str) -> Result<MessageAttributeValue, QueueError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| QueueError::Backend(e.to_string()))
}

impl SqsQueue {
    /// Sends every body to `queue_url`, ten to a request. Returns how many were sent.
    pub async fn send_all(&self, queue_url: &str, bodies: &[String]) -> Result<usize, QueueError> {
        for (chunk_no, chunk) in bodies.chunks(10).enumerate() {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, body)| {
                    aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                        .id(format!("m{chunk_no}-{i}"))
                        .message_body(body)
                        .build()
                        .map_err(|e| QueueError::Backend(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| QueueError::Backend(error_text(&e)))?;
            if let Some(failed) = out.failed().first() {
                return Err(QueueError::Backend(format!(
                    "{} of {} messages not sent: {}",
                    out.failed().len(),
                    chunk.len(),
                    failed.message().unwrap_or(failed.code())
                )));
            }
        }
        Ok(bodies.len())
    }
}

#[async_trait]
impl StepQueue for SqsQueue {
    /// A standard queue: a message queued twice may be delivered twice (the port allows it;
    /// the engine's step claim makes the second a no-op).
    async fn enqueue(&self, message: &QueueMessage, delay: Duration) -> Result<(), QueueError> {
        let body =
            serde_json::to_string(message).map_err(|e| QueueError::Backend(e.to_string()))?;
        self.client
            .send_message()
            .queue_url(self.queue_url_for(message))
            .message_body(body)
            .delay_seconds(ceil_secs(delay, MAX_DELAY_SECS))
            .send()
            .await
            .map_err(|e| QueueError::Backend(error_text(&e)))?;
        Ok(())
    }

    /// Step messages first, then finalize messages, up to `max` (at most ten from each).
    async fn receive(&self, max: usize, visibility: Duration) -> Result<Vec<Delivery>, QueueError> {
        let mut deliveries = Vec::new();
        for url in [&self.step_url, &self.finalize_url] {
            let want = max.saturating_sub(deliveries.len()).min(10);
            if want == 0 {
                break;
            }
            let out = self
                .client
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(want as i32)
                .visibility_timeout(ceil_secs(visibility, MAX_VISIBILITY_SECS))
                .wait_time_seconds(self.wait_secs)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .send()
                .await
                .map_err(|e| QueueError::Backend(error_text(&e)))?;
            for m in out.messages.unwrap_or_default() {
                let count = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1);
                deliveries.push(delivery_from_sqs(
                    url,
                    m.message_id().unwrap_or_default(),
                    m.receipt_handle().unwrap_or_default(),
                    m.body().unwrap_or_default(),
                    count,
                ));
            }
        }
        Ok(deliveries)
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        self.delete(receipt).await
    }

    async fn release(&self, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        let r = parse_receipt(receipt)?;
        match self
            .client
            .change_message_visibility()
            .queue_url(r.queue_url)
            .receipt_handle(r.handle)
            .visibility_timeout(ceil_secs(delay, MAX_VISIBILITY_SECS))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(
                    ChangeMessageVisibilityError::ReceiptHandleIsInvalid(_)
                    | ChangeMessageVisibilityError::MessageNotInflight(_),
                ) => Err(QueueError::StaleReceipt(short(receipt))),
                _ => Err(QueueError::Backend(error_text(&e))),
            },
        }
    }

    /// SQS cannot reset a message's receive count, so the message is sent again as a new one
    /// (delayed by at most 15 minutes; a step that must wait longer is requeued again by its
    /// worker until its time has come) and the delivered copy deleted. A crash between the two
    /// leaves two copies, which the step's claim makes harmless, never none.
    async fn requeue(&self, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        let r = parse_receipt(receipt)?;
        self.client
            .send_message()
            .queue_url(r.queue_url)
            .message_body(r.body)
            .delay_seconds(ceil_secs(delay, MAX_DELAY_SECS))
            .send()
            .await
            .map_err(|e| QueueError::Backend(error_text(&e)))?;
        self.delete(receipt).await
    }

    /// Copies the message to the dead-letter queue with its reason, then deletes it. A crash
    /// between the two leaves the message in both queues, never in neither.
    async fn dead_letter(&self, receipt: &str, reason: &str) -> Result<(), QueueError> {
        let r = parse_receipt(receipt)?;
        let reason: String = if reason.is_empty() {
            "(no reason given)".into()
        } else {
            reason.chars().take(MAX_REASON).collect()
        };
        let body = if r.body.is_empty() { "(empty)" } else { r.body };
        let mut send = self
            .client
            .send_message()
            .queue_url(&self.dead_letter_url)
            .message_body(body)
            .message_attributes("reason", text_attribute(&reason)?)
            .message_attributes("source_queue", text_attribute(r.queue_url)?);
        if !r.message_id.is_empty() {
            send = send.message_attributes("source_message_id", text_attribute(r.message_id)?);
        }
        send.send()
            .await
            .map_err(|e| QueueError::Backend(error_text(&e)))?;
        tracing::warn!(queue = r.queue_url, message_id = r.message_id, %reason, "message dead-lettered");
        self.delete(receipt).await
    }

    /// SQS's approximate counts: waiting, in flight and delayed on the step and finalize
    /// queues; waiting on the dead-letter queue.
    async fn backlog(&self) -> Result<Option<Backlog>, QueueError> {
        let mut queued = 0;
        for url in [&self.step_url, &self.finalize_url] {
            queued += self
                .approximate(
                    url,
                    &[
                        QueueAttributeName::ApproximateNumberOfMessages,
                        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
                        QueueAttributeName::ApproximateNumberOfMessagesDelayed,
                    ],
                )
                .await?;
        }
        let dead_letters = self
            .approximate(
                &self.dead_letter_url,
                &[QueueAttributeName::ApproximateNumberOfMessages],
            )
            .await?;
        Ok(Some(Backlog {
            queued,
            dead_letters,
        }))
    }
}

impl SqsQueue {
    /// The sum of the named count attributes of one queue.
    async fn approximate(
        &self,
        url: &str,
        names: &[QueueAttributeName],
    ) -> Result<u64, QueueError> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .set_attribute_names(Some(names.to_vec()))
            .send()
            .await
            .map_err(|e| QueueError::Backend(error_text(&e)))?;
        let attributes = out.attributes.unwrap_or_default();
        Ok(names
            .iter()
            .filter_map(|n| attributes.get(n))
            .filter_map(|v| v.parse::<u64>().ok())
            .sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use passage_core::{RunId, StepKey};

    #[test]
    fn receipts_carry_queue_handle_id_and_body() {
        let msg = QueueMessage::Step {
            run_id: RunId::new("run_a"),
            step_key: StepKey::new("okta.suspend"),
        };
        let body = serde_json::to_string(&msg).unwrap();
        let d = delivery_from_sqs("https://sqs/q", "m-1", "h+/=", &body, 3);
        assert_eq!(d.message, Some(msg));
        assert_eq!(d.receive_count, 3);
        let r = parse_receipt(&d.receipt).unwrap();
        assert_eq!(
            (r.queue_url, r.handle, r.message_id, r.body),
            ("https://sqs/q", "h+/=", "m-1", body.as_str())
        );
        let poison = delivery_from_sqs("https://sqs/q", "h", "m", "a|b|c", 1);
        assert_eq!(poison.message, None);
        assert_eq!(parse_receipt(&poison.receipt).unwrap().body, "a|b|c");
        assert!(parse_receipt("17:abc").is_err());
    }

    #[test]
    fn durations_round_up_to_whole_seconds_within_limits() {
        assert_eq!(ceil_secs(Duration::ZERO, 900), 0);
        assert_eq!(ceil_secs(Duration::from_millis(300), 900), 1);
        assert_eq!(ceil_secs(Duration::from_secs(2), 900), 2);
        assert_eq!(ceil_secs(Duration::from_secs(3600), MAX_DELAY_SECS), 900);
        assert_eq!(
            ceil_secs(Duration::from_secs(86_400), MAX_VISIBILITY_SECS),
            43_140
        );
    }
}
