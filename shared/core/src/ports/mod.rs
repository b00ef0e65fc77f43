//! The engine's view of the outside world: small traits, one per capability.
//!
//! The embedded host fills them with SQLite, a key file and the local disk; the AWS host with
//! DynamoDB, SQS, KMS, S3 and EventBridge Scheduler. Adapters must keep the contracts written
//! on each trait (idempotency, version checks, visibility), because the engine's guarantees
//! rest on them.

mod clock;
mod connector;
mod evidence_store;
mod hr;
mod notify;
mod queue;
mod signer;
mod store;
mod tenants;
mod timer;

pub use clock::{Clock, SystemClock};
pub use connector::{
    ActionDone, ActionFailure, ActionReport, ActionRequest, Connector, ConnectorRegistry,
    FailureClass,
};
pub use evidence_store::{EvidenceError, EvidenceStore};
pub use hr::{EmploymentStatus, HrError, HrRecord, HrSource, HrSourceRegistry, NoHrSources};
pub use notify::{Channel, NoNotifier, Notice, NoticeDelivery, NoticeKind, Notifier};
pub use queue::{Delivery, QueueError, QueueMessage, StepQueue};
pub use signer::{SignError, Signer};
pub use store::{ChainHead, Commit, InsertOutcome, RunFilter, RunStore, StoreError};
pub use tenants::{StaticTenants, TenantDirectory, TenantError};
pub use timer::{Timer, TimerError};
