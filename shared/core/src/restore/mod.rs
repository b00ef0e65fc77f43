//! Rehire and rescinded terminations: a restore plans, from a closed leaver run's snapshot and
//! graded evidence, what to give back and what cannot be, and becomes its own tracked run.
//!
//! Only what the original run itself took is given back: an access item the snapshot recorded
//! and a step read back removed, or an account-level change a step made (a repeat changed
//! nothing, so there is nothing to undo). What was never the leaver's is not in the snapshot;
//! what they had already lost when the step looked is graded absent, not removed. Which
//! restore action gives each change back is decided in one table, [`reversal`].

mod reversal;
#[cfg(test)]
mod tests;

pub use reversal::{Reversal, Taken, order, reversal, step_item_key};

use crate::access::{self, Grade};
use crate::domain::{
    Action, NotRestorable, Provider, RestoreItem, RestorePlan, Run, RunState, Step, StepState,
};
use crate::ids::{RunId, StepKey};
use jiff::Timestamp;
use serde_json::{Value, json};
use std::time::Duration;

/// How long Microsoft keeps a de-licensed user's OneDrive unless the tenant sets longer.
pub const ONEDRIVE_RETENTION: Duration = Duration::from_secs(30 * 86_400);

/// Why a run cannot be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("run {0} is a restore run itself; restore the leaver run it undid instead")]
    IsRestore(RunId),
    #[error(
        "run {run} is {state}: only a closed leaver run (or one cancelled after its cutoff) can be restored"
    )]
    NotClosed { run: RunId, state: &'static str },
    #[error(
        "run {0} was cancelled before its cutoff: it changed nothing, so there is nothing to restore"
    )]
    NothingChanged(RunId),
    #[error("run {0} has no signed bundle yet; restore it once its evidence is sealed")]
    NoBundle(RunId),
}

/// Whether `run` may be restored: a closed leaver run, or one cancelled once its steps had
/// started, with its bundle sealed (the restore bundle names its digest).
pub fn restorable(run: &Run) -> Result<&crate::domain::BundleRef, Refusal> {
    if run.restore().is_some() {
        return Err(Refusal::IsRestore(run.id.clone()));
    }
    match run.state {
        RunState::Closed => {}
        RunState::Cancelled if run.started_at.is_some() => {}
        RunState::Cancelled => return Err(Refusal::NothingChanged(run.id.clone())),
        other => {
            return Err(Refusal::NotClosed {
                run: run.id.clone(),
                state: other.as_str(),
            });
        }
    }
    run.bundle
        .as_ref()
        .ok_or_else(|| Refusal::NoBundle(run.id.clone()))
}

/// What the original run's records allow to be given back.
pub struct Original<'a> {
    pub run: &'a Run,
    pub steps: &'a [Step],
    /// Until when after licence removal Microsoft keeps the OneDrive.
    pub onedrive_retention: Duration,
}

/// The restore plan for `original`, restricted to the item keys in `only` (an exact key, or a
/// prefix ending at a dot: `okta` or `microsoft.mailbox`); a key that names nothing the
/// original run recorded is reported as such.
pub fn plan(original: &Original<'_>, only: &[String], now: Timestamp) -> RestorePlan {
    let mut all = RestorePlan::default();
    account_changes(original.steps, &mut all);
    removed_access(original.steps, &mut all);
    unrecorded(original.steps, &mut all);
    onedrive(original, now, &mut all);
    if only.is_empty() {
        return all;
    }
    let wanted = |key: &str| only.iter().any(|o| named(o, key));
    let mut plan = RestorePlan {
        items: all.items.into_iter().filter(|i| wanted(&i.key)).collect(),
        not_restorable: all
            .not_restorable
            .into_iter()
            .filter(|n| wanted(&n.key))
            .collect(),
    };
    for o in only {
        let found = plan.items.iter().any(|i| named(o, &i.key))
            || plan.not_restorable.iter().any(|n| named(o, &n.key));
        if !found {
            plan.not_restorable.push(NotRestorable {
                key: o.clone(),
                provider: Provider::Human,
                name: o.clone(),
                why: "the original run never recorded this item, so there is nothing to restore it to"
                    .into(),
            });
        }
    }
    plan
}

/// Whether the operator's `pattern` names `key`.
fn named(pattern: &str, key: &str) -> bool {
    key == pattern
        || key
            .strip_prefix(pattern)
            .is_some_and(|r| r.starts_with('.'))
}

fn scope(step: &Step) -> String {
    match &step.app {
        Some(app) => format!("{}.{app}", step.provider),
        None => step.provider.as_str().to_owned(),
    }
}

/// The verified steps that changed the account itself (a repeat changed nothing).
fn account_changes(steps: &[Step], plan: &mut RestorePlan) {
    let changed = steps
        .iter()
        .filter(|s| s.state == StepState::Verified && s.result.as_ref().is_some_and(|r| !r.repeat));
    for step in changed {
        let Some(rev) = reversal(step.provider, Taken::Step(as_taken(step))) else {
            continue;
        };
        let key = step_item_key(&scope(step), step.action);
        let name = step.action.describe().to_owned();
        let recorded =
            json!({"step": step.key, "summary": step.result.as_ref().map(|r| &r.summary)});
        push(
            plan,
            rev,
            key,
            step.provider,
            step.app.clone(),
            String::new(),
            name,
            recorded,
        );
    }
}

/// What a step's change amounts to: a seat deactivation the app's own record says cannot be
/// undone (an app whose deactivation is its irreversible DELETE) is a removal.
fn as_taken(step: &Step) -> Action {
    let restorable = step
        .result
        .as_ref()
        .and_then(|r| r.output["seat"]["restorable"].as_str());
    match (step.action, restorable) {
        (Action::DeactivateSeat, Some(said)) if said.starts_with("no") => Action::RemoveSeat,
        (action, _) => action,
    }
}

/// Every access item graded removed, with the reversal of its kind and remover.
fn removed_access(steps: &[Step], plan: &mut RestorePlan) {
    for item in access::grade(steps)
        .into_iter()
        .filter(|i| i.grade == Grade::Removed)
    {
        let Some(remover) = steps.iter().find(|s| s.key == item.source.step) else {
            continue;
        };
        let Some(rev) = reversal(item.provider, Taken::Access(item.kind, remover.action)) else {
            continue;
        };
        let recorded = recorded_entry(steps, item.provider, item.kind.as_str(), &item.id);
        push(
            plan,
            rev,
            item.key,
            item.provider,
            None,
            item.id,
            item.name,
            recorded,
        );
    }
}

/// A provider whose account changes were verified but whose snapshot was not: nothing there
/// can be restored to a state nobody recorded.
fn unrecorded(steps: &[Step], plan: &mut RestorePlan) {
    let snapshotted = |p: Provider| {
        steps
            .iter()
            .any(|s| s.provider == p && s.action == Action::Snapshot && s.result.is_some())
    };
    let mut providers: Vec<Provider> = steps
        .iter()
        .filter(|s| s.state == StepState::Verified && s.provider != Provider::Human)
        .filter(|s| !s.provider.is_saas() && s.action != Action::Snapshot)
        .map(|s| s.provider)
        .filter(|p| !snapshotted(*p))
        .collect();
    providers.dedup();
    for p in providers {
        plan.not_restorable.push(NotRestorable {
            key: format!("{p}.snapshot"),
            provider: p,
            name: format!("{p} pre-state"),
            why: "the original run recorded no snapshot here, so its groups, apps and licences \
                  are unknown"
                .into(),
        });
    }
}

/// Microsoft deletes a de-licensed user's OneDrive after the retention window: past it, a
/// licence comes back with an empty drive.
fn onedrive(original: &Original<'_>, now: Timestamp, plan: &mut RestorePlan) {
    let removed = original.steps.iter().find(|s| {
        s.provider == Provider::Microsoft
            && s.action == Action::RemoveLicenses
            && s.state == StepState::Verified
    });
    let Some(at) = removed.and_then(|s| s.verified_at) else {
        return;
    };
    let window = jiff::SignedDuration::try_from(original.onedrive_retention)
        .unwrap_or(jiff::SignedDuration::MAX);
    if at.saturating_add(window).unwrap_or(at) <= now {
        plan.not_restorable.push(NotRestorable {
            key: "microsoft.onedrive".into(),
            provider: Provider::Microsoft,
            name: "OneDrive files".into(),
            why: format!(
                "the licence was removed at {at}, past the OneDrive retention window; Microsoft \
                 has deleted the files"
            ),
        });
    }
}

#[allow(clippy::too_many_arguments)]
fn push(
    plan: &mut RestorePlan,
    rev: Reversal,
    key: String,
    provider: Provider,
    app: Option<String>,
    id: String,
    name: String,
    recorded: Value,
) {
    match rev {
        Reversal::By(action) => plan.items.push(RestoreItem {
            key,
            provider,
            app,
            action,
            id,
            name,
            recorded,
        }),
        Reversal::Cannot(why) => plan.not_restorable.push(NotRestorable {
            key,
            provider,
            name,
            why: why.to_owned(),
        }),
    }
}

/// The snapshot's own entry of an item (what it restores to).
fn recorded_entry(steps: &[Step], provider: Provider, kind: &str, id: &str) -> Value {
    snapshot_output(steps, provider)
        .and_then(|o| o["access"].as_array())
        .and_then(|a| {
            a.iter()
                .find(|e| e["kind"] == kind && e["id"].as_str() == Some(id))
        })
        .cloned()
        .unwrap_or(Value::Null)
}

fn snapshot_output(steps: &[Step], provider: Provider) -> Option<&Value> {
    steps
        .iter()
        .find(|s| s.provider == provider && s.action == Action::Snapshot)
        .and_then(|s| s.result.as_ref())
        .map(|r| &r.output)
}

/// The restore run's steps: one per provider (and app) and restore action, in each provider's
/// order, every one critical (the run closes only when each is read back). Each step's input
/// carries its items and the original snapshot, which its connector finds the account by.
pub fn steps(run_id: &RunId, plan: &RestorePlan, original: &[Step]) -> Vec<Step> {
    let mut groups: Vec<(Provider, Option<String>, Action)> = plan
        .items
        .iter()
        .map(|i| (i.provider, i.app.clone(), i.action))
        .collect();
    groups.sort_by_key(|(p, app, a)| (*p, app.clone(), order(*a), *a));
    groups.dedup();
    let mut out: Vec<Step> = Vec::new();
    for (provider, app, action) in groups {
        let earlier: Vec<StepKey> = out
            .iter()
            .filter(|s| s.provider == provider && s.app == app && order(s.action) < order(action))
            .map(|s| s.key.clone())
            .collect();
        let mut step = Step::new(run_id, provider, action, true, earlier);
        if let Some(app) = &app {
            step = step.in_app(app);
        }
        let items: Vec<&RestoreItem> = plan
            .items
            .iter()
            .filter(|i| i.provider == provider && i.app == app && i.action == action)
            .collect();
        let snapshot = original
            .iter()
            .find(|s| s.provider == provider && s.app == app && s.action == Action::Snapshot)
            .and_then(|s| s.result.as_ref())
            .map_or(Value::Null, |r| r.output.clone());
        step.input = json!({"items": items, "snapshot": snapshot});
        out.push(step);
    }
    out
}

/// The key a restore step's connector finds its provider's original snapshot under.
pub fn snapshot_key(step: &Step) -> StepKey {
    crate::domain::app_step_key(step.provider, step.app.as_deref(), Action::Snapshot)
}
