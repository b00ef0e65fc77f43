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
    pub(crate) run_id: String,
    /// Step key, e.g. okta.revoke_grants.
    pub(crate) step: String,
    #[arg(long, required = true)]
    pub(crate) reason: String,
    #[arg(long, default_value_t = default_actor())]
    pub(crate) actor: String,
}

#[derive(Args)]
pub struct NotApplicableArgs {
    pub(crate) run_id: String,
    /// Any step of the provider the leaver has no account at, e.g. okta.snapshot; every
    /// unfinished step of that provider is closed with it.
    pub(crate) step: String,
    #[arg(long, required = true)]
    pub(crate) reason: String,
    #[arg(long, default_value_t = default_actor())]
    pub(crate) actor: String,
}

#[derive(Args)]
pub struct ApproveArgs {
    #[arg(long)]
    pub(crate) tenant: String,
    /// One held run.
    #[arg(long, conflicts_with = "all", required_unless_present = "all")]
    pub(crate) run: Option<String>,
    /// Every run of the tenant the go-live guard holds.
    #[arg(long)]
    pub(crate) all: bool,
    #[arg(long, default_value_t = default_actor())]
    pub(crate) actor: String,
}

#[derive(Args)]
pub struct ExceptArgs {
    pub(crate) run_id: String,
    /// Access item key, as `passage runs show` lists it (e.g. microsoft.group.<id>).
    pub(crate) item: String,
    #[arg(long, required = true)]
    pub(crate) reason: String,
    /// When the exception stops holding (RFC 3339); the item must then be resolved or accepted again.
    #[arg(long)]
    pub(crate) expires: Option<jiff::Timestamp>,
    #[arg(long, default_value_t = default_actor())]
    pub(crate) actor: String,
}

#[derive(Args)]
pub struct RetryArgs {
    pub(crate) run_id: String,
    pub(crate) step: String,
    #[arg(long, default_value_t = default_actor())]
    pub(crate) actor: String,
}

#[derive(Args)]
pub struct RescheduleArgs {
    pub(crate) run_id: String,
    /// New last working day (YYYY-MM-DD), cut at the tenant's end of day in the leaver's zone.
    #[arg(long, conflicts_with_all = ["at", "now"])]
    pub(crate) last_day: Option<jiff::civil::Date>,
    /// New exact cutoff instant (RFC 3339, e.g. 2026-12-01T17:30:00-05:00).
    #[arg(long, conflicts_with = "now")]
    pub(crate) at: Option<jiff::Timestamp>,
    /// Cut now (involuntary termination). A new cutoff already past is refused without it, so
    /// a mistyped date never cuts access by surprise.
    #[arg(long)]
    pub(crate) now: bool,
    #[arg(long, required = true)]
    pub(crate) reason: String,
    #[arg(long, default_value_t = default_actor())]
    pub(crate) actor: String,
}

#[derive(Args)]
pub struct CancelArgs {
    pub(crate) run_id: String,
    #[arg(long, required = true)]
    pub(crate) reason: String,
    #[arg(long, default_value_t = default_actor())]
    pub(crate) actor: String,
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
    system::warn_if_not_serving(&system);
    Ok(())
}

pub async fn not_applicable(config: &Path, a: NotApplicableArgs) -> Result<()> {
    let (_, system) = system::open(config)?;
    let closed = system
        .engine
        .not_applicable(
            &RunId::new(a.run_id.as_str()),
            &StepKey::new(a.step.as_str()),
            &a.actor,
            &a.reason,
        )
        .await?;
    if let Some(proof) = closed.first().and_then(|s| s.absence.as_ref()) {
        println!(
            "{} read at {}: {} ({}); request ids: {}",
            proof.read,
            proof.read_at,
            proof.answer,
            proof.code,
            proof.request_ids().join(", ")
        );
    }
    for step in &closed {
        println!(
            "{} not applicable (proven absent), by {}",
            step.key, a.actor
        );
    }
    system::warn_if_not_serving(&system);
    Ok(())
}

pub async fn approve(config: &Path, a: ApproveArgs) -> Result<()> {
    use passage_core::engine::Approval;
    let which = match a.run {
        Some(run) => Approval::One(RunId::new(run.as_str())),
        None => Approval::All,
    };
    let (_, system) = system::open(config)?;
    let runs = system
        .engine
        .approve(
            &passage_core::TenantId::new(a.tenant.as_str()),
            which,
            &a.actor,
        )
        .await?;
    if runs.is_empty() {
        println!("no run of tenant {} is held", a.tenant);
    }
    for run in &runs {
        println!(
            "{} approved by {} ({})",
            run.id,
            a.actor,
            run.state.as_str()
        );
    }
    system::warn_if_not_serving(&system);
    Ok(())
}

pub async fn except(config: &Path, a: ExceptArgs) -> Result<()> {
    let (_, system) = system::open(config)?;
    let run = system
        .engine
        .except(
            &RunId::new(a.run_id.as_str()),
            &a.item,
            &a.actor,
            &a.reason,
            a.expires,
        )
        .await?;
    println!(
        "{} accepted as an exception by {} on run {} ({})",
        a.item,
        a.actor,
        run.id,
        run.state.as_str()
    );
    system::warn_if_not_serving(&system);
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
    system::warn_if_not_serving(&system);
    Ok(())
}

pub async fn cancel(config: &Path, a: CancelArgs) -> Result<()> {
    let (_, system) = system::open(config)?;
    let run = system
        .engine
        .cancel(&RunId::new(a.run_id.as_str()), &a.actor, &a.reason)
        .await?;
    println!("{} cancelled", run.id);
    system::warn_if_not_serving(&system);
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

#[derive(Args)]
pub struct StartArgs {
    /// Tenant id.
    #[arg(long)]
    pub(crate) tenant: String,
    /// The HR system's employee id.
    #[arg(long)]
    pub(crate) employee_id: String,
    #[arg(long)]
    pub(crate) email: String,
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Last working day (YYYY-MM-DD), cut at the end of day in the leaver's zone.
    #[arg(long, conflicts_with_all = ["at", "now"])]
    pub(crate) last_day: Option<jiff::civil::Date>,
    /// Exact cutoff instant (RFC 3339).
    #[arg(long, conflicts_with = "now")]
    pub(crate) at: Option<jiff::Timestamp>,
    /// Cut now (involuntary termination).
    #[arg(long)]
    pub(crate) now: bool,
    /// IANA time zone; else the work location's, else the tenant's default.
    #[arg(long)]
    pub(crate) time_zone: Option<String>,
    /// Work location as the tenant's policy names it.
    #[arg(long)]
    pub(crate) location: Option<String>,
    /// Manager's email: receives mail and files, confirms the hand-over.
    #[arg(long)]
    pub(crate) manager: Option<String>,
    #[arg(long)]
    pub(crate) note: Option<String>,
    /// Makes a repeated command return the same run.
    #[arg(long)]
    pub(crate) idempotency_key: Option<String>,
    #[arg(long, default_value_t = default_actor())]
    pub(crate) actor: String,
}

/// Starts a leaver run by hand ("Jane leaves Friday").
pub async fn start(config: &Path, a: StartArgs) -> Result<()> {
    use passage_core::cutoff::CutoffRequest;
    let cutoff = match (a.last_day, a.at, a.now) {
        (Some(day), None, false) => CutoffRequest::LastWorkingDay(day),
        (None, Some(at), false) => CutoffRequest::Exact(at),
        (None, None, true) => CutoffRequest::Immediate,
        _ => anyhow::bail!("give exactly one of --last-day, --at or --now"),
    };
    let (_, system) = system::open(config)?;
    let key = a
        .idempotency_key
        .clone()
        .unwrap_or_else(|| RunId::generate().to_string());
    let accepted = system
        .engine
        .start_manual(
            &passage_core::TenantId::new(a.tenant.as_str()),
            passage_core::engine::ManualLeaver {
                employee_id: a.employee_id,
                email: a.email,
                display_name: a.name,
                cutoff,
                time_zone: a.time_zone,
                work_location: a.location,
                manager: a.manager.map(|email| passage_core::Manager {
                    email,
                    employee_id: None,
                }),
                note: a.note,
            },
            &a.actor,
            &format!("cli:{key}"),
        )
        .await?;
    println!(
        "{} {} ({}), cutoff {}",
        accepted.run_id,
        if accepted.created {
            "created"
        } else {
            "already existed"
        },
        accepted.state.as_str(),
        accepted.cutoff_at
    );
    system::warn_if_not_serving(&system);
    Ok(())
}

#[derive(Args)]
pub struct ConfirmArgs {
    pub(crate) run_id: String,
    /// Step key, e.g. human.return_devices.
    pub(crate) step: String,
    /// Item id as `passage runs show` lists it (device-1, handover).
    pub(crate) item: String,
    /// received, handed_over or written_off.
    #[arg(long)]
    pub(crate) outcome: String,
    /// The device's condition on return.
    #[arg(long)]
    pub(crate) condition: Option<String>,
    #[arg(long)]
    pub(crate) note: Option<String>,
    #[arg(long, default_value_t = default_actor())]
    pub(crate) actor: String,
}

/// Confirms one item of a human step (a returned laptop, a hand-over).
pub async fn confirm(config: &Path, a: ConfirmArgs) -> Result<()> {
    let outcome = match a.outcome.as_str() {
        "received" => passage_core::ItemOutcome::Received,
        "handed_over" => passage_core::ItemOutcome::HandedOver,
        "written_off" => passage_core::ItemOutcome::WrittenOff,
        "attested" => passage_core::ItemOutcome::Attested,
        "no_account" => passage_core::ItemOutcome::NoAccount,
        other => anyhow::bail!(
            "unknown outcome {other:?}: use received, handed_over, written_off, attested or no_account"
        ),
    };
    let (_, system) = system::open(config)?;
    let step = system
        .engine
        .confirm(
            &RunId::new(a.run_id.as_str()),
            &StepKey::new(a.step.as_str()),
            &passage_core::engine::ConfirmRequest {
                item: a.item.clone(),
                outcome,
                actor: format!("operator:{}", a.actor),
                condition: a.condition,
                note: a.note,
            },
        )
        .await?;
    println!(
        "{} {} confirmed by {}; step is {}",
        step.key,
        a.item,
        a.actor,
        step.state.as_str()
    );
    Ok(())
}

#[derive(Args)]
pub struct ReconcileArgs {
    /// Tenant id (every tenant with an HR API when omitted).
    #[arg(long)]
    pub(crate) tenant: Option<String>,
    /// Compare terminations dated from this day on (default: 30 days ago).
    #[arg(long)]
    pub(crate) since: Option<jiff::civil::Date>,
}

/// Compares the HR system with Passage and applies the differences.
pub async fn reconcile(config: &Path, a: ReconcileArgs) -> Result<()> {
    let opened = system::open_all(config)?;
    let tenants = match a.tenant {
        Some(t) => vec![passage_core::TenantId::new(t.as_str())],
        None => opened.reconcile,
    };
    for t in tenants {
        let report = opened.system.engine.reconcile(&t, a.since).await?;
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}
