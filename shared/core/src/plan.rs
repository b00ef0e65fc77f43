//! A run's plan: a DAG of steps built from the tenant's policy.
//!
//! The order providers force (research: provider_apis §0) is encoded as dependencies, so the
//! engine cannot do things in the wrong order: a step is only queued once everything it depends
//! on is verified or waived.

use crate::domain::{
    Action, DeviceAction, DisableMode, GooglePolicy, JumpCloudPolicy, MicrosoftPolicy, OktaPolicy,
    Provider, Step, StepState, TenantPolicy, step_key,
};
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

const fn rule(
    provider: Provider,
    before: Action,
    after: Action,
    why: &'static str,
) -> OrderingRule {
    OrderingRule {
        provider,
        before,
        after,
        why,
    }
}

/// Orders the providers force on us (research: provider_apis §0). Every plan is checked against
/// these; on top, every step of a provider comes after that provider's snapshot, so what the
/// leaver had is recorded before anything changes.
pub const ORDERING_RULES: &[OrderingRule] = &[
    rule(
        Provider::Okta,
        Action::ResetFactors,
        Action::Deactivate,
        "factors cannot be removed from a deactivated user",
    ),
    rule(
        Provider::Okta,
        Action::ResetFactors,
        Action::Suspend,
        "factors are removed while the user is still active",
    ),
    rule(
        Provider::Okta,
        Action::RevokeSessions,
        Action::Deactivate,
        "a deactivated user's sessions can no longer be managed",
    ),
    rule(
        Provider::Okta,
        Action::RevokeGrants,
        Action::Deactivate,
        "grants are revoked while the user is still manageable",
    ),
    rule(
        Provider::Okta,
        Action::RemoveGroups,
        Action::Deactivate,
        "memberships are removed while the user is still manageable",
    ),
    rule(
        Provider::Okta,
        Action::UnassignApps,
        Action::Deactivate,
        "deactivation would deprovision every app at once, unrecorded",
    ),
    rule(
        Provider::Okta,
        Action::RevokeSessions,
        Action::Suspend,
        "sessions are ended explicitly; suspension alone is not proof they are gone",
    ),
    rule(
        Provider::Okta,
        Action::RemoveGroups,
        Action::Suspend,
        "memberships are removed while the user is still active",
    ),
    rule(
        Provider::Microsoft,
        Action::Suspend,
        Action::RevokeSessions,
        "sign-in is blocked first, so no new session starts after revocation",
    ),
    rule(
        Provider::Microsoft,
        Action::ConvertMailbox,
        Action::RemoveLicenses,
        "removing the Exchange licence first deletes the mailbox before it can be converted",
    ),
    rule(
        Provider::Microsoft,
        Action::ForwardMail,
        Action::RemoveLicenses,
        "forwarding needs a licensed mailbox to be set",
    ),
    rule(
        Provider::Microsoft,
        Action::SetAutoReply,
        Action::RemoveLicenses,
        "the auto-reply needs a licensed mailbox to be set",
    ),
    rule(
        Provider::Microsoft,
        Action::SecureDevices,
        Action::ConvertMailbox,
        "devices lose the mailbox's account before the mailbox changes type",
    ),
    rule(
        Provider::Google,
        Action::DelegateMailbox,
        Action::Suspend,
        "Gmail settings calls impersonate the user and fail once suspended",
    ),
    rule(
        Provider::Google,
        Action::ForwardMail,
        Action::Suspend,
        "Gmail settings calls impersonate the user and fail once suspended",
    ),
    rule(
        Provider::Google,
        Action::SetAutoReply,
        Action::Suspend,
        "Gmail settings calls impersonate the user and fail once suspended",
    ),
    rule(
        Provider::Google,
        Action::TransferData,
        Action::RemoveLicenses,
        "Drive data must be transferred before the licence goes",
    ),
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

/// Adds one provider's steps; dependencies name actions of the same provider and are kept only
/// when that action is in the plan (a step a policy leaves out is simply not waited for).
struct ProviderPlan<'a> {
    run_id: &'a RunId,
    provider: Provider,
    steps: Vec<Step>,
}

impl<'a> ProviderPlan<'a> {
    fn new(run_id: &'a RunId, provider: Provider) -> Self {
        let mut plan = Self {
            run_id,
            provider,
            steps: Vec::new(),
        };
        plan.steps
            .push(Step::new(run_id, provider, Action::Snapshot, true, vec![]));
        plan
    }

    fn has(&self, action: Action) -> bool {
        self.steps.iter().any(|s| s.action == action)
    }

    /// Adds `action` after `after` (those present), or after the snapshot if none are.
    fn add(
        &mut self,
        enabled: bool,
        action: Action,
        critical: bool,
        after: &[Action],
    ) -> &mut Self {
        if !enabled {
            return self;
        }
        let mut deps: Vec<StepKey> = after
            .iter()
            .filter(|a| self.has(**a))
            .map(|a| step_key(self.provider, *a))
            .collect();
        if deps.is_empty() {
            deps.push(step_key(self.provider, Action::Snapshot));
        }
        self.steps.push(Step::new(
            self.run_id,
            self.provider,
            action,
            critical,
            deps,
        ));
        self
    }
}

/// Builds the steps of a new run from the tenant's policy. `delegate` is who inherits mail and
/// files (the manager, or the tenant's fallback); without one, hand-over steps are left out.
pub fn build(
    run_id: &RunId,
    policy: &TenantPolicy,
    delegate: Option<&str>,
) -> Result<Vec<Step>, PlanError> {
    let has_delegate = delegate.is_some();
    let mut steps = Vec::new();
    if let Some(okta) = &policy.okta {
        steps.extend(okta_steps(run_id, okta));
    }
    if let Some(ms) = &policy.microsoft {
        steps.extend(microsoft_steps(run_id, ms, has_delegate));
    }
    if let Some(g) = &policy.google {
        steps.extend(google_steps(run_id, g, has_delegate));
    }
    if let Some(jc) = &policy.jumpcloud {
        steps.extend(jumpcloud_steps(run_id, jc));
    }
    if steps.is_empty() {
        return Err(PlanError::Empty);
    }
    add_human_steps(run_id, policy, has_delegate, &mut steps);
    mark_early(policy, &mut steps);
    validate(&steps)?;
    Ok(steps)
}

fn okta_steps(run_id: &RunId, okta: &OktaPolicy) -> Vec<Step> {
    use Action::*;
    let disable = match okta.disable {
        DisableMode::Suspend => Suspend,
        DisableMode::Deactivate => Deactivate,
    };
    let mut p = ProviderPlan::new(run_id, Provider::Okta);
    p.add(okta.reset_factors, ResetFactors, true, &[])
        .add(true, RevokeSessions, true, &[])
        .add(true, RevokeGrants, okta.grants_critical, &[])
        .add(true, RemoveGroups, true, &[])
        .add(okta.unassign_apps, UnassignApps, true, &[])
        .add(
            true,
            disable,
            true,
            &[
                ResetFactors,
                RevokeSessions,
                RevokeGrants,
                RemoveGroups,
                UnassignApps,
            ],
        );
    p.steps
}

fn microsoft_steps(run_id: &RunId, ms: &MicrosoftPolicy, has_delegate: bool) -> Vec<Step> {
    use Action::*;
    let mail = ms.mailbox_critical;
    let devices = ms.devices != DeviceAction::None;
    let mut p = ProviderPlan::new(run_id, Provider::Microsoft);
    p.add(true, Suspend, true, &[])
        .add(true, RevokeSessions, true, &[Suspend])
        .add(ms.reset_factors, ResetFactors, true, &[Suspend])
        .add(true, RemoveGroups, true, &[])
        .add(ms.auto_reply.is_some(), SetAutoReply, mail, &[])
        .add(
            ms.forward_to_delegate && has_delegate,
            ForwardMail,
            mail,
            &[],
        )
        .add(devices, SecureDevices, true, &[Suspend])
        .add(
            ms.convert_mailbox,
            ConvertMailbox,
            mail,
            &[SecureDevices, ForwardMail, SetAutoReply],
        )
        .add(
            ms.remove_licenses,
            RemoveLicenses,
            true,
            &[ConvertMailbox, ForwardMail, SetAutoReply],
        );
    p.steps
}

fn google_steps(run_id: &RunId, g: &GooglePolicy, has_delegate: bool) -> Vec<Step> {
    use Action::*;
    let mail = g.mailbox_critical;
    let mut p = ProviderPlan::new(run_id, Provider::Google);
    p.add(
        g.delegate_mailbox && has_delegate,
        DelegateMailbox,
        mail,
        &[],
    )
    .add(
        g.forward_to_delegate && has_delegate,
        ForwardMail,
        mail,
        &[],
    )
    .add(g.vacation_reply.is_some(), SetAutoReply, mail, &[])
    .add(g.transfer_data && has_delegate, TransferData, mail, &[])
    // The Drive transfer works on a suspended account and may take hours: it must not hold
    // up the access cut, only the licence release.
    .add(
        true,
        Suspend,
        true,
        &[DelegateMailbox, ForwardMail, SetAutoReply],
    )
    .add(true, RevokeSessions, true, &[Suspend])
    .add(true, RevokeGrants, true, &[Suspend])
    .add(true, RemoveGroups, true, &[])
    .add(
        g.devices != DeviceAction::None,
        SecureDevices,
        true,
        &[Suspend],
    )
    .add(
        g.release_licenses,
        RemoveLicenses,
        true,
        &[TransferData, Suspend],
    );
    p.steps
}

fn jumpcloud_steps(run_id: &RunId, jc: &JumpCloudPolicy) -> Vec<Step> {
    use Action::*;
    let mut p = ProviderPlan::new(run_id, Provider::Jumpcloud);
    p.add(true, Suspend, true, &[])
        .add(true, RemoveGroups, true, &[])
        .add(
            jc.devices != DeviceAction::None,
            SecureDevices,
            true,
            &[Suspend],
        );
    p.steps
}

/// Marks the tenant's early actions, and every step they depend on (the provider's snapshot),
/// as runnable before the cutoff. Access-cutting actions are never early.
fn mark_early(policy: &TenantPolicy, steps: &mut [Step]) {
    let Some(early) = &policy.early else { return };
    let wanted: BTreeSet<StepKey> = steps
        .iter()
        .filter(|s| {
            early.actions.contains(&s.action)
                && crate::domain::EarlyPolicy::ALLOWED.contains(&s.action)
        })
        .map(|s| s.key.clone())
        .collect();
    let mut early_keys = BTreeSet::new();
    let mut stack: Vec<StepKey> = wanted.into_iter().collect();
    while let Some(k) = stack.pop() {
        if early_keys.insert(k.clone())
            && let Some(s) = steps.iter().find(|s| s.key == k)
        {
            stack.extend(s.depends_on.iter().cloned());
        }
    }
    for s in steps.iter_mut() {
        s.early = early_keys.contains(&s.key);
    }
}

/// Device return waits for every provider's snapshot (the device list) and device step (the
/// lock state shown to whoever receives the laptop); the hand-over confirmation waits for the
/// steps that hand mail and files to the delegate, since there is nothing to confirm before.
fn add_human_steps(
    run_id: &RunId,
    policy: &TenantPolicy,
    has_delegate: bool,
    steps: &mut Vec<Step>,
) {
    let keys_of = |steps: &[Step], actions: &[Action]| -> Vec<StepKey> {
        steps
            .iter()
            .filter(|s| actions.contains(&s.action))
            .map(|s| s.key.clone())
            .collect()
    };
    if let Some(p) = &policy.human.device_return {
        let deps = keys_of(steps, &[Action::Snapshot, Action::SecureDevices]);
        steps.push(Step::new(
            run_id,
            Provider::Human,
            Action::ReturnDevices,
            p.critical,
            deps,
        ));
    }
    if let Some(p) = &policy.human.handover
        && has_delegate
    {
        let deps = keys_of(
            steps,
            &[
                Action::Snapshot,
                Action::TransferData,
                Action::DelegateMailbox,
                Action::ConvertMailbox,
                Action::ForwardMail,
            ],
        );
        steps.push(Step::new(
            run_id,
            Provider::Human,
            Action::ConfirmHandover,
            p.critical,
            deps,
        ));
    }
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
    // Human steps act on no provider, so they have no snapshot of their own; they wait for
    // the providers' (see `add_human_steps`).
    for s in steps
        .iter()
        .filter(|s| s.action != Action::Snapshot && s.provider != Provider::Human)
    {
        let snapshot = step_key(s.provider, Action::Snapshot);
        if !reaches(&by_key, &s.key, &snapshot) {
            return Err(PlanError::Ordering {
                before: snapshot,
                after: s.key.clone(),
                why: "what the leaver had is recorded before anything changes",
            });
        }
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
        build(&RunId::new("run_1"), &policy, None).unwrap()
    }

    fn everything(delegate: Option<&str>) -> Vec<Step> {
        let mut policy = TenantPolicy::new("acme");
        let okta = policy.okta.as_mut().unwrap();
        okta.disable = DisableMode::Deactivate;
        okta.reset_factors = true;
        okta.unassign_apps = true;
        policy.microsoft = Some(crate::domain::MicrosoftPolicy {
            reset_factors: true,
            auto_reply: Some("gone".into()),
            forward_to_delegate: true,
            convert_mailbox: true,
            remove_licenses: true,
            devices: DeviceAction::Wipe,
            mailbox_critical: false,
        });
        policy.google = Some(crate::domain::GooglePolicy {
            delegate_mailbox: true,
            forward_to_delegate: true,
            vacation_reply: Some("gone".into()),
            transfer_data: true,
            release_licenses: true,
            devices: DeviceAction::Retire,
            mailbox_critical: true,
        });
        policy.jumpcloud = Some(crate::domain::JumpCloudPolicy {
            devices: DeviceAction::Lock,
        });
        build(&RunId::new("run_1"), &policy, delegate).unwrap()
    }

    #[test]
    fn a_full_plan_across_four_providers_is_valid() {
        let steps = everything(Some("boss@example.com"));
        assert_eq!(validate(&steps), Ok(()));
        for p in [
            Provider::Okta,
            Provider::Microsoft,
            Provider::Google,
            Provider::Jumpcloud,
        ] {
            assert!(
                steps
                    .iter()
                    .any(|s| s.provider == p && s.action == Action::Snapshot)
            );
        }
        // Every rule applies to this plan.
        for r in ORDERING_RULES {
            let has = |a| {
                steps
                    .iter()
                    .any(|s| s.provider == r.provider && s.action == a)
            };
            if r.after == Action::Suspend && r.provider == Provider::Okta {
                continue; // this plan deactivates
            }
            assert!(has(r.before) && has(r.after), "{r:?} not exercised");
        }
    }

    #[test]
    fn the_wrong_order_cannot_happen_for_any_rule() {
        let full = everything(Some("boss@example.com"));
        for r in ORDERING_RULES {
            let mut steps = full.clone();
            let after = step_key(r.provider, r.after);
            let Some(s) = steps.iter_mut().find(|s| s.key == after) else {
                continue;
            };
            // Rewire the later step to wait for the snapshot only.
            s.depends_on = vec![step_key(r.provider, Action::Snapshot)];
            assert!(
                matches!(validate(&steps), Err(PlanError::Ordering { .. })),
                "dropping {} before {} went unnoticed",
                r.before,
                r.after
            );
        }
        // And nothing may start before its provider's snapshot.
        let mut steps = full.clone();
        let s = steps
            .iter_mut()
            .find(|s| s.key.0 == "google.remove_groups")
            .unwrap();
        s.depends_on.clear();
        assert!(matches!(validate(&steps), Err(PlanError::Ordering { .. })));
    }

    #[test]
    fn without_a_delegate_hand_over_steps_are_left_out() {
        let steps = everything(None);
        for key in [
            "google.delegate_mailbox",
            "google.forward_mail",
            "google.transfer_data",
            "microsoft.forward_mail",
        ] {
            assert!(
                !steps.iter().any(|s| s.key.0 == key),
                "{key} planned without a delegate"
            );
        }
        assert_eq!(validate(&steps), Ok(()));
        // Google still suspends, now right after the vacation reply.
        let suspend = steps.iter().find(|s| s.key.0 == "google.suspend").unwrap();
        assert_eq!(
            suspend.depends_on,
            vec![StepKey::new("google.set_auto_reply")]
        );
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
        assert_eq!(
            build(&RunId::new("r"), &policy, None),
            Err(PlanError::Empty)
        );
    }
}
