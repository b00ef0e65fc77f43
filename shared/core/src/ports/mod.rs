//! The engine's view of the outside world: small traits, one per capability.
//!
//! The embedded host fills them with SQLite, key files and the local disk; the AWS host with
//! DynamoDB, SQS, KMS, S3 and EventBridge Scheduler. Adapters must keep the contracts written
//! on each trait (idempotency, version checks, visibility), because the engine's guarantees
//! rest on them.

mod audit;
mod clock;
mod connector;
mod evidence_store;
mod hr;
mod keys;
mod notify;
mod pacer;
mod queue;
mod sign_in;
mod signer;
mod store;
mod tenants;
mod timer;

pub use audit::{AuditEvent, AuditLog};
pub use clock::{Clock, SystemClock};
pub use connector::{
    ActionDone, ActionFailure, ActionOutcome, ActionPending, ActionReport, ActionRequest,
    Connector, ConnectorRegistry, FailureClass,
};
pub use evidence_store::{EvidenceError, EvidenceStore};
pub use hr::{EmploymentStatus, HrError, HrRecord, HrSource, HrSourceRegistry, NoHrSources};
pub use keys::{KeyError, KeySlot, KeyVault, TimestampAuthority};
pub use notify::{Channel, NoNotifier, Notice, NoticeDelivery, NoticeKind, Notifier};
pub use pacer::{PaceError, Pacer, Unpaced};
pub use queue::{Backlog, Delivery, QueueError, QueueMessage, StepQueue};
pub use sign_in::{SignInError, SignInLog, SignInRead};
pub use signer::{SignError, Signer};
pub use store::{ChainHead, Commit, InsertOutcome, RunFilter, RunStore, StoreError};
pub use tenants::{StaticTenants, TenantDirectory, TenantError};
pub use timer::{Timer, TimerError};
