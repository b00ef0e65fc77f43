//! Operator actions from the command line; each is recorded with its actor.

use crate::system;
use anyhow::Result;
use clap::Args;
use passage_core::{RunId, StepKey};
use std::path::Path;

fn default_actor() -> String {
    std::env::var("USER").unwrap_or_else(|_| "operator".into())
}

#[derive(Args)]
pub struct WaiveArgs {
    run_id: String,
    /// Step key, e.g. okta.revoke_grants.
    step: String,
    #[arg(long, required = true)]
    reason: String,
    #[arg(long, default_value_t = default_actor())]
    actor: String,
}

#[derive(Args)]
pub struct RetryArgs {
    run_id: String,
    step: String,
    #[arg(long, default_value_t = default_actor())]
    actor: String,
}

#[derive(Args)]
pub struct RescheduleArgs {
    run_id: String,
    /// New last working day (YYYY-MM-DD), cut at the tenant's end of day in the leaver's zone.
    #[arg(long, conflicts_with_all = ["at", "now"])]
    last_day: Option<jiff::civil::Date>,
    /// New exact cutoff instant (RFC 3339, e.g. 2026-12-01T17:30:00-05:00).
    #[arg(long, conflicts_with = "now")]
    at: Option<jiff::Timestamp>,
    /// Cut now (involuntary termination).
    #[arg(long)]
    now: bool,
    #[arg(long, required = true)]
    reason: String,
    #[arg(long, default_value_t = default_actor())]
    actor: String,
}

#[derive(Args)]
pub struct CancelArgs {
    run_id: String,
    #[arg(long, required = true)]
    reason: String,
    #[arg(long, default_value_t = default_actor())]
    actor: String,
}

pub async fn waive(config: &Path, a: WaiveArgs) -> Result<()> {
    let (_, system) = system::open(config)?;
    let step = system
        .engine
        .waive(
            &RunId::new(a.run_id.as_str()),
            &StepKey::new(a.step.as_str()),
            &a.actor,
            &a.reason,
        )
        .await?;
    println!("{} waived by {}", step.key, a.actor);
    Ok(())
}

pub async fn retry(config: &Path, a: RetryArgs) -> Result<()> {
    let (_, system) = system::open(config)?;
    let step = system
        .engine
        .retry(
            &RunId::new(a.run_id.as_str()),
            &StepKey::new(a.step.as_str()),
            &a.actor,
        )
        .await?;
    println!("{} queued again ({})", step.key, step.state.as_str());
    Ok(())
}

pub async fn cancel(config: &Path, a: CancelArgs) -> Result<()> {
    let (_, system) = system::open(config)?;
    let run = system
        .engine
        .cancel(&RunId::new(a.run_id.as_str()), &a.actor, &a.reason)
        .await?;
    println!("{} cancelled", run.id);
    Ok(())
}

pub async fn reschedule(config: &Path, a: RescheduleArgs) -> Result<()> {
    use passage_core::cutoff::CutoffRequest;
    let request = match (a.last_day, a.at, a.now) {
        (Some(day), None, false) => CutoffRequest::LastWorkingDay(day),
        (None, Some(at), false) => CutoffRequest::Exact(at),
        (None, None, true) => CutoffRequest::Immediate,
        _ => anyhow::bail!("give exactly one of --last-day, --at or --now"),
    };
    let (_, system) = system::open(config)?;
    let run = system
        .engine
        .reschedule(
            &RunId::new(a.run_id.as_str()),
            &request,
            &a.actor,
            &a.reason,
        )
        .await?;
    println!(
        "{} cutoff moved to {} ({})",
        run.id, run.cutoff.at, run.cutoff.zone
    );
    Ok(())
}
