use crate::machine::TransitionError;
use crate::plan::PlanError;
use crate::ports::{
    EvidenceError, KeyError, QueueError, SignError, StoreError, TenantError, TimerError,
};
pub use passage_hris::{Classified, ErrorKind};

/// Why an engine operation did not complete. Operator-facing variants name the problem; the
/// infrastructure variants carry the adapter's message.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0} not found")]
    NotFound(String),
    /// The request is not allowed in the current state (e.g. cancelling a running run).
    #[error("{0}")]
    NotAllowed(String),
    /// The request itself is wrong (a missing reason, a malformed address, an unknown zone).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// A tenant with signed bundles has no signing key. A new key would sign a chain its
    /// auditors do not trust, so Passage stops rather than create one.
    #[error(
        "tenant {tenant} has {bundles} signed evidence bundles but its signing key is missing; \
         restore the key (keys/{tenant}/signing-key.pem in the data directory, or the tenant's \
         KMS alias) from a backup. Passage does not create a new key for a tenant with bundles: \
         the chain's key would change without a rotation statement and outside the published key set"
    )]
    SigningKeyMissing { tenant: String, bundles: u64 },
    /// The tenant's key is not the one its published key set names as current.
    #[error(
        "the signing key of tenant {tenant} ({found}) is not the current key of its published key \
         set ({published}); restore the published key, or rotate with `passage keys rotate`"
    )]
    SigningKeyMismatch {
        tenant: String,
        found: String,
        published: String,
    },
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    #[error(transparent)]
    Timer(#[from] TimerError),
    /// The run's tenant has no usable configuration right now (only that tenant's work waits).
    #[error(transparent)]
    Tenant(#[from] TenantError),
    /// An outside system the operation needs (an HR system's API) did not answer.
    #[error("{0}")]
    Unavailable(String),
    #[error("evidence could not be assembled: {0}")]
    Bundle(String),
    #[error("gave up after {0} version conflicts")]
    Contended(u32),
    /// Another task of this process is closing a run of the same tenant; try again shortly.
    #[error("the run's evidence is being written elsewhere; try again in {0:?}")]
    Busy(std::time::Duration),
}

impl Classified for EngineError {
    /// The operator-facing variants say what the caller can change; everything the adapters
    /// report is Passage's own fault as far as the caller is concerned.
    fn kind(&self) -> ErrorKind {
        match self {
            EngineError::NotFound(_) => ErrorKind::NotFound,
            EngineError::NotAllowed(_) => ErrorKind::Conflict,
            EngineError::Invalid(_) | EngineError::Plan(_) => ErrorKind::Unprocessable,
            EngineError::Unavailable(_)
            | EngineError::Contended(_)
            | EngineError::Busy(_)
            | EngineError::Tenant(_) => ErrorKind::Unavailable,
            EngineError::Transition(_)
            | EngineError::Store(_)
            | EngineError::Queue(_)
            | EngineError::Sign(_)
            | EngineError::Keys(_)
            | EngineError::SigningKeyMissing { .. }
            | EngineError::SigningKeyMismatch { .. }
            | EngineError::Evidence(_)
            | EngineError::Timer(_)
            | EngineError::Bundle(_) => ErrorKind::Internal,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            EngineError::NotFound(_) => "not_found",
            EngineError::NotAllowed(_) => "not_allowed",
            EngineError::Invalid(_) => "invalid",
            // The tenant's configuration, not the request: say so rather than "invalid".
            EngineError::Plan(_) => "tenant_misconfigured",
            EngineError::Unavailable(_) => "hr_unavailable",
            EngineError::Contended(_) | EngineError::Busy(_) => "busy",
            EngineError::SigningKeyMissing { .. } | EngineError::SigningKeyMismatch { .. } => {
                "signing_key"
            }
            EngineError::Tenant(TenantError::Misconfigured { .. }) => "tenant_config_invalid",
            EngineError::Tenant(TenantError::Unavailable { .. }) => "tenant_config_unavailable",
            EngineError::Transition(_)
            | EngineError::Store(_)
            | EngineError::Queue(_)
            | EngineError::Sign(_)
            | EngineError::Keys(_)
            | EngineError::Evidence(_)
            | EngineError::Timer(_)
            | EngineError::Bundle(_) => "internal",
        }
    }
}
