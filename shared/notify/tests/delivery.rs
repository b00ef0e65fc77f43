//! Notices delivered over real loopback connections to the sandbox's SMTP server, Slack
//! incoming-webhook emulator and Standard Webhooks endpoint, checked by what arrived there.

use std::time::{Duration, Instant};

use passage_core::domain::TenantPolicy;
use passage_core::ids::{RunId, StepKey};
use passage_core::ports::{Channel, Notice, NoticeDelivery, NoticeKind, Notifier};
use passage_core::secret::Secret;
use passage_notify::{ChannelNotifier, NotifySettings, SmtpSettings, SmtpTls};
use passage_sandbox::sinks::{HookState, SlackSink, SmtpSink, SmtpTlsMode, WebhookSink};

const SMTP_PASSWORD: &str = "smtp-pass-7f3c91";

fn notice(kind: NoticeKind) -> Notice {
    Notice {
        kind,
        tenant: "acme".into(),
        run_id: RunId::new("run-0193a"),
        step: Some(StepKey::new("laptop_return")),
        subject: "Laptop return for jane@example.com is 3 days overdue".into(),
        text: "Jane's laptop (serial C02XK1) has not been returned.\nConfirm receipt in Passage once it arrives.".into(),
        recipients: vec!["manager@example.com".into(), "jane@example.com".into()],
        at: "2026-03-02T09:00:00Z".parse().unwrap(),
    }
}

/// The three sinks, with the SMTP one requiring the relay credentials.
struct Sinks {
    smtp: SmtpSink,
    slack: SlackSink,
    webhook: WebhookSink,
}

impl Sinks {
    async fn start() -> Self {
        let smtp = SmtpSink::start().await.unwrap();
        smtp.require_auth("relay-user", SMTP_PASSWORD);
        Self {
            smtp,
            slack: SlackSink::start().await.unwrap(),
            webhook: WebhookSink::start().await.unwrap(),
        }
    }

    fn settings(&self) -> NotifySettings {
        Self::settings_for(&self.smtp)
    }

    fn notifier(&self) -> ChannelNotifier {
        ChannelNotifier::new(&self.settings()).unwrap()
    }

    /// Sends the standard reminder for tenant `acme` on `channels`.
    async fn remind(&self, channels: &[Channel]) -> Vec<NoticeDelivery> {
        self.notifier()
            .send(
                &TenantPolicy::new("acme"),
                channels,
                &notice(NoticeKind::Reminder),
            )
            .await
    }

    fn channels(&self) -> Vec<Channel> {
        vec![
            Channel::Webhook {
                url: self.webhook.url(),
                secret: Secret::new(self.webhook.secret()),
            },
            Channel::Email {
                to: vec!["it-desk@acme.example".into()],
                include_recipients: true,
            },
            Channel::Slack {
                url: Secret::new(self.slack.url()),
            },
        ]
    }
}

fn by_channel<'a>(deliveries: &'a [NoticeDelivery], channel: &str) -> &'a NoticeDelivery {
    deliveries
        .iter()
        .find(|d| d.channel == channel)
        .unwrap_or_else(|| panic!("no {channel} delivery in {deliveries:?}"))
}

#[tokio::test]
async fn a_reminder_really_arrives_on_all_three_channels() {
    let sinks = Sinks::start().await;
    let notice = notice(NoticeKind::Reminder);
    let deliveries = sinks
        .notifier()
        .send(&TenantPolicy::new("acme"), &sinks.channels(), &notice)
        .await;

    assert_eq!(
        deliveries
            .iter()
            .map(|d| d.channel.as_str())
            .collect::<Vec<_>>(),
        ["webhook", "email", "slack"],
        "one delivery per channel, in channel order"
    );
    assert!(deliveries.iter().all(|d| d.delivered), "{deliveries:#?}");

    // Webhook: verified by the endpoint with its own secret, body equal to the notice.
    let hooks = sinks.webhook.received();
    assert_eq!(hooks.len(), 1);
    let sent: Notice = serde_json::from_slice(&hooks[0].body).unwrap();
    assert_eq!(sent, notice);
    assert!(hooks[0].id.starts_with("msg_"));
    assert_eq!(by_channel(&deliveries, "webhook").detail, "HTTP 204");
    assert_eq!(
        by_channel(&deliveries, "webhook").target,
        sinks.webhook.url()
    );

    // Email: one message to the desk plus the notice's people, with the notice's subject.
    let mails = sinks.smtp.received();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.envelope_from, "offboarding@acme.example");
    assert_eq!(
        mail.envelope_to,
        [
            "it-desk@acme.example",
            "manager@example.com",
            "jane@example.com"
        ]
    );
    assert_eq!(mail.subject.as_deref(), Some(notice.subject.as_str()));
    let to = mail.header("To").unwrap();
    for address in &mail.envelope_to {
        assert!(to.contains(address.as_str()), "To: {to}");
    }
    assert!(
        mail.body().contains("has not been returned"),
        "{}",
        mail.body()
    );
    assert_eq!(mail.authenticated_as.as_deref(), Some("relay-user"));
    let email = by_channel(&deliveries, "email");
    assert!(email.detail.starts_with("SMTP 250"), "{}", email.detail);
    assert_eq!(
        email.target,
        "it-desk@acme.example, manager@example.com, jane@example.com"
    );

    // Slack: the text and the blocks reached the channel.
    let posts = sinks.slack.received();
    assert_eq!(posts.len(), 1);
    let text = posts[0].text.as_deref().unwrap();
    assert!(
        text.contains(&notice.subject) && text.contains("has not been returned"),
        "{text}"
    );
    let blocks = posts[0].blocks.as_ref().unwrap().as_array().unwrap();
    assert_eq!(blocks[0]["text"]["text"], notice.subject.as_str());
    let slack = by_channel(&deliveries, "slack");
    assert_eq!(slack.detail, "HTTP 200 ok");
    assert_eq!(slack.target, format!("http://{}", sinks.slack.addr()));
}

#[tokio::test]
async fn slack_404_fails_alone() {
    let sinks = Sinks::start().await;
    let mut channels = sinks.channels();
    channels[2] = Channel::Slack {
        url: Secret::new(sinks.slack.unknown_url()),
    };
    let deliveries = sinks
        .notifier()
        .send(
            &TenantPolicy::new("acme"),
            &channels,
            &notice(NoticeKind::Escalation),
        )
        .await;
    let slack = by_channel(&deliveries, "slack");
    assert!(!slack.delivered);
    assert_eq!(slack.detail, "HTTP 404 no_service");
    assert!(by_channel(&deliveries, "webhook").delivered);
    assert!(by_channel(&deliveries, "email").delivered);
    assert_eq!(sinks.webhook.received().len(), 1);
    assert_eq!(sinks.smtp.received().len(), 1);
}

#[tokio::test]
async fn archived_slack_channel_is_reported_with_slacks_error() {
    let sinks = Sinks::start().await;
    sinks
        .slack
        .set_hook_state(&sinks.slack.url(), HookState::Archived);
    let deliveries = sinks.remind(&sinks.channels()).await;
    let slack = by_channel(&deliveries, "slack");
    assert!(!slack.delivered);
    assert_eq!(slack.detail, "HTTP 410 channel_is_archived");
    assert!(sinks.slack.received().is_empty());
}

#[tokio::test]
async fn smtp_550_for_a_recipient_fails_email_alone() {
    let sinks = Sinks::start().await;
    sinks.smtp.reject_recipient("manager@example.com");
    let deliveries = sinks.remind(&sinks.channels()).await;
    let email = by_channel(&deliveries, "email");
    assert!(!email.delivered);
    assert!(email.detail.starts_with("SMTP 550"), "{}", email.detail);
    assert!(
        email.detail.contains("manager@example.com"),
        "{}",
        email.detail
    );
    assert!(sinks.smtp.received().is_empty());
    assert!(by_channel(&deliveries, "webhook").delivered);
    assert!(by_channel(&deliveries, "slack").delivered);
    assert_eq!(sinks.slack.received().len(), 1);
}

#[tokio::test]
async fn smtp_outage_421_is_reported() {
    let sinks = Sinks::start().await;
    sinks.smtp.set_outage(true);
    let deliveries = sinks.remind(&sinks.channels()).await;
    let email = by_channel(&deliveries, "email");
    assert!(!email.delivered);
    assert!(email.detail.starts_with("SMTP 421"), "{}", email.detail);
    assert!(by_channel(&deliveries, "slack").delivered);
}

#[tokio::test]
async fn webhook_endpoint_down_fails_webhook_alone() {
    let sinks = Sinks::start().await;
    let channels = sinks.channels();
    let Sinks {
        smtp,
        slack,
        webhook,
    } = sinks;
    let url = webhook.url();
    webhook.shutdown().await;
    let notifier = ChannelNotifier::new(&Sinks::settings_for(&smtp)).unwrap();
    let deliveries = notifier
        .send(
            &TenantPolicy::new("acme"),
            &channels,
            &notice(NoticeKind::Reminder),
        )
        .await;
    let hook = by_channel(&deliveries, "webhook");
    assert!(!hook.delivered);
    assert!(
        hook.detail.starts_with("HTTP request failed"),
        "{}",
        hook.detail
    );
    assert!(
        hook.detail.to_lowercase().contains("connect"),
        "detail should say the connection failed: {}",
        hook.detail
    );
    assert_eq!(hook.target, url);
    assert!(by_channel(&deliveries, "email").delivered);
    assert!(by_channel(&deliveries, "slack").delivered);
    assert_eq!(slack.received().len(), 1);
    assert_eq!(smtp.received().len(), 1);
}

impl Sinks {
    fn settings_for(smtp: &SmtpSink) -> NotifySettings {
        NotifySettings {
            smtp: Some(SmtpSettings {
                host: "127.0.0.1".into(),
                port: smtp.addr().port(),
                from: "Passage <offboarding@acme.example>".into(),
                username: Some("relay-user".into()),
                password: Some(Secret::new(SMTP_PASSWORD)),
                tls: SmtpTls::None,
                ca_pem: None,
            }),
        }
    }
}

#[tokio::test]
async fn webhook_signed_with_the_wrong_secret_gets_401() {
    let sinks = Sinks::start().await;
    let mut channels = sinks.channels();
    channels[0] = Channel::Webhook {
        url: sinks.webhook.url(),
        secret: Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    };
    let deliveries = sinks.remind(&channels).await;
    let hook = by_channel(&deliveries, "webhook");
    assert!(!hook.delivered);
    assert!(hook.detail.starts_with("HTTP 401"), "{}", hook.detail);
    assert!(sinks.webhook.received().is_empty());
    assert_eq!(sinks.webhook.rejected().len(), 1);
}

#[tokio::test]
async fn slack_429_is_retried_once_after_a_short_retry_after() {
    let sinks = Sinks::start().await;
    sinks.slack.rate_limit(1, 1);
    let channels = [Channel::Slack {
        url: Secret::new(sinks.slack.url()),
    }];
    let started = Instant::now();
    let deliveries = sinks.remind(&channels).await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not waited"
    );
    assert!(deliveries[0].delivered, "{:?}", deliveries[0]);
    assert_eq!(
        deliveries[0].detail,
        "HTTP 200 ok (after one retry: 429 with Retry-After 1 s)"
    );
    assert_eq!(sinks.slack.requests(), 2);
    assert_eq!(sinks.slack.received().len(), 1);
}

#[tokio::test]
async fn slack_429_with_a_long_retry_after_is_left_to_the_engine() {
    let sinks = Sinks::start().await;
    sinks.slack.rate_limit(5, 30);
    let channels = [Channel::Slack {
        url: Secret::new(sinks.slack.url()),
    }];
    let started = Instant::now();
    let deliveries = sinks.remind(&channels).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!deliveries[0].delivered);
    assert!(
        deliveries[0].detail.starts_with("HTTP 429 rate_limited"),
        "{}",
        deliveries[0].detail
    );
    assert!(
        deliveries[0].detail.contains("Retry-After 30 s"),
        "{}",
        deliveries[0].detail
    );
    assert_eq!(sinks.slack.requests(), 1);
}

#[tokio::test]
async fn a_silent_receiver_is_cut_off_without_holding_up_the_others() {
    let sinks = Sinks::start().await;
    // Accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}/hook", silent.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            open.push(stream);
        }
    });
    let mut channels = sinks.channels();
    channels[0] = Channel::Webhook {
        url: silent_url,
        secret: Secret::new(sinks.webhook.secret()),
    };
    let notifier =
        ChannelNotifier::with_timeout(&sinks.settings(), Duration::from_millis(800)).unwrap();
    let started = Instant::now();
    let deliveries = notifier
        .send(
            &TenantPolicy::new("acme"),
            &channels,
            &notice(NoticeKind::Reminder),
        )
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let hook = by_channel(&deliveries, "webhook");
    assert!(!hook.delivered);
    assert!(
        hook.detail.contains("timed out") || hook.detail.contains("no answer within"),
        "{}",
        hook.detail
    );
    assert!(by_channel(&deliveries, "email").delivered);
    assert!(by_channel(&deliveries, "slack").delivered);
    hold.abort();
}

#[tokio::test]
async fn email_without_smtp_settings_or_recipients_is_reported_not_skipped() {
    let notifier = ChannelNotifier::new(&NotifySettings::default()).unwrap();
    let mut reminder = notice(NoticeKind::Reminder);
    let deliveries = notifier
        .send(
            &TenantPolicy::new("acme"),
            &[Channel::Email {
                to: vec!["it-desk@acme.example".into()],
                include_recipients: false,
            }],
            &reminder,
        )
        .await;
    assert!(!deliveries[0].delivered);
    assert!(
        deliveries[0].detail.contains("no smtp settings"),
        "{}",
        deliveries[0].detail
    );

    let sinks = Sinks::start().await;
    reminder.recipients.clear();
    let deliveries = sinks
        .notifier()
        .send(
            &TenantPolicy::new("acme"),
            &[Channel::Email {
                to: vec![],
                include_recipients: true,
            }],
            &reminder,
        )
        .await;
    assert!(!deliveries[0].delivered);
    assert!(
        deliveries[0].detail.contains("no recipients"),
        "{}",
        deliveries[0].detail
    );
    assert!(sinks.smtp.received().is_empty());
}

#[tokio::test]
async fn bad_channel_configuration_is_named_in_the_detail() {
    let sinks = Sinks::start().await;
    let channels = [
        Channel::Webhook {
            url: sinks.webhook.url(),
            secret: Secret::new("whsec_***not-base64***"),
        },
        Channel::Slack {
            url: Secret::new("hooks.slack.com/services/T1/B2/relativepathtoken"),
        },
        Channel::Email {
            to: vec!["not an address".into()],
            include_recipients: false,
        },
    ];
    let deliveries = sinks.remind(&channels).await;
    assert!(deliveries.iter().all(|d| !d.delivered));
    assert!(
        deliveries[0].detail.contains("webhook secret"),
        "{}",
        deliveries[0].detail
    );
    assert!(
        deliveries[1].detail.contains("slack URL"),
        "{}",
        deliveries[1].detail
    );
    assert!(!format!("{deliveries:?}").contains("relativepathtoken"));
    assert!(
        deliveries[2].detail.contains("\"not an address\""),
        "{}",
        deliveries[2].detail
    );
    assert!(sinks.webhook.received().is_empty() && sinks.smtp.received().is_empty());
}

#[tokio::test]
async fn no_secret_reaches_a_delivery_or_debug_output() {
    let sinks = Sinks::start().await;
    let slack_url = sinks.slack.url();
    let slack_token = slack_url.rsplit('/').next().unwrap().to_owned();
    let slack_path = slack_url.split_once("/services/").unwrap().1.to_owned();
    let webhook_secret = sinks.webhook.secret().to_owned();
    let secrets = [
        slack_token.as_str(),
        slack_path.as_str(),
        webhook_secret.as_str(),
        webhook_secret.trim_start_matches("whsec_"),
        SMTP_PASSWORD,
    ];

    // A successful round, a round where every channel fails, and the Debug of everything.
    let mut recorded = Vec::new();
    let notifier = sinks.notifier();
    recorded.extend(
        notifier
            .send(
                &TenantPolicy::new("acme"),
                &sinks.channels(),
                &notice(NoticeKind::Reminder),
            )
            .await,
    );
    assert!(recorded.iter().all(|d| d.delivered), "{recorded:?}");
    sinks
        .smtp
        .require_auth("relay-user", "a-different-password");
    sinks
        .slack
        .set_hook_state(&slack_url, HookState::Prohibited);
    let mut channels = sinks.channels();
    channels[0] = Channel::Webhook {
        url: format!("{}?token={slack_token}", sinks.webhook.url()),
        secret: Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    };
    let failed = notifier
        .send(
            &TenantPolicy::new("acme"),
            &channels,
            &notice(NoticeKind::Escalation),
        )
        .await;
    assert!(failed.iter().all(|d| !d.delivered), "{failed:?}");
    assert!(by_channel(&failed, "email").detail.starts_with("SMTP 535"));
    assert_eq!(
        by_channel(&failed, "slack").detail,
        "HTTP 403 action_prohibited"
    );
    recorded.extend(failed);
    let settings_debug = format!("{:?}", sinks.settings());
    // The configured channels (a webhook URL is plain configuration in the port, so the one
    // carrying a query token above is left out).
    let channels_debug = format!("{:?}", sinks.channels());
    // Slack down entirely: the transport error must not quote the URL either.
    let down_url = slack_url.clone();
    sinks.slack.shutdown().await;
    let down = notifier
        .send(
            &TenantPolicy::new("acme"),
            &[Channel::Slack {
                url: Secret::new(down_url),
            }],
            &notice(NoticeKind::Reminder),
        )
        .await;
    assert!(!down[0].delivered);
    recorded.extend(down);

    let shown = [
        format!("{recorded:?}"),
        serde_json::to_string(&recorded).unwrap(),
        format!("{notifier:?}"),
        settings_debug,
        channels_debug,
    ]
    .join("\n");
    for secret in secrets {
        assert!(!shown.contains(secret), "{secret:?} leaked in:\n{shown}");
    }
}

/// Email settings for a TLS sink: `localhost` (the name its certificate carries), the relay
/// credentials, and optionally the sink's CA.
fn tls_settings(smtp: &SmtpSink, tls: SmtpTls, trust_sink_ca: bool) -> NotifySettings {
    let mut settings = Sinks::settings_for(smtp);
    let s = settings.smtp.as_mut().unwrap();
    s.host = "localhost".into();
    s.tls = tls;
    s.ca_pem = trust_sink_ca.then(|| smtp.ca_pem().unwrap().to_owned());
    settings
}

async fn send_email(settings: &NotifySettings) -> NoticeDelivery {
    let channels = [Channel::Email {
        to: vec!["it-desk@acme.example".into()],
        include_recipients: false,
    }];
    let mut deliveries = ChannelNotifier::new(settings)
        .unwrap()
        .send(
            &TenantPolicy::new("acme"),
            &channels,
            &notice(NoticeKind::Escalation),
        )
        .await;
    deliveries.pop().unwrap()
}

#[tokio::test]
async fn email_goes_over_starttls_and_smtps_to_a_relay_with_a_private_ca() {
    for (mode, tls) in [
        (SmtpTlsMode::Starttls, SmtpTls::Starttls),
        (SmtpTlsMode::Implicit, SmtpTls::Tls),
    ] {
        let smtp = SmtpSink::start_tls(mode).await.unwrap();
        smtp.require_auth("relay-user", SMTP_PASSWORD);
        let delivery = send_email(&tls_settings(&smtp, tls, true)).await;
        assert!(delivery.delivered, "{mode:?}: {delivery:?}");
        let mails = smtp.received();
        assert_eq!(mails.len(), 1, "{mode:?}");
        assert!(mails[0].tls, "{mode:?}: the message travelled encrypted");
        assert_eq!(mails[0].authenticated_as.as_deref(), Some("relay-user"));
        assert_eq!(mails[0].envelope_to, ["it-desk@acme.example"]);
    }
}

#[tokio::test]
async fn an_untrusted_relay_certificate_or_missing_starttls_sends_nothing() {
    // The relay's certificate chains to a CA Passage was not told about: refused, in either mode.
    for (mode, tls) in [
        (SmtpTlsMode::Starttls, SmtpTls::Starttls),
        (SmtpTlsMode::Implicit, SmtpTls::Tls),
    ] {
        let smtp = SmtpSink::start_tls(mode).await.unwrap();
        let delivery = send_email(&tls_settings(&smtp, tls, false)).await;
        assert!(!delivery.delivered, "{mode:?}");
        assert!(
            delivery.detail.to_lowercase().contains("certificate"),
            "{mode:?}: the detail names the certificate problem: {}",
            delivery.detail
        );
        assert!(smtp.received().is_empty());
    }

    // STARTTLS is required: a relay that does not offer it gets no message in plain text.
    let plain = SmtpSink::start().await.unwrap();
    let mut settings = Sinks::settings_for(&plain);
    settings.smtp.as_mut().unwrap().tls = SmtpTls::Starttls;
    let delivery = send_email(&settings).await;
    assert!(!delivery.delivered, "{delivery:?}");
    assert!(plain.received().is_empty());

    // A relay that requires STARTTLS refuses a client that skips it.
    let strict = SmtpSink::start_tls(SmtpTlsMode::Starttls).await.unwrap();
    let delivery = send_email(&Sinks::settings_for(&strict)).await;
    assert!(!delivery.delivered, "{delivery:?}");
    assert!(delivery.detail.contains("530"), "{}", delivery.detail);
    assert!(strict.received().is_empty());

    // No secret leaks into what is recorded about a failed delivery.
    assert!(!delivery.detail.contains(SMTP_PASSWORD));
}
