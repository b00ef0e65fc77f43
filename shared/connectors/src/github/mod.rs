//! GitHub connector for an organisation on GitHub Enterprise Cloud: membership, outside
//! collaborators and invitations (REST), SAML SSO credential authorizations, Copilot seats, and
//! for Enterprise Managed Users the enterprise's SCIM.
//!
//! A classic token of an organisation owner (or a GitHub App installation token) with
//! `admin:org`, `manage_billing:copilot` where Copilot is managed, and `scim:enterprise` for
//! managed users.

mod actions;
mod api;
mod snapshot;

use async_trait::async_trait;
use passage_core::ports::{ActionReport, ActionRequest, Connector};
use passage_core::secret::Secret;
use passage_core::{Action, GithubPolicy, Provider};
use std::collections::BTreeMap;

pub use api::API_VERSION;

/// The REST API's root.
pub const API_URL: &str = "https://api.github.com";

#[derive(Clone, Debug)]
pub struct GithubSettings {
    pub api_url: url::Url,
    /// The organisation's login (`acme-corp`).
    pub org: String,
    /// The enterprise's slug, for managed users.
    pub enterprise: Option<String>,
    pub token: Secret,
    /// Work addresses to GitHub logins, for leavers whose e-mail GitHub does not show (most:
    /// GitHub shows an address only when its owner made it public). Keys compare lower-cased.
    pub logins: BTreeMap<String, String>,
    pub policy: GithubPolicy,
}

/// What every action needs to know about the organisation.
pub(crate) struct Org {
    pub name: String,
    pub enterprise: Option<String>,
    pub logins: BTreeMap<String, String>,
    pub policy: GithubPolicy,
}

pub struct GithubConnector {
    api: api::Api,
    org: Org,
}

impl GithubConnector {
    pub fn new(settings: GithubSettings, http: reqwest::Client) -> Self {
        let logins = settings
            .logins
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        Self {
            api: api::Api::new(settings.api_url, settings.token, http),
            org: Org {
                name: settings.org,
                enterprise: settings.enterprise,
                logins,
                policy: settings.policy,
            },
        }
    }
}

#[async_trait]
impl Connector for GithubConnector {
    fn provider(&self) -> Provider {
        Provider::Github
    }

    fn supports(&self, action: Action) -> bool {
        let p = &self.org.policy;
        match action {
            Action::Snapshot | Action::DeactivateSeat => true,
            Action::RevokeGrants => p.saml_sso,
            Action::RemoveLicenses => p.copilot,
            Action::RemoveSeat => p.emu,
            _ => false,
        }
    }

    async fn execute(&self, request: &ActionRequest) -> ActionReport {
        let mut calls = Vec::new();
        let outcome = actions::run(&self.api, &self.org, request, &mut calls).await;
        ActionReport {
            outcome: outcome.into(),
            calls,
        }
    }
}
