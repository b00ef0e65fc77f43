//! Reports for people and for tools, made from what core builds and signs.
//!
//! - [`html`]: self-contained pages (no script, no external resource, every value escaped) for
//!   a period and for one run's bundle, laid out to print;
//! - [`csv`]: the period's leavers, one line per leaver and system;
//! - [`pdf`]: a page printed to PDF by headless Chromium;
//! - [`signed`]: the signed period report (report, renderings, OSCAL) and the tar archives an
//!   auditor's period link serves;
//! - [`publish`]: issuing a period link over a stored, signed snapshot of the report.

pub mod csv;
pub mod html;
pub mod pdf;
pub mod publish;
pub mod signed;

pub use signed::{ReportError, SignedReport, signed_period_report, tar_archive};
