//! `passage bench`: the figures the targets are stated in, measured on this machine.

use crate::harness::{Cutoff, Sandbox, SandboxOptions, leaver_event};
use anyhow::{Context, Result, bail};
use clap::Args;
use passage_core::RunId;
use passage_core::ports::RunStore;
use passage_sandbox::okta::SeedUser;
use std::path::Path;
use std::time::{Duration, Instant};

mod layoff_all;
mod lockout;
mod stats;
use stats::{saturated_use, summary};

#[derive(Args)]
pub struct BenchArgs {
    /// Leavers for the cutoff-to-verified measurement (one at a time; 0 skips it).
    #[arg(long, default_value_t = 20)]
    leavers: usize,
    /// Provider latency for the cutoff-to-verified measurement, in milliseconds.
    #[arg(long, default_value_t = 50)]
    latency_ms: u64,
    /// Fresh sandboxes for the four-provider cutoff-to-verified measurement (0 skips it).
    #[arg(long, default_value_t = 5)]
    all_provider_runs: usize,
    /// Leavers pushed through at once for the throughput measurement (0 skips it).
    #[arg(long, default_value_t = 200)]
    throughput_leavers: usize,
    /// Webhooks for the acknowledgement-latency measurement (0 skips it).
    #[arg(long, default_value_t = 300)]
    webhooks: usize,
    /// Leavers in the layoff measurement (0 skips it).
    #[arg(long, default_value_t = 300)]
    layoff_leavers: usize,
    /// The emulated Okta org's rate limit (requests per minute) in the layoff measurement.
    #[arg(long, default_value_t = 3000)]
    layoff_rate: u32,
    /// Leavers in the four-provider layoff, each emulator enforcing its provider's
    /// documented limits (0 skips it; the scale is 1,000).
    #[arg(long, default_value_t = 0)]
    layoff_all_leavers: usize,
    /// Leavers for the time-to-lockout measurement (0 skips it).
    #[arg(long, default_value_t = 100)]
    lockout_leavers: usize,
    /// Run only the chaos scenario: leavers through a `passage serve` process that is killed
    /// and restarted, against all four providers throttling, failing and dropping answers.
    #[arg(long)]
    chaos: bool,
    #[arg(long, default_value_t = 100)]
    chaos_leavers: usize,
    #[arg(long, default_value_t = 30)]
    chaos_kills: usize,
    /// Seeds the kill schedule and every fault decision.
    #[arg(long, default_value_t = 1)]
    chaos_seed: u64,
    /// Share of provider requests answered with a 5xx in the chaos scenario.
    #[arg(long, default_value_t = 0.3)]
    chaos_5xx: f64,
}

/// The chaos scenario at the scale asked; ends with the one `chaos:` line.
async fn chaos(args: &BenchArgs, root: &std::path::Path) -> Result<()> {
    use crate::harness::chaos;
    let exe = std::env::current_exe().context("the passage executable")?;
    let mut options = chaos::ChaosOptions::new(
        exe,
        root.join("chaos"),
        args.chaos_leavers,
        args.chaos_kills,
        args.chaos_seed,
    );
    options.faults.error_rate_5xx = args.chaos_5xx;
    // At full scale the providers' documented limits, paced, set the pace: give it time.
    options.settle = Duration::from_secs(3600);
    let report = chaos::run(&options).await?;
    print!("{}", report.detail());
    println!("{}", report.line());
    Ok(())
}

fn seed(sb: &Sandbox, n: usize, prefix: &str) -> Vec<String> {
    (0..n)
        .map(|i| {
            let login = format!("{prefix}{i}@example.com");
            sb.okta.seed_user(SeedUser {
                groups: vec!["Engineering".into(), "VPN Users".into()],
                sessions: 1,
                grants: 1,
                ..SeedUser::new(&login, "Bench", &format!("User{i}"))
            });
            login
        })
        .collect()
}

async fn post(sb: &Sandbox, id: &str, body: &[u8]) -> Result<RunId> {
    let r = sb.post(id, body).await?;
    let status = r.status();
    let v: serde_json::Value = r.json().await?;
    if !status.is_success() {
        bail!("webhook refused ({status}): {v}");
    }
    Ok(RunId::new(v["run_id"].as_str().context("no run_id")?))
}

/// Every measurement in turn (or only the chaos scenario), each in its own sandbox.
pub async fn run(args: BenchArgs) -> Result<()> {
    let root =
        std::env::temp_dir().join(format!("passage-bench-{}", uuid::Uuid::new_v4().simple()));
    println!(
        "passage bench ({} cores)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    if args.chaos {
        chaos(&args, &root).await?;
        let _ = std::fs::remove_dir_all(&root);
        return Ok(());
    }
    let latency = Duration::from_millis(args.latency_ms);
    if args.leavers > 0 {
        cutoff_one_provider(&root, args.leavers, latency).await?;
    }
    if args.all_provider_runs > 0 {
        cutoff_all_providers(&root, args.all_provider_runs, latency).await?;
    }
    if args.lockout_leavers > 0 {
        lockout::measure(&root, args.lockout_leavers, latency).await?;
    }
    if args.throughput_leavers > 0 {
        throughput(&root, args.throughput_leavers).await?;
    }
    if args.webhooks > 0 {
        webhook_ack(&root, args.webhooks).await?;
    }
    if args.layoff_leavers > 0 {
        layoff(&root, args.layoff_leavers, args.layoff_rate).await?;
    }
    if args.layoff_all_leavers > 0 {
        layoff_all::measure(&root, args.layoff_all_leavers).await?;
    }
    let _ = std::fs::remove_dir_all(&root);
    Ok(())
}

/// How long after the cutoff the last critical step of a closed run was read back.
async fn last_verified(sb: &Sandbox, run_id: &RunId, cutoff: jiff::Timestamp) -> Result<Duration> {
    let last = sb
        .system
        .store
        .steps(run_id)
        .await?
        .iter()
        .filter(|s| s.critical)
        .filter_map(|s| s.verified_at)
        .max()
        .context("no verified step")?;
    Ok(Duration::try_from(last.duration_since(cutoff)).unwrap_or_default())
}

/// Cutoff -> every critical step verified, one leaver at a time, Okta latency applied.
async fn cutoff_one_provider(root: &Path, leavers: usize, latency: Duration) -> Result<()> {
    let mut o = SandboxOptions::new(root.join("cutoff"));
    o.okta_latency = latency;
    let sb = Sandbox::start(o).await?;
    let logins = seed(&sb, leavers, "cut");
    let mut samples = Vec::new();
    for (i, login) in logins.iter().enumerate() {
        let body = leaver_event(login, &format!("C{i}"), Cutoff::Immediate);
        let run_id = post(&sb, &format!("msg_cut_{i}"), &body).await?;
        let run = sb.wait_closed(&run_id, Duration::from_secs(60)).await?;
        samples.push(last_verified(&sb, &run_id, run.cutoff.at).await?);
    }
    println!(
        "cutoff -> all critical steps verified (1 leaver, Okta, {} ms latency, 5 steps): {}",
        latency.as_millis(),
        summary(samples)
    );
    sb.shutdown().await;
    Ok(())
}

/// The same across all four providers (~30 steps), the latency on every emulator. Each sample
/// is a fresh sandbox, since the seeded leaver is offboarded by the first run.
async fn cutoff_all_providers(root: &Path, runs: usize, latency: Duration) -> Result<()> {
    let mut samples = Vec::new();
    let mut steps_n = 0;
    for n in 0..runs {
        let mut o = SandboxOptions::new(root.join(format!("all-{n}")));
        o.all_providers = true;
        o.okta_latency = latency;
        let sb = Sandbox::start(o).await?;
        if let Some(others) = &sb.others {
            others.microsoft.knobs().set_latency(latency);
            others.google.knobs().set_latency(latency);
            others.jumpcloud.knobs().set_latency(latency);
        }
        let body = leaver_event(passage_sandbox::okta::DEMO_LEAVER, "A1", Cutoff::Immediate);
        let run_id = post(&sb, &format!("msg_all_{n}"), &body).await?;
        let run = sb.wait_closed(&run_id, Duration::from_secs(120)).await?;
        let steps = sb.system.store.steps(&run_id).await?;
        steps_n = steps.len();
        if n == 0 && std::env::var_os("PASSAGE_BENCH_TRACE").is_some() {
            print_timeline(&steps, run.cutoff.at);
        }
        samples.push(last_verified(&sb, &run_id, run.cutoff.at).await?);
        sb.shutdown().await;
    }
    println!(
        "cutoff -> all critical steps verified (1 leaver, 4 providers, {} ms latency each, {} steps): {}",
        latency.as_millis(),
        steps_n,
        summary(samples)
    );
    Ok(())
}

/// Each step's start and read-back, in milliseconds after the cutoff (-1: never).
fn print_timeline(steps: &[passage_core::Step], cutoff: jiff::Timestamp) {
    let ms = |t: Option<jiff::Timestamp>| {
        t.map(|t| t.duration_since(cutoff).as_millis())
            .unwrap_or(-1)
    };
    let mut timeline: Vec<_> = steps
        .iter()
        .map(|s| {
            (
                ms(s.verified_at),
                ms(s.started_at),
                s.key.to_string(),
                s.attempts,
            )
        })
        .collect();
    timeline.sort();
    for (verified, started, key, attempts) in timeline {
        println!(
            "    {key:<30} started {started:>6} ms  verified {verified:>6} ms  attempts {attempts}"
        );
    }
}

/// Engine throughput at zero provider latency.
async fn throughput(root: &Path, leavers: usize) -> Result<()> {
    let sb = Sandbox::start(SandboxOptions::new(root.join("throughput"))).await?;
    // Measure the engine, not the provider's rate limit (the layoff run does that).
    sb.okta.knobs().set_rate_limit_per_minute(u32::MAX / 2);
    sb.okta.enforce_endpoint_limits(false);
    let logins = seed(&sb, leavers, "tp");
    let started = Instant::now();
    let ids = post_all(&sb, &logins, "tp").await?;
    for id in &ids {
        sb.wait_closed(id, Duration::from_secs(300)).await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let steps = ids.len() * 5;
    println!(
        "engine throughput (0 ms latency, {} leavers, {} steps + {} bundles): {:.0} steps/s, {:.1} leavers/s, {:.2}s total",
        ids.len(),
        steps,
        ids.len(),
        steps as f64 / elapsed,
        ids.len() as f64 / elapsed,
        elapsed
    );
    sb.shutdown().await;
    Ok(())
}

/// Posts an immediate termination for each login; the runs it created.
async fn post_all(sb: &Sandbox, logins: &[String], tag: &str) -> Result<Vec<RunId>> {
    let mut ids = Vec::new();
    for (i, login) in logins.iter().enumerate() {
        let body = leaver_event(
            login,
            &format!("{}{i}", tag.to_uppercase()),
            Cutoff::Immediate,
        );
        ids.push(post(sb, &format!("msg_{tag}_{i}"), &body).await?);
    }
    Ok(ids)
}

/// Webhook acknowledged (run durably stored) latency, runs scheduled in the future.
async fn webhook_ack(root: &Path, webhooks: usize) -> Result<()> {
    let sb = Sandbox::start(SandboxOptions::new(root.join("ack"))).await?;
    let day = jiff::Zoned::now().date() + jiff::Span::new().days(30);
    let mut samples = Vec::new();
    for i in 0..webhooks {
        let body = leaver_event(
            &format!("ack{i}@example.com"),
            &format!("A{i}"),
            Cutoff::LastDay(day),
        );
        let t = Instant::now();
        post(&sb, &format!("msg_ack_{i}"), &body).await?;
        samples.push(t.elapsed());
    }
    println!(
        "webhook ack (verified, validated, fsynced to SQLite, 202): {}",
        summary(samples)
    );
    sb.shutdown().await;
    Ok(())
}

/// A layoff against a rate-limited org: how much of the limit Passage uses, and whether any
/// step fails because of throttling.
async fn layoff(root: &Path, leavers: usize, rate: u32) -> Result<()> {
    let sb = Sandbox::start(SandboxOptions::new(root.join("layoff"))).await?;
    // An org whose limit was raised to `rate` for every endpoint together.
    sb.okta.knobs().set_rate_limit_per_minute(rate);
    sb.okta.enforce_endpoint_limits(false);
    let logins = seed(&sb, leavers, "lay");
    sb.okta.reset_rate_limit();
    sb.okta.counters().reset();
    let started = Instant::now();
    let ids = post_all(&sb, &logins, "lay").await?;
    for id in &ids {
        sb.wait_closed(id, Duration::from_secs(1800)).await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total = sb.okta.counters().total();
    let throttled = sb.okta.counters().rate_limited();
    // The limit is a fixed one-minute window: how full the saturated ones were is how well
    // Passage used the limit.
    let windows = sb.okta.rate_windows();
    let used = saturated_use(&windows, rate).map_or_else(
        || "fits in one window (nothing saturated)".to_owned(),
        |pct| format!("{pct:.1}% full before the last"),
    );
    let mut failed_steps = 0;
    for id in &ids {
        failed_steps += sb
            .system
            .store
            .steps(id)
            .await?
            .iter()
            .filter(|s| s.state == passage_core::StepState::Failed)
            .count();
    }
    println!(
        "layoff (n={} leavers, Okta limit {rate}/min): {elapsed:.1}s, {} calls served + {throttled} answered 429, {} windows ({windows:?}), {used}, {failed_steps} failed steps",
        ids.len(),
        total - throttled,
        windows.len(),
    );
    sb.shutdown().await;
    Ok(())
}
