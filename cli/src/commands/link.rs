//! `passage link`: a signed, expiring URL for an auditor: to one closed run's bundle, or with
//! `--tenant --from --to` to a period's signed report, keys, chain checkpoint and every bundle.
//! Each issue is recorded in the tenant's audit log.

use crate::commands::report::PeriodArgs;
use crate::system;
use anyhow::{Result, bail};
use clap::Args;
use passage_core::RunId;
use passage_core::link::{self, LinkScope};
use passage_core::ports::RunStore;
use passage_report::publish::{LinkRequest, issue_period_link};
use serde_json::json;
use std::path::Path;

#[derive(Args)]
pub struct LinkArgs {
    /// The run whose bundle the link serves (leave out for a period link).
    #[arg(required_unless_present = "tenant", conflicts_with_all = ["tenant", "from", "to"])]
    run_id: Option<String>,
    /// A period link for this tenant (with --from and --to).
    #[arg(long, requires_all = ["from", "to"])]
    tenant: Option<String>,
    #[arg(long)]
    from: Option<jiff::civil::Date>,
    #[arg(long)]
    to: Option<jiff::civil::Date>,
    /// How long the link stays valid, in hours.
    #[arg(long, default_value_t = 168)]
    hours: i64,
}

/// Who issues from the command line: the login name, as far as the system says.
fn actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

pub async fn run(config_path: &Path, args: LinkArgs) -> Result<()> {
    // A period link builds the report, which needs the tenant's policy (its SLA) and its HR
    // system: the full system. A run's link needs the store alone.
    let (config, system) = if args.tenant.is_some() {
        system::open(config_path)?
    } else {
        system::open_store(config_path)?
    };
    if !(1..=24 * 90).contains(&args.hours) {
        bail!("--hours must be between 1 and 2160 (90 days)");
    }
    let base = config
        .server
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.server.listen));
    let base = base.trim_end_matches('/');
    let key = system.link_key.expose().as_bytes();
    if let (Some(tenant), Some(from), Some(to)) = (&args.tenant, args.from, args.to) {
        let period = PeriodArgs {
            tenant: tenant.clone(),
            from,
            to,
        };
        let issued = issue_period_link(
            &system.engine,
            &LinkRequest {
                tenant: &period.tenant(),
                period: period.period()?,
                valid_for: std::time::Duration::from_secs(args.hours as u64 * 3600),
                actor: &actor(),
                link_key: key,
            },
            passage_report::pdf::Chromium::find().as_ref(),
        )
        .await?;
        eprintln!(
            "period link {} for {} leavers (population sha256 {})",
            issued.scope.id,
            issued.report.report.population.count,
            issued.report.report.population.sha256
        );
        println!("{base}{}", issued.path);
        return Ok(());
    }
    let run_id = args.run_id.unwrap_or_default();
    let Some(run) = system.store.run(&RunId::new(run_id.as_str())).await? else {
        bail!("no run {run_id}");
    };
    if run.bundle.is_none() {
        bail!(
            "run {} is {} and has no bundle yet",
            run.id,
            run.state.as_str()
        );
    }
    let scope = LinkScope {
        tenant: run.tenant.to_string(),
        run_id: run.id.to_string(),
        expires: jiff::Timestamp::now().as_second() + args.hours * 3600,
    };
    system
        .engine
        .audit(
            &run.tenant,
            "link.issued",
            &actor(),
            json!({"scope": "run", "run_id": run.id, "expires": scope.expires}),
        )
        .await?;
    println!("{base}{}", link::path(key, &scope));
    Ok(())
}
