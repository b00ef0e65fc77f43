//! `passage runs list|show`: what operators look at.

use crate::system;
use anyhow::{Result, bail};
use clap::Subcommand;
use passage_core::ports::{RunFilter, RunStore};
use passage_core::{RunId, RunState, StepState, TenantId};
use std::path::Path;

#[derive(Subcommand)]
pub enum RunsCommand {
    /// Runs, newest first.
    List {
        #[arg(long)]
        tenant: Option<String>,
        /// scheduled, running, blocked, closed or cancelled.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One run: its cutoff, steps, attempts and errors.
    Show {
        run_id: String,
        /// Print the run, steps, attempts and events as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(config_path: &Path, cmd: RunsCommand) -> Result<()> {
    let (_, system) = system::open(config_path)?;
    let store = &system.store;
    match cmd {
        RunsCommand::List {
            tenant,
            state,
            limit,
        } => {
            let filter = RunFilter {
                tenant: tenant.map(TenantId::new),
                state: state
                    .as_deref()
                    .map(str::parse::<RunState>)
                    .transpose()
                    .map_err(anyhow::Error::msg)?,
                employee_id: None,
                limit: Some(limit),
            };
            let runs = store.list_runs(&filter).await?;
            println!(
                "{:<38} {:<12} {:<10} {:<25} EMAIL",
                "RUN", "TENANT", "STATE", "CUTOFF"
            );
            for r in runs {
                println!(
                    "{:<38} {:<12} {:<10} {:<25} {}",
                    r.id,
                    r.tenant,
                    r.state.as_str(),
                    r.cutoff.at.to_string(),
                    r.subject.email
                );
            }
        }
        RunsCommand::Show { run_id, json } => {
            let id = RunId::new(run_id.as_str());
            let Some(run) = store.run(&id).await? else {
                bail!("no run {run_id}");
            };
            let steps = store.steps(&id).await?;
            let attempts = store.attempts(&id).await?;
            if json {
                let events = store.events(&id).await?;
                let out = serde_json::json!({"run": run, "steps": steps, "attempts": attempts, "events": events});
                println!("{}", serde_json::to_string_pretty(&out)?);
                return Ok(());
            }
            println!("run      {} ({})", run.id, run.state.as_str());
            println!("tenant   {}", run.tenant);
            println!(
                "leaver   {} <{}>",
                run.subject.employee_id, run.subject.email
            );
            println!("cutoff   {} ({})", run.cutoff.at, run.cutoff.zone);
            if let Some(reason) = &run.blocked_reason {
                println!("blocked  {reason}");
            }
            if let Some(c) = &run.cancellation {
                println!("cancelled by {} at {}: {}", c.actor, c.at, c.reason);
            }
            if let Some(b) = &run.bundle {
                println!(
                    "bundle   #{} {} ({})",
                    b.sequence, b.location, b.manifest_sha256
                );
            }
            println!();
            println!(
                "{:<22} {:<8} {:<11} {:>8}  DETAIL",
                "STEP", "CRITICAL", "STATE", "ATTEMPTS"
            );
            for s in &steps {
                let detail = match (&s.result, &s.last_error, &s.waiver, &s.operation) {
                    (_, _, Some(w), _) => format!("waived by {}: {}", w.actor, w.reason),
                    (Some(r), _, _, _) => r.summary.clone(),
                    (None, _, None, Some(op)) if s.state == StepState::AwaitingCompletion => {
                        format!(
                            "waiting on the provider: {} (gives up at {})",
                            op.what, op.deadline
                        )
                    }
                    (None, Some(e), _, _) => format!("{}: {}", e.code, e.message),
                    _ => String::new(),
                };
                println!(
                    "{:<22} {:<8} {:<11} {:>8}  {}",
                    s.key,
                    if s.critical { "yes" } else { "no" },
                    s.state.as_str(),
                    s.attempts,
                    detail
                );
            }
            for s in steps.iter().filter(|s| s.human.is_some()) {
                let Some(task) = &s.human else { continue };
                println!();
                println!("{} (due {}):", s.key, task.due_at);
                for i in &task.items {
                    let mdm = i
                        .device
                        .as_ref()
                        .map(|d| format!(" [{}: {}]", d.source, d.mdm_state))
                        .unwrap_or_default();
                    let status = match &i.confirmation {
                        Some(c) => format!("{:?} by {} at {}", c.outcome, c.actor, c.at),
                        None => "outstanding".into(),
                    };
                    println!("  {:<10} {}{} - {}", i.id, i.label, mdm, status);
                }
                for n in &task.notices {
                    let ok = n.deliveries.iter().filter(|d| d.delivered).count();
                    println!(
                        "  {:?} sent {} ({} of {} channels delivered)",
                        n.kind,
                        n.at,
                        ok,
                        n.deliveries.len()
                    );
                }
            }
            if !attempts.is_empty() {
                println!();
                println!("attempts:");
                for a in &attempts {
                    println!(
                        "  {} #{} {:?} {}{}",
                        a.step_key,
                        a.number,
                        a.result,
                        a.error_code.as_deref().unwrap_or(""),
                        a.message
                            .as_deref()
                            .map(|m| format!(" {m}"))
                            .unwrap_or_default()
                    );
                    for c in &a.calls {
                        println!(
                            "      {} {} -> {} {}ms {}",
                            c.method,
                            c.path,
                            c.status,
                            c.duration_ms,
                            c.request_id.as_deref().unwrap_or("")
                        );
                    }
                }
            }
        }
    }
    Ok(())
}
