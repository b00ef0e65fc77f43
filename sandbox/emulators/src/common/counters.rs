//! Request accounting, so tests can assert how a client behaved ("retried
//! exactly twice", "never called suspend") rather than only what state it
//! left behind.

use crate::common::lock;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Route label used for requests that matched no route.
pub const UNMATCHED: &str = "<unmatched>";

/// Counts of served requests. Every request is recorded once, when its
/// response is produced, whatever the outcome (including 401, 429 and 5xx).
#[derive(Debug, Default)]
pub struct RequestCounters {
    total: AtomicU64,
    rate_limited: AtomicU64,
    server_errors: AtomicU64,
    by_route: Mutex<BTreeMap<(String, String), u64>>,
    by_status: Mutex<BTreeMap<u16, u64>>,
}

impl RequestCounters {
    /// Empty counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one served request. `template` is the route as registered
    /// (for example `/api/v1/users/{id}/lifecycle/suspend`).
    pub fn record(&self, method: &str, template: &str, status: u16) {
        self.total.fetch_add(1, Ordering::Relaxed);
        if status == 429 {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
        if status >= 500 {
            self.server_errors.fetch_add(1, Ordering::Relaxed);
        }
        *lock(&self.by_route)
            .entry((method.to_owned(), template.to_owned()))
            .or_default() += 1;
        *lock(&self.by_status).entry(status).or_default() += 1;
    }

    /// All requests served.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Requests answered with 429.
    pub fn rate_limited(&self) -> u64 {
        self.rate_limited.load(Ordering::Relaxed)
    }

    /// Requests answered with any 5xx.
    pub fn server_errors(&self) -> u64 {
        self.server_errors.load(Ordering::Relaxed)
    }

    /// Requests for one method and route template, whatever their status.
    pub fn count(&self, method: &str, template: &str) -> u64 {
        lock(&self.by_route)
            .get(&(method.to_owned(), template.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// Requests answered with one status code.
    pub fn with_status(&self, status: u16) -> u64 {
        lock(&self.by_status).get(&status).copied().unwrap_or(0)
    }

    /// Every (method, template) pair seen, with its count.
    pub fn by_route(&self) -> BTreeMap<(String, String), u64> {
        lock(&self.by_route).clone()
    }

    /// Zeroes every counter.
    pub fn reset(&self) {
        self.total.store(0, Ordering::Relaxed);
        self.rate_limited.store(0, Ordering::Relaxed);
        self.server_errors.store(0, Ordering::Relaxed);
        lock(&self.by_route).clear();
        lock(&self.by_status).clear();
    }
}

/// One row of an [`EffectBook`]: how often an effect took hold on a subject (and object), and
/// how often it was asked for again when it already held.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EffectCount {
    /// The effect (see [`effect`]).
    pub effect: String,
    /// Whom it concerns: a user's id.
    pub subject: String,
    /// What it concerns besides the subject (a group, app, client, device, licence id), or "".
    pub object: String,
    /// Requests that changed something.
    pub applied: u64,
    /// Requests for the same effect that found it already in place (answered with success or
    /// with the provider's refusal of a repeat) and changed nothing.
    pub repeated: u64,
}

/// Effects by provider-neutral name, so a test reads the same words for every emulator.
pub mod effect {
    /// Account disabled (Okta suspend, Entra block sign-in, Google and JumpCloud suspend).
    pub const SUSPEND: &str = "suspend";
    /// Okta deactivation.
    pub const DEACTIVATE: &str = "deactivate";
    /// Sign-in sessions ended (Okta clear sessions, Entra revokeSignInSessions, Google signOut).
    pub const REVOKE_SESSIONS: &str = "revoke_sessions";
    /// Consent grants or OAuth tokens revoked (object: the client, when per client).
    pub const REVOKE_GRANTS: &str = "revoke_grants";
    /// One group membership removed (object: the group).
    pub const REMOVE_MEMBERSHIP: &str = "remove_membership";
    /// One app assignment removed (object: the app).
    pub const UNASSIGN_APP: &str = "unassign_app";
    /// Administrator rights on a device taken (JumpCloud sudo on a bound system; object:
    /// the system, or empty for the account-wide flag).
    pub const REMOVE_SUDO: &str = "remove_sudo";
    /// One app assigned to a user directly (object: the app): a restore's re-assignment.
    pub const ASSIGN_APP: &str = "assign_app";
    /// MFA factors or authentication methods removed (object: the factor or method, if one).
    pub const RESET_FACTORS: &str = "reset_factors";
    /// One licence removed (object: the SKU).
    pub const REMOVE_LICENSE: &str = "remove_license";
    /// Mailbox converted to shared.
    pub const CONVERT_MAILBOX: &str = "convert_mailbox";
    /// Out-of-office reply set.
    pub const SET_AUTO_REPLY: &str = "set_auto_reply";
    /// Mailbox access delegated (object: the delegate).
    pub const DELEGATE_MAILBOX: &str = "delegate_mailbox";
    /// Mail forwarding set (object: the address).
    pub const FORWARD_MAIL: &str = "forward_mail";
    /// Data transfer started (object: the transfer).
    pub const TRANSFER_DATA: &str = "transfer_data";
    /// A device action issued (object: the device).
    pub const SECURE_DEVICE: &str = "secure_device";
    /// An app account removed for good (a SCIM `DELETE` that erases, a managed user deleted).
    pub const REMOVE_ACCOUNT: &str = "remove_account";
    /// An outside collaborator's access to an organisation removed.
    pub const REMOVE_COLLABORATOR: &str = "remove_collaborator";
    /// A pending invitation cancelled (object: the invitation).
    pub const CANCEL_INVITATION: &str = "cancel_invitation";
}

/// Every effect a provider's state changes recorded, first-time and repeated apart, so a test
/// can prove "the suspend took effect exactly once and was repeated twice" rather than infer it
/// from the final state. Kept inside each emulator's state, under its lock.
#[derive(Debug, Default)]
pub struct EffectBook {
    rows: BTreeMap<(String, String, String), (u64, u64)>,
}

impl EffectBook {
    /// Records one request for `effect` on `subject` (and `object`, or ""): `applied` when it
    /// changed something, otherwise a repeat.
    pub fn record(&mut self, effect: &str, subject: &str, object: &str, applied: bool) {
        let row = self
            .rows
            .entry((effect.to_owned(), subject.to_owned(), object.to_owned()))
            .or_default();
        if applied {
            row.0 += 1;
        } else {
            row.1 += 1;
        }
    }

    /// Times `effect` took hold on `subject`, over every object.
    pub fn applied(&self, effect: &str, subject: &str) -> u64 {
        self.sum(effect, subject, None).0
    }

    /// Times `effect` was asked for on `subject` when it already held, over every object.
    pub fn repeated(&self, effect: &str, subject: &str) -> u64 {
        self.sum(effect, subject, None).1
    }

    /// Times `effect` took hold on `subject` for one `object`.
    pub fn applied_on(&self, effect: &str, subject: &str, object: &str) -> u64 {
        self.sum(effect, subject, Some(object)).0
    }

    /// Times `effect` was repeated on `subject` for one `object`.
    pub fn repeated_on(&self, effect: &str, subject: &str, object: &str) -> u64 {
        self.sum(effect, subject, Some(object)).1
    }

    /// Every row, ordered by effect, subject and object.
    pub fn rows(&self) -> Vec<EffectCount> {
        self.rows
            .iter()
            .map(
                |((effect, subject, object), &(applied, repeated))| EffectCount {
                    effect: effect.clone(),
                    subject: subject.clone(),
                    object: object.clone(),
                    applied,
                    repeated,
                },
            )
            .collect()
    }

    /// Forgets everything recorded.
    pub fn reset(&mut self) {
        self.rows.clear();
    }

    fn sum(&self, effect: &str, subject: &str, object: Option<&str>) -> (u64, u64) {
        self.rows
            .iter()
            .filter(|((e, s, o), _)| e == effect && s == subject && object.is_none_or(|w| w == o))
            .fold((0, 0), |acc, (_, &(a, r))| (acc.0 + a, acc.1 + r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effects_keep_first_times_and_repeats_apart() {
        let mut book = EffectBook::default();
        book.record(effect::SUSPEND, "u1", "", true);
        book.record(effect::SUSPEND, "u1", "", false);
        book.record(effect::SUSPEND, "u1", "", false);
        book.record(effect::REMOVE_MEMBERSHIP, "u1", "g1", true);
        book.record(effect::REMOVE_MEMBERSHIP, "u1", "g2", true);
        book.record(effect::REMOVE_MEMBERSHIP, "u1", "g1", false);
        assert_eq!(book.applied(effect::SUSPEND, "u1"), 1);
        assert_eq!(book.repeated(effect::SUSPEND, "u1"), 2);
        assert_eq!(book.applied(effect::REMOVE_MEMBERSHIP, "u1"), 2);
        assert_eq!(book.applied_on(effect::REMOVE_MEMBERSHIP, "u1", "g1"), 1);
        assert_eq!(book.repeated_on(effect::REMOVE_MEMBERSHIP, "u1", "g1"), 1);
        assert_eq!(book.applied(effect::SUSPEND, "u2"), 0);
        assert_eq!(book.rows().len(), 3);
    }
}
