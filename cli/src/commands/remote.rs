//! The operator commands in remote mode (`--server`): each becomes one operator API call.
//! The server records the token's operator as the actor, so `--actor` has no effect here.

use super::operate::{
    ApproveArgs, CancelArgs, ConfirmArgs, ExceptArgs, NotApplicableArgs, ReconcileArgs,
    RescheduleArgs, RetryArgs, StartArgs, WaiveArgs,
};
use super::plan::PlanArgs;
use super::restore::RestoreArgs;
use super::runs::RunsCommand;
use crate::remote::{Remote, seg};
use anyhow::{Result, bail};
use serde_json::{Value, json};

/// The cutoff fields of a start or reschedule body: exactly one of them.
fn when(
    last_day: Option<jiff::civil::Date>,
    at: Option<jiff::Timestamp>,
    now: bool,
) -> Result<Value> {
    Ok(match (last_day, at, now) {
        (Some(d), None, false) => json!({"last_working_day": d}),
        (None, Some(t), false) => json!({"cutoff_at": t}),
        (None, None, true) => json!({"immediate": true}),
        _ => bail!("give exactly one of --last-day, --at or --now"),
    })
}

fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

fn show(v: &Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn tenant_path(tenant: &str, rest: &str) -> String {
    format!("/v1/operator/tenants/{}{rest}", seg(tenant))
}

fn step_path(step: &str, action: &str) -> String {
    format!("/steps/{}/{action}", seg(step))
}

pub async fn runs(r: &Remote, cmd: RunsCommand) -> Result<()> {
    match cmd {
        RunsCommand::List {
            tenant,
            state,
            limit,
        } => {
            let Some(tenant) = tenant else {
                bail!("with --server, `runs list` needs --tenant");
            };
            let mut query = vec![("limit", limit.to_string())];
            if let Some(s) = state {
                query.push(("state", s));
            }
            let list = r.get(&tenant_path(&tenant, "/runs"), &query).await?;
            for run in list["runs"].as_array().into_iter().flatten() {
                println!(
                    "{}  {:<10}  {}  {}",
                    run["run_id"].as_str().unwrap_or(""),
                    run["shown_state"].as_str().unwrap_or(""),
                    run["cutoff_at"].as_str().unwrap_or(""),
                    run["email"].as_str().unwrap_or("")
                );
            }
            Ok(())
        }
        RunsCommand::Show { run_id, .. } => {
            show(&r.get(&r.run_path(&run_id, "").await?, &[]).await?)
        }
    }
}

pub async fn start(r: &Remote, a: StartArgs) -> Result<()> {
    let body = merge(
        json!({"employee_id": a.employee_id, "email": a.email, "display_name": a.name,
            "time_zone": a.time_zone, "work_location": a.location,
            "manager_email": a.manager, "note": a.note}),
        when(a.last_day, a.at, a.now)?,
    );
    show(&r.post(&tenant_path(&a.tenant, "/runs"), body).await?)
}

pub async fn waive(r: &Remote, a: WaiveArgs) -> Result<()> {
    let path = r.run_path(&a.run_id, &step_path(&a.step, "waive")).await?;
    show(&r.post(&path, json!({"reason": a.reason})).await?)
}

pub async fn retry(r: &Remote, a: RetryArgs) -> Result<()> {
    let path = r.run_path(&a.run_id, &step_path(&a.step, "retry")).await?;
    show(&r.post(&path, json!({})).await?)
}

pub async fn not_applicable(r: &Remote, a: NotApplicableArgs) -> Result<()> {
    let path = r
        .run_path(&a.run_id, &step_path(&a.step, "not-applicable"))
        .await?;
    show(&r.post(&path, json!({"reason": a.reason})).await?)
}

pub async fn confirm(r: &Remote, a: ConfirmArgs) -> Result<()> {
    let path = r
        .run_path(&a.run_id, &step_path(&a.step, "confirm"))
        .await?;
    let body =
        json!({"item": a.item, "outcome": a.outcome, "condition": a.condition, "note": a.note});
    show(&r.post(&path, body).await?)
}

pub async fn except(r: &Remote, a: ExceptArgs) -> Result<()> {
    let path = r.run_path(&a.run_id, "/exceptions").await?;
    let body = json!({"item": a.item, "reason": a.reason, "expires_at": a.expires});
    show(&r.post(&path, body).await?)
}

pub async fn cancel(r: &Remote, a: CancelArgs) -> Result<()> {
    let path = r.run_path(&a.run_id, "/cancel").await?;
    show(&r.post(&path, json!({"reason": a.reason})).await?)
}

pub async fn reschedule(r: &Remote, a: RescheduleArgs) -> Result<()> {
    let path = r.run_path(&a.run_id, "/reschedule").await?;
    let body = merge(json!({"reason": a.reason}), when(a.last_day, a.at, a.now)?);
    show(&r.post(&path, body).await?)
}

pub async fn approve(r: &Remote, a: ApproveArgs) -> Result<()> {
    let body = match a.run {
        Some(run) => json!({"run_id": run}),
        None => json!({"all": true}),
    };
    show(&r.post(&tenant_path(&a.tenant, "/approve"), body).await?)
}

pub async fn reconcile(r: &Remote, a: ReconcileArgs) -> Result<()> {
    let Some(tenant) = a.tenant else {
        bail!("with --server, `reconcile` needs --tenant");
    };
    show(
        &r.post(
            &tenant_path(&tenant, "/reconcile"),
            json!({"since": a.since}),
        )
        .await?,
    )
}

pub async fn plan(r: &Remote, a: PlanArgs) -> Result<()> {
    let body = json!({"email": a.email, "employee_id": a.employee_id, "manager_email": a.manager});
    show(&r.post(&tenant_path(&a.tenant, "/plan"), body).await?)
}

/// Without `--yes`, the plan only (a dry run), as on the host.
pub async fn restore(r: &Remote, a: RestoreArgs) -> Result<()> {
    let path = r.run_path(&a.run_id, "/restore").await?;
    let body = json!({"items": a.items, "dry_run": !a.yes, "note": a.note});
    show(&r.post(&path, body).await?)
}
