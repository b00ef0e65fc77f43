//! Receivers for the notices Passage sends: they accept and keep what arrives, so tests can
//! assert a reminder really reached an inbox, a Slack channel or a webhook endpoint.

pub mod slack;
pub mod smtp;
pub mod webhook;

pub use slack::{HookState, SlackMessage, SlackSink};
pub use smtp::{ReceivedMail, SmtpSink, SmtpTlsMode};
pub use webhook::{VerifiedDelivery, WebhookSink};
