//! Email through the host's SMTP relay. One message per notice delivery, addressed to the
//! channel's `to` plus, when the channel asks for it, the people the notice is about. The
//! relay's reply code and text become the delivery's detail.

use std::fmt;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use passage_core::ports::Notice;

use crate::error::{DeliveryError, NotifyError};
use crate::settings::{SmtpSettings, SmtpTls};

/// A configured relay.
pub(crate) struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    settings: SmtpSettings,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The settings' password is a `Secret`, so this shows it only as a placeholder.
        f.debug_struct("Mailer")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// Checks the settings and builds the transport (no connection is made yet).
    pub(crate) fn new(settings: &SmtpSettings, timeout: Duration) -> Result<Self, NotifyError> {
        let invalid = |field, reason: String| NotifyError::SmtpSettings { field, reason };
        if settings.host.trim().is_empty() {
            return Err(invalid("host", "must name the relay".into()));
        }
        if settings.port == 0 {
            return Err(invalid("port", "must be 1-65535".into()));
        }
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| invalid("from", format!("{:?} is not a mailbox: {e}", settings.from)))?;
        let host = settings.host.trim();
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host);
        let builder = match settings.tls {
            SmtpTls::None => {
                if settings.ca_pem.is_some() {
                    return Err(invalid(
                        "ca_pem",
                        "is only used with tls = \"starttls\" or \"tls\"".into(),
                    ));
                }
                builder
            }
            // STARTTLS must succeed: a relay that does not offer it is refused, never used
            // in plain text.
            SmtpTls::Starttls => builder.tls(Tls::Required(tls_parameters(settings)?)),
            SmtpTls::Tls => builder.tls(Tls::Wrapper(tls_parameters(settings)?)),
        };
        let mut builder = builder.port(settings.port).timeout(Some(timeout));
        match (&settings.username, &settings.password) {
            (Some(user), Some(password)) => {
                builder = builder
                    .credentials(Credentials::new(user.clone(), password.expose().to_owned()));
            }
            (None, None) => {}
            (Some(_), None) => {
                return Err(invalid(
                    "password",
                    "username is set, so password is required".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "username",
                    "password is set, so username is required".into(),
                ));
            }
        }
        Ok(Self {
            transport: builder.build(),
            from,
            settings: settings.clone(),
        })
    }

    /// Sends `notice` to `addresses`; the relay's acceptance reply on success.
    pub(crate) async fn send(
        &self,
        addresses: &[String],
        notice: &Notice,
    ) -> Result<String, DeliveryError> {
        if addresses.is_empty() {
            return Err(DeliveryError::NoRecipients);
        }
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(notice.subject.clone())
            .header(ContentType::TEXT_PLAIN);
        for address in addresses {
            let mailbox: Mailbox =
                address
                    .parse()
                    .map_err(
                        |e: lettre::address::AddressError| DeliveryError::InvalidAddress {
                            address: address.clone(),
                            reason: e.to_string(),
                        },
                    )?;
            builder = builder.to(mailbox);
        }
        let message = builder
            .body(notice.text.clone())
            .map_err(|e| DeliveryError::Message(e.to_string()))?;
        match self.transport.send(message).await {
            Ok(response) => Ok(format!(
                "SMTP {} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            )
            .trim_end()
            .to_owned()),
            Err(error) => Err(smtp_error(&error)),
        }
    }
}

/// Certificate checks for the relay: its name against `host`, its chain against the system's
/// roots plus the configured private CA.
fn tls_parameters(settings: &SmtpSettings) -> Result<TlsParameters, NotifyError> {
    let host = settings.host.trim();
    let invalid = |field, reason: String| NotifyError::SmtpSettings { field, reason };
    let mut builder = TlsParameters::builder(host.to_owned());
    if let Some(pem) = &settings.ca_pem {
        let ca = Certificate::from_pem(pem.as_bytes())
            .map_err(|e| invalid("ca_pem", format!("is not a PEM certificate: {e}")))?;
        builder = builder.add_root_certificate(ca);
    }
    builder
        .build_rustls()
        .map_err(|e| invalid("tls", format!("cannot set up TLS for {host}: {e}")))
}

/// A relay's refusal as `SMTP <code> <text>`; anything else (connection, TLS) as its chain.
fn smtp_error(error: &lettre::transport::smtp::Error) -> DeliveryError {
    match error.status() {
        Some(code) => DeliveryError::SmtpRefused {
            code: code.to_string(),
            text: std::error::Error::source(error)
                .map(|s| s.to_string())
                .unwrap_or_default(),
        },
        None => DeliveryError::SmtpTransport(error.to_string()),
    }
}

/// The channel's addresses plus, when asked, the notice's recipients, without duplicates
/// (compared case-insensitively) and in order.
pub(crate) fn addresses(to: &[String], include_recipients: bool, notice: &Notice) -> Vec<String> {
    let extra = if include_recipients {
        notice.recipients.as_slice()
    } else {
        &[]
    };
    let mut out: Vec<String> = Vec::new();
    for address in to.iter().chain(extra) {
        let address = address.trim();
        if !address.is_empty() && !out.iter().any(|a| a.eq_ignore_ascii_case(address)) {
            out.push(address.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use passage_core::secret::Secret;

    fn settings() -> SmtpSettings {
        SmtpSettings {
            host: "127.0.0.1".into(),
            port: 2525,
            from: "Passage <offboarding@example.com>".into(),
            username: Some("relay".into()),
            password: Some(Secret::new("hunter2-smtp")),
            tls: SmtpTls::None,
            ca_pem: None,
        }
    }

    #[test]
    fn settings_problems_name_the_field() {
        let mut s = settings();
        s.password = None;
        let err = Mailer::new(&s, Duration::from_secs(1)).unwrap_err();
        assert!(err.to_string().starts_with("smtp.password:"), "{err}");
        let mut s = settings();
        s.from = "not a mailbox".into();
        let err = Mailer::new(&s, Duration::from_secs(1)).unwrap_err();
        assert!(err.to_string().starts_with("smtp.from:"), "{err}");
        let mut s = settings();
        s.tls = SmtpTls::Starttls;
        s.ca_pem =
            Some("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n".into());
        let err = Mailer::new(&s, Duration::from_secs(1)).unwrap_err();
        assert!(err.to_string().starts_with("smtp.ca_pem:"), "{err}");
        let mut s = settings();
        s.ca_pem = Some(String::new());
        let err = Mailer::new(&s, Duration::from_secs(1)).unwrap_err();
        assert!(err.to_string().starts_with("smtp.ca_pem:"), "{err}");
    }

    #[test]
    fn debug_hides_the_password() {
        let mailer = Mailer::new(&settings(), Duration::from_secs(1)).unwrap();
        let shown = format!("{mailer:?}");
        assert!(
            shown.contains("127.0.0.1") && !shown.contains("hunter2"),
            "{shown}"
        );
    }
}
