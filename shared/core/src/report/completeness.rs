//! Completeness: the HR system's own list of the period's terminations against Passage's runs.
//! A termination HR lists with no run in the period is missing; a run whose employee HR does
//! not list is extra. Both are listed, never silently dropped.

use super::leaver::{LeaverRow, termination_date};
use super::period::Period;
use crate::domain::Run;
use crate::ports::{EmploymentStatus, HrRecord};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// What the HR system said when asked for the period's terminations.
#[derive(Clone, Debug)]
pub enum HrTerminations {
    /// Every termination the HR API lists from the period's first day on (the report keeps
    /// those dated within the period).
    Listed {
        vendor: String,
        records: Vec<HrRecord>,
    },
    /// No HR API, or it could not answer: completeness is not checked, and the report says so.
    Unavailable { reason: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Completeness {
    Checked {
        /// The HR vendor asked.
        source: String,
        /// Terminations dated (last day worked, else termination date) within these days.
        terminated_from: Date,
        terminated_to: Date,
        hr_count: usize,
        matched: usize,
        missing: Vec<MissingLeaver>,
        extra: Vec<ExtraRun>,
        /// SHA-256 of `hr-terminations.json` (RFC 8785 bytes of `hr_terminations`).
        hr_list_sha256: String,
        /// The HR records, sorted by employee id, as the HR API returned them.
        hr_terminations: Vec<HrRecord>,
    },
    NotChecked {
        reason: String,
    },
}

/// A termination HR lists for the period with no Passage run in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingLeaver {
    pub employee_id: String,
    pub email: String,
    pub termination_date: Option<Date>,
    pub last_day_worked: Option<Date>,
    /// Runs the employee has outside the period, or cancelled.
    pub other_runs: Vec<OtherRun>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherRun {
    pub run_id: String,
    pub state: String,
    pub termination_date: Date,
    pub cutoff_at: Timestamp,
}

/// A run in the period whose employee HR does not list as terminated in it (a contractor
/// started by hand, a termination HR has since rescinded).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraRun {
    pub run_id: String,
    pub employee_id: String,
    pub email: String,
    /// `webhook`, `manual` or `reconcile`, and by whom.
    pub source: String,
}

/// The day HR's termination counts from: the last day worked, else the termination date.
fn hr_day(r: &HrRecord) -> Option<Date> {
    r.last_day_worked.or(r.termination_date)
}

/// The HR records in the period, sorted by employee id: the list the hash is taken over.
pub(crate) fn in_period(records: &[HrRecord], period: &Period) -> Vec<HrRecord> {
    let mut list: Vec<HrRecord> = records
        .iter()
        .filter(|r| r.status == EmploymentStatus::Terminated)
        .filter(|r| hr_day(r).is_some_and(|d| period.contains(d)))
        .cloned()
        .collect();
    list.sort_by(|a, b| a.employee_id.cmp(&b.employee_id));
    list.dedup_by(|a, b| a.employee_id == b.employee_id);
    list
}

/// The bytes of `hr-terminations.json`: RFC 8785, so the hash is reproducible.
pub(crate) fn hr_list_bytes(records: &[HrRecord]) -> Vec<u8> {
    let value = serde_json::to_value(records).unwrap_or(serde_json::Value::Null);
    passage_jcs::to_canonical_vec(&value).unwrap_or_default()
}

pub(crate) fn completeness(
    hr: &HrTerminations,
    period: &Period,
    leavers: &[LeaverRow],
    all_runs: &[&Run],
) -> Completeness {
    let (vendor, records) = match hr {
        HrTerminations::Unavailable { reason } => {
            return Completeness::NotChecked {
                reason: reason.clone(),
            };
        }
        HrTerminations::Listed { vendor, records } => (vendor, in_period(records, period)),
    };
    let hr_ids: BTreeSet<&str> = records.iter().map(|r| r.employee_id.as_str()).collect();
    let run_ids: BTreeSet<&str> = leavers.iter().map(|l| l.employee_id.as_str()).collect();
    let missing = records
        .iter()
        .filter(|r| !run_ids.contains(r.employee_id.as_str()))
        .map(|r| MissingLeaver {
            employee_id: r.employee_id.clone(),
            email: r.email.clone(),
            termination_date: r.termination_date,
            last_day_worked: r.last_day_worked,
            other_runs: all_runs
                .iter()
                .filter(|run| run.subject.employee_id == r.employee_id)
                .map(|run| OtherRun {
                    run_id: run.id.to_string(),
                    state: run.state.as_str().into(),
                    termination_date: termination_date(run),
                    cutoff_at: run.cutoff.at,
                })
                .collect(),
        })
        .collect();
    let extra: Vec<ExtraRun> = leavers
        .iter()
        .filter(|l| !hr_ids.contains(l.employee_id.as_str()))
        .map(|l| ExtraRun {
            run_id: l.run_id.clone(),
            employee_id: l.employee_id.clone(),
            email: l.email.clone(),
            source: format!("{} ({})", l.source.kind, l.source.by),
        })
        .collect();
    Completeness::Checked {
        source: vendor.clone(),
        terminated_from: period.from,
        terminated_to: period.to,
        hr_count: records.len(),
        matched: leavers.len() - extra.len(),
        missing,
        extra,
        hr_list_sha256: hex::encode(Sha256::digest(hr_list_bytes(&records))),
        hr_terminations: records,
    }
}
