//! Reading a provider's sign-in log for one leaver: the capability the sign-in watch needs.

use crate::domain::{CallRecord, SignIn, Subject};
use async_trait::async_trait;
use jiff::Timestamp;

/// What one read of a sign-in log found.
#[derive(Clone, Debug, PartialEq)]
pub struct SignInRead {
    /// The leaver's sign-ins (failed attempts included) the pages that were read hold.
    pub sign_ins: Vec<SignIn>,
    /// Every page was read, to the log's last. Only then does an empty list prove that nobody
    /// signed in; a read that stopped early proves only what it found.
    pub complete: bool,
    /// Why the read stopped early (the page that failed and how), when it did.
    pub stopped: Option<String>,
    pub calls: Vec<CallRecord>,
}

/// A log that could not be read at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct SignInError {
    /// The provider's error code, or a Passage code (`not_found`, `timeout`).
    pub code: String,
    pub message: String,
}

/// One provider's sign-in log. Each provider connector that can read its log implements it.
#[async_trait]
pub trait SignInLog: Send + Sync {
    /// The leaver's sign-ins at or after `since`, successful and failed, in the provider's
    /// own words turned into [`SignIn`]s. Reads every page unless one fails; then answers
    /// what it has with `complete: false`.
    async fn sign_ins(
        &self,
        subject: &Subject,
        since: Timestamp,
    ) -> Result<SignInRead, SignInError>;
}
