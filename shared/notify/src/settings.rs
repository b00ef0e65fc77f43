//! Host configuration for notice delivery. Only the SMTP relay is host-wide; webhook and
//! Slack destinations belong to each tenant's channels.

use passage_core::secret::Secret;
use serde::Deserialize;

/// What the host provides for delivering notices.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySettings {
    /// The relay email channels go through. Without it, email channels report a failed
    /// delivery naming the missing setting.
    #[serde(default)]
    pub smtp: Option<SmtpSettings>,
}

/// An SMTP relay (RFC 5321 submission).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    /// The `From` mailbox, e.g. `Passage <offboarding@example.com>`.
    pub from: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    #[serde(default)]
    pub tls: SmtpTls,
    /// PEM of a private CA to trust besides the system's, for an internal relay whose
    /// certificate a public CA did not issue. The relay's name must still match.
    #[serde(default)]
    pub ca_pem: Option<String>,
}

/// How the connection to the relay is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text, no TLS at all: only for a relay on the same host or a test sink.
    None,
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
}
