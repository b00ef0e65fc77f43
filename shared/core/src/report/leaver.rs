//! One leaver's line in the report: when HR ended the employment, the cutoff, when each system's
//! access was removed, the delay and its grade against the SLA, the exceptions, the verified
//! steps and the bundle that proves them.

use super::exceptions::{ExceptionRow, exceptions};
use crate::compliance::Measure;
use crate::cutoff::Derivation;
use crate::domain::{
    DeviceAction, Provider, Run, RunEvent, RunSource, RunState, SlaClock, SlaPolicy, Step,
    StepState,
};
use crate::evidence::step_controls;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A delay graded against the SLA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaOutcome {
    /// Removed within the SLA.
    Met,
    /// Removed late, or not removed and the SLA has run out.
    Breached,
    /// Not removed yet, and the SLA has not run out.
    Pending,
}

impl SlaOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            SlaOutcome::Met => "met",
            SlaOutcome::Breached => "breached",
            SlaOutcome::Pending => "pending",
        }
    }
}

/// One system (provider) of one leaver.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SystemRow {
    pub system: String,
    /// The critical access-removal steps whose read-back times decide `removed_at`.
    pub steps: Vec<String>,
    pub removed_at: Option<Timestamp>,
    /// `removed_at` minus the SLA clock's start, whole seconds (truncated).
    pub delay_seconds: Option<i64>,
    pub sla: SlaOutcome,
}

/// A step read back from its provider, with the controls its outcome is relevant to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerifiedStep {
    pub key: String,
    pub provider: String,
    pub action: String,
    pub description: String,
    pub critical: bool,
    pub verified_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// `[{"id", "relation"}]`, as the bundle lists them.
    pub controls: Value,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleSummary {
    pub sequence: u64,
    pub manifest_sha256: String,
}

/// How the termination reached Passage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceSummary {
    /// `webhook`, `manual` or `reconcile`.
    pub kind: String,
    /// The HR vendor or event format, or the operator who started the run.
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeaverRow {
    pub run_id: String,
    pub employee_id: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub state: RunState,
    pub source: SourceSummary,
    /// The last working day (or the local date of an immediate or exact cutoff).
    pub termination_date: Date,
    /// When HR's notice of the termination reached Passage.
    pub hr_notice_at: Timestamp,
    pub cutoff_at: Timestamp,
    pub time_zone: String,
    /// Where the SLA clock starts for this leaver, and when it runs out.
    pub sla_clock_at: Timestamp,
    pub sla_due_at: Timestamp,
    pub systems: Vec<SystemRow>,
    /// When the last system's access was removed (every system's, once all are).
    pub access_removed_at: Option<Timestamp>,
    pub delay_seconds: Option<i64>,
    pub sla: SlaOutcome,
    pub exceptions: Vec<ExceptionRow>,
    pub verified_steps: Vec<VerifiedStep>,
    pub bundle: Option<BundleSummary>,
}

/// A run called off before its cutoff: listed, but not a leaver.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CancelledRow {
    pub run_id: String,
    pub employee_id: String,
    pub email: String,
    pub termination_date: Date,
    pub cutoff_at: Timestamp,
    pub actor: String,
    pub reason: String,
    pub bundle: Option<BundleSummary>,
}

/// The leaver's termination date: the last working day the cutoff was derived from, or the
/// cutoff's local date in the leaver's zone.
pub fn termination_date(run: &Run) -> Date {
    if let Derivation::LastWorkingDay { date, .. } = &run.cutoff.derivation {
        return *date;
    }
    let zone = jiff::tz::TimeZone::get(&run.cutoff.zone).unwrap_or(jiff::tz::TimeZone::UTC);
    run.cutoff.at.to_zoned(zone).date()
}

fn source(run: &Run) -> (SourceSummary, Timestamp) {
    let (kind, by, at) = match &run.source {
        RunSource::Webhook {
            vendor,
            received_at,
            ..
        } => ("webhook", vendor.clone(), *received_at),
        RunSource::Manual {
            actor, received_at, ..
        } => ("manual", actor.clone(), *received_at),
        RunSource::Reconcile {
            vendor, found_at, ..
        } => ("reconcile", vendor.clone(), *found_at),
        RunSource::Restore(origin) => ("restore", origin.actor.clone(), origin.received_at),
    };
    (
        SourceSummary {
            kind: kind.into(),
            by,
        },
        at,
    )
}

fn removes_access(step: &Step) -> bool {
    step.critical
        && step.provider != Provider::Human
        && Measure::of(step.action, DeviceAction::Lock).removes_access()
}

/// The delay from `clock` to `removed`, truncated to whole seconds.
fn delay(clock: Timestamp, removed: Timestamp) -> i64 {
    removed.duration_since(clock).as_secs()
}

/// Grades one removal time against the SLA, as of `now`.
fn grade(removed: Option<Timestamp>, due: Timestamp, now: Timestamp) -> SlaOutcome {
    match removed {
        Some(at) if at <= due => SlaOutcome::Met,
        Some(_) => SlaOutcome::Breached,
        None if now > due => SlaOutcome::Breached,
        None => SlaOutcome::Pending,
    }
}

/// Each system's access-removal steps and when the last of them was read back (none until
/// every one of them is).
fn systems(steps: &[Step], clock: Timestamp, due: Timestamp, now: Timestamp) -> Vec<SystemRow> {
    let mut by_provider: BTreeMap<Provider, Vec<&Step>> = BTreeMap::new();
    for s in steps.iter().filter(|s| removes_access(s)) {
        by_provider.entry(s.provider).or_default().push(s);
    }
    by_provider
        .into_iter()
        .map(|(provider, steps)| {
            let removed_at = if steps.iter().all(|s| s.state == StepState::Verified) {
                steps.iter().filter_map(|s| s.verified_at).max()
            } else {
                None
            };
            SystemRow {
                system: provider.as_str().into(),
                steps: steps.iter().map(|s| s.key.to_string()).collect(),
                removed_at,
                delay_seconds: removed_at.map(|r| delay(clock, r)),
                sla: grade(removed_at, due, now),
            }
        })
        .collect()
}

fn verified_steps(steps: &[Step]) -> Vec<VerifiedStep> {
    steps
        .iter()
        .filter(|s| s.state == StepState::Verified)
        .filter_map(|s| {
            Some(VerifiedStep {
                key: s.key.to_string(),
                provider: s.provider.as_str().into(),
                action: s.action.to_string(),
                description: s.action.describe().into(),
                critical: s.critical,
                verified_at: s.verified_at?,
                summary: s.result.as_ref().map(|r| r.summary.clone()),
                controls: step_controls(s),
            })
        })
        .collect()
}

fn bundle(run: &Run) -> Option<BundleSummary> {
    run.bundle.as_ref().map(|b| BundleSummary {
        sequence: b.sequence,
        manifest_sha256: b.manifest_sha256.clone(),
    })
}

/// The leaver's row, graded against `sla` as of `now`.
pub(crate) fn leaver_row(
    run: &Run,
    steps: &[Step],
    events: &[RunEvent],
    sla: &SlaPolicy,
    now: Timestamp,
) -> LeaverRow {
    let (source, hr_notice_at) = source(run);
    let sla_clock_at = match sla.from {
        SlaClock::Cutoff => run.cutoff.at,
        SlaClock::HrNotice => run.cutoff.at.max(hr_notice_at),
    };
    let sla_due_at = crate::engine::after(sla_clock_at, sla.within);
    let systems = systems(steps, sla_clock_at, sla_due_at, now);
    let access_removed_at = if systems.iter().all(|s| s.removed_at.is_some()) {
        systems.iter().filter_map(|s| s.removed_at).max()
    } else {
        None
    };
    let overall = grade(access_removed_at, sla_due_at, now);
    LeaverRow {
        run_id: run.id.to_string(),
        employee_id: run.subject.employee_id.clone(),
        email: run.subject.email.clone(),
        display_name: run.subject.display_name.clone(),
        state: run.state,
        source,
        termination_date: termination_date(run),
        hr_notice_at,
        cutoff_at: run.cutoff.at,
        time_zone: run.cutoff.zone.clone(),
        sla_clock_at,
        sla_due_at,
        access_removed_at,
        delay_seconds: access_removed_at.map(|r| delay(sla_clock_at, r)),
        // A leaver with no system to remove (a plan of human steps only) has nothing late.
        sla: if systems.is_empty() {
            SlaOutcome::Met
        } else {
            overall
        },
        systems,
        exceptions: exceptions(steps, events),
        verified_steps: verified_steps(steps),
        bundle: bundle(run),
    }
}

pub(crate) fn cancelled_row(run: &Run) -> CancelledRow {
    let c = run.cancellation.as_ref();
    CancelledRow {
        run_id: run.id.to_string(),
        employee_id: run.subject.employee_id.clone(),
        email: run.subject.email.clone(),
        termination_date: termination_date(run),
        cutoff_at: run.cutoff.at,
        actor: c.map(|c| c.actor.clone()).unwrap_or_default(),
        reason: c.map(|c| c.reason.clone()).unwrap_or_default(),
        bundle: bundle(run),
    }
}
