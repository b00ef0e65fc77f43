use crate::ids::TenantId;
use crate::secret::Secret;
use jiff::civil::Time;
use serde::{Deserialize, Serialize};

/// How a tenant wants leavers handled. Loaded by the host from its configuration; the engine
/// only reads it. Secrets here never serialize.
#[derive(Clone, Debug)]
pub struct TenantPolicy {
    pub id: TenantId,
    pub name: String,
    /// Local time on the last working day at which access is cut ("the last working minute").
    pub end_of_day: Time,
    /// Zone used when an event names none.
    pub default_time_zone: String,
    /// Standard Webhooks secrets (`whsec_…`); several at once during rotation.
    pub webhook_secrets: Vec<Secret>,
    /// Who receives mail, files and calendars when the leaver has no manager on record.
    pub fallback_delegate: Option<String>,
    pub okta: Option<OktaPolicy>,
    pub microsoft: Option<MicrosoftPolicy>,
    pub google: Option<GooglePolicy>,
    pub jumpcloud: Option<JumpCloudPolicy>,
    /// The tenant IT's recovery public key (P-256, SPKI PEM): a device's lock PIN is sealed
    /// for it and kept only so. Without one, the PIN is not kept at all.
    pub recovery_key: Option<String>,
    /// The SaaS apps whose seats the leaver keeps once the identity providers are closed.
    pub saas: crate::domain::SaasPolicy,
    /// How long steps keep trying through transient failures, and when someone is told.
    pub retry: RetryPolicy,
    /// Work locations with their own zone or end of day (matched by the HR system's name).
    pub locations: Vec<LocationPolicy>,
    /// Cut an involuntary termination at once instead of at the end of the last day.
    pub involuntary_immediate: bool,
    /// HR system webhooks this tenant accepts besides Passage's own event format.
    pub hr_webhooks: Vec<HrWebhook>,
    /// Device return and data hand-over, and whom to remind when they are overdue.
    pub human: HumanPolicy,
    /// Hand-over steps that run ahead of the cutoff (e.g. mailbox delegation the day before).
    pub early: Option<EarlyPolicy>,
    /// How far in the past or ahead a leaver event's date may lie before it is refused.
    pub date_window: passage_hris::DateWindow,
    /// The time within which access must be removed, as the tenant's control states it: what
    /// period reports grade each leaver against.
    pub sla: SlaPolicy,
    /// How long after the cutoff a closed run's sign-ins are watched.
    pub sign_in_watch: crate::domain::SignInWatchPolicy,
    /// The go-live guard: more terminations than this within its window hold new runs until
    /// an operator approves them, so an HR mistake cannot lock out a department. `None` is off.
    pub guard: Option<GuardPolicy>,
    /// The shared-resource sweep: admin roles, grants on others' resources, owned resources,
    /// the OneDrive hand-over. On by default.
    pub sweep: SweepPolicy,
}

/// What the shared-resource sweep does (`[tenants.sweep]`). Each part is on unless the tenant
/// turns it off: each only removes what the leaver holds and records it first, and hands
/// what the leaver owns to the manager rather than deleting it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepPolicy {
    /// Remove Okta and JumpCloud administrator roles first.
    #[serde(default = "yes")]
    pub admin_roles: bool,
    /// Microsoft: shared mailbox grants removed, owned groups handed to the manager, owned
    /// app registrations reported.
    #[serde(default = "yes")]
    pub shared_access: bool,
    /// Microsoft: OneDrive handed to the manager and its sharing links removed before the
    /// licence goes.
    #[serde(default = "yes")]
    pub onedrive_handover: bool,
    /// Microsoft: the leaver's forwarding inbox rules deleted, colleagues' rules forwarding to
    /// the leaver cleared, the leaver's permissions on colleagues' calendars removed
    /// (`sweep_mail_access`).
    #[serde(default = "yes")]
    pub mail_access: bool,
    /// Google Workspace: the groups the leaver owns and the shared drives they manage are
    /// handed to the manager before their memberships go; a last owner with nobody to hand
    /// to is reported.
    #[serde(default = "yes")]
    pub google_shared: bool,
    /// Days the tenant keeps a deleted user's OneDrive (the SharePoint admin centre's
    /// retention setting, 30 by default), recorded with the hand-over so the evidence says
    /// until when the manager can copy the files.
    #[serde(default = "default_onedrive_retention")]
    pub onedrive_retention_days: u32,
    /// Whether the sweep's steps hold the closure gate.
    #[serde(default = "yes")]
    pub critical: bool,
}

fn default_onedrive_retention() -> u32 {
    30
}

impl SweepPolicy {
    /// No sweep at all: the policy tests and rehearsals start from ([`TenantPolicy::new`]);
    /// a tenant configured in passage.toml has the sweep on unless it says otherwise.
    pub fn off() -> Self {
        Self {
            admin_roles: false,
            shared_access: false,
            onedrive_handover: false,
            mail_access: false,
            google_shared: false,
            ..Self::default()
        }
    }
}

impl Default for SweepPolicy {
    fn default() -> Self {
        Self {
            admin_roles: true,
            shared_access: true,
            onedrive_handover: true,
            mail_access: true,
            google_shared: true,
            onedrive_retention_days: default_onedrive_retention(),
            critical: true,
        }
    }
}

/// At most `max_terminations` runs may start within `window` without an operator's approval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuardPolicy {
    pub max_terminations: u32,
    pub window: std::time::Duration,
}

impl Default for GuardPolicy {
    /// Five in an hour: more than a company of a few hundred loses in a normal week, far fewer
    /// than a mistaken bulk change in the HR system produces.
    fn default() -> Self {
        Self {
            max_terminations: 5,
            window: std::time::Duration::from_secs(3600),
        }
    }
}

/// The tenant's access-removal SLA: `within` of the moment `from` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlaPolicy {
    pub within: std::time::Duration,
    pub from: SlaClock,
}

/// Where an SLA's clock starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaClock {
    /// The cutoff: the leaver's last working minute (or the moment of an immediate cut). A
    /// termination HR recorded late counts against the SLA from the day it should have ended.
    Cutoff,
    /// The termination as HR recorded it: the later of the cutoff and the moment HR's notice
    /// reached Passage. Measures the reaction to the HR record, not HR's own delay.
    HrNotice,
}

impl SlaClock {
    pub fn as_str(self) -> &'static str {
        match self {
            SlaClock::Cutoff => "cutoff",
            SlaClock::HrNotice => "hr_notice",
        }
    }
}

impl Default for SlaPolicy {
    /// 24 hours from the cutoff: the commonest wording of the control ("within one day").
    fn default() -> Self {
        Self {
            within: std::time::Duration::from_secs(24 * 3600),
            from: SlaClock::Cutoff,
        }
    }
}

/// Retries are bounded by time, not by count: a provider that throttles or fails for a few
/// minutes must not block a run, and one that is down for hours must, with a clear reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How long a critical step keeps retrying through an unbroken run of transient failures.
    pub critical_deadline: std::time::Duration,
    /// The same for a step that is not critical (it can be waived, so it gives up sooner).
    pub deadline: std::time::Duration,
    /// How long after its first attempt a step may go unverified before the tenant is alerted
    /// (it keeps trying).
    pub sla: std::time::Duration,
}

impl RetryPolicy {
    /// The deadline for a step of this class.
    pub fn deadline_for(&self, critical: bool) -> std::time::Duration {
        if critical {
            self.critical_deadline
        } else {
            self.deadline
        }
    }
}

impl Default for RetryPolicy {
    /// Critical steps try for 6 hours, others for 1; the tenant hears after 4 hours, which
    /// leaves two for someone to look before a critical step gives up.
    fn default() -> Self {
        Self {
            critical_deadline: std::time::Duration::from_secs(6 * 3600),
            deadline: std::time::Duration::from_secs(3600),
            sla: std::time::Duration::from_secs(4 * 3600),
        }
    }
}

/// Steps that may run before the cutoff, and how long before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EarlyPolicy {
    pub lead: std::time::Duration,
    /// Only hand-over preparation qualifies (see [`EarlyPolicy::ALLOWED`]); never an action
    /// that cuts access, which belongs to the cutoff.
    pub actions: Vec<crate::domain::Action>,
}

impl EarlyPolicy {
    pub const ALLOWED: &'static [crate::domain::Action] = &[
        crate::domain::Action::DelegateMailbox,
        crate::domain::Action::ForwardMail,
        crate::domain::Action::SetAutoReply,
        crate::domain::Action::TransferData,
    ];
}

/// A work location's own time rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocationPolicy {
    /// The location's name as the HR system spells it (compared case-insensitively).
    pub name: String,
    pub time_zone: String,
    /// Overrides the tenant's end of day at this location.
    pub end_of_day: Option<Time>,
}

/// One HR vendor's webhook for this tenant: which scheme authenticates it and its secrets
/// (several during a rotation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HrWebhook {
    /// `bamboohr`, `hibob`, `gusto`, `merge`, `finch`, `personio`, `rippling`.
    pub vendor: String,
    pub secrets: Vec<Secret>,
    /// Deliveries are accepted without authentication, for a sender that cannot sign or send a
    /// token (only Rippling qualifies). Safe only because a delivery is never more than a hint:
    /// the employee's record, read from the HR system's API, decides whether anything happens.
    pub unsigned: bool,
}

/// Which human steps a run has and how overdue ones are chased.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HumanPolicy {
    pub device_return: Option<crate::domain::HumanStepPolicy>,
    pub handover: Option<crate::domain::HumanStepPolicy>,
    /// Where reminders go.
    pub remind: Vec<crate::domain::Channel>,
    /// Where escalations go (reminders' channels too when empty).
    pub escalate: Vec<crate::domain::Channel>,
}

impl HumanPolicy {
    /// Where a message that needs someone now goes (an escalation, an alert): the escalation
    /// channels, else the reminders'.
    pub fn escalation_channels(&self) -> &[crate::domain::Channel] {
        if self.escalate.is_empty() {
            &self.remind
        } else {
            &self.escalate
        }
    }
}

impl TenantPolicy {
    /// The zone and end of day for a leaver at `location` (if the tenant lists it).
    pub fn location(&self, location: Option<&str>) -> Option<&LocationPolicy> {
        let location = location?;
        self.locations
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(location.trim()))
    }

    /// The zone and end of day a leaver's cutoff is computed with: the tenant's rule for their
    /// work location first, then `zone` (what the HR system says), then the tenant's default.
    pub fn time_rules(&self, location: Option<&str>, zone: Option<&str>) -> (String, Time) {
        let rule = self.location(location);
        let zone = rule
            .map(|l| l.time_zone.clone())
            .or_else(|| zone.map(str::to_owned))
            .unwrap_or_else(|| self.default_time_zone.clone());
        let end_of_day = rule.and_then(|l| l.end_of_day).unwrap_or(self.end_of_day);
        (zone, end_of_day)
    }
}

fn yes() -> bool {
    true
}

/// What to do in Okta.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OktaPolicy {
    pub disable: DisableMode,
    /// Revoking consent grants is non-critical for tenants that rely on token revocation alone.
    #[serde(default = "yes")]
    pub grants_critical: bool,
    /// Remove MFA factors before disabling (they cannot be removed from a deactivated user).
    #[serde(default)]
    pub reset_factors: bool,
    /// Remove direct app assignments (deprovisions the leaver downstream).
    #[serde(default)]
    pub unassign_apps: bool,
}

/// Suspend keeps the account restorable; deactivate deprovisions every app and is final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DisableMode {
    Suspend,
    Deactivate,
}

/// What to do to the leaver's devices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceAction {
    /// Leave devices alone.
    None,
    /// Lock the device (recoverable).
    Lock,
    /// Remove company data and management (Intune retire, Google account wipe).
    Retire,
    /// Factory reset.
    Wipe,
}

/// What to do in Microsoft 365 / Entra ID / Intune / Exchange Online.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MicrosoftPolicy {
    #[serde(default = "yes")]
    pub reset_factors: bool,
    /// Out-of-office text; none means no auto-reply step.
    #[serde(default)]
    pub auto_reply: Option<String>,
    #[serde(default = "yes")]
    pub forward_to_delegate: bool,
    /// Convert to a shared mailbox (needs the Exchange admin endpoint).
    #[serde(default = "yes")]
    pub convert_mailbox: bool,
    #[serde(default = "yes")]
    pub remove_licenses: bool,
    #[serde(default = "default_retire")]
    pub devices: DeviceAction,
    /// Whether mailbox hand-over steps hold the closure gate.
    #[serde(default)]
    pub mailbox_critical: bool,
}

fn default_retire() -> DeviceAction {
    DeviceAction::Retire
}

/// What to do in Google Workspace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GooglePolicy {
    #[serde(default = "yes")]
    pub delegate_mailbox: bool,
    #[serde(default)]
    pub forward_to_delegate: bool,
    /// Vacation responder text; none means no vacation step.
    #[serde(default)]
    pub vacation_reply: Option<String>,
    /// Drive and Calendar to the delegate through the Data Transfer API.
    #[serde(default = "yes")]
    pub transfer_data: bool,
    #[serde(default = "yes")]
    pub release_licenses: bool,
    #[serde(default = "default_retire")]
    pub devices: DeviceAction,
    #[serde(default)]
    pub mailbox_critical: bool,
}

/// What to do in JumpCloud.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JumpCloudPolicy {
    #[serde(default = "default_lock")]
    pub devices: DeviceAction,
}

fn default_lock() -> DeviceAction {
    DeviceAction::Lock
}

impl TenantPolicy {
    /// A policy with sensible defaults (Okta only), for tests and the demo. The go-live guard
    /// and the shared-resource sweep are off here, so load tests and rehearsals run unheld; a tenant configured in
    /// passage.toml has it on unless it says otherwise.
    pub fn new(id: impl Into<String>) -> Self {
        let id = TenantId::new(id);
        Self {
            name: id.to_string(),
            id,
            end_of_day: Time::constant(17, 0, 0, 0),
            default_time_zone: "UTC".into(),
            webhook_secrets: Vec::new(),
            fallback_delegate: None,
            okta: Some(OktaPolicy {
                disable: DisableMode::Suspend,
                grants_critical: true,
                reset_factors: false,
                unassign_apps: false,
            }),
            microsoft: None,
            google: None,
            jumpcloud: None,
            recovery_key: None,
            saas: crate::domain::SaasPolicy::default(),
            retry: RetryPolicy::default(),
            locations: Vec::new(),
            involuntary_immediate: true,
            hr_webhooks: Vec::new(),
            human: HumanPolicy::default(),
            early: None,
            date_window: passage_hris::DateWindow::default(),
            sla: SlaPolicy::default(),
            sign_in_watch: crate::domain::SignInWatchPolicy::default(),
            guard: None,
            sweep: SweepPolicy::off(),
        }
    }
}

impl Default for MicrosoftPolicy {
    fn default() -> Self {
        Self {
            reset_factors: true,
            auto_reply: None,
            forward_to_delegate: true,
            convert_mailbox: true,
            remove_licenses: true,
            devices: DeviceAction::Retire,
            mailbox_critical: false,
        }
    }
}

impl Default for GooglePolicy {
    fn default() -> Self {
        Self {
            delegate_mailbox: true,
            forward_to_delegate: false,
            vacation_reply: None,
            transfer_data: true,
            release_licenses: true,
            devices: DeviceAction::Retire,
            mailbox_critical: false,
        }
    }
}

impl Default for JumpCloudPolicy {
    fn default() -> Self {
        Self {
            devices: DeviceAction::Lock,
        }
    }
}
