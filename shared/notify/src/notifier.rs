//! [`ChannelNotifier`]: the `Notifier` port over webhooks, email and Slack. Channels are
//! delivered concurrently, each within a bounded time, so one slow or broken receiver
//! neither delays nor prevents the others.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use passage_core::domain::TenantPolicy;
use passage_core::ports::{Channel, Notice, NoticeDelivery, Notifier};

use crate::email::{self, Mailer};
use crate::error::{DeliveryError, NotifyError};
use crate::settings::NotifySettings;
use crate::target::{self, UNPARSEABLE};
use crate::{slack, webhook};

/// How long one channel's delivery may take, including a short 429 retry.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Delivers notices over webhook, email and Slack channels.
#[derive(Clone)]
pub struct ChannelNotifier {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    mailer: Option<Mailer>,
    timeout: Duration,
}

impl fmt::Debug for ChannelNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelNotifier")
            .field("mailer", &self.inner.mailer)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl ChannelNotifier {
    /// A notifier with the default per-channel timeout.
    pub fn new(settings: &NotifySettings) -> Result<Self, NotifyError> {
        Self::with_timeout(settings, DEFAULT_TIMEOUT)
    }

    /// A notifier whose every channel delivery is cut off after `timeout`.
    pub fn with_timeout(settings: &NotifySettings, timeout: Duration) -> Result<Self, NotifyError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            // Standard Webhooks: a redirect is a failed delivery, never followed.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("passage-notify/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| NotifyError::HttpClient(e.to_string()))?;
        let mailer = settings
            .smtp
            .as_ref()
            .map(|smtp| Mailer::new(smtp, timeout))
            .transpose()?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                mailer,
                timeout,
            }),
        })
    }
}

impl Inner {
    /// Where `channel` delivers, with secrets removed.
    fn target(channel: &Channel, notice: &Notice) -> String {
        match channel {
            Channel::Webhook { url, .. } => target::parse_http_url(url, "webhook")
                .map_or_else(|_| UNPARSEABLE.to_owned(), |u| target::without_query(&u)),
            Channel::Slack { url } => target::parse_http_url(url.expose(), "slack")
                .map_or_else(|_| UNPARSEABLE.to_owned(), |u| target::origin(&u)),
            Channel::Email {
                to,
                include_recipients,
            } => email::addresses(to, *include_recipients, notice).join(", "),
        }
    }

    /// One delivery: whether it got through, and the receiver's answer or the error.
    async fn deliver(&self, channel: &Channel, notice: &Notice) -> (bool, String) {
        let outcome = match channel {
            Channel::Webhook { url, secret } => {
                let attempt = async {
                    let url = target::parse_http_url(url, "webhook")?;
                    let key = webhook::signing_key(secret)?;
                    webhook::deliver(&self.http, url, &key, notice).await
                };
                attempt
                    .await
                    .map(|reply| (reply.is_success(), reply.detail()))
            }
            Channel::Slack { url } => {
                let attempt = async {
                    let url = target::parse_http_url(url.expose(), "slack")?;
                    slack::deliver(&self.http, url, notice).await
                };
                attempt
                    .await
                    .map(|reply| (reply.is_success(), reply.detail()))
            }
            Channel::Email {
                to,
                include_recipients,
            } => {
                let attempt = async {
                    let mailer = self
                        .mailer
                        .as_ref()
                        .ok_or(DeliveryError::SmtpNotConfigured)?;
                    let addresses = email::addresses(to, *include_recipients, notice);
                    mailer.send(&addresses, notice).await
                };
                attempt.await.map(|detail| (true, detail))
            }
        };
        outcome.unwrap_or_else(|error: DeliveryError| (false, error.to_string()))
    }

    async fn deliver_bounded(&self, channel: &Channel, notice: &Notice) -> NoticeDelivery {
        let target = Self::target(channel, notice);
        let (delivered, detail) =
            match tokio::time::timeout(self.timeout, self.deliver(channel, notice)).await {
                Ok(outcome) => outcome,
                Err(_) => (
                    false,
                    format!("no answer within {} s", self.timeout.as_secs_f32()),
                ),
            };
        NoticeDelivery {
            channel: channel.kind().to_owned(),
            target,
            delivered,
            detail,
            at: Timestamp::now(),
        }
    }
}

#[async_trait]
impl Notifier for ChannelNotifier {
    async fn send(
        &self,
        tenant: &TenantPolicy,
        channels: &[Channel],
        notice: &Notice,
    ) -> Vec<NoticeDelivery> {
        let notice = Arc::new(notice.clone());
        let tasks: Vec<_> = channels
            .iter()
            .map(|channel| {
                let inner = Arc::clone(&self.inner);
                let channel = channel.clone();
                let notice = Arc::clone(&notice);
                let fallback = NoticeDelivery {
                    channel: channel.kind().to_owned(),
                    target: Inner::target(&channel, &notice),
                    delivered: false,
                    detail: "delivery task failed before reporting".to_owned(),
                    at: notice.at,
                };
                let task =
                    tokio::spawn(async move { inner.deliver_bounded(&channel, &notice).await });
                (task, fallback)
            })
            .collect();
        let mut deliveries = Vec::with_capacity(tasks.len());
        for (task, mut fallback) in tasks {
            let delivery = match task.await {
                Ok(delivery) => delivery,
                Err(_) => {
                    fallback.at = Timestamp::now();
                    fallback
                }
            };
            tracing::info!(
                tenant = %tenant.id,
                run = %notice.run_id,
                step = notice.step.as_ref().map_or("-", |s| s.as_str()),
                channel = %delivery.channel,
                target = %delivery.target,
                delivered = delivery.delivered,
                detail = %delivery.detail,
                "notice delivery"
            );
            deliveries.push(delivery);
        }
        deliveries
    }
}
