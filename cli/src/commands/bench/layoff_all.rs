//! A layoff across all four providers, each emulator enforcing its provider's documented limits
//! in the provider's own windows (Okta per endpoint, Graph per service, Google per API and
//! user): how full Passage kept each limit it saturated, and whether throttling failed a step.

use super::stats::saturated_use;
use crate::harness::chaos::seed::{self, Providers};
use crate::harness::{Cutoff, Sandbox, SandboxOptions, leaver_event};
use anyhow::{Context, Result};
use passage_core::pace::Rate;
use passage_core::ports::RunStore;
use passage_core::{AttemptResult, StepState};
use passage_sandbox::common::counters::RequestCounters;
use passage_sandbox::common::ratelimit::WindowUse;
use std::path::Path;
use std::time::{Duration, Instant};

/// What each provider served, and how its limits were used.
struct Served<'a> {
    provider: &'static str,
    counters: &'a RequestCounters,
    usage: Vec<WindowUse>,
}

pub async fn measure(root: &Path, leavers: usize) -> Result<()> {
    let mut o = SandboxOptions::new(root.join("layoff-all"));
    o.all_providers = true;
    // JumpCloud documents no limit: the tenant sets its budget to its org's, here the
    // emulator's 600 a minute, as `[tenants.jumpcloud.pace] all = "600/min"` would.
    o.pace = Some(|plans| plans.jumpcloud.single(Rate::per_minute(600)));
    let sb = Sandbox::start(o).await?;
    let others = sb.others.as_ref().context("all providers run")?;
    let providers = Providers {
        okta: &sb.okta,
        microsoft: &others.microsoft,
        google: &others.google,
        jumpcloud: &others.jumpcloud,
    };
    for i in 0..leavers {
        seed::leaver(&providers, i);
    }
    sb.okta.reset_rate_limit();
    others.microsoft.reset_rate_limit();
    others.google.reset_rate_limit();
    others.jumpcloud.reset_rate_limit();
    for counters in [
        sb.okta.counters(),
        others.microsoft.counters(),
        others.google.counters(),
        others.jumpcloud.counters(),
    ] {
        counters.reset();
    }
    let started = Instant::now();
    let mut ids = Vec::new();
    for i in 0..leavers {
        let body = leaver_event(&seed::login(i), &format!("L{i}"), Cutoff::Immediate);
        ids.push(super::post(&sb, &format!("msg_layoff_all_{i}"), &body).await?);
    }
    for id in &ids {
        sb.wait_closed(id, Duration::from_secs(3600)).await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (mut failed, mut refused) = (0, 0);
    for id in &ids {
        let steps = sb.system.store.steps(id).await?;
        failed += steps
            .iter()
            .filter(|s| s.state == StepState::Failed)
            .count();
        refused += sb
            .system
            .store
            .attempts(id)
            .await?
            .iter()
            .filter(|a| a.result == AttemptResult::Throttled)
            .filter(|a| a.error_code.as_deref() != Some("paced"))
            .count();
    }
    println!(
        "layoff, four providers (n={} leavers, documented limits): {elapsed:.1}s, {failed} failed steps, {refused} attempts met a refusal for the rate",
        ids.len()
    );
    let served = [
        Served {
            provider: "okta",
            counters: sb.okta.counters(),
            usage: sb.okta.limit_usage(),
        },
        Served {
            provider: "microsoft",
            counters: others.microsoft.counters(),
            usage: others.microsoft.limit_usage(),
        },
        Served {
            provider: "google",
            counters: others.google.counters(),
            usage: others.google.limit_usage(),
        },
        Served {
            provider: "jumpcloud",
            counters: others.jumpcloud.counters(),
            usage: others.jumpcloud.limit_usage(),
        },
    ];
    for s in &served {
        println!("  {}", line(s));
    }
    sb.shutdown().await;
    Ok(())
}

/// One provider: calls served and refused, and its three busiest limits (by their fullest
/// window), each with how full its saturated windows were (every window but the last, when the
/// limit had more than one; a layoff that fits in one window saturates nothing).
fn line(s: &Served<'_>) -> String {
    let total = s.counters.total();
    let throttled = s.counters.rate_limited();
    let peak = |u: &WindowUse| u.windows.iter().copied().max().unwrap_or(0) as f64 / u.limit as f64;
    let mut busiest: Vec<&WindowUse> = s.usage.iter().filter(|u| u.limit > 0).collect();
    busiest.sort_by(|a, b| peak(b).total_cmp(&peak(a)));
    let limits = busiest
        .iter()
        .take(3)
        .map(|u| {
            let fill = saturated_use(&u.windows, u.limit).map_or_else(
                || "fits in one window".to_owned(),
                |pct| format!("{pct:.1}% full before the last"),
            );
            format!(
                "{} (limit {}): {fill}, windows {:?}",
                u.name, u.limit, u.windows
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    format!(
        "{}: {} calls served, {throttled} answered 429; busiest limits: {limits}",
        s.provider,
        total - throttled
    )
}
