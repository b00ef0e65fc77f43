//! `passage report`, `passage sample` and `passage audit`: the period view an auditor tests,
//! the reproducible sample drawn from it, and the tenant's audit log of auditor links.

use crate::output::{fields, table};
use crate::system;
use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use jiff::civil::Date;
use passage_core::TenantId;
use passage_core::report::{Completeness, Period, PeriodReport, oscal, sample};
use passage_report::pdf::Chromium;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct PeriodArgs {
    #[arg(long)]
    pub tenant: String,
    /// First day of the period (a leaver's termination date), inclusive.
    #[arg(long)]
    pub from: Date,
    /// Last day of the period, inclusive.
    #[arg(long)]
    pub to: Date,
}

impl PeriodArgs {
    pub fn period(&self) -> Result<Period> {
        Ok(Period::new(self.from, self.to)?)
    }

    pub fn tenant(&self) -> TenantId {
        TenantId::new(self.tenant.as_str())
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Json,
    Csv,
    Html,
    Pdf,
    Oscal,
}

#[derive(Args)]
pub struct ReportArgs {
    #[command(flatten)]
    period: PeriodArgs,
    /// What to print (with --out, the signed directory holds every format).
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Write the signed report directory here (manifest, statement, signature, public key,
    /// report.json/.csv/.html/.pdf, OSCAL, population.txt), verifiable with `passage verify`.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Chromium for the PDF: required when asked for, used when found otherwise.
fn chromium(required: bool) -> Result<Option<Chromium>> {
    match Chromium::find() {
        Some(c) => Ok(Some(c)),
        None if required => bail!(
            "a PDF needs Chromium: install Debian's `chromium` package or set PASSAGE_CHROMIUM"
        ),
        None => Ok(None),
    }
}

pub async fn report(config: &Path, a: ReportArgs) -> Result<()> {
    let (_, sys) = system::open(config)?;
    let (tenant, period) = (a.period.tenant(), a.period.period()?);
    if let Some(out) = &a.out {
        let pdf = chromium(a.format == Format::Pdf)?;
        let signed =
            passage_report::signed_period_report(&sys.engine, &tenant, period, pdf.as_ref())
                .await?;
        write_dir(out, &signed.files)?;
        eprintln!("{}", summary(&signed.report));
        if pdf.is_none() {
            eprintln!("(no Chromium found: the directory has no report.pdf)");
        }
        eprintln!(
            "signed report written to {}; check it with `passage verify {}`",
            out.display(),
            out.display()
        );
        return Ok(());
    }
    let r = sys.engine.period_report(&tenant, period).await?;
    let bytes = match a.format {
        Format::Json => serde_json::to_vec_pretty(&r)?,
        Format::Oscal => serde_json::to_vec_pretty(&oscal::assessment_results(&r))?,
        Format::Csv => passage_report::csv::period_csv(&r)?,
        Format::Html => passage_report::html::period_page(&r).into_bytes(),
        Format::Pdf => {
            let c = chromium(true)?.context("Chromium")?;
            let html = passage_report::html::period_page(&r);
            tokio::task::spawn_blocking(move || c.print(html.as_bytes())).await??
        }
    };
    std::io::stdout().write_all(&bytes)?;
    eprintln!("{}", summary(&r));
    Ok(())
}

/// Writes a signed directory, refusing to mix it into a directory that holds other files.
pub fn write_dir(out: &Path, files: &passage_core::evidence::BundleFiles) -> Result<()> {
    if out.exists() && std::fs::read_dir(out)?.next().is_some() {
        bail!("{} exists and is not empty", out.display());
    }
    for (path, bytes) in files.iter() {
        let p = out.join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&p, bytes).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

/// One line about the period for the terminal.
fn summary(r: &PeriodReport) -> String {
    let s = &r.statistics;
    let completeness = match &r.completeness {
        Completeness::Checked {
            missing,
            extra,
            source,
            ..
        } => {
            format!(
                "{} missing and {} extra against {source}",
                missing.len(),
                extra.len()
            )
        }
        Completeness::NotChecked { reason } => format!("completeness not checked: {reason}"),
    };
    format!(
        "{} {}: {} leavers, {} SLA breaches, {} open; {completeness}; population sha256 {}",
        r.tenant, r.period, s.leavers, s.overall.breaches, s.open_runs, r.population.sha256
    )
}

#[derive(Args)]
pub struct SampleArgs {
    #[command(flatten)]
    period: PeriodArgs,
    /// The auditor's seed.
    #[arg(long)]
    seed: String,
    /// How many leavers to sample.
    #[arg(long)]
    size: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Also write the population file (sorted run ids, one per line) here.
    #[arg(long)]
    population: Option<PathBuf>,
}

pub async fn sample(config: &Path, a: SampleArgs) -> Result<()> {
    let (_, sys) = system::open(config)?;
    let r = sys
        .engine
        .period_report(&a.period.tenant(), a.period.period()?)
        .await?;
    let drawn = sample::draw(&r.population.run_ids, &a.seed, a.size)?;
    if let Some(p) = &a.population {
        std::fs::write(p, sample::population_text(&r.population.run_ids))?;
    }
    if a.json {
        let body = passage_http::sample_body(&r, &a.seed, &drawn);
        println!("{}", serde_json::to_string_pretty(&body)?);
        return Ok(());
    }
    let mut head = fields();
    head.add_row(vec!["tenant", &r.tenant]);
    head.add_row(vec!["period".to_owned(), r.period.id()]);
    head.add_row(vec![
        "population".to_owned(),
        format!("{} runs", r.population.count),
    ]);
    head.add_row(vec!["population sha256", &r.population.sha256]);
    head.add_row(vec!["seed", &a.seed]);
    head.add_row(vec!["size".to_owned(), drawn.len().to_string()]);
    println!("{head}\n");
    let mut t = table(&[
        "run",
        "employee",
        "termination",
        "bundle",
        "manifest sha256",
    ]);
    for d in &drawn {
        let l = r.leavers.iter().find(|l| l.run_id == d.run_id);
        t.add_row(vec![
            d.run_id.clone(),
            l.map(|l| l.employee_id.clone()).unwrap_or_default(),
            l.map(|l| l.termination_date.to_string())
                .unwrap_or_default(),
            l.and_then(|l| l.bundle.as_ref())
                .map(|b| b.sequence.to_string())
                .unwrap_or_else(|| "open".into()),
            l.and_then(|l| l.bundle.as_ref())
                .map(|b| b.manifest_sha256.clone())
                .unwrap_or_default(),
        ]);
    }
    println!("{t}");
    Ok(())
}

#[derive(Args)]
pub struct AuditArgs {
    #[arg(long)]
    tenant: String,
    /// Only events at or after this instant (RFC 3339).
    #[arg(long)]
    since: Option<jiff::Timestamp>,
    #[arg(long)]
    json: bool,
}

pub async fn audit(config: &Path, a: AuditArgs) -> Result<()> {
    let (_, sys) = system::open(config)?;
    let events = sys
        .engine
        .ports()
        .audit
        .audit_events(&TenantId::new(a.tenant.as_str()), a.since)
        .await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&events)?);
        return Ok(());
    }
    let mut t = table(&["at", "event", "by", "detail"]);
    for e in &events {
        t.add_row(vec![
            e.at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
            e.kind.clone(),
            e.actor.clone(),
            e.detail.to_string(),
        ]);
    }
    println!("{t}");
    Ok(())
}
