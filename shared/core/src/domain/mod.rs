//! The nouns of a leaver run: who leaves (subject), under which tenant policy, the run and its
//! steps, each step's attempts, and the run's event timeline.

mod absence;
mod action;
mod attempt;
mod event;
mod human;
mod notice;
mod restore;
mod run;
mod saas;
mod sign_in;
mod step;
mod subject;
mod tenant;

pub use absence::AbsenceProof;
pub use action::{Action, Provider};
pub use attempt::{AttemptRecord, AttemptResult, CallRecord};
pub use event::RunEvent;
pub use human::{
    Confirmation, DeviceRecord, HumanItem, HumanStepPolicy, HumanTask, ItemOutcome, NoticeRecord,
};
pub use notice::{AlertRecord, Channel, NoticeDelivery, NoticeKind};
pub use restore::{NotRestorable, RestoreItem, RestoreOrigin, RestorePlan};
pub use run::{BundleRef, Cancellation, Run, RunHold, RunSource, RunState};
pub use saas::{
    GithubPolicy, ManualAppPolicy, SaasPolicy, ScimAppPolicy, ScimDeactivation, SeatOutcome,
    SeatPlan, SlackPlan, SlackPolicy,
};
pub use sign_in::{LogReading, Reopening, SignIn, SignInWatch, SignInWatchPolicy};
pub use step::{
    Lease, PendingOperation, Step, StepError, StepErrorClass, StepResult, StepState, Streaks,
    Waiver, app_step_key, step_key,
};
pub use subject::{Manager, Subject};
pub use tenant::{
    DeviceAction, DisableMode, EarlyPolicy, GooglePolicy, GuardPolicy, HrWebhook, HumanPolicy,
    JumpCloudPolicy, LocationPolicy, MicrosoftPolicy, OktaPolicy, RetryPolicy, SlaClock, SlaPolicy,
    SweepPolicy, TenantPolicy,
};

#[cfg(test)]
mod tests {
    /// The domain is what everything else is written in terms of: the ports and the engine
    /// depend on it, never the other way round.
    #[test]
    fn the_domain_depends_on_no_port_and_no_engine() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for outside in ["ports", "engine"] {
                let import = format!("crate::{outside}");
                assert!(!text.contains(&import), "{} uses {import}", path.display());
            }
        }
    }
}
