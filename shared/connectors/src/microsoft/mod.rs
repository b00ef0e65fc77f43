//! Microsoft connector: Entra ID and Intune through Microsoft Graph, mailbox conversion through
//! the Exchange Online admin endpoint (`InvokeCommand`).
//!
//! Authentication is the client-credentials grant with a client secret or a certificate
//! (an RS256 client assertion naming the certificate by `x5t`). Graph and Exchange each get
//! their own cached token. Every action reads first, acts only when the target state does not
//! already hold, and reads back; the read-back is the proof recorded in `ActionDone::readback`.

mod access;
mod actions;
pub(crate) mod api;
pub(crate) mod auth;
mod cloud;
mod errors;
mod mail_sweep;
mod onedrive;
pub(crate) mod pace;
mod sign_ins;
mod sweep;

use crate::pace::{OrgPace, PacePlan, Pacing};
use api::Api;
use async_trait::async_trait;
pub use cloud::Cloud;
use passage_core::MicrosoftPolicy;
use passage_core::ports::{ActionReport, ActionRequest, Connector};
use passage_core::secret::Secret;
use passage_core::{Action, Provider};

/// How the app registration proves itself to the identity platform.
#[derive(Clone, Debug)]
pub enum MicrosoftCredential {
    /// A client secret (`client_secret=`).
    Secret(Secret),
    /// A certificate: its RSA private key (PEM, PKCS#8 or PKCS#1) signs the client assertion,
    /// and `x5t` (base64url SHA-1 thumbprint of the certificate) names it in the header.
    Certificate { private_key: Secret, x5t: String },
}

/// Where the tenant's Microsoft endpoints are, which app to use, and what the tenant wants done.
#[derive(Clone, Debug)]
pub struct MicrosoftSettings {
    /// The cloud the tenant lives in: it names the resources tokens are requested for.
    pub cloud: Cloud,
    /// `https://login.microsoftonline.com` (the emulator's base URL in tests).
    pub login_url: url::Url,
    /// `https://graph.microsoft.com`; `/v1.0` is added unless the path already ends with it.
    pub graph_url: url::Url,
    /// `https://outlook.office365.com` (the admin endpoint is `/adminapi/beta/{tenant}/InvokeCommand`).
    pub exchange_url: url::Url,
    /// Directory (tenant) id.
    pub tenant_id: String,
    /// Application (client) id of the app registration.
    pub client_id: String,
    pub credential: MicrosoftCredential,
    /// The tenant's Microsoft policy: auto-reply text, device action, conversion.
    pub policy: MicrosoftPolicy,
}

pub struct MicrosoftConnector {
    api: Api,
    policy: MicrosoftPolicy,
}

impl MicrosoftConnector {
    pub fn new(settings: MicrosoftSettings, http: reqwest::Client) -> Self {
        Self {
            policy: settings.policy.clone(),
            api: Api::new(settings, http),
        }
    }

    /// Paces the connector's calls in `org`'s budgets, drawn from the host's `pacing`.
    #[must_use]
    pub fn paced(mut self, pacing: Pacing, org: impl Into<String>, plan: PacePlan) -> Self {
        self.api.pace = OrgPace::new(pacing, Provider::Microsoft, org.into(), plan);
        self
    }

    /// Records and sweeps shared resources and hands OneDrive over as the tenant's sweep says
    /// (off unless asked: it reads every shared mailbox, and needs Files.ReadWrite.All).
    #[must_use]
    pub fn sweeping(mut self, sweep: &passage_core::SweepPolicy) -> Self {
        self.api.sweep = sweep.clone();
        self
    }
}

/// The restore actions Microsoft 365 gives back (`actions/restore.rs`).
const RESTORES: [Action; 4] = [
    Action::Reactivate,
    Action::RestoreGroups,
    Action::RestoreLicences,
    Action::RestoreMailbox,
];

#[async_trait]
impl Connector for MicrosoftConnector {
    fn provider(&self) -> Provider {
        Provider::Microsoft
    }

    fn supports(&self, action: Action) -> bool {
        matches!(
            action,
            Action::Snapshot
                | Action::Suspend
                | Action::RevokeSessions
                | Action::ResetFactors
                | Action::RemoveGroups
                | Action::SetAutoReply
                | Action::ForwardMail
                | Action::SecureDevices
                | Action::ConvertMailbox
                | Action::RemoveLicenses
                | Action::SweepSharedAccess
                | Action::SweepMailAccess
                | Action::HandOverOneDrive
        ) || RESTORES.contains(&action)
    }

    async fn execute(&self, request: &ActionRequest) -> ActionReport {
        let mut calls = Vec::new();
        let outcome = actions::run(&self.api, &self.policy, request, &mut calls).await;
        ActionReport { outcome, calls }
    }
}
