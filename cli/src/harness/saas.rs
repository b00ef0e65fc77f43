//! The SaaS apps of a sandbox tenant: Slack on Enterprise Grid, a GitHub organisation with SAML
//! SSO and Copilot, a SCIM app whose accounts are deactivated at the cutoff and removed after a
//! short grace period, and Figma, an app without an API whose owner confirms by hand.

use anyhow::Result;
use passage_connectors::ConnectionSettings;
use passage_connectors::github::GithubSettings;
use passage_connectors::scim::ScimSettings;
use passage_connectors::slack::SlackSettings;
use passage_core::secret::Secret;
use passage_core::{
    GithubPolicy, HumanStepPolicy, ManualAppPolicy, ScimAppPolicy, ScimDeactivation, SeatPlan,
    SlackPlan, SlackPolicy, TenantPolicy,
};
use passage_sandbox::github::{GithubConfig, GithubEmulator};
use passage_sandbox::scim::{Flavor, ScimConfig, ScimEmulator, SeatBilling};
use passage_sandbox::slack::{SlackConfig, SlackEmulator};
use std::time::Duration;

/// How long after the cutoff the SCIM app's accounts are removed for good: short, so the demo
/// shows the held step run within the same run.
pub const SAAS_GRACE: Duration = Duration::from_secs(5);

/// The name the sandbox tenant gives its SCIM app.
pub const SCIM_APP: &str = "wiki";
/// Who removes Figma accounts by hand.
pub const FIGMA_OWNER: &str = "design-lead@example.com";

/// The owner who confirms the sandbox's app without an API.
pub fn saas_owner() -> &'static str {
    FIGMA_OWNER
}

pub struct SaasApps {
    pub slack: SlackEmulator,
    pub github: GithubEmulator,
    pub scim: ScimEmulator,
}

impl SaasApps {
    /// Starts and seeds the apps and adds their policies and connections to the tenant.
    pub async fn start(
        policy: &mut TenantPolicy,
        settings: &mut ConnectionSettings,
    ) -> Result<Self> {
        let apps = Self {
            slack: start_slack(policy, settings).await?,
            github: start_github(policy, settings).await?,
            scim: start_scim(policy, settings).await?,
        };
        policy.saas.manual.push(ManualAppPolicy {
            app: "figma".into(),
            name: "Figma".into(),
            owner: FIGMA_OWNER.into(),
            step: HumanStepPolicy::app_removal(),
        });
        Ok(apps)
    }

    pub async fn shutdown(self) {
        self.slack.shutdown().await;
        self.github.shutdown().await;
        self.scim.shutdown().await;
    }
}

async fn start_slack(
    policy: &mut TenantPolicy,
    settings: &mut ConnectionSettings,
) -> Result<SlackEmulator> {
    let slack = SlackEmulator::start(SlackConfig::new(
        passage_sandbox::slack::SlackPlan::EnterpriseGrid,
    ))
    .await?;
    passage_sandbox::slack::demo_seed(&slack);
    let slack_policy = SlackPolicy {
        plan: SlackPlan::EnterpriseGrid,
        seat: SeatPlan::deactivate_only(),
        owner: None,
        manual: HumanStepPolicy::app_removal(),
    };
    settings.slack = Some(SlackSettings {
        api_url: url::Url::parse(&slack.api_url())?,
        scim_url: url::Url::parse(&slack.scim_url())?,
        token: Secret::new(slack.token()),
        policy: slack_policy.clone(),
    });
    policy.saas.slack = Some(slack_policy);
    Ok(slack)
}

async fn start_github(
    policy: &mut TenantPolicy,
    settings: &mut ConnectionSettings,
) -> Result<GithubEmulator> {
    use passage_sandbox::github::{DEMO_LEAVER, DEMO_LOGIN, demo_seed};
    let github = GithubEmulator::start(GithubConfig::default()).await?;
    demo_seed(&github);
    let github_policy = GithubPolicy {
        saml_sso: true,
        copilot: true,
        emu: false,
        seat: SeatPlan::deactivate_only(),
    };
    settings.github = Some(GithubSettings {
        api_url: url::Url::parse(&github.base_url())?,
        org: github.org(),
        enterprise: Some(github.enterprise()),
        token: Secret::new(github.token()),
        logins: [(DEMO_LEAVER.to_owned(), DEMO_LOGIN.to_owned())].into(),
        policy: github_policy.clone(),
    });
    policy.saas.github = Some(github_policy);
    Ok(github)
}

/// A strict SCIM server that bills every account until it is deleted: deactivation at the
/// cutoff keeps a rehire restorable, the removal after [`SAAS_GRACE`] frees the seat.
async fn start_scim(
    policy: &mut TenantPolicy,
    settings: &mut ConnectionSettings,
) -> Result<ScimEmulator> {
    let mut config = ScimConfig::new(Flavor::Strict);
    config.billing = SeatBilling::EveryAccount;
    let scim = ScimEmulator::start(config).await?;
    passage_sandbox::scim::demo_seed(&scim);
    let app = ScimAppPolicy {
        app: SCIM_APP.into(),
        name: "Team Wiki".into(),
        deactivate_by: ScimDeactivation::PatchActive,
        delete_reversible: false,
        deactivation_frees_seat: false,
        removal_frees_seat: true,
        seat: SeatPlan {
            remove_after: Some(SAAS_GRACE),
            ..SeatPlan::deactivate_only()
        },
    };
    settings.scim.insert(
        SCIM_APP.into(),
        ScimSettings {
            base_url: url::Url::parse(&scim.base_url())?,
            token: Secret::new(scim.token()),
            policy: app.clone(),
        },
    );
    policy.saas.scim.push(app);
    Ok(scim)
}
