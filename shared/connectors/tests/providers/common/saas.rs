//! Set-ups the SaaS connector suites share: requests, each app's settings against its
//! emulator, and running a sequence of actions the way the engine feeds outputs forward.

use passage_connectors::github::{GithubConnector, GithubSettings};
use passage_connectors::scim::{ScimConnector, ScimSettings};
use passage_connectors::slack::{SlackConnector, SlackSettings};
use passage_core::ports::{
    ActionDone, ActionFailure, ActionOutcome, ActionReport, ActionRequest, Connector,
};
use passage_core::secret::Secret;
use passage_core::{
    Action, GithubPolicy, HumanStepPolicy, Provider, RunId, ScimAppPolicy, ScimDeactivation,
    SeatPlan, SlackPlan, SlackPolicy, StepKey, Subject, TenantId, app_step_key,
};
use std::collections::BTreeMap;
use std::time::Duration;

pub type Prior = BTreeMap<StepKey, serde_json::Value>;

/// The request the engine would send for `action` of `provider` (and `app`).
pub fn request(
    provider: Provider,
    app: Option<&str>,
    action: Action,
    email: &str,
    prior: &Prior,
) -> ActionRequest {
    ActionRequest {
        tenant: TenantId::new("acme"),
        run_id: RunId::new("run_saas"),
        step_key: app_step_key(provider, app, action),
        action,
        subject: Subject {
            employee_id: "E1".into(),
            email: email.into(),
            display_name: None,
            time_zone: "UTC".into(),
            manager: None,
        },
        delegate: None,
        attempt: 1,
        prior: prior.clone(),
        operation: None,
    }
}

/// Runs one action; its output joins `prior` when it succeeds.
pub async fn step(
    connector: &dyn Connector,
    app: Option<&str>,
    action: Action,
    email: &str,
    prior: &mut Prior,
) -> ActionReport {
    let provider = connector.provider();
    let report = connector
        .execute(&request(provider, app, action, email, prior))
        .await;
    if let ActionOutcome::Done(done) = &report.outcome {
        prior.insert(app_step_key(provider, app, action), done.output.clone());
    }
    report
}

/// Runs `actions` in order, each of which must succeed.
pub async fn all(
    connector: &dyn Connector,
    app: Option<&str>,
    actions: &[Action],
    email: &str,
    prior: &mut Prior,
) -> Vec<ActionDone> {
    let mut out = Vec::new();
    for &action in actions {
        let report = step(connector, app, action, email, prior).await;
        let done = report
            .outcome
            .done()
            .unwrap_or_else(|f| panic!("{action} for {email} did not finish: {f:?}"));
        // Only an action with nothing to act on (no account) may make no call.
        assert!(
            !report.calls.is_empty() || done.repeat,
            "{action} made no recorded call"
        );
        out.push(done);
    }
    out
}

/// The failure of an action that must fail.
pub async fn failure(
    connector: &dyn Connector,
    app: Option<&str>,
    action: Action,
    email: &str,
    prior: &mut Prior,
) -> ActionFailure {
    match step(connector, app, action, email, prior).await.outcome {
        ActionOutcome::Failed(f) => f,
        other => panic!("{action} did not fail: {other:?}"),
    }
}

/// A SCIM app that deactivates with `active=false` (which keeps the seat) and removes with
/// an irreversible DELETE (which frees it) after a grace period.
pub fn scim_policy(app: &str) -> ScimAppPolicy {
    ScimAppPolicy {
        app: app.into(),
        name: "Wiki".into(),
        deactivate_by: ScimDeactivation::PatchActive,
        delete_reversible: false,
        deactivation_frees_seat: false,
        removal_frees_seat: true,
        seat: SeatPlan {
            remove_after: Some(Duration::from_secs(30 * 86_400)),
            ..SeatPlan::deactivate_only()
        },
    }
}

pub fn scim_connector(
    scim: &passage_sandbox::scim::ScimEmulator,
    policy: ScimAppPolicy,
    http: reqwest::Client,
) -> ScimConnector {
    ScimConnector::new(
        ScimSettings {
            base_url: url::Url::parse(&scim.base_url()).unwrap(),
            token: Secret::new(scim.token()),
            policy,
        },
        http,
    )
}

pub fn slack_policy(plan: SlackPlan) -> SlackPolicy {
    SlackPolicy {
        plan,
        seat: SeatPlan::deactivate_only(),
        owner: None,
        manual: HumanStepPolicy::app_removal(),
    }
}

pub fn slack_connector(
    slack: &passage_sandbox::slack::SlackEmulator,
    plan: SlackPlan,
    http: reqwest::Client,
) -> SlackConnector {
    SlackConnector::new(
        SlackSettings {
            api_url: url::Url::parse(&slack.api_url()).unwrap(),
            scim_url: url::Url::parse(&slack.scim_url()).unwrap(),
            token: Secret::new(slack.token()),
            policy: slack_policy(plan),
        },
        http,
    )
}

/// A SAML organisation with Copilot, or (with `emu`) an enterprise of managed users whose
/// deletion waits out a grace period.
pub fn github_policy(emu: bool) -> GithubPolicy {
    GithubPolicy {
        saml_sso: true,
        copilot: true,
        emu,
        seat: SeatPlan {
            remove_after: emu.then_some(Duration::from_secs(14 * 86_400)),
            ..SeatPlan::deactivate_only()
        },
    }
}

pub fn github_connector(
    github: &passage_sandbox::github::GithubEmulator,
    policy: GithubPolicy,
    logins: &[(&str, &str)],
    http: reqwest::Client,
) -> GithubConnector {
    GithubConnector::new(
        GithubSettings {
            api_url: url::Url::parse(&github.base_url()).unwrap(),
            org: github.org(),
            enterprise: Some(github.enterprise()),
            token: Secret::new(github.token()),
            logins: logins
                .iter()
                .map(|(e, l)| ((*e).to_owned(), (*l).to_owned()))
                .collect(),
            policy,
        },
        http,
    )
}
