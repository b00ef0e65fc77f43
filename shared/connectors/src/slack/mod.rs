//! Slack connector: the Web API (`users.lookupByEmail`, `users.info`, and on Enterprise Grid
//! `admin.users.session.reset`/`.list`) and SCIM (Business+ and Enterprise Grid) with one
//! user token of a dedicated service admin (`admin`, `users:read`, `users:read.email`, and on
//! Grid `admin.users:read`/`admin.users:write`).
//!
//! On a plan without SCIM the plan has no Slack steps at all: the tenant's named owner gets a
//! task instead (see `passage_core::SaasPolicy::manual_app`).

mod actions;
mod api;

use async_trait::async_trait;
use passage_core::ports::{ActionReport, ActionRequest, Connector};
use passage_core::secret::Secret;
use passage_core::{Action, Provider, SlackPolicy};

/// The Web API's base.
pub const API_URL: &str = "https://slack.com/api";
/// The SCIM 2.0 base.
pub const SCIM_URL: &str = "https://api.slack.com/scim/v2";

#[derive(Clone, Debug)]
pub struct SlackSettings {
    pub api_url: url::Url,
    pub scim_url: url::Url,
    /// A user token (`xoxp-…`) of a dedicated admin: a SCIM token dies with its creator's
    /// admin rights.
    pub token: Secret,
    pub policy: SlackPolicy,
}

pub struct SlackConnector {
    api: api::Api,
    policy: SlackPolicy,
}

impl SlackConnector {
    pub fn new(settings: SlackSettings, http: reqwest::Client) -> Self {
        Self {
            api: api::Api::new(settings.api_url, settings.scim_url, settings.token, http),
            policy: settings.policy,
        }
    }
}

#[async_trait]
impl Connector for SlackConnector {
    fn provider(&self) -> Provider {
        Provider::Slack
    }

    fn supports(&self, action: Action) -> bool {
        match action {
            Action::Snapshot | Action::DeactivateSeat | Action::ReactivateSeat => true,
            Action::RevokeSessions => self.policy.plan.has_admin_api(),
            _ => false,
        }
    }

    async fn execute(&self, request: &ActionRequest) -> ActionReport {
        let mut calls = Vec::new();
        let outcome = actions::run(&self.api, &self.policy, request, &mut calls).await;
        ActionReport {
            outcome: outcome.into(),
            calls,
        }
    }
}
