//! Errors. [`NotifyError`] is a configuration problem found when the notifier is built;
//! [`DeliveryError`] is why one delivery failed, and its text becomes the delivery's
//! `detail`, so no variant may carry a secret (URLs are reduced to what `target` shows).

/// The notifier could not be built from its settings.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("smtp.{field}: {reason}")]
    SmtpSettings { field: &'static str, reason: String },
    #[error("could not build the HTTP client for webhook and Slack delivery: {0}")]
    HttpClient(String),
}

/// Why one delivery did not happen.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("{channel} URL is not a valid absolute URL: {reason}")]
    InvalidUrl {
        channel: &'static str,
        reason: url::ParseError,
    },
    #[error("{channel} URL must use http or https, not {scheme}")]
    UnsupportedScheme {
        channel: &'static str,
        scheme: String,
    },
    #[error("{channel} URL has no host")]
    MissingHost { channel: &'static str },
    #[error("webhook secret is not a Standard Webhooks secret (whsec_ followed by base64)")]
    InvalidWebhookSecret,
    #[error("notice could not be serialized as JSON: {0}")]
    Serialize(String),
    #[error("email channel has no recipients (to is empty and the notice names none)")]
    NoRecipients,
    #[error("email address {address:?} is not valid: {reason}")]
    InvalidAddress { address: String, reason: String },
    #[error("email channel configured but this host has no smtp settings")]
    SmtpNotConfigured,
    #[error("email could not be built: {0}")]
    Message(String),
    #[error("SMTP {code} {text}")]
    SmtpRefused { code: String, text: String },
    #[error("SMTP delivery failed: {0}")]
    SmtpTransport(String),
    #[error("HTTP request failed: {0}")]
    Http(String),
}
