//! The closure gate: a run closes only when every critical step is verified and every other
//! step is verified or waived, and no critical access item remains or is pending without an
//! operator's exception.

use crate::access::{self, AccessException};
use crate::domain::{Step, StepState};
use crate::ids::StepKey;
use jiff::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Nothing holds the run open.
    Open,
    /// Steps are still being worked.
    Waiting { outstanding: Vec<StepKey> },
    /// Steps failed for good: critical ones must be retried, others retried or waived.
    Blocked { failed: Vec<StepKey> },
    /// Every step is done, but critical access items remain or are pending: resolved, or
    /// accepted as exceptions by an operator, they let the run close.
    Held { items: Vec<String> },
}

/// The whole gate: [`evaluate`] over the steps, then the graded access items. A step still
/// awaiting a provider's long operation stops holding the run once every item it waits on is
/// accepted as an exception (the Intune retire that completes at a check-in weeks away).
pub fn evaluate_run(steps: &[Step], exceptions: &[AccessException], now: Timestamp) -> Gate {
    let items = access::grade(steps);
    let held = access::held(&items, exceptions, now);
    let excepted = |step: &Step| {
        step.state == StepState::AwaitingCompletion && {
            let mine: Vec<_> = items.iter().filter(|i| i.source.step == step.key).collect();
            !mine.is_empty()
                && mine
                    .iter()
                    .all(|i| !i.grade.holds() || exceptions.iter().any(|e| e.covers(i, now)))
        }
    };
    let rest: Vec<Step> = steps.iter().filter(|s| !excepted(s)).cloned().collect();
    match evaluate(&rest) {
        Gate::Open if !held.is_empty() => Gate::Held {
            items: held.iter().map(|i| i.key.clone()).collect(),
        },
        gate => gate,
    }
}

pub fn evaluate(steps: &[Step]) -> Gate {
    let failed: Vec<StepKey> = steps
        .iter()
        .filter(|s| s.state == StepState::Failed)
        .map(|s| s.key.clone())
        .collect();
    if !failed.is_empty() {
        return Gate::Blocked { failed };
    }
    let outstanding: Vec<StepKey> = steps
        .iter()
        .filter(|s| !closes(s))
        .map(|s| s.key.clone())
        .collect();
    if outstanding.is_empty() {
        Gate::Open
    } else {
        Gate::Waiting { outstanding }
    }
}

/// Whether this step lets the run close. A waived critical step does not, even if stored data
/// claims one exists: the gate itself refuses it rather than trusting the waiver path alone.
fn closes(step: &Step) -> bool {
    match step.state {
        StepState::Verified => true,
        StepState::Waived => !step.critical,
        // Only with the read that proved it, whatever the stored state claims.
        StepState::NotApplicable => step.absence.is_some(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Action, Provider};
    use crate::ids::RunId;

    fn step(action: Action, critical: bool, state: StepState) -> Step {
        let mut s = Step::new(&RunId::new("r"), Provider::Okta, action, critical, vec![]);
        s.state = state;
        s
    }

    #[test]
    fn opens_only_when_all_critical_steps_are_verified() {
        let steps = vec![
            step(Action::Suspend, true, StepState::Verified),
            step(Action::RevokeGrants, false, StepState::Waived),
        ];
        assert_eq!(evaluate(&steps), Gate::Open);
        let steps = vec![
            step(Action::Suspend, true, StepState::InFlight),
            step(Action::RevokeGrants, false, StepState::Verified),
        ];
        assert!(matches!(evaluate(&steps), Gate::Waiting { .. }));
    }

    #[test]
    fn a_failed_step_blocks() {
        let steps = vec![
            step(Action::Suspend, true, StepState::Failed),
            step(Action::RevokeGrants, false, StepState::Verified),
        ];
        assert_eq!(
            evaluate(&steps),
            Gate::Blocked {
                failed: vec![StepKey::new("okta.suspend")]
            }
        );
    }

    #[test]
    fn a_waived_critical_step_never_opens_the_gate() {
        let steps = vec![step(Action::Suspend, true, StepState::Waived)];
        assert!(matches!(evaluate(&steps), Gate::Waiting { .. }));
    }
}
