//! The signed period report: the report, its pages and its OSCAL export, signed by the engine
//! through the signer port; and tar archives of signed directories for auditors.

use crate::pdf::{Chromium, PdfError};
use passage_core::TenantId;
use passage_core::engine::{Engine, EngineError};
use passage_core::evidence::BundleFiles;
use passage_core::report::{Period, PeriodReport, oscal};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("rendering the report: {0}")]
    Render(String),
    #[error(transparent)]
    Pdf(#[from] PdfError),
}

/// A period report and its signed directory.
pub struct SignedReport {
    pub report: PeriodReport,
    pub files: BundleFiles,
}

/// `report.html`, `report.csv` and the OSCAL document, and `report.pdf` when a Chromium is
/// given.
pub fn renderings(
    report: &PeriodReport,
    chromium: Option<&Chromium>,
) -> Result<Vec<(String, Vec<u8>)>, ReportError> {
    let html = crate::html::period_page(report).into_bytes();
    let csv = crate::csv::period_csv(report).map_err(|e| ReportError::Render(e.to_string()))?;
    let mut oscal_bytes = serde_json::to_vec_pretty(&oscal::assessment_results(report))
        .map_err(|e| ReportError::Render(e.to_string()))?;
    oscal_bytes.push(b'\n');
    let mut out = vec![
        ("report.csv".to_owned(), csv),
        (oscal::PATH.to_owned(), oscal_bytes),
    ];
    if let Some(c) = chromium {
        out.push(("report.pdf".to_owned(), c.print(&html)?));
    }
    out.push(("report.html".to_owned(), html));
    Ok(out)
}

/// Builds, renders and signs the tenant's report for `period`.
pub async fn signed_period_report(
    engine: &Engine,
    tenant: &TenantId,
    period: Period,
    chromium: Option<&Chromium>,
) -> Result<SignedReport, ReportError> {
    let report = engine.period_report(tenant, period).await?;
    let renderings = match chromium {
        // Chromium blocks for a second or two: keep it off the runtime's threads.
        Some(c) => {
            let (r, c) = (report.clone(), c.clone());
            tokio::task::spawn_blocking(move || renderings(&r, Some(&c)))
                .await
                .map_err(|e| ReportError::Render(e.to_string()))??
        }
        None => renderings(&report, None)?,
    };
    let files = engine.sign_report(&report, renderings).await?;
    Ok(SignedReport { report, files })
}

/// A ustar archive of directories: each `(prefix, files)` under `prefix/`, files in path
/// order, mode 0644, stamped `mtime` (Unix seconds) so the same content gives the same bytes.
pub fn tar_archive(dirs: &[(String, &BundleFiles)], mtime: u64) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    for (prefix, files) in dirs {
        for (path, bytes) in files.iter() {
            let mut header = tar::Header::new_ustar();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(mtime);
            header.set_entry_type(tar::EntryType::Regular);
            builder.append_data(&mut header, format!("{prefix}/{path}"), bytes.as_slice())?;
        }
    }
    builder.into_inner()
}
