//! passage-notify: delivers reminders and escalations for overdue human steps (an unreturned
//! laptop, an unconfirmed data hand-over) over a tenant's channels — Standard Webhooks-signed
//! POSTs, email through the host's SMTP relay, and Slack incoming webhooks.
//!
//! [`ChannelNotifier`] implements the core [`Notifier`](passage_core::ports::Notifier)
//! port. Every channel is tried once, concurrently, within a bounded time, and every attempt
//! is reported as a [`NoticeDelivery`](passage_core::ports::NoticeDelivery) that is
//! safe to record in events and evidence: targets and details never carry a secret. Retrying
//! later is the engine's job (it reminds again); the only retry here is one short wait when a
//! receiver answers 429 with a `Retry-After` of a few seconds.

mod email;
mod error;
mod http;
mod notifier;
mod settings;
mod slack;
mod target;
mod webhook;

pub use error::{DeliveryError, NotifyError};
pub use notifier::{ChannelNotifier, DEFAULT_TIMEOUT};
pub use settings::{NotifySettings, SmtpSettings, SmtpTls};
