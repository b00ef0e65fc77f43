//! JumpCloud connector (API v1 + v2, Apple MDM, Directory Insights).
//!
//! Authenticates with an admin API key (`x-api-key`) or a service account (OAuth client
//! credentials → Bearer), sends `x-org-id` on every call when the credential is multi-tenant
//! (MSP), pages with `limit`/`skip` (plus `sort=_id` where the operation declares `sort`, and
//! filters only where it declares `filter`), and classifies JumpCloud's two error dialects
//! (v1 `{message}`, v2 `{code, message, status}`).
//!
//! Every action reads first, acts only when the target state does not already hold, and reads
//! back; a repeat delivery changes nothing and is reported as a repeat.

mod actions;
pub(crate) mod api;
mod auth;
mod errors;
pub(crate) mod pace;
mod sign_ins;

use crate::pace::{OrgPace, PacePlan, Pacing};
use api::Api;
use async_trait::async_trait;
use passage_core::JumpCloudPolicy;
use passage_core::ports::{ActionReport, ActionRequest, Connector};
use passage_core::secret::Secret;
use passage_core::{Action, Provider};

/// US console (API v1 under `/api`, v2 under `/api/v2`).
pub const US_BASE_URL: &str = "https://console.jumpcloud.com";
/// EU console.
pub const EU_BASE_URL: &str = "https://console.eu.jumpcloud.com";

/// How Passage proves itself to JumpCloud.
#[derive(Clone, Debug)]
pub enum JumpCloudCredential {
    /// An admin's API key, sent as `x-api-key` (carries that admin's full rights).
    ApiKey(Secret),
    /// A service account (recommended: not tied to a person, RBAC role assigned). Its token
    /// comes from the OAuth token endpoint with client credentials and `scope=api`.
    ServiceAccount {
        client_id: String,
        client_secret: Secret,
    },
}

/// Where the tenant's JumpCloud organisation is, how to authenticate, and what to do.
#[derive(Clone, Debug)]
pub struct JumpCloudSettings {
    /// [`US_BASE_URL`] or [`EU_BASE_URL`] (the emulator's loopback URL in tests).
    pub base_url: url::Url,
    /// The service-account token endpoint; `None` derives it from the region of `base_url`
    /// (`https://admin-oauth.id[.eu].jumpcloud.com/oauth2/token`).
    pub token_url: Option<url::Url>,
    pub credential: JumpCloudCredential,
    /// Sent as `x-org-id` on every call; required when the credential is multi-tenant (MSP).
    pub org_id: Option<String>,
    pub policy: JumpCloudPolicy,
}

pub struct JumpCloudConnector {
    api: Api,
    policy: JumpCloudPolicy,
}

impl JumpCloudConnector {
    pub fn new(settings: JumpCloudSettings, http: reqwest::Client) -> Self {
        Self {
            policy: settings.policy.clone(),
            api: Api::new(settings, http),
        }
    }

    /// Records and removes the leaver's sudo rights as the tenant's sweep says (off unless
    /// asked, so an existing snapshot does not start reading associations on an upgrade).
    #[must_use]
    pub fn sweeping(mut self, sweep: &passage_core::SweepPolicy) -> Self {
        self.api.admin_access = sweep.admin_roles;
        self
    }

    /// Paces the connector's calls in `org`'s budgets, drawn from the host's `pacing`.
    #[must_use]
    pub fn paced(mut self, pacing: Pacing, org: impl Into<String>, plan: PacePlan) -> Self {
        self.api.pace = OrgPace::new(pacing, Provider::Jumpcloud, org.into(), plan);
        self
    }
}

/// The restore actions JumpCloud gives back (`actions/restore.rs`).
const RESTORES: [Action; 2] = [Action::Reactivate, Action::RestoreGroups];

/// The leaver actions JumpCloud takes.
const LEAVER: [Action; 5] = [
    Action::Snapshot,
    Action::RemoveAdminRoles,
    Action::Suspend,
    Action::RemoveGroups,
    Action::SecureDevices,
];

#[async_trait]
impl Connector for JumpCloudConnector {
    fn provider(&self) -> Provider {
        Provider::Jumpcloud
    }

    fn supports(&self, action: Action) -> bool {
        LEAVER.contains(&action) || RESTORES.contains(&action)
    }

    async fn execute(&self, request: &ActionRequest) -> ActionReport {
        let mut calls = Vec::new();
        let outcome = actions::run(&self.api, &self.policy, request, &mut calls).await;
        ActionReport { outcome, calls }
    }
}
