//! Okta Management API connector (SSWS API token).
//!
//! Every action reads the user first and acts only if the target state does not already hold,
//! then reads back; a repeat delivery therefore changes nothing and is recorded as a repeat.

mod actions;
mod admin_roles;
pub(crate) mod api;
mod apps;
mod auth;
mod errors;
pub(crate) mod pace;
mod sign_ins;

pub use auth::{OktaCredentials, ServiceApp};

use crate::pace::{OrgPace, PacePlan, Pacing};
use api::Api;
use async_trait::async_trait;
use passage_core::ports::{ActionReport, ActionRequest, Connector};
use passage_core::{Action, Provider};

/// Where the tenant's Okta org is and how to authenticate.
#[derive(Clone, Debug)]
pub struct OktaSettings {
    /// `https://{yourOktaDomain}` (the emulator's loopback URL in tests).
    pub org_url: url::Url,
    pub credentials: OktaCredentials,
}

pub struct OktaConnector {
    api: Api,
}

impl OktaConnector {
    pub fn new(settings: OktaSettings, http: reqwest::Client) -> Self {
        Self {
            api: Api::new(settings, http),
        }
    }

    /// Paces the connector's calls in `org`'s budgets, drawn from the host's `pacing`.
    #[must_use]
    pub fn paced(mut self, pacing: Pacing, org: impl Into<String>, plan: PacePlan) -> Self {
        self.api.pace = OrgPace::new(pacing, Provider::Okta, org.into(), plan);
        self
    }

    /// Records and removes the leaver's admin roles as the tenant's sweep says (off unless
    /// asked: reading roles needs `okta.roles.read`, which an org may not have granted).
    #[must_use]
    pub fn sweeping(mut self, sweep: &passage_core::SweepPolicy) -> Self {
        self.api.admin_roles = sweep.admin_roles;
        self
    }

    /// Records each app assignment in full (scope, username, profile) and grades the direct
    /// ones, when the tenant's policy unassigns apps (`unassign_apps`): what a restore
    /// re-assigns from. Off, the snapshot lists app links only and grades none, since no step
    /// of the run removes them.
    #[must_use]
    pub fn unassigning_apps(mut self, on: bool) -> Self {
        self.api.app_assignments = on;
        self
    }
}

#[async_trait]
impl Connector for OktaConnector {
    fn provider(&self) -> Provider {
        Provider::Okta
    }

    fn supports(&self, action: Action) -> bool {
        matches!(
            action,
            Action::Snapshot
                | Action::RevokeSessions
                | Action::RevokeGrants
                | Action::RemoveGroups
                | Action::Suspend
                | Action::Deactivate
                | Action::ResetFactors
                | Action::UnassignApps
                | Action::Reactivate
                | Action::RestoreGroups
                | Action::RestoreApps
                | Action::RemoveAdminRoles
        )
    }

    async fn execute(&self, request: &ActionRequest) -> ActionReport {
        let mut calls = Vec::new();
        let outcome = actions::run(&self.api, request, &mut calls).await;
        ActionReport { outcome, calls }
    }
}
