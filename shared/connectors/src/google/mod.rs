//! Google Workspace connector: Admin SDK Directory, Enterprise License Manager, Data Transfer,
//! Gmail settings and (for the shared-resource sweep) Drive's shared drives, through a service
//! account with domain-wide delegation.
//!
//! Admin SDK, Licensing and Data Transfer calls impersonate a configured administrator; Gmail
//! settings calls impersonate the leaver (Google only lets a mailbox's owner change them, and
//! refuses to impersonate a suspended user, which is why the plan puts the mailbox steps before
//! the suspension). Each call asks for the one scope it needs, so a missing delegation names
//! exactly the scope to add; tokens are cached per (subject, scope) until a minute before expiry.
//!
//! Every action reads first, acts only if the target state does not already hold, and reads
//! back; a repeat delivery changes nothing and is recorded as a repeat.

mod actions;
pub(crate) mod api;
mod auth;
mod errors;
pub(crate) mod pace;
mod sign_ins;

use crate::pace::{OrgPace, PacePlan, Pacing};
use api::Api;
use async_trait::async_trait;
use passage_core::ports::{ActionReport, ActionRequest, Connector};
use passage_core::secret::Secret;
use passage_core::{Action, GooglePolicy, Provider};
use std::time::Duration;

/// The OAuth scopes the connector asks for. Authorise the service account's client id for all
/// of them (Admin console → Security → API controls → Domain-wide delegation).
pub const DELEGATED_SCOPES: &[&str] = &[
    scopes::DIRECTORY_USER,
    scopes::DIRECTORY_USER_SECURITY,
    scopes::DIRECTORY_GROUP_READONLY,
    scopes::DIRECTORY_GROUP_MEMBER,
    scopes::DEVICE_MOBILE_READONLY,
    scopes::DEVICE_MOBILE_ACTION,
    scopes::LICENSING,
    scopes::DATATRANSFER,
    scopes::GMAIL_SETTINGS_BASIC,
    scopes::GMAIL_SETTINGS_SHARING,
    scopes::REPORTS_AUDIT_READONLY,
    scopes::DRIVE,
];

/// Scope URLs, one per kind of call.
pub mod scopes {
    pub const DIRECTORY_USER: &str = "https://www.googleapis.com/auth/admin.directory.user";
    pub const DIRECTORY_USER_SECURITY: &str =
        "https://www.googleapis.com/auth/admin.directory.user.security";
    pub const DIRECTORY_GROUP_READONLY: &str =
        "https://www.googleapis.com/auth/admin.directory.group.readonly";
    pub const DIRECTORY_GROUP_MEMBER: &str =
        "https://www.googleapis.com/auth/admin.directory.group.member";
    pub const DEVICE_MOBILE_READONLY: &str =
        "https://www.googleapis.com/auth/admin.directory.device.mobile.readonly";
    pub const DEVICE_MOBILE_ACTION: &str =
        "https://www.googleapis.com/auth/admin.directory.device.mobile.action";
    pub const LICENSING: &str = "https://www.googleapis.com/auth/apps.licensing";
    pub const DATATRANSFER: &str = "https://www.googleapis.com/auth/admin.datatransfer";
    pub const GMAIL_SETTINGS_BASIC: &str = "https://www.googleapis.com/auth/gmail.settings.basic";
    pub const GMAIL_SETTINGS_SHARING: &str =
        "https://www.googleapis.com/auth/gmail.settings.sharing";
    pub const REPORTS_AUDIT_READONLY: &str =
        "https://www.googleapis.com/auth/admin.reports.audit.readonly";
    /// Drive's only scope that lets an administrator change a shared drive's members.
    pub const DRIVE: &str = "https://www.googleapis.com/auth/drive";
}

/// The Google Workspace licences checked when `license_skus` is empty: product `Google-Apps`
/// with the Business Starter/Standard/Plus and Enterprise Standard/Plus SKUs.
pub const WORKSPACE_SKUS: &[(&str, &str)] = &[
    ("Google-Apps", "1010020027"),
    ("Google-Apps", "1010020028"),
    ("Google-Apps", "1010020025"),
    ("Google-Apps", "1010020026"),
    ("Google-Apps", "1010020020"),
];

/// Where the tenant's Google APIs are and how to authenticate.
#[derive(Clone, Debug)]
pub struct GoogleSettings {
    /// Base of the Admin SDK Directory and Data Transfer APIs (`https://admin.googleapis.com`),
    /// and of Licensing and Gmail unless they have their own (the emulator's base URL in tests).
    pub api_base: url::Url,
    /// `https://licensing.googleapis.com` in production; `None` uses `api_base`.
    pub licensing_base: Option<url::Url>,
    /// `https://gmail.googleapis.com` in production; `None` uses `api_base`.
    pub gmail_base: Option<url::Url>,
    /// `https://www.googleapis.com` in production (Drive v3 lives under it); `None` uses
    /// `api_base`.
    pub drive_base: Option<url::Url>,
    /// `https://oauth2.googleapis.com/token` in production; also the assertion's `aud`.
    pub token_url: url::Url,
    /// The service account's `client_email`.
    pub service_account_email: String,
    /// PEM of the service account's RSA private key (`private_key` in its JSON key file).
    pub private_key: Secret,
    /// `private_key_id` of that key (the JWT `kid`).
    pub key_id: String,
    /// An administrator to impersonate for Admin SDK, Licensing and Data Transfer calls.
    pub admin_subject: String,
    /// `my_customer` in production (or the `C0…` id).
    pub customer_id: String,
    /// Licences (product id, SKU id) to look for and release; empty means [`WORKSPACE_SKUS`].
    pub license_skus: Vec<(String, String)>,
    pub policy: GooglePolicy,
}

/// How long one attempt waits for a data transfer to complete before handing back to the
/// engine with a retryable `transfer_in_progress`.
#[derive(Clone, Copy, Debug)]
pub struct TransferPolling {
    pub polls: u32,
    pub interval: Duration,
}

impl Default for TransferPolling {
    fn default() -> Self {
        Self {
            polls: 10,
            interval: Duration::from_millis(500),
        }
    }
}

pub struct GoogleConnector {
    api: Api,
    polling: TransferPolling,
}

impl GoogleConnector {
    pub fn new(settings: GoogleSettings, http: reqwest::Client) -> Self {
        Self {
            api: Api::new(settings, http),
            polling: TransferPolling::default(),
        }
    }

    /// Paces the connector's calls in `org`'s budgets, drawn from the host's `pacing`.
    #[must_use]
    pub fn paced(mut self, pacing: Pacing, org: impl Into<String>, plan: PacePlan) -> Self {
        self.api.pace = OrgPace::new(pacing, Provider::Google, org.into(), plan);
        self
    }

    /// Records and hands over the groups the leaver owns and the shared drives they manage
    /// as the tenant's sweep says (off until then: the Drive scope may not be delegated yet).
    #[must_use]
    pub fn sweeping(mut self, sweep: &passage_core::SweepPolicy) -> Self {
        self.api.sweep = sweep.clone();
        self
    }

    /// Overrides how long an attempt polls a data transfer.
    #[must_use]
    pub fn with_transfer_polling(mut self, polling: TransferPolling) -> Self {
        self.polling = polling;
        self
    }
}

/// The restore actions Google Workspace gives back (`actions/restore.rs`).
const RESTORES: [Action; 4] = [
    Action::Reactivate,
    Action::RestoreGroups,
    Action::RestoreLicences,
    Action::RestoreMailbox,
];

#[async_trait]
impl Connector for GoogleConnector {
    fn provider(&self) -> Provider {
        Provider::Google
    }

    fn supports(&self, action: Action) -> bool {
        matches!(
            action,
            Action::Snapshot
                | Action::DelegateMailbox
                | Action::ForwardMail
                | Action::SetAutoReply
                | Action::TransferData
                | Action::Suspend
                | Action::RevokeSessions
                | Action::RevokeGrants
                | Action::RemoveGroups
                | Action::SecureDevices
                | Action::RemoveLicenses
                | Action::SweepSharedAccess
        ) || RESTORES.contains(&action)
    }

    async fn execute(&self, request: &ActionRequest) -> ActionReport {
        let mut calls = Vec::new();
        let outcome = actions::run(&self.api, self.polling, request, &mut calls).await;
        ActionReport { outcome, calls }
    }
}
