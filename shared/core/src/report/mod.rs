//! The auditor's view of a period: every leaver whose termination falls in it, graded against
//! the tenant's SLA, compared with the HR system's own list, with statistics, a reproducible
//! sample, an OSCAL export and a signed directory that verifies like a bundle.
//!
//! Everything here is pure. The engine gathers the runs, the HR list and the chain head through
//! the ports ([`crate::engine::Engine::period_report`]); renderers outside core turn the
//! [`PeriodReport`] into pages people read.
//!
//! Definitions an auditor can hold the report to:
//! - a run belongs to the period when its termination date (the leaver's last working day, or
//!   the local date of an immediate or exact cutoff, in the leaver's zone) is within it, both
//!   ends included; cancelled runs are listed apart and are not leavers;
//! - a system is a provider; its access-removed time is the latest time one of its critical
//!   steps that removes access ([`crate::compliance::Measure::removes_access`]) was read back;
//! - the SLA clock starts at the cutoff, or at the later of the cutoff and HR's notice
//!   ([`crate::domain::SlaClock`]); a system not yet removed once the SLA has run out is a
//!   breach, before that it is pending;
//! - percentiles are nearest-rank over whole seconds.

mod build;
mod completeness;
mod exceptions;
mod leaver;
pub mod oscal;
mod period;
pub mod sample;
mod signed;
mod stats;

pub use build::{PeriodReport, ReportInput, RunRecord, build_report};
pub use completeness::{Completeness, ExtraRun, HrTerminations, MissingLeaver, OtherRun};
pub use exceptions::ExceptionRow;
pub use leaver::termination_date as termination_date_of;
pub use leaver::{BundleSummary, CancelledRow, LeaverRow, SlaOutcome, SystemRow, VerifiedStep};
pub use period::{Period, PeriodError};
pub use signed::{
    REPORT_BUNDLE_SCHEMA, ReportFiles, VerifiedReport, check_covers, report_files, verify_report,
};
pub use stats::{Statistics, SystemStats, nearest_rank};

/// The `schema` of `report.json`.
pub const REPORT_SCHEMA: &str = "passage.period-report/v1";

#[cfg(test)]
mod tests;
