//! A run's plan: a DAG of steps built from the tenant's policy.
//!
//! The order providers force (research: provider_apis §0) is encoded as dependencies, so the
//! engine cannot do things in the wrong order: a step is only queued once everything it depends
//! on is verified or waived.

use crate::domain::{
    Action, DeviceAction, DisableMode, GithubPolicy, GooglePolicy, JumpCloudPolicy,
    MicrosoftPolicy, OktaPolicy, Provider, SaasPolicy, SeatPlan, SlackPolicy, Step, StepState,
    SweepPolicy, TenantPolicy, app_step_key,
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
    rule(
        Provider::Slack,
        Action::DeactivateSeat,
        Action::RevokeSessions,
        "a deactivated member cannot sign in again, so no session starts after the reset",
    ),
    rule(
        Provider::Github,
        Action::RevokeGrants,
        Action::DeactivateSeat,
        "credential authorizations are listed and revoked while the user is still a member",
    ),
    rule(
        Provider::Github,
        Action::RemoveLicenses,
        Action::DeactivateSeat,
        "a Copilot seat can be read and cancelled only while the user is a member",
    ),
    rule(
        Provider::Github,
        Action::DeactivateSeat,
        Action::RemoveSeat,
        "deleting a managed user anonymises it for good, so it is suspended first",
    ),
    rule(
        Provider::Scim,
        Action::DeactivateSeat,
        Action::RemoveSeat,
        "removal cannot be undone, so the account is deactivated first and removed after the grace period",
    ),
    // ----- the shared-resource sweep (issue 17)
    rule(
        Provider::Okta,
        Action::RemoveAdminRoles,
        Action::Suspend,
        "admin roles go first, so no privileged session outlives the cut, and are recorded while the user is manageable",
    ),
    rule(
        Provider::Okta,
        Action::RemoveAdminRoles,
        Action::Deactivate,
        "admin roles go first, so no privileged session outlives the cut, and are recorded while the user is manageable",
    ),
    rule(
        Provider::Jumpcloud,
        Action::RemoveAdminRoles,
        Action::Suspend,
        "sudo rights go first, recorded and removed while the account is manageable, so no device keeps an administrator the cut missed",
    ),
    rule(
        Provider::Jumpcloud,
        Action::RemoveAdminRoles,
        Action::RemoveGroups,
        "sudo rights go first, recorded and removed while the account is manageable, so no device keeps an administrator the cut missed",
    ),
    rule(
        Provider::Jumpcloud,
        Action::RemoveAdminRoles,
        Action::SecureDevices,
        "sudo rights go first, recorded and removed while the account is manageable, so no device keeps an administrator the cut missed",
    ),
    rule(
        Provider::Microsoft,
        Action::SweepMailAccess,
        Action::RemoveLicenses,
        "inbox rules and calendars are reached through the mailbox, which Graph no longer serves once the licence is gone",
    ),
    rule(
        Provider::Microsoft,
        Action::HandOverOneDrive,
        Action::RemoveLicenses,
        "the OneDrive is deleted after the licence's retention window: the manager's access and the links are settled while it is live",
    ),
    rule(
        Provider::Google,
        Action::SweepSharedAccess,
        Action::RemoveGroups,
        "the groups the leaver owns are handed to the manager before the leaver's memberships go, so none is left without an owner",
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
    /// The tenant's app, for a provider that serves several (SCIM).
    app: Option<&'a str>,
    steps: Vec<Step>,
}

impl<'a> ProviderPlan<'a> {
    fn new(run_id: &'a RunId, provider: Provider) -> Self {
        Self::for_app(run_id, provider, None)
    }

    fn for_app(run_id: &'a RunId, provider: Provider, app: Option<&'a str>) -> Self {
        let mut plan = Self {
            run_id,
            provider,
            app,
            steps: Vec::new(),
        };
        plan.push(Step::new(run_id, provider, Action::Snapshot, true, vec![]));
        plan
    }

    fn push(&mut self, step: Step) {
        self.steps.push(match self.app {
            Some(app) => step.in_app(app),
            None => step,
        });
    }

    fn key(&self, action: Action) -> StepKey {
        app_step_key(self.provider, self.app, action)
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
            .map(|a| self.key(*a))
            .collect();
        if deps.is_empty() {
            deps.push(self.key(Action::Snapshot));
        }
        let step = Step::new(self.run_id, self.provider, action, critical, deps);
        self.push(step);
        self
    }

    /// The seat's end: a reversible deactivation at the cutoff (after `after`), then, where
    /// the app can remove accounts for good (`removable`) and the tenant wants it, the removal
    /// after the grace period; or the removal itself at the cutoff when the tenant accepts
    /// that.
    fn seat(&mut self, seat: &SeatPlan, removable: bool, after: &[Action]) -> &mut Self {
        let critical = seat.critical;
        if seat.deactivate_first || !removable {
            self.add(true, Action::DeactivateSeat, critical, after);
        }
        if !removable {
            return self;
        }
        if !seat.deactivate_first {
            return self.add(true, Action::RemoveSeat, critical, after);
        }
        if let Some(grace) = seat.remove_after {
            self.add(
                true,
                Action::RemoveSeat,
                critical,
                &[Action::DeactivateSeat],
            );
            if let Some(last) = self.steps.last_mut() {
                last.wait_after_cutoff_s = Some(grace.as_secs());
            }
        }
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
        steps.extend(okta_steps(run_id, okta, &policy.sweep));
    }
    if let Some(ms) = &policy.microsoft {
        let mut ms_steps = microsoft_steps(run_id, ms, has_delegate);
        sweep::microsoft(run_id, &policy.sweep, has_delegate, &mut ms_steps);
        steps.extend(ms_steps);
    }
    if let Some(g) = &policy.google {
        let mut g_steps = google_steps(run_id, g, has_delegate);
        sweep::google(run_id, &policy.sweep, &mut g_steps);
        steps.extend(g_steps);
    }
    if let Some(jc) = &policy.jumpcloud {
        steps.extend(jumpcloud_steps(run_id, jc, &policy.sweep));
    }
    steps.extend(saas_steps(run_id, &policy.saas));
    if steps.is_empty() {
        return Err(PlanError::Empty);
    }
    add_human_steps(run_id, policy, has_delegate, &mut steps);
    mark_early(policy, &mut steps);
    validate(&steps)?;
    Ok(steps)
}

fn okta_steps(run_id: &RunId, okta: &OktaPolicy, sweep: &SweepPolicy) -> Vec<Step> {
    use Action::*;
    let disable = match okta.disable {
        DisableMode::Suspend => Suspend,
        DisableMode::Deactivate => Deactivate,
    };
    // Sign-in is blocked as soon as the rules allow: a suspension waits only for what must be
    // done while the user is active (factors, sessions, memberships); grants and app
    // assignments go on beside it. Deactivation also waits for those, since it would
    // deprovision every app unrecorded and leave the user unmanageable.
    let before_disable: &[Action] = match okta.disable {
        DisableMode::Suspend => &[ResetFactors, RevokeSessions, RemoveGroups],
        DisableMode::Deactivate => &[
            ResetFactors,
            RevokeSessions,
            RevokeGrants,
            RemoveGroups,
            UnassignApps,
        ],
    };
    let mut p = ProviderPlan::new(run_id, Provider::Okta);
    // Admin roles go before every other lockout step (the sweep's first rule).
    p.add(sweep.admin_roles, RemoveAdminRoles, sweep.critical, &[]);
    let first: &[Action] = &[RemoveAdminRoles];
    let before_disable: Vec<Action> = first.iter().chain(before_disable).copied().collect();
    p.add(okta.reset_factors, ResetFactors, true, first)
        .add(true, RevokeSessions, true, first)
        .add(true, RevokeGrants, okta.grants_critical, first)
        .add(true, RemoveGroups, true, first)
        .add(okta.unassign_apps, UnassignApps, true, first)
        .add(true, disable, true, &before_disable);
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

fn jumpcloud_steps(run_id: &RunId, jc: &JumpCloudPolicy, sweep: &SweepPolicy) -> Vec<Step> {
    use Action::*;
    let mut p = ProviderPlan::new(run_id, Provider::Jumpcloud);
    // The leaver's sudo rights go before every other lockout step (the sweep's first rule),
    // recorded and taken while the account is still manageable.
    p.add(sweep.admin_roles, RemoveAdminRoles, sweep.critical, &[]);
    let first: &[Action] = &[RemoveAdminRoles];
    p.add(true, Suspend, true, first)
        .add(true, RemoveGroups, true, first)
        .add(
            jc.devices != DeviceAction::None,
            SecureDevices,
            true,
            &[Suspend, RemoveAdminRoles],
        );
    p.steps
}

/// The shared-resource sweep's steps beside a provider's own (issue 17), kept apart so the
/// provider plans above stay as they were.
mod sweep {
    use super::{Action, Provider, RunId, Step, SweepPolicy, app_step_key};

    /// Microsoft: the sweep of shared mailboxes and owned groups after the snapshot; the mail
    /// sweep before the licence goes; the OneDrive hand-over (with a delegate to hand it to) before the licence goes.
    pub(super) fn microsoft(
        run_id: &RunId,
        sweep: &SweepPolicy,
        has_delegate: bool,
        steps: &mut Vec<Step>,
    ) {
        let key = |a| app_step_key(Provider::Microsoft, None, a);
        let after_snapshot = || vec![key(Action::Snapshot)];
        if sweep.shared_access {
            steps.push(Step::new(
                run_id,
                Provider::Microsoft,
                Action::SweepSharedAccess,
                sweep.critical,
                after_snapshot(),
            ));
        }
        if sweep.mail_access {
            mail_access(run_id, sweep, steps);
        }
        if !(sweep.onedrive_handover && has_delegate) {
            return;
        }
        steps.push(Step::new(
            run_id,
            Provider::Microsoft,
            Action::HandOverOneDrive,
            sweep.critical,
            after_snapshot(),
        ));
        let licences = key(Action::RemoveLicenses);
        if let Some(release) = steps.iter_mut().find(|s| s.key == licences) {
            release.depends_on.push(key(Action::HandOverOneDrive));
        }
    }

    /// The mail sweep reads the leaver's rules after Passage's own forward-to-manager rule is
    /// in place (so it is told apart, not raced), and finishes while the mailbox still has
    /// its licence.
    fn mail_access(run_id: &RunId, sweep: &SweepPolicy, steps: &mut Vec<Step>) {
        let key = |a| app_step_key(Provider::Microsoft, None, a);
        let mut after = vec![key(Action::Snapshot)];
        if steps.iter().any(|s| s.key == key(Action::ForwardMail)) {
            after.push(key(Action::ForwardMail));
        }
        steps.push(Step::new(
            run_id,
            Provider::Microsoft,
            Action::SweepMailAccess,
            sweep.critical,
            after,
        ));
        let licences = key(Action::RemoveLicenses);
        if let Some(release) = steps.iter_mut().find(|s| s.key == licences) {
            release.depends_on.push(key(Action::SweepMailAccess));
        }
    }

    /// Google: the hand-over of owned groups and managed shared drives after the snapshot,
    /// and before the memberships are removed (an owner who is no longer a member owns
    /// nothing, and the group would be left without one).
    pub(super) fn google(run_id: &RunId, sweep: &SweepPolicy, steps: &mut Vec<Step>) {
        if !sweep.google_shared {
            return;
        }
        let key = |a| app_step_key(Provider::Google, None, a);
        steps.push(Step::new(
            run_id,
            Provider::Google,
            Action::SweepSharedAccess,
            sweep.critical,
            vec![key(Action::Snapshot)],
        ));
        let memberships = key(Action::RemoveGroups);
        if let Some(remove) = steps.iter_mut().find(|s| s.key == memberships) {
            remove.depends_on.push(key(Action::SweepSharedAccess));
        }
    }
}

/// Each SaaS app's seat: snapshot, what must happen while the account is still live, then the
/// seat's end. Apps Passage cannot reach (and Slack on a plan without SCIM) get their owner's
/// confirmation instead, open from the cutoff.
fn saas_steps(run_id: &RunId, saas: &SaasPolicy) -> Vec<Step> {
    let mut steps = Vec::new();
    if let Some(slack) = saas.slack.as_ref().filter(|s| s.plan.has_scim()) {
        steps.extend(slack_steps(run_id, slack));
    }
    if let Some(github) = &saas.github {
        steps.extend(github_steps(run_id, github));
    }
    for app in &saas.scim {
        let mut p = ProviderPlan::for_app(run_id, Provider::Scim, Some(&app.app));
        p.seat(&app.seat, true, &[]);
        steps.extend(p.steps);
    }
    let slack_by_hand = saas.slack.as_ref().and_then(|_| saas.manual_app("slack"));
    for app in saas.manual.iter().cloned().chain(slack_by_hand) {
        let step = Step::new(
            run_id,
            Provider::Human,
            Action::ConfirmAppRemoval,
            app.step.critical,
            vec![],
        );
        steps.push(step.in_app(&app.app));
    }
    steps
}

/// Slack: deactivation through SCIM (Business+ and Enterprise Grid), then, on Enterprise Grid,
/// every session reset through the Admin API. Slack removes no member for good.
fn slack_steps(run_id: &RunId, slack: &SlackPolicy) -> Vec<Step> {
    let mut p = ProviderPlan::new(run_id, Provider::Slack);
    p.seat(&slack.seat, false, &[]).add(
        slack.plan.has_admin_api(),
        Action::RevokeSessions,
        slack.seat.critical,
        &[Action::DeactivateSeat],
    );
    p.steps
}

/// GitHub: SAML credential authorizations and the Copilot seat while the user is a member, then
/// the membership; a managed user (EMU) is suspended and may be deleted after the grace period.
fn github_steps(run_id: &RunId, github: &GithubPolicy) -> Vec<Step> {
    use Action::*;
    let critical = github.seat.critical;
    let mut p = ProviderPlan::new(run_id, Provider::Github);
    p.add(github.saml_sso, RevokeGrants, critical, &[])
        .add(github.copilot, RemoveLicenses, critical, &[])
        .seat(&github.seat, github.emu, &[RevokeGrants, RemoveLicenses]);
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
        let snapshot = app_step_key(s.provider, s.app.as_deref(), Action::Snapshot);
        if !reaches(&by_key, &s.key, &snapshot) {
            return Err(PlanError::Ordering {
                before: snapshot,
                after: s.key.clone(),
                why: "what the leaver had is recorded before anything changes",
            });
        }
    }
    // A rule holds within each app of its provider.
    for rule in ORDERING_RULES {
        for after in steps
            .iter()
            .filter(|s| s.provider == rule.provider && s.action == rule.after)
        {
            let before = app_step_key(rule.provider, after.app.as_deref(), rule.before);
            if by_key.contains_key(&before) && !reaches(&by_key, &after.key, &before) {
                return Err(PlanError::Ordering {
                    before,
                    after: after.key.clone(),
                    why: rule.why,
                });
            }
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
    use crate::domain::{ManualAppPolicy, ScimAppPolicy, ScimDeactivation, SlackPlan};
    use std::time::Duration;

    const GRACE: Duration = Duration::from_secs(30 * 86_400);

    fn scim_app(app: &str, seat: SeatPlan) -> ScimAppPolicy {
        ScimAppPolicy {
            app: app.into(),
            name: app.into(),
            deactivate_by: ScimDeactivation::PatchActive,
            delete_reversible: false,
            deactivation_frees_seat: false,
            removal_frees_seat: true,
            seat,
        }
    }

    /// Slack on Enterprise Grid, a SAML GitHub organisation with Copilot under EMU, a SCIM
    /// app removed after a grace period, and an app without an API.
    fn every_saas() -> SaasPolicy {
        let grace = SeatPlan {
            remove_after: Some(GRACE),
            ..SeatPlan::deactivate_only()
        };
        SaasPolicy {
            slack: Some(SlackPolicy {
                plan: SlackPlan::EnterpriseGrid,
                seat: SeatPlan::deactivate_only(),
                owner: None,
                manual: crate::domain::HumanStepPolicy::app_removal(),
            }),
            github: Some(GithubPolicy {
                saml_sso: true,
                copilot: true,
                emu: true,
                seat: grace.clone(),
            }),
            scim: vec![scim_app("notion", grace)],
            manual: vec![ManualAppPolicy {
                app: "figma".into(),
                name: "Figma".into(),
                owner: "design-lead@example.com".into(),
                step: crate::domain::HumanStepPolicy::app_removal(),
            }],
        }
    }

    fn plan(mode: DisableMode) -> Vec<Step> {
        let mut policy = TenantPolicy::new("acme");
        policy.okta.as_mut().unwrap().disable = mode;
        build(&RunId::new("run_1"), &policy, None).unwrap()
    }

    fn everything(delegate: Option<&str>) -> Vec<Step> {
        let policy = every_provider_policy(DisableMode::Deactivate);
        build(&RunId::new("run_1"), &policy, delegate).unwrap()
    }

    /// Every provider and SaaS app, with every optional step on.
    fn every_provider_policy(disable: DisableMode) -> TenantPolicy {
        let mut policy = TenantPolicy::new("acme");
        let okta = policy.okta.as_mut().unwrap();
        okta.disable = disable;
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
        policy.saas = every_saas();
        policy.sweep = crate::domain::SweepPolicy::default();
        policy
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
            Provider::Slack,
            Provider::Github,
            Provider::Scim,
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
            let Some(s) = steps
                .iter_mut()
                .find(|s| s.provider == r.provider && s.action == r.after)
            else {
                continue;
            };
            // Rewire the later step to wait for the snapshot only.
            s.depends_on = vec![app_step_key(r.provider, s.app.as_deref(), Action::Snapshot)];
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

    /// Time to lockout: in every provider, the step that blocks sign-in waits for nothing but
    /// the snapshot and what an ordering rule puts before it (Okta's factors, sessions and
    /// memberships; Google's Gmail settings, which impersonate the user), and sessions are
    /// revoked after it wherever the provider allows.
    #[test]
    fn sign_in_is_blocked_as_early_as_the_ordering_rules_allow() {
        let policy = every_provider_policy(DisableMode::Suspend);
        let steps = build(&RunId::new("run_lockout"), &policy, Some("mgr@example.com")).unwrap();
        for provider in [
            Provider::Okta,
            Provider::Microsoft,
            Provider::Google,
            Provider::Jumpcloud,
        ] {
            let block = steps
                .iter()
                .find(|s| s.provider == provider && s.action == Action::Suspend)
                .unwrap_or_else(|| panic!("{provider:?} blocks sign-in"));
            let required: Vec<Action> = ORDERING_RULES
                .iter()
                .filter(|r| r.provider == provider && r.after == Action::Suspend)
                .map(|r| r.before)
                .collect();
            for dep in &block.depends_on {
                let action = steps.iter().find(|s| &s.key == dep).unwrap().action;
                assert!(
                    action == Action::Snapshot || required.contains(&action),
                    "{} waits for {dep}, which no rule puts first",
                    block.key
                );
            }
        }
        let after = |provider: Provider| {
            steps
                .iter()
                .find(|s| s.provider == provider && s.action == Action::RevokeSessions)
                .unwrap()
                .depends_on
                .iter()
                .any(|d| d.as_str().ends_with(".suspend"))
        };
        assert!(
            after(Provider::Microsoft),
            "Entra revokes sessions after blocking sign-in"
        );
        assert!(
            after(Provider::Google),
            "Google signs out after the suspension"
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

    #[test]
    fn every_app_closes_its_seat_after_its_own_snapshot() {
        let mut policy = TenantPolicy::new("acme");
        policy.okta = None;
        policy.saas = every_saas();
        let steps = build(&RunId::new("r"), &policy, None).unwrap();
        let keys: Vec<&str> = steps.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "slack.snapshot",
                "slack.deactivate_seat",
                "slack.revoke_sessions",
                "github.snapshot",
                "github.revoke_grants",
                "github.remove_licenses",
                "github.deactivate_seat",
                "github.remove_seat",
                "scim.notion.snapshot",
                "scim.notion.deactivate_seat",
                "scim.notion.remove_seat",
                "human.figma.confirm_app_removal",
            ]
        );
        let step = |k: &str| steps.iter().find(|s| s.key.as_str() == k).unwrap();
        assert_eq!(
            step("scim.notion.deactivate_seat").depends_on,
            [StepKey::new("scim.notion.snapshot")]
        );
        assert_eq!(
            step("scim.notion.deactivate_seat").app.as_deref(),
            Some("notion")
        );
        assert_eq!(
            step("github.deactivate_seat").depends_on,
            [
                StepKey::new("github.revoke_grants"),
                StepKey::new("github.remove_licenses")
            ]
        );
        // The irreversible removals wait out the grace period, after the reversible step.
        for k in ["scim.notion.remove_seat", "github.remove_seat"] {
            assert_eq!(step(k).wait_after_cutoff_s, Some(GRACE.as_secs()), "{k}");
        }
        assert_eq!(
            step("scim.notion.deactivate_seat").wait_after_cutoff_s,
            None
        );
        // The owner's task opens at the cutoff: nothing to wait for.
        assert!(
            step("human.figma.confirm_app_removal")
                .depends_on
                .is_empty()
        );
        assert_eq!(releasable(&steps).len(), 4);
    }

    #[test]
    fn a_removal_the_tenant_accepts_at_the_cutoff_replaces_the_deactivation() {
        let mut policy = TenantPolicy::new("acme");
        policy.saas.scim = vec![scim_app(
            "canva",
            SeatPlan {
                deactivate_first: false,
                remove_after: None,
                critical: false,
            },
        )];
        let steps = build(&RunId::new("r"), &policy, None).unwrap();
        let remove = steps
            .iter()
            .find(|s| s.key.as_str() == "scim.canva.remove_seat")
            .unwrap();
        assert_eq!(remove.wait_after_cutoff_s, None);
        assert!(!remove.critical);
        assert!(!steps.iter().any(|s| s.action == Action::DeactivateSeat));
    }

    #[test]
    fn slack_without_scim_is_its_owners_task_and_a_second_scim_app_is_kept_apart() {
        let mut policy = TenantPolicy::new("acme");
        let mut saas = every_saas();
        let slack = saas.slack.as_mut().unwrap();
        slack.plan = SlackPlan::Pro;
        slack.owner = Some("it@example.com".into());
        saas.scim
            .push(scim_app("zoom", SeatPlan::deactivate_only()));
        policy.saas = saas;
        let steps = build(&RunId::new("r"), &policy, None).unwrap();
        assert!(!steps.iter().any(|s| s.provider == Provider::Slack));
        assert!(
            steps
                .iter()
                .any(|s| s.key.as_str() == "human.slack.confirm_app_removal")
        );
        assert!(
            steps
                .iter()
                .any(|s| s.key.as_str() == "scim.zoom.deactivate_seat")
        );
        assert!(
            !steps
                .iter()
                .any(|s| s.key.as_str() == "scim.zoom.remove_seat")
        );
        // Rules hold per app: one app's removal does not count as another's deactivation.
        let mut broken = steps.clone();
        let remove = broken
            .iter_mut()
            .find(|s| s.key.as_str() == "scim.notion.remove_seat")
            .unwrap();
        remove.depends_on = vec![StepKey::new("scim.zoom.deactivate_seat")];
        assert!(matches!(validate(&broken), Err(PlanError::Ordering { .. })));
        // Slack on Business+ deactivates but has no Admin API to reset sessions with.
        policy.saas.slack.as_mut().unwrap().plan = SlackPlan::BusinessPlus;
        let steps = build(&RunId::new("r"), &policy, None).unwrap();
        assert!(
            steps
                .iter()
                .any(|s| s.key.as_str() == "slack.deactivate_seat")
        );
        assert!(
            !steps
                .iter()
                .any(|s| s.key.as_str() == "slack.revoke_sessions")
        );
    }

    // ----- the shared-resource sweep (issue 17)

    fn swept(disable: DisableMode) -> Vec<Step> {
        let mut policy = every_provider_policy(disable);
        policy.sweep = crate::domain::SweepPolicy::default();
        build(&RunId::new("run-sweep"), &policy, Some("sam@example.com")).unwrap()
    }

    fn step<'a>(steps: &'a [Step], key: &str) -> &'a Step {
        steps.iter().find(|s| s.key.as_str() == key).unwrap()
    }

    #[test]
    fn okta_admin_roles_go_before_every_other_lockout_step() {
        for mode in [DisableMode::Suspend, DisableMode::Deactivate] {
            let steps = swept(mode);
            assert_eq!(validate(&steps), Ok(()));
            let roles = StepKey::new("okta.remove_admin_roles");
            assert_eq!(
                step(&steps, "okta.remove_admin_roles").depends_on,
                vec![StepKey::new("okta.snapshot")]
            );
            for s in steps.iter().filter(|s| s.provider == Provider::Okta) {
                if matches!(s.action, Action::Snapshot | Action::RemoveAdminRoles) {
                    continue;
                }
                assert!(s.depends_on.contains(&roles), "{} waits for roles", s.key);
            }
        }
    }

    #[test]
    fn jumpcloud_sudo_rights_go_before_every_other_lockout_step() {
        let steps = swept(DisableMode::Suspend);
        let first = StepKey::new("jumpcloud.remove_admin_roles");
        assert_eq!(
            step(&steps, "jumpcloud.remove_admin_roles").depends_on,
            vec![StepKey::new("jumpcloud.snapshot")]
        );
        for s in steps.iter().filter(|s| s.provider == Provider::Jumpcloud) {
            if matches!(s.action, Action::Snapshot | Action::RemoveAdminRoles) {
                continue;
            }
            assert!(s.depends_on.contains(&first), "{} waits for sudo", s.key);
        }
        let mut broken = steps.clone();
        let suspend = broken
            .iter_mut()
            .find(|s| s.key.as_str() == "jumpcloud.suspend")
            .unwrap();
        suspend.depends_on.retain(|d| d != &first);
        assert!(matches!(validate(&broken), Err(PlanError::Ordering { .. })));
    }

    /// A plan in which `step` no longer waits for `dependency` breaks an ordering rule.
    fn assert_refused_without(steps: &[Step], step: &str, dependency: &str) {
        let mut broken = steps.to_vec();
        let s = broken.iter_mut().find(|s| s.key.as_str() == step).unwrap();
        s.depends_on.retain(|d| d.as_str() != dependency);
        assert!(
            matches!(validate(&broken), Err(PlanError::Ordering { .. })),
            "{step} without {dependency} should be refused"
        );
    }

    #[test]
    fn onedrive_is_handed_over_before_the_licences_go() {
        let steps = swept(DisableMode::Suspend);
        assert!(
            step(&steps, "microsoft.remove_licenses")
                .depends_on
                .contains(&StepKey::new("microsoft.hand_over_onedrive"))
        );
        assert_eq!(
            step(&steps, "microsoft.sweep_shared_access").depends_on,
            vec![StepKey::new("microsoft.snapshot")]
        );
        // The rule is enforced, not only followed: a plan without the wait is refused.
        assert_refused_without(
            &steps,
            "microsoft.remove_licenses",
            "microsoft.hand_over_onedrive",
        );
    }

    #[test]
    fn the_mail_sweep_follows_passages_own_forward_and_precedes_the_licences() {
        let steps = swept(DisableMode::Suspend);
        assert_eq!(
            step(&steps, "microsoft.sweep_mail_access").depends_on,
            vec![
                StepKey::new("microsoft.snapshot"),
                StepKey::new("microsoft.forward_mail")
            ]
        );
        assert!(
            step(&steps, "microsoft.remove_licenses")
                .depends_on
                .contains(&StepKey::new("microsoft.sweep_mail_access"))
        );
        assert_refused_without(
            &steps,
            "microsoft.remove_licenses",
            "microsoft.sweep_mail_access",
        );
        // Without a delegate there is no forward to wait for.
        let mut policy = every_provider_policy(DisableMode::Suspend);
        policy.sweep = crate::domain::SweepPolicy::default();
        let alone = build(&RunId::new("r"), &policy, None).unwrap();
        assert_eq!(
            step(&alone, "microsoft.sweep_mail_access").depends_on,
            vec![StepKey::new("microsoft.snapshot")]
        );
    }

    #[test]
    fn google_ownership_is_handed_over_before_the_memberships_go() {
        let steps = swept(DisableMode::Suspend);
        assert_eq!(
            step(&steps, "google.sweep_shared_access").depends_on,
            vec![StepKey::new("google.snapshot")]
        );
        assert!(
            step(&steps, "google.remove_groups")
                .depends_on
                .contains(&StepKey::new("google.sweep_shared_access"))
        );
        assert_refused_without(&steps, "google.remove_groups", "google.sweep_shared_access");
    }

    #[test]
    fn no_delegate_no_onedrive_hand_over_and_no_sweep_when_off() {
        let mut policy = every_provider_policy(DisableMode::Suspend);
        policy.sweep = crate::domain::SweepPolicy::default();
        let steps = build(&RunId::new("r"), &policy, None).unwrap();
        assert!(steps.iter().all(|s| s.action != Action::HandOverOneDrive));
        assert!(steps.iter().any(|s| s.action == Action::SweepSharedAccess));
        policy.sweep = crate::domain::SweepPolicy::off();
        let off = build(&RunId::new("r"), &policy, None);
        assert!(off.unwrap().iter().all(|s| !matches!(
            s.action,
            Action::RemoveAdminRoles
                | Action::SweepSharedAccess
                | Action::HandOverOneDrive
                | Action::SweepMailAccess
        )));
    }
}
