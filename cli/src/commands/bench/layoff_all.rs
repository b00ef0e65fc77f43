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

/// One provider: calls served and refused, and every limit the layoff saturated (more than
/// one window), fullest first.
fn line(s: &Served<'_>) -> String {
    let total = s.counters.total();
    let throttled = s.counters.rate_limited();
    let mut full: Vec<(f64, &WindowUse)> = s
        .usage
        .iter()
        .filter_map(|u| saturated_use(&u.windows, u.limit).map(|pct| (pct, u)))
        .collect();
    full.sort_by(|a, b| b.0.total_cmp(&a.0));
    let limits = if full.is_empty() {
        "no limit saturated (every one fit in its first window)".to_owned()
    } else {
        full.iter()
            .map(|(pct, u)| format!("{} {pct:.1}% of {} {:?}", u.name, u.limit, u.windows))
            .collect::<Vec<_>>()
            .join("; ")
    };
    format!(
        "{}: {} calls served, {throttled} answered 429; {limits}",
        s.provider,
        total - throttled
    )
}
