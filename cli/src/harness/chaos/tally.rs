//! What a chaos run ends as, counted from the store, the bundles on disk and the emulators'
//! effect books, not from Passage's own opinion of how it went.

use crate::commands::sandbox::Running;
use anyhow::Result;
use passage_core::evidence::{verify_bundle, verify_chain};
use passage_core::ports::RunStore;
use passage_core::{AttemptResult, Run, RunState};
use passage_embedded::{SqliteStore, read_bundle_dir};
use passage_sandbox::okta::EffectCount;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// The figures of one chaos run.
#[derive(Debug, Default)]
pub struct ChaosReport {
    pub leavers: usize,
    pub runs: usize,
    pub closed: usize,
    /// Runs beyond one per employee.
    pub duplicate_runs: usize,
    /// Effects that took hold more than once on the same subject and object.
    pub double_effects: Vec<String>,
    pub bundles_verified: usize,
    /// Why the tenant's chain of bundles does not verify, if it does not.
    pub chain_error: Option<String>,
    pub kills: usize,
    /// Kills that landed while webhooks were still unanswered.
    pub kills_during_intake: usize,
    /// Attempts a kill cut short, as the record shows them.
    pub interrupted_attempts: usize,
    pub effects_applied: u64,
    /// Requests for an effect already in place: the idempotent repeats.
    pub effects_repeated: u64,
    /// Provider calls, and how many were answered 429 or 5xx.
    pub calls: u64,
    pub answered_429: u64,
    pub answered_5xx: u64,
    /// Answers that named another run for the same employee.
    pub mismatched_answers: Vec<String>,
    /// Runs that did not close, with their state and reason.
    pub not_closed: Vec<String>,
    pub elapsed: Duration,
}

impl ChaosReport {
    /// The one line a chaos run ends with.
    pub fn line(&self) -> String {
        format!(
            "chaos: {}/{} closed, {} duplicate runs, {} double effects, {} bundles verified",
            self.closed,
            self.runs,
            self.duplicate_runs,
            self.double_effects.len(),
            self.bundles_verified
        )
    }

    /// What the line summarises: the faults met, the kills and where they landed.
    pub fn detail(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "  {} leavers, {:.1}s; {} kills ({} during intake), {} attempts interrupted",
            self.leavers,
            self.elapsed.as_secs_f64(),
            self.kills,
            self.kills_during_intake,
            self.interrupted_attempts
        );
        let _ = writeln!(
            out,
            "  {} provider calls: {} answered 429, {} answered 5xx; effects {} applied, {} idempotent repeats",
            self.calls,
            self.answered_429,
            self.answered_5xx,
            self.effects_applied,
            self.effects_repeated
        );
        let _ = writeln!(
            out,
            "  chain: {}",
            self.chain_error.as_deref().unwrap_or("verifies")
        );
        for problem in self
            .double_effects
            .iter()
            .chain(&self.mismatched_answers)
            .chain(&self.not_closed)
        {
            let _ = writeln!(out, "  {problem}");
        }
        out
    }

    /// True when every run closed once, each effect took hold once, and all evidence verifies.
    pub fn clean(&self) -> bool {
        self.runs == self.leavers
            && self.closed == self.runs
            && self.duplicate_runs == 0
            && self.double_effects.is_empty()
            && self.bundles_verified == self.runs
            && self.chain_error.is_none()
            && self.mismatched_answers.is_empty()
    }
}

/// Counts runs, duplicates, bundles and interrupted attempts from the store.
pub async fn runs(store: &SqliteStore, runs: &[Run], report: &mut ChaosReport) -> Result<()> {
    report.runs = runs.len();
    report.closed = runs.iter().filter(|r| r.state == RunState::Closed).count();
    let employees: BTreeSet<_> = runs.iter().map(|r| &r.subject.employee_id).collect();
    report.duplicate_runs = runs.len() - employees.len();
    let mut verified = Vec::new();
    for run in runs {
        if run.state != RunState::Closed {
            report.not_closed.push(format!(
                "{} ({}): {} {}",
                run.id,
                run.subject.employee_id,
                run.state.as_str(),
                run.blocked_reason.clone().unwrap_or_default()
            ));
        }
        report.interrupted_attempts += store
            .attempts(&run.id)
            .await?
            .iter()
            .filter(|a| a.result == AttemptResult::Interrupted)
            .count();
        let Some(bundle) = &run.bundle else { continue };
        if let Ok(files) = read_bundle_dir(Path::new(&bundle.location))
            && let Ok(v) = verify_bundle(&files, None)
        {
            verified.push(v);
        }
    }
    report.bundles_verified = verified.len();
    report.chain_error = verify_chain(&verified).err().map(|e| e.to_string());
    Ok(())
}

/// Counts effects and calls from every emulator.
pub fn emulators(emulators: &Running, report: &mut ChaosReport) {
    let mut books: Vec<(&str, Vec<EffectCount>)> = Vec::new();
    let mut counters = Vec::new();
    if let Some(e) = emulators.okta() {
        books.push(("okta", e.effects()));
        counters.push(e.counters());
    }
    if let Some(e) = emulators.microsoft() {
        books.push(("microsoft", e.effects()));
        counters.push(e.counters());
    }
    if let Some(e) = emulators.google() {
        books.push(("google", e.effects()));
        counters.push(e.counters());
    }
    if let Some(e) = emulators.jumpcloud() {
        books.push(("jumpcloud", e.effects()));
        counters.push(e.counters());
    }
    for (provider, rows) in books {
        for row in rows {
            report.effects_applied += row.applied;
            report.effects_repeated += row.repeated;
            if row.applied > 1 {
                report.double_effects.push(format!(
                    "{provider}: {} on {} {} applied {} times",
                    row.effect, row.subject, row.object, row.applied
                ));
            }
        }
    }
    for c in counters {
        report.calls += c.total();
        report.answered_429 += c.rate_limited();
        report.answered_5xx += c.server_errors();
    }
}
