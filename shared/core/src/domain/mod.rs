//! The nouns of a leaver run: who leaves (subject), under which tenant policy, the run and its
//! steps, each step's attempts, and the run's event timeline.

mod action;
mod attempt;
mod event;
mod human;
mod run;
mod step;
mod subject;
mod tenant;

pub use action::{Action, Provider};
pub use attempt::{AttemptRecord, AttemptResult, CallRecord};
pub use event::RunEvent;
pub use human::{
    Confirmation, DeviceRecord, HumanItem, HumanStepPolicy, HumanTask, ItemOutcome, NoticeRecord,
};
pub use run::{BundleRef, Cancellation, Run, RunSource, RunState};
pub use step::{Lease, Step, StepError, StepErrorClass, StepResult, StepState, Waiver, step_key};
pub use subject::{Manager, Subject};
pub use tenant::{
    DeviceAction, DisableMode, EarlyPolicy, GooglePolicy, HrWebhook, HumanPolicy, JumpCloudPolicy,
    LocationPolicy, MicrosoftPolicy, OktaPolicy, TenantPolicy,
};
