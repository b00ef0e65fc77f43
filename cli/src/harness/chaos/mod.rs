//! Chaos: leavers through a real `passage serve` process against all four emulated providers
//! misbehaving (429 storms, 5xx, answers lost after the change was applied, reads that lag
//! writes), while the process is SIGKILLed and restarted again and again, during intake and
//! while steps are in flight. The end state is judged from the store, the bundles and the
//! emulators' own effect counts. The end-to-end suite runs it small; `passage bench --chaos`
//! runs it at full scale.

mod intake;
pub mod seed;
mod serve;
mod tally;

pub use tally::ChaosReport;

use crate::commands::sandbox::{self, SandboxArgs, TENANT};
use anyhow::{Context, Result};
use intake::Intake;
use passage_core::ports::{RunFilter, RunStore};
use passage_core::{Run, RunState};
use passage_embedded::{Database, SqliteStore};
use passage_hris::WebhookSecret;
use passage_sandbox::common::knobs::{FaultConfig, Latency, LostResponse, Storm};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serve::Serve;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub struct ChaosOptions {
    /// The `passage` executable to run as the server.
    pub exe: PathBuf,
    /// Scratch folder: the server's config, data and log.
    pub dir: PathBuf,
    pub leavers: usize,
    pub kills: usize,
    pub faults: FaultConfig,
    /// Seeds the kill schedule (the faults carry their own seed).
    pub seed: u64,
    pub workers: usize,
    /// How long the runs may take to close after the last kill.
    pub settle: Duration,
}

impl ChaosOptions {
    /// The storm: 30 % 429, 30 % 5xx, 20 % lost answers, reads lagging writes.
    pub fn new(exe: PathBuf, dir: PathBuf, leavers: usize, kills: usize, seed: u64) -> Self {
        Self {
            exe,
            dir,
            leavers,
            kills,
            faults: storm(seed),
            seed,
            workers: 8,
            settle: Duration::from_secs(600),
        }
    }
}

/// Every provider: a few milliseconds of latency, 30 % of seconds throttled with the provider's
/// real 429, 30 % of requests a 5xx, 20 % of applied changes with the answer dropped, and reads
/// that show the old state for 300 ms after a write.
pub fn storm(seed: u64) -> FaultConfig {
    FaultConfig {
        latency: Latency::Uniform {
            base: Duration::from_millis(2),
            spread: Duration::from_millis(10),
        },
        error_rate_5xx: 0.3,
        storm_429: Some(Storm::share(0.3)),
        lost_response_rate: 0.2,
        lost_response: LostResponse::Dropped,
        read_lag: Duration::from_millis(300),
        seed: Some(seed),
        ..FaultConfig::default()
    }
}

/// Runs the scenario and counts what it left behind.
pub async fn run(options: &ChaosOptions) -> Result<ChaosReport> {
    std::fs::create_dir_all(&options.dir)?;
    let emulators = sandbox::start(&SandboxArgs::ephemeral(), &options.faults).await?;
    let providers = seed::Providers::of(&emulators)?;
    for i in 0..options.leavers {
        seed::leaver(&providers, i);
    }
    let config = write_config(options, &emulators.snippet)?;
    let secret = WebhookSecret::parse(&emulators.webhook_secret)
        .map_err(|e| anyhow::anyhow!("the sandbox webhook secret: {e:?}"))?;
    let started = Instant::now();
    let mut report = ChaosReport {
        leavers: options.leavers,
        kills: options.kills,
        ..ChaosReport::default()
    };
    let mut intake = Intake::default();
    let server = kill_rounds(options, &config, &secret, &mut intake, &mut report).await?;
    let store = SqliteStore::new(Database::open(&options.dir.join("data/passage.db"))?);
    let runs = settle(&store, options.settle).await?;
    server.kill()?;
    report.elapsed = started.elapsed();
    report.mismatched_answers = std::mem::take(&mut intake.mismatches);
    tally::runs(&store, &runs, &mut report).await?;
    tally::emulators(&emulators, &mut report);
    emulators.shutdown().await;
    Ok(report)
}

/// Posts the leavers a batch per round and kills the server after each round: even rounds a
/// moment after the batch went out (intake in flight), odd rounds later (steps in flight).
/// Returns the server left running once every delivery has its answer.
async fn kill_rounds(
    options: &ChaosOptions,
    config: &Path,
    secret: &WebhookSecret,
    intake: &mut Intake,
    report: &mut ChaosReport,
) -> Result<Serve> {
    let log = options.dir.join("serve.log");
    let mut rng = StdRng::seed_from_u64(options.seed);
    let per_round = options.leavers.div_ceil(options.kills + 1).max(1);
    let mut next = 0;
    let mut server = Serve::start(&options.exe, config, &log)?;
    for round in 0..options.kills {
        for i in next..(next + per_round).min(options.leavers) {
            intake.add(TENANT, i);
        }
        next = (next + per_round).min(options.leavers);
        let posting = intake.send(TENANT, &server.url, secret);
        let gap = if round % 2 == 0 {
            rng.gen_range(0..40)
        } else {
            rng.gen_range(300..2500)
        };
        tokio::time::sleep(Duration::from_millis(gap)).await;
        if !posting.is_finished() {
            report.kills_during_intake += 1;
        }
        server.kill()?;
        intake.record(posting.await?);
        server = Serve::start(&options.exe, config, &log)?;
    }
    for i in next..options.leavers {
        intake.add(TENANT, i);
    }
    // The last server stays up: resend until every delivery has its answer.
    for _ in 0..50 {
        if intake.unanswered() == 0 {
            break;
        }
        let answers = intake.send(TENANT, &server.url, secret).await?;
        intake.record(answers);
        if intake.unanswered() > 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    anyhow::ensure!(
        intake.unanswered() == 0,
        "{} deliveries never answered",
        intake.unanswered()
    );
    Ok(server)
}

/// Waits until no run is still working (each closed, or blocked for good), or `limit` passes.
async fn settle(store: &SqliteStore, limit: Duration) -> Result<Vec<Run>> {
    let deadline = Instant::now() + limit;
    loop {
        let runs = store.list_runs(&RunFilter::default()).await?;
        let working = runs
            .iter()
            .any(|r| matches!(r.state, RunState::Scheduled | RunState::Running));
        if !working || Instant::now() > deadline {
            return Ok(runs);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The server section and the tenant section `passage sandbox` prints. Leases are short, so a
/// killed worker's steps are taken over quickly; backoff is capped at 10 s, since at 30 % 5xx
/// per request a step that must read nine resources in one attempt (Google's snapshot)
/// succeeds in one attempt of twenty-five, and the default five-minute cap would stretch that
/// over an hour. The go-live guard is off: a hundred leavers at once is the rehearsal's load,
/// not an HR mistake to hold.
fn write_config(options: &ChaosOptions, tenant: &str) -> Result<PathBuf> {
    let path = options.dir.join("passage.toml");
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"{}\"\nworkers = {}\n\
         sweep_seconds = 1\nlease_seconds = 3\nretry_cap_seconds = 10\n\n{tenant}\n\
         [tenants.guard]\nenabled = false\n",
        options.dir.join("data").display(),
        options.workers,
    );
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}
