//! A run's plan: a DAG of steps built from the tenant's policy.
//!
//! The order providers force (research: provider_apis §0) is encoded as dependencies, so the
//! engine cannot do things in the wrong order: a step is only queued once everything it depends
//! on is verified or waived.

use crate::domain::{Action, DisableMode, Provider, Step, StepState, TenantPolicy, step_key};
use crate::ids::{RunId, StepKey};
use std::collections::{BTreeMap, BTreeSet};

/// A rule the plan must respect: `before` is done before `after` starts.
#[derive(Clone, Copy, Debug)]
pub struct OrderingRule {
    pub provider: Provider,
    pub before: Action,
    pub after: Action,
    pub why: &'static str,
}

/// Orders the providers force on us. Every plan is checked against these.
pub const ORDERING_RULES: &[OrderingRule] = &[
    OrderingRule {
        provider: Provider::Okta,
        before: Action::Snapshot,
        after: Action::RemoveGroups,
        why: "memberships are recorded before they are removed, so they can be restored",
    },
    OrderingRule {
        provider: Provider::Okta,
        before: Action::RevokeSessions,
        after: Action::Deactivate,
        why: "a deactivated user's sessions and factors can no longer be managed",
    },
    OrderingRule {
        provider: Provider::Okta,
        before: Action::RevokeGrants,
        after: Action::Deactivate,
        why: "grants are revoked while the user still exists in a manageable state",
    },
    OrderingRule {
        provider: Provider::Okta,
        before: Action::RemoveGroups,
        after: Action::Deactivate,
        why: "memberships are removed while the user is still manageable",
    },
    OrderingRule {
        provider: Provider::Okta,
        before: Action::RevokeSessions,
        after: Action::Suspend,
        why: "sessions are ended explicitly; suspension alone is not proof they are gone",
    },
    OrderingRule {
        provider: Provider::Okta,
        before: Action::RemoveGroups,
        after: Action::Suspend,
        why: "memberships are removed while the user is still active",
    },
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("step {step} depends on {missing}, which is not in the plan")]
    MissingDependency { step: StepKey, missing: StepKey },
    #[error("the plan has a cycle through {0}")]
    Cycle(StepKey),
    #[error("step {0} appears twice")]
    Duplicate(StepKey),
    #[error("the plan breaks an ordering rule: {before} must finish before {after} ({why})")]
    Ordering {
        before: StepKey,
        after: StepKey,
        why: &'static str,
    },
    #[error("the tenant's policy enables no provider, so a run would do nothing")]
    Empty,
}

/// Builds the steps of a new run from the tenant's policy.
pub fn build(run_id: &RunId, policy: &TenantPolicy) -> Result<Vec<Step>, PlanError> {
    let mut steps = Vec::new();
    if let Some(okta) = &policy.okta {
        let p = Provider::Okta;
        let k = |a| step_key(p, a);
        steps.push(Step::new(run_id, p, Action::Snapshot, true, vec![]));
        steps.push(Step::new(
            run_id,
            p,
            Action::RevokeSessions,
            true,
            vec![k(Action::Snapshot)],
        ));
        steps.push(Step::new(
            run_id,
            p,
            Action::RevokeGrants,
            okta.grants_critical,
            vec![k(Action::Snapshot)],
        ));
        steps.push(Step::new(
            run_id,
            p,
            Action::RemoveGroups,
            true,
            vec![k(Action::Snapshot)],
        ));
        let disable = match okta.disable {
            DisableMode::Suspend => Action::Suspend,
            DisableMode::Deactivate => Action::Deactivate,
        };
        steps.push(Step::new(
            run_id,
            p,
            disable,
            true,
            vec![
                k(Action::RevokeSessions),
                k(Action::RevokeGrants),
                k(Action::RemoveGroups),
            ],
        ));
    }
    if steps.is_empty() {
        return Err(PlanError::Empty);
    }
    validate(&steps)?;
    Ok(steps)
}

/// Checks that dependencies exist, there is no cycle, and every ordering rule holds.
pub fn validate(steps: &[Step]) -> Result<(), PlanError> {
    let mut by_key: BTreeMap<&StepKey, &Step> = BTreeMap::new();
    for s in steps {
        if by_key.insert(&s.key, s).is_some() {
            return Err(PlanError::Duplicate(s.key.clone()));
        }
    }
    for s in steps {
        for d in &s.depends_on {
            if !by_key.contains_key(d) {
                return Err(PlanError::MissingDependency {
                    step: s.key.clone(),
                    missing: d.clone(),
                });
            }
        }
    }
    // Depth-first search with colours finds cycles.
    let mut done: BTreeSet<&StepKey> = BTreeSet::new();
    let mut on_path: BTreeSet<&StepKey> = BTreeSet::new();
    fn visit<'a>(
        key: &'a StepKey,
        by_key: &BTreeMap<&'a StepKey, &'a Step>,
        done: &mut BTreeSet<&'a StepKey>,
        on_path: &mut BTreeSet<&'a StepKey>,
    ) -> Result<(), PlanError> {
        if done.contains(key) {
            return Ok(());
        }
        if !on_path.insert(key) {
            return Err(PlanError::Cycle(key.clone()));
        }
        for d in &by_key[key].depends_on {
            visit(d, by_key, done, on_path)?;
        }
        on_path.remove(key);
        done.insert(key);
        Ok(())
    }
    for s in steps {
        visit(&s.key, &by_key, &mut done, &mut on_path)?;
    }
    for rule in ORDERING_RULES {
        let before = step_key(rule.provider, rule.before);
        let after = step_key(rule.provider, rule.after);
        if by_key.contains_key(&before)
            && by_key.contains_key(&after)
            && !reaches(&by_key, &after, &before)
        {
            return Err(PlanError::Ordering {
                before,
                after,
                why: rule.why,
            });
        }
    }
    Ok(())
}

/// True when `from` (transitively) depends on `target`.
fn reaches(by_key: &BTreeMap<&StepKey, &Step>, from: &StepKey, target: &StepKey) -> bool {
    let mut stack = vec![from];
    let mut seen = BTreeSet::new();
    while let Some(k) = stack.pop() {
        if !seen.insert(k) {
            continue;
        }
        for d in &by_key[k].depends_on {
            if d == target {
                return true;
            }
            stack.push(d);
        }
    }
    false
}

/// Pending steps whose dependencies are all verified or waived: the ones to queue now.
pub fn releasable(steps: &[Step]) -> Vec<StepKey> {
    let state: BTreeMap<&StepKey, StepState> = steps.iter().map(|s| (&s.key, s.state)).collect();
    steps
        .iter()
        .filter(|s| s.state == StepState::Pending)
        .filter(|s| {
            s.depends_on
                .iter()
                .all(|d| state.get(d).is_some_and(|st| st.satisfies_dependents()))
        })
        .map(|s| s.key.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(mode: DisableMode) -> Vec<Step> {
        let mut policy = TenantPolicy::new("acme");
        policy.okta.as_mut().unwrap().disable = mode;
        build(&RunId::new("run_1"), &policy).unwrap()
    }

    #[test]
    fn okta_plan_respects_every_ordering_rule() {
        for mode in [DisableMode::Suspend, DisableMode::Deactivate] {
            let steps = plan(mode);
            assert_eq!(validate(&steps), Ok(()));
            assert_eq!(steps.len(), 5);
        }
    }

    #[test]
    fn only_the_snapshot_starts_first() {
        let steps = plan(DisableMode::Suspend);
        assert_eq!(releasable(&steps), vec![StepKey::new("okta.snapshot")]);
    }

    #[test]
    fn disable_waits_for_sessions_grants_and_groups() {
        let mut steps = plan(DisableMode::Deactivate);
        let set = |steps: &mut Vec<Step>, key: &str, st: StepState| {
            steps.iter_mut().find(|s| s.key.0 == key).unwrap().state = st;
        };
        set(&mut steps, "okta.snapshot", StepState::Verified);
        let mut r = releasable(&steps);
        r.sort();
        assert_eq!(
            r,
            vec![
                StepKey::new("okta.remove_groups"),
                StepKey::new("okta.revoke_grants"),
                StepKey::new("okta.revoke_sessions"),
            ]
        );
        for k in [
            "okta.remove_groups",
            "okta.revoke_grants",
            "okta.revoke_sessions",
        ] {
            set(&mut steps, k, StepState::Ready);
        }
        assert!(releasable(&steps).is_empty());
        set(&mut steps, "okta.revoke_sessions", StepState::Verified);
        set(&mut steps, "okta.revoke_grants", StepState::Waived);
        set(&mut steps, "okta.remove_groups", StepState::Verified);
        assert_eq!(releasable(&steps), vec![StepKey::new("okta.deactivate")]);
    }

    #[test]
    fn a_plan_that_deactivates_before_revoking_is_rejected() {
        let mut steps = plan(DisableMode::Deactivate);
        let d = steps
            .iter_mut()
            .find(|s| s.key.0 == "okta.deactivate")
            .unwrap();
        d.depends_on.retain(|k| k.0 != "okta.revoke_sessions");
        assert!(matches!(validate(&steps), Err(PlanError::Ordering { .. })));
    }

    #[test]
    fn cycles_and_missing_dependencies_are_rejected() {
        let mut steps = plan(DisableMode::Suspend);
        steps[0].depends_on.push(StepKey::new("okta.suspend"));
        assert!(matches!(validate(&steps), Err(PlanError::Cycle(_))));
        let mut steps = plan(DisableMode::Suspend);
        steps[1].depends_on.push(StepKey::new("okta.nope"));
        assert!(matches!(
            validate(&steps),
            Err(PlanError::MissingDependency { .. })
        ));
    }

    #[test]
    fn a_policy_with_no_provider_is_refused() {
        let mut policy = TenantPolicy::new("acme");
        policy.okta = None;
        assert_eq!(build(&RunId::new("r"), &policy), Err(PlanError::Empty));
    }
}
