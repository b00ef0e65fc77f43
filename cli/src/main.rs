//! `passage`: offboarding that does the work and proves it.
//!
//! Thin shell: parses arguments, loads configuration, wires the embedded adapters to the engine
//! and hands off. Everything a run means lives in `shared/core`.

use anyhow::Result;
use clap::{Parser, Subcommand};
use passage::commands;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "passage",
    version,
    about = "Offboarding that does the work and proves it"
)]
struct Cli {
    /// Configuration file.
    #[arg(
        long,
        short,
        global = true,
        env = "PASSAGE_CONFIG",
        default_value = "passage.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a starter config for the providers named, with fresh webhook and operator secrets.
    Init(commands::init::InitArgs),
    /// Check the config file.
    #[command(subcommand)]
    Config(commands::config::ConfigCommand),
    /// Run intake, workers, the cutoff timer and auditor links from the config file.
    Serve(commands::serve::ServeArgs),
    /// Run one leaver end to end against the sandbox Okta, and verify the signed bundle.
    #[cfg(feature = "sandbox")]
    Demo(commands::demo::DemoArgs),
    /// Verify evidence bundles (directories), the hash chain and key continuity between them.
    Verify(commands::verify::VerifyArgs),
    /// Open a sealed recovery secret (a device lock PIN) with the tenant's recovery private key.
    Unseal(commands::unseal::UnsealArgs),
    /// List and inspect runs.
    #[command(subcommand)]
    Runs(commands::runs::RunsCommand),
    /// Show what a run for a leaver would change, read live from every provider; changes nothing.
    Plan(commands::plan::PlanArgs),
    /// Start a leaver run by hand ("Jane leaves Friday").
    Start(commands::operate::StartArgs),
    /// Confirm an item of a human step: a returned device, a data hand-over.
    Confirm(commands::operate::ConfirmArgs),
    /// Compare the HR system with Passage: create, move or cancel runs to match.
    Reconcile(commands::operate::ReconcileArgs),
    /// Waive a non-critical step (recorded with actor and reason).
    Waive(commands::operate::WaiveArgs),
    /// Accept an access item that remains or is pending as an exception (recorded with actor,
    /// reason and optional expiry, and listed in the bundle's exceptions.json).
    Except(commands::operate::ExceptArgs),
    /// Retry a failed step with a fresh attempt budget.
    Retry(commands::operate::RetryArgs),
    /// Close a provider's steps (critical ones too) as not applicable, once a fresh read from
    /// the provider proves the leaver has no account there; the proof goes into the bundle.
    NotApplicable(commands::operate::NotApplicableArgs),
    /// Release runs the go-live guard holds (one, or --all of a tenant's).
    Approve(commands::operate::ApproveArgs),
    /// Cancel a run before its cutoff.
    Cancel(commands::operate::CancelArgs),
    /// Move a run's cutoff before it arrives.
    Reschedule(commands::operate::RescheduleArgs),
    /// Give a rehire back what a closed leaver run took, as its own run and signed bundle
    /// (shows the plan only, unless --yes).
    Restore(commands::restore::RestoreArgs),
    /// Each tenant's signing keys: list, export the published set, rotate, checkpoint the chain.
    #[command(subcommand)]
    Keys(commands::keys::KeysCommand),
    /// Issue an auditor link: to a closed run's bundle, or to a period's report and bundles.
    Link(commands::link::LinkArgs),
    /// The period report: every leaver, graded against the SLA, checked against the HR system.
    Report(commands::report::ReportArgs),
    /// A reproducible sample of a period's leavers, drawn from the auditor's seed.
    Sample(commands::report::SampleArgs),
    /// The tenant's audit log: auditor links issued and fetched.
    Audit(commands::report::AuditArgs),
    /// Measure cutoff-to-verified time, engine throughput and webhook ack latency.
    #[cfg(feature = "sandbox")]
    Bench(commands::bench::BenchArgs),
    /// Run the provider emulators, optionally in a storm, and print their passage.toml section.
    #[cfg(feature = "sandbox")]
    Sandbox(commands::sandbox::SandboxArgs),
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let default_level = match cli.command {
        Command::Serve(_) => "info",
        #[cfg(feature = "sandbox")]
        Command::Sandbox(_) => "info",
        _ => "warn",
    };
    let json = matches!(&cli.command, Command::Serve(a) if a.json_logs());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PASSAGE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr);
    if json {
        // One JSON object a line, fields flattened, for log pipelines.
        logs.json()
            .flatten_event(true)
            .with_current_span(false)
            .init();
    } else {
        logs.init();
    }
    if let Err(e) = run(cli).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Init(args) => commands::init::run(&cli.config, args),
        Command::Config(cmd) => commands::config::run(&cli.config, cmd),
        Command::Serve(_) => commands::serve::run(&cli.config).await,
        #[cfg(feature = "sandbox")]
        Command::Demo(args) => commands::demo::run(args).await,
        Command::Verify(args) => commands::verify::run(args),
        Command::Unseal(args) => commands::unseal::run(args),
        Command::Runs(cmd) => commands::runs::run(&cli.config, cmd).await,
        Command::Plan(args) => commands::plan::run(&cli.config, args).await,
        Command::Start(args) => commands::operate::start(&cli.config, args).await,
        Command::Confirm(args) => commands::operate::confirm(&cli.config, args).await,
        Command::Reconcile(args) => commands::operate::reconcile(&cli.config, args).await,
        Command::Waive(args) => commands::operate::waive(&cli.config, args).await,
        Command::Except(args) => commands::operate::except(&cli.config, args).await,
        Command::Retry(args) => commands::operate::retry(&cli.config, args).await,
        Command::NotApplicable(args) => commands::operate::not_applicable(&cli.config, args).await,
        Command::Approve(args) => commands::operate::approve(&cli.config, args).await,
        Command::Cancel(args) => commands::operate::cancel(&cli.config, args).await,
        Command::Reschedule(args) => commands::operate::reschedule(&cli.config, args).await,
        Command::Restore(args) => commands::restore::run(&cli.config, args).await,
        Command::Keys(cmd) => commands::keys::run(&cli.config, cmd).await,
        Command::Link(args) => commands::link::run(&cli.config, args).await,
        Command::Report(args) => commands::report::report(&cli.config, args).await,
        Command::Sample(args) => commands::report::sample(&cli.config, args).await,
        Command::Audit(args) => commands::report::audit(&cli.config, args).await,
        #[cfg(feature = "sandbox")]
        Command::Bench(args) => commands::bench::run(args).await,
        #[cfg(feature = "sandbox")]
        Command::Sandbox(args) => commands::sandbox::run(args).await,
    }
}
