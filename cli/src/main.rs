//! `passage`: offboarding that does the work and proves it.
//!
//! Thin shell: parses arguments, loads configuration, wires the embedded adapters to the engine
//! and hands off. Everything a run means lives in `shared/core`.

use anyhow::Result;
use clap::{CommandFactory, Parser, Subcommand};
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
    /// Send the operator commands (runs, start, confirm, waive, except, retry, not-applicable,
    /// approve, cancel, reschedule, reconcile, plan, restore) to a running Passage's operator API
    /// instead of opening the local database.
    #[arg(long, global = true, env = "PASSAGE_SERVER")]
    server: Option<String>,
    /// The operator token for --server (prefer the PASSAGE_TOKEN variable: a flag is seen in
    /// the process list and shell history).
    #[arg(long, global = true, env = "PASSAGE_TOKEN", hide_env_values = true)]
    token: Option<String>,
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
    /// Operator accounts: `hash-password` makes the `password_hash` of a console sign-in.
    #[command(subcommand)]
    Operator(commands::operator::OperatorCommand),
    /// Issue an auditor link: to a closed run's bundle, or to a period's report and bundles.
    Link(commands::link::LinkArgs),
    /// The period report: every leaver, graded against the SLA, checked against the HR system.
    Report(commands::report::ReportArgs),
    /// A reproducible sample of a period's leavers, drawn from the auditor's seed.
    Sample(commands::report::SampleArgs),
    /// The tenant's audit log: auditor links issued and fetched.
    Audit(commands::report::AuditArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions { shell: clap_complete::Shell },
    /// Print the manual page (roff) to stdout: `passage man | man -l -`.
    Man,
    /// Print the operator API's OpenAPI document (as the server publishes it) to stdout.
    Openapi,
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
    init_logs(default_level, json);
    if let Err(e) = run(cli).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// Log lines to stderr (text, or one JSON object a line for log pipelines), filtered by
/// `PASSAGE_LOG`; beside them, the engine's transition events are counted for `/metrics`
/// whatever the log level.
fn init_logs(default_level: &str, json: bool) {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_env("PASSAGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let events = tracing_subscriber::filter::Targets::new()
        .with_target("passage::events", tracing::Level::INFO);
    let counter = passage_http::metrics::EventCounter.with_filter(events);
    let text = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(counter);
    if json {
        let lines = text.json().flatten_event(true).with_current_span(false);
        registry.with(lines.with_filter(filter)).init();
    } else {
        registry.with(text.with_filter(filter)).init();
    }
}

async fn run(cli: Cli) -> Result<()> {
    if let Some(server) = &cli.server {
        let remote = passage::remote::Remote::new(server, cli.token.as_deref())?;
        return remote_command(&remote, cli.command).await;
    }
    match cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "passage",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Man => Ok(clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?),
        Command::Openapi => {
            println!(
                "{}",
                serde_json::to_string_pretty(&passage_http::openapi::document())?
            );
            Ok(())
        }
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
        Command::Operator(cmd) => commands::operator::run(cmd),
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

/// The operator commands through the operator API; the rest work on the host only.
async fn remote_command(r: &passage::remote::Remote, command: Command) -> Result<()> {
    use commands::remote;
    match command {
        Command::Runs(cmd) => remote::runs(r, cmd).await,
        Command::Plan(a) => remote::plan(r, a).await,
        Command::Start(a) => remote::start(r, a).await,
        Command::Confirm(a) => remote::confirm(r, a).await,
        Command::Reconcile(a) => remote::reconcile(r, a).await,
        Command::Waive(a) => remote::waive(r, a).await,
        Command::Except(a) => remote::except(r, a).await,
        Command::Retry(a) => remote::retry(r, a).await,
        Command::NotApplicable(a) => remote::not_applicable(r, a).await,
        Command::Approve(a) => remote::approve(r, a).await,
        Command::Cancel(a) => remote::cancel(r, a).await,
        Command::Reschedule(a) => remote::reschedule(r, a).await,
        Command::Restore(a) => remote::restore(r, a).await,
        _ => anyhow::bail!(
            "this command works on the Passage host only (it needs the data directory); \
             drop --server (and PASSAGE_SERVER) to run it there"
        ),
    }
}
