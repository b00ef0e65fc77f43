//! Assembles the period report from the tenant's runs, the HR list and the chain head.

use super::completeness::{Completeness, HrTerminations, completeness};
use super::leaver::{CancelledRow, LeaverRow, cancelled_row, leaver_row, termination_date};
use super::period::Period;
use super::sample::population_sha256;
use super::stats::{Statistics, statistics};
use crate::domain::{Run, RunEvent, RunState, SlaClock, SlaPolicy, Step};
use crate::ports::ChainHead;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One run with its steps and events, as the store holds them.
#[derive(Clone, Debug)]
pub struct RunRecord {
    pub run: Run,
    pub steps: Vec<Step>,
    pub events: Vec<RunEvent>,
}

pub struct ReportInput<'a> {
    pub tenant: &'a str,
    pub tenant_name: &'a str,
    pub period: Period,
    pub sla: SlaPolicy,
    /// The tenant's runs (any period; the report picks the period's).
    pub runs: &'a [RunRecord],
    pub hr: &'a HrTerminations,
    /// The chain head when the runs were read: the report covers bundles up to it.
    pub chain_head: ChainHead,
    pub generated_at: Timestamp,
}

/// The SLA as the report states it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlaSummary {
    pub seconds: u64,
    pub from: SlaClock,
}

/// The population the sample is drawn from: the leavers' run ids.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Population {
    pub count: usize,
    /// SHA-256 of the sorted run ids, one per line with a trailing newline (`population.txt`).
    pub sha256: String,
    pub run_ids: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeriodReport {
    pub schema: String,
    pub tenant: String,
    pub tenant_name: String,
    pub period: Period,
    pub generated_at: Timestamp,
    pub sla: SlaSummary,
    /// The evidence chain head the report covers: bundles up to this sequence.
    pub chain_head: ChainHead,
    pub control_map_version: String,
    pub statistics: Statistics,
    pub completeness: Completeness,
    pub population: Population,
    /// Every leaver of the period, by cutoff.
    pub leavers: Vec<LeaverRow>,
    pub cancelled: Vec<CancelledRow>,
}

impl PeriodReport {
    /// The leavers graded as breaching the SLA.
    pub fn breaches(&self) -> impl Iterator<Item = &LeaverRow> {
        self.leavers
            .iter()
            .filter(|l| l.sla == super::SlaOutcome::Breached)
    }
}

pub fn build_report(input: &ReportInput<'_>) -> PeriodReport {
    // A restore run (a rehire, a rescinded termination) gives access back: it is no leaver,
    // so it is neither counted nor graded here; its bundle stays in the chain.
    let in_period: Vec<&RunRecord> = input
        .runs
        .iter()
        .filter(|r| !matches!(r.run.source, crate::domain::RunSource::Restore(_)))
        .filter(|r| input.period.contains(termination_date(&r.run)))
        .collect();
    let mut leavers: Vec<LeaverRow> = in_period
        .iter()
        .filter(|r| r.run.state != RunState::Cancelled)
        .map(|r| leaver_row(&r.run, &r.steps, &r.events, &input.sla, input.generated_at))
        .collect();
    leavers.sort_by(|a, b| a.cutoff_at.cmp(&b.cutoff_at).then(a.run_id.cmp(&b.run_id)));
    let mut cancelled: Vec<CancelledRow> = in_period
        .iter()
        .filter(|r| r.run.state == RunState::Cancelled)
        .map(|r| cancelled_row(&r.run))
        .collect();
    cancelled.sort_by(|a, b| a.cutoff_at.cmp(&b.cutoff_at).then(a.run_id.cmp(&b.run_id)));
    let all_runs: Vec<&Run> = input.runs.iter().map(|r| &r.run).collect();
    let completeness = completeness(input.hr, &input.period, &leavers, &all_runs);
    let mut run_ids: Vec<String> = leavers.iter().map(|l| l.run_id.clone()).collect();
    run_ids.sort();
    PeriodReport {
        schema: super::REPORT_SCHEMA.into(),
        tenant: input.tenant.into(),
        tenant_name: input.tenant_name.into(),
        period: input.period,
        generated_at: input.generated_at,
        sla: SlaSummary {
            seconds: input.sla.within.as_secs(),
            from: input.sla.from,
        },
        chain_head: input.chain_head.clone(),
        control_map_version: crate::compliance::CONTROL_MAP_VERSION.into(),
        statistics: statistics(&leavers),
        completeness,
        population: Population {
            count: run_ids.len(),
            sha256: population_sha256(&run_ids),
            run_ids,
        },
        leavers,
        cancelled,
    }
}
