//! `passage runs list|show`: what operators look at.

use crate::output::{self, label, table};
use crate::system;
use anyhow::{Result, bail};
use clap::Subcommand;
use passage_core::ports::{RunFilter, RunStore};
use passage_core::{AttemptRecord, Run, RunId, RunState, Step, TenantId};
use std::path::Path;

#[derive(Subcommand)]
pub enum RunsCommand {
    /// Runs, newest first.
    List {
        #[arg(long)]
        tenant: Option<String>,
        /// scheduled, running, blocked, closed or cancelled (a held run is scheduled).
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
    let (_, system) = system::open_store(config_path)?;
    let store = &system.store;
    match cmd {
        RunsCommand::List {
            tenant,
            state,
            limit,
        } => list(store, tenant, state, limit).await,
        RunsCommand::Show { run_id, json } => show(store, &run_id, json).await,
    }
}

async fn list(
    store: &dyn RunStore,
    tenant: Option<String>,
    state: Option<String>,
    limit: usize,
) -> Result<()> {
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
    let mut t = table(&[
        "run",
        "tenant",
        "state",
        "cutoff (leaver's time)",
        "email",
        "to resolve",
    ]);
    for r in &runs {
        t.add_row(vec![
            r.id.to_string(),
            r.tenant.to_string(),
            r.shown_state().to_owned(),
            output::in_zone(r.cutoff.at, &r.cutoff.zone),
            r.subject.email.clone(),
            resolution(store, r).await?,
        ]);
    }
    println!("{t}");
    Ok(())
}

/// Why a held or blocked run waits and the command that moves it on; empty for other runs.
async fn resolution(store: &dyn RunStore, run: &Run) -> Result<String> {
    if run.state != RunState::Blocked && !run.is_held() {
        return Ok(String::new());
    }
    let steps = store.steps(&run.id).await?;
    let remedies = passage_core::remedy::for_run(run, &steps, jiff::Timestamp::now());
    let why = match (
        run.hold.as_ref().filter(|_| run.is_held()),
        &run.blocked_reason,
    ) {
        (Some(hold), _) => hold.reason.clone(),
        (None, Some(reason)) => reason.clone(),
        (None, None) => String::new(),
    };
    Ok(match remedies.first() {
        Some(r) => format!("{why}: {}", r.command),
        None => why,
    })
}

/// Every way out of what holds the run, with the command to type.
fn print_remedies(run: &Run, steps: &[Step]) {
    let remedies = passage_core::remedy::for_run(run, steps, jiff::Timestamp::now());
    if remedies.is_empty() {
        return;
    }
    println!(
        "
to resolve:"
    );
    let mut t = table(&["what", "command"]);
    for r in &remedies {
        t.add_row(vec![r.when.clone(), r.command.clone()]);
    }
    println!("{t}");
}

async fn show(store: &dyn RunStore, run_id: &str, json: bool) -> Result<()> {
    let id = RunId::new(run_id);
    let Some(run) = store.run(&id).await? else {
        bail!("no run {run_id}: `passage runs list` shows the runs this installation has");
    };
    let steps = store.steps(&id).await?;
    let attempts = store.attempts(&id).await?;
    if json {
        let events = store.events(&id).await?;
        let access = passage_core::access::grade(&steps);
        let out = serde_json::json!({"run": run, "steps": steps, "access": access,
            "exceptions": run.exceptions, "attempts": attempts, "events": events});
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    print_header(&run);
    print_remedies(&run, &steps);
    print_steps(&steps);
    print_access(&run, &steps);
    print_human_steps(&steps, &run.cutoff.zone);
    print_attempts(&attempts, &run.cutoff.zone);
    Ok(())
}

fn print_header(run: &Run) {
    let zone = &run.cutoff.zone;
    let mut t = output::fields();
    t.add_row(vec![
        "run".into(),
        format!("{} ({})", run.id, run.shown_state()),
    ]);
    t.add_row(vec!["tenant".into(), run.tenant.to_string()]);
    t.add_row(vec![
        "leaver".into(),
        format!("{} <{}>", run.subject.employee_id, run.subject.email),
    ]);
    t.add_row(vec!["cutoff".into(), output::in_zone(run.cutoff.at, zone)]);
    if let Some(reason) = &run.blocked_reason {
        t.add_row(vec!["blocked".into(), reason.clone()]);
    }
    if let Some(hold) = &run.hold {
        t.add_row(vec!["held".into(), hold.reason.clone()]);
    }
    if let Some(c) = &run.cancellation {
        t.add_row(vec![
            "cancelled".into(),
            format!(
                "by {} at {}: {}",
                c.actor,
                output::in_zone(c.at, zone),
                c.reason
            ),
        ]);
    }
    if let passage_core::RunSource::Restore(origin) = &run.source {
        t.add_row(vec![
            "restores".into(),
            format!(
                "{} (bundle #{}), asked by {}: {} item(s) to give back, {} that cannot come back",
                origin.original_run,
                origin.original_sequence,
                origin.actor,
                origin.plan.items.len(),
                origin.plan.not_restorable.len()
            ),
        ]);
        for n in &origin.plan.not_restorable {
            t.add_row(vec![
                "  not restored".into(),
                format!("{}: {}", n.key, n.why),
            ]);
        }
    }
    if let Some(b) = &run.bundle {
        t.add_row(vec![
            "bundle".into(),
            format!(
                "#{} {} (manifest {})",
                b.sequence, b.location, b.manifest_sha256
            ),
        ]);
    }
    println!("{t}\n");
}

/// Every access item graded, and who accepted those that stay.
fn print_access(run: &Run, steps: &[Step]) {
    let items = passage_core::access::grade(steps);
    if items.is_empty() {
        return;
    }
    println!("\naccess:");
    let mut t = table(&["item", "name", "grade", "read", "detail"]);
    for i in &items {
        let accepted = run.exceptions.iter().find(|e| e.item == i.key);
        let detail = match (accepted, &i.reason) {
            (Some(e), _) => format!("exception accepted by {}: {}", e.operator, e.reason),
            (None, Some(why)) => why.clone(),
            (None, None) => String::new(),
        };
        t.add_row(vec![
            i.key.clone(),
            i.name.clone(),
            i.grade.as_str().into(),
            format!("{} ({:?})", i.source.step, i.source.read).to_lowercase(),
            detail,
        ]);
    }
    println!("{t}");
}

fn print_steps(steps: &[Step]) {
    let mut t = table(&["step", "critical", "state", "attempts", "detail"]);
    for s in steps {
        let detail = match (&s.result, &s.last_error, &s.waiver) {
            _ if s.absence.is_some() => s.absence.as_ref().map_or(String::new(), |p| {
                format!(
                    "proven absent by {} ({} {} at {}): {}",
                    p.operator, p.read, p.code, p.read_at, p.reason
                )
            }),
            (_, _, Some(w)) => format!("waived by {}: {}", w.actor, w.reason),
            (Some(r), _, _) => r.summary.clone(),
            (None, Some(e), _) => format!("{}: {}", e.code, e.message),
            _ => String::new(),
        };
        t.add_row(vec![
            s.key.to_string(),
            if s.critical { "yes" } else { "no" }.into(),
            s.state.as_str().into(),
            s.attempts.to_string(),
            detail,
        ]);
    }
    println!("{t}");
}

/// Each human step's items (who confirmed what, when) and the notices sent about them.
fn print_human_steps(steps: &[Step], zone: &str) {
    for s in steps {
        let Some(task) = &s.human else { continue };
        println!("\n{} (due {}):", s.key, output::in_zone(task.due_at, zone));
        let mut t = table(&["item", "what", "mdm", "status"]);
        for i in &task.items {
            let mdm = i
                .device
                .as_ref()
                .map(|d| format!("{}: {}", d.source, d.mdm_state))
                .unwrap_or_default();
            let status = match &i.confirmation {
                Some(c) => format!(
                    "{} by {} at {}",
                    label(&c.outcome),
                    c.actor,
                    output::in_zone(c.at, zone)
                ),
                None => "outstanding".into(),
            };
            t.add_row(vec![i.id.clone(), i.label.clone(), mdm, status]);
        }
        println!("{t}");
        for n in &task.notices {
            let ok = n.deliveries.iter().filter(|d| d.delivered).count();
            println!(
                "  {} sent {} ({ok} of {} channels delivered)",
                label(&n.kind),
                output::in_zone(n.at, zone),
                n.deliveries.len()
            );
        }
    }
}

/// Every attempt with the calls it made (status, time, the provider's request id).
fn print_attempts(attempts: &[AttemptRecord], zone: &str) {
    if attempts.is_empty() {
        return;
    }
    println!("\nattempts:");
    let mut t = table(&[
        "step",
        "#",
        "result",
        "at",
        "call",
        "status",
        "ms",
        "request id",
    ]);
    for a in attempts {
        let what = match (&a.error_code, &a.message) {
            (Some(code), Some(m)) => format!("{} {code}: {m}", label(&a.result)),
            (None, Some(m)) => format!("{} {m}", label(&a.result)),
            (Some(code), None) => format!("{} {code}", label(&a.result)),
            (None, None) => label(&a.result),
        };
        t.add_row(vec![
            a.step_key.to_string(),
            a.number.to_string(),
            what,
            output::in_zone(a.started_at, zone),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ]);
        for c in &a.calls {
            t.add_row(vec![
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                format!("{} {}", c.method, c.path),
                c.status.to_string(),
                c.duration_ms.to_string(),
                c.request_id.clone().unwrap_or_default(),
            ]);
        }
    }
    println!("{t}");
}
