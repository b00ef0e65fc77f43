//! A tenant's section as the engine's [`TenantPolicy`]: time rules, webhook secrets, HR
//! webhooks, human steps, early hand-over and what each provider's run does. Every value is
//! checked here, at start-up, so a bad zone or secret stops the start and not a leaver's run.

mod hr_webhooks;
mod human;

use crate::file::{
    EarlyConfig, GuardConfig, LocationConfig, RetryConfig, SignInWatchConfig, SlaConfig,
    TenantConfig,
};
use crate::secrets::resolve_secret;
use anyhow::{Context, Result, bail};
use jiff::civil::Time;
use passage_core::secret::Secret;
use passage_core::{
    EarlyPolicy, GuardPolicy, LocationPolicy, RetryPolicy, SlaPolicy, TenantId, TenantPolicy,
};
use std::time::Duration;

/// The tenant's policy; `at` names the tenant in messages ("tenant acme").
pub(crate) fn tenant_policy(t: &TenantConfig, at: &str) -> Result<TenantPolicy> {
    let end_of_day: Time = t
        .end_of_day
        .parse()
        .with_context(|| format!("{at}: end_of_day {:?} is not HH:MM", t.end_of_day))?;
    jiff::tz::TimeZone::get(&t.default_time_zone)
        .with_context(|| format!("{at}: unknown time zone {:?}", t.default_time_zone))?;
    let ctx = || at.to_owned();
    Ok(TenantPolicy {
        id: TenantId::new(t.id.as_str()),
        name: t.name.clone().unwrap_or_else(|| t.id.clone()),
        end_of_day,
        default_time_zone: t.default_time_zone.clone(),
        webhook_secrets: webhook_secrets(&t.webhook_secrets, at)?,
        fallback_delegate: t.fallback_delegate.clone(),
        okta: t.okta.as_ref().map(|o| o.policy()),
        microsoft: t.microsoft.as_ref().map(|m| m.policy()),
        google: t.google.as_ref().map(|g| g.policy()),
        jumpcloud: t.jumpcloud.as_ref().map(|j| j.policy()),
        recovery_key: t
            .recovery_key
            .as_deref()
            .map(|pem| {
                passage_core::seal::check_key(pem)
                    .map(|()| pem.to_owned())
                    .with_context(|| format!("{at}: recovery_key"))
            })
            .transpose()?,
        saas: crate::providers::saas_policy(t).with_context(ctx)?,
        retry: t
            .retry
            .as_ref()
            .map(retry)
            .transpose()
            .with_context(ctx)?
            .unwrap_or_default(),
        locations: t
            .locations
            .iter()
            .map(|l| location(l).with_context(ctx))
            .collect::<Result<_>>()?,
        involuntary_immediate: t.involuntary_immediate,
        hr_webhooks: t
            .hr_webhooks
            .iter()
            .map(|h| hr_webhooks::hr_webhook(h).with_context(ctx))
            .collect::<Result<_>>()?,
        early: t.early.as_ref().map(early).transpose().with_context(ctx)?,
        date_window: passage_hris::DateWindow {
            max_days_past: t.max_days_past,
            max_days_ahead: t.max_days_ahead,
        },
        human: t
            .human
            .as_ref()
            .map(human::human)
            .transpose()
            .with_context(ctx)?
            .unwrap_or_default(),
        sla: t
            .sla
            .as_ref()
            .map(sla)
            .transpose()
            .with_context(ctx)?
            .unwrap_or_default(),
        guard: guard(t.guard.as_ref()).with_context(ctx)?,
        sweep: t.sweep.clone(),
        sign_in_watch: t
            .sign_in_watch
            .as_ref()
            .map(sign_in_watch)
            .transpose()
            .with_context(ctx)?
            .unwrap_or_default(),
    })
}

/// The sign-in watch: non-negative hours and minutes, a positive period between reads.
fn sign_in_watch(c: &SignInWatchConfig) -> Result<passage_core::SignInWatchPolicy> {
    let base = passage_core::SignInWatchPolicy::default();
    let span = |v: Option<f64>, unit: f64, field: &str, or: Duration| -> Result<Duration> {
        match v {
            None => Ok(or),
            Some(v) if v.is_finite() && v >= 0.0 => Ok(Duration::from_secs_f64(v * unit)),
            Some(v) => bail!("sign_in_watch.{field} must be a non-negative number, not {v}"),
        }
    };
    let every = span(c.every_minutes, 60.0, "every_minutes", base.every)?;
    if every.is_zero() {
        bail!("sign_in_watch.every_minutes must be more than 0");
    }
    Ok(passage_core::SignInWatchPolicy {
        window: span(c.hours, 3600.0, "hours", base.window)?,
        every,
        slack: c.slack_seconds.map_or(base.slack, Duration::from_secs),
        ingestion: span(c.ingestion_hours, 3600.0, "ingestion_hours", base.ingestion)?,
    })
}

/// The go-live guard: on unless the tenant turns it off, with the defaults for what it omits.
fn guard(g: Option<&GuardConfig>) -> Result<Option<GuardPolicy>> {
    let base = GuardPolicy::default();
    let Some(g) = g else {
        return Ok(Some(base));
    };
    if !g.enabled {
        return Ok(None);
    }
    let max_terminations = g.max_terminations.unwrap_or(base.max_terminations);
    let minutes = g.window_minutes.unwrap_or(base.window.as_secs() / 60);
    if max_terminations == 0 || minutes == 0 {
        bail!(
            "guard.max_terminations and guard.window_minutes must be at least 1; to turn the guard off, say enabled = false"
        );
    }
    Ok(Some(GuardPolicy {
        max_terminations,
        window: Duration::from_secs(minutes.saturating_mul(60)),
    }))
}

/// The SLA: a positive number of hours (a zero SLA would grade every leaver as late).
fn sla(s: &SlaConfig) -> Result<SlaPolicy> {
    if s.hours.is_nan() || s.hours <= 0.0 {
        bail!(
            "sla.hours must be a positive number of hours, not {}",
            s.hours
        );
    }
    Ok(SlaPolicy {
        within: hours(Some(s.hours), Duration::ZERO, "sla.hours")?,
        from: s.from,
    })
}

/// Passage's own webhook secrets (`whsec_…`), refused here if unusable rather than at the
/// first delivery.
fn webhook_secrets(specs: &[String], at: &str) -> Result<Vec<Secret>> {
    specs
        .iter()
        .map(|s| {
            let value = resolve_secret(s).with_context(|| at.to_owned())?;
            passage_hris::WebhookSecret::parse(value.expose())
                .map_err(|e| anyhow::anyhow!("{at}: a webhook secret is unusable: {e}"))?;
            Ok(value)
        })
        .collect()
}

fn location(l: &LocationConfig) -> Result<LocationPolicy> {
    jiff::tz::TimeZone::get(&l.time_zone)
        .with_context(|| format!("location {}: unknown time zone {:?}", l.name, l.time_zone))?;
    let end_of_day = l
        .end_of_day
        .as_deref()
        .map(|e| {
            e.parse::<Time>()
                .with_context(|| format!("location {}: end_of_day {e:?} is not HH:MM", l.name))
        })
        .transpose()?;
    Ok(LocationPolicy {
        name: l.name.clone(),
        time_zone: l.time_zone.clone(),
        end_of_day,
    })
}

fn early(e: &EarlyConfig) -> Result<EarlyPolicy> {
    for a in &e.actions {
        if !EarlyPolicy::ALLOWED.contains(a) {
            bail!(
                "early: {a} cuts access or is not hand-over preparation, so it runs at the cutoff; early actions are delegate_mailbox, forward_mail, set_auto_reply and transfer_data"
            );
        }
    }
    Ok(EarlyPolicy {
        lead: hours(Some(e.lead_hours), Duration::ZERO, "early.lead_hours")?,
        actions: e.actions.clone(),
    })
}

/// A duration written in hours (fractions allowed), `default` when absent.
/// The tenant's retry deadlines and SLA over the defaults. A deadline of zero would fail a
/// step at its first hiccup, so deadlines must be positive.
fn retry(c: &RetryConfig) -> Result<RetryPolicy> {
    let base = RetryPolicy::default();
    let policy = RetryPolicy {
        critical_deadline: hours(
            c.critical_deadline_hours,
            base.critical_deadline,
            "retry.critical_deadline_hours",
        )?,
        deadline: hours(c.deadline_hours, base.deadline, "retry.deadline_hours")?,
        sla: hours(c.sla_hours, base.sla, "retry.sla_hours")?,
    };
    if policy.critical_deadline.is_zero() || policy.deadline.is_zero() {
        bail!("retry deadlines must be longer than zero hours");
    }
    Ok(policy)
}

pub(crate) fn hours(h: Option<f64>, default: Duration, key: &str) -> Result<Duration> {
    match h {
        None => Ok(default),
        Some(h) if h.is_finite() && h >= 0.0 => Ok(Duration::from_secs_f64(h * 3600.0)),
        Some(h) => bail!("{key} must be a non-negative number of hours, not {h}"),
    }
}
