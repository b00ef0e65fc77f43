//! `[tenants.human]`: device return and hand-over confirmation, their deadlines, and the
//! channels that remind and escalate when they are overdue.

use super::hours;
use crate::file::{ChannelConfig, HumanConfig, HumanStepConfig};
use crate::secrets::resolve_secret;
use anyhow::{Context, Result};
use passage_core::ports::Channel;
use passage_core::{HumanPolicy, HumanStepPolicy};

pub(super) fn human(c: &HumanConfig) -> Result<HumanPolicy> {
    Ok(HumanPolicy {
        device_return: c
            .device_return
            .as_ref()
            .map(|d| human_step(d, HumanStepPolicy::device_return(), "device_return"))
            .transpose()?,
        handover: c
            .handover
            .as_ref()
            .map(|d| human_step(d, HumanStepPolicy::handover(), "handover"))
            .transpose()?,
        remind: channels(&c.remind)?,
        escalate: channels(&c.escalate)?,
    })
}

/// A human step's settings over the engine's defaults for it (`base`).
fn human_step(c: &HumanStepConfig, base: HumanStepPolicy, what: &str) -> Result<HumanStepPolicy> {
    Ok(HumanStepPolicy {
        critical: c.critical.unwrap_or(base.critical),
        due_after: hours(
            c.due_after_hours,
            base.due_after,
            &format!("{what}.due_after_hours"),
        )?,
        remind_every: hours(
            c.remind_every_hours,
            base.remind_every,
            &format!("{what}.remind_every_hours"),
        )?,
        escalate_after: hours(
            c.escalate_after_hours,
            base.escalate_after,
            &format!("{what}.escalate_after_hours"),
        )?,
    })
}

fn channels(list: &[ChannelConfig]) -> Result<Vec<Channel>> {
    list.iter().map(channel).collect()
}

fn channel(c: &ChannelConfig) -> Result<Channel> {
    Ok(match c {
        ChannelConfig::Webhook { url, secret } => {
            url::Url::parse(url)
                .with_context(|| format!("webhook channel url {url:?} is not a URL"))?;
            let secret = resolve_secret(secret)?;
            passage_hris::WebhookSecret::parse(secret.expose())
                .map_err(|e| anyhow::anyhow!("webhook channel secret is unusable: {e}"))?;
            Channel::Webhook {
                url: url.clone(),
                secret,
            }
        }
        ChannelConfig::Email {
            to,
            include_recipients,
        } => Channel::Email {
            to: to.clone(),
            include_recipients: *include_recipients,
        },
        // The webhook URL of a Slack app is itself the credential.
        ChannelConfig::Slack { url } => Channel::Slack {
            url: resolve_secret(url)?,
        },
    })
}
