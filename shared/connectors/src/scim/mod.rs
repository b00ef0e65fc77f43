//! A connector for any app that speaks SCIM 2.0 (RFC 7643/7644), configured per app by the
//! tenant: the SCIM base URL, a bearer token, and what the app's verbs mean there (see
//! [`passage_core::ScimAppPolicy`]).
//!
//! It is written for the servers that exist rather than the RFC alone: it asks what the server
//! supports and tolerates the answer being wrong, finds the leaver through whichever filter
//! works (or by reading every page), compares addresses without regard to case, falls back
//! from PATCH to a whole-resource PUT, sends `If-Match` where the server keeps versions (and
//! tries once more after a 412), reads any error shape, and takes a 404 after a DELETE as the
//! account gone.

mod actions;
mod api;
mod errors;
mod lookup;
pub(crate) mod protocol;

use async_trait::async_trait;
use passage_core::ports::{ActionReport, ActionRequest, Connector};
use passage_core::secret::Secret;
use passage_core::{Action, Provider, ScimAppPolicy};

/// One SCIM app of a tenant.
#[derive(Clone, Debug)]
pub struct ScimSettings {
    /// The SCIM base URL, with its version path (`https://api.example.com/scim/v2`).
    pub base_url: url::Url,
    pub token: Secret,
    /// The tenant's statement about the app (its name, what its verbs mean); filled in from
    /// the tenant policy, so the plan and the connector never disagree.
    pub policy: ScimAppPolicy,
}

pub struct ScimConnector {
    api: api::Api,
    policy: ScimAppPolicy,
}

impl ScimConnector {
    pub fn new(settings: ScimSettings, http: reqwest::Client) -> Self {
        Self {
            api: api::Api::new(
                settings.policy.name.clone(),
                settings.base_url,
                settings.token,
                http,
            ),
            policy: settings.policy,
        }
    }
}

#[async_trait]
impl Connector for ScimConnector {
    fn provider(&self) -> Provider {
        Provider::Scim
    }

    fn supports(&self, action: Action) -> bool {
        matches!(
            action,
            Action::Snapshot | Action::DeactivateSeat | Action::RemoveSeat | Action::ReactivateSeat
        )
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
