//! Okta: the service app's token (its `scope` is what Okta granted; a refused request is
//! retried scope by scope to name the one not granted), or for an API token a harmless read;
//! then one user read, and the app's admin roles where it may read them.

use super::{Evidence, Probe, Verdict, strings, token_claims};
use crate::okta::api::Api;
use crate::okta::{OktaCredentials, OktaSettings, ServiceApp};
use crate::permissions::{self, Kind};
use passage_core::ports::ActionFailure;
use passage_core::{CallRecord, Provider, Step};
use reqwest::Method;

type Calls = Vec<CallRecord>;

/// The scope that lets an app read its own admin roles; optional, asked for separately.
const ROLES_READ: &str = "okta.roles.read";

pub(super) async fn check(
    settings: &OktaSettings,
    plan: &[Step],
    http: &reqwest::Client,
) -> Evidence {
    let mut calls = Calls::new();
    let needed: Vec<&'static str> = permissions::needed(Provider::Okta, plan)
        .iter()
        .filter(|(p, _)| p.kind == Kind::OktaScope)
        .map(|(p, _)| p.name)
        .collect();
    let mut evidence = match &settings.credentials {
        OktaCredentials::ApiToken(_) => api_token(settings, &needed, http, &mut calls).await,
        OktaCredentials::ServiceApp(app) => {
            service_app(settings, app, &needed, http, &mut calls).await
        }
    };
    evidence.calls = calls;
    evidence
}

/// An API token has its administrator's rights and no scopes: a read proves it works.
async fn api_token(
    settings: &OktaSettings,
    needed: &[&'static str],
    http: &reqwest::Client,
    calls: &mut Calls,
) -> Evidence {
    let api = Api::new(settings.clone(), http.clone());
    let answer = read_one_user(&api, calls).await;
    if let Err(f) = &answer {
        return Evidence::new(Err(format!("{} ({})", f.message, f.code)), Vec::new());
    }
    let mut evidence = Evidence::new(
        Ok("the API token was accepted (GET /api/v1/users)".into()),
        Vec::new(),
    );
    for scope in needed {
        evidence.grant(
            scope,
            Verdict::Held(
                "an API token is not scoped; it acts with its administrator's rights".into(),
            ),
        );
    }
    evidence.grant(
        "Super Administrator",
        Verdict::Unproven(
            "an API token acts with the role of the administrator who made it".into(),
        ),
    );
    evidence
        .reads
        .push(Probe::new("one user", &["okta.users.read"]).from(&answer, |_| "answered".into()));
    evidence
}

fn with_scopes(settings: &OktaSettings, app: &ServiceApp, scopes: &[String]) -> OktaSettings {
    OktaSettings {
        org_url: settings.org_url.clone(),
        credentials: OktaCredentials::ServiceApp(ServiceApp {
            scopes: scopes.to_vec(),
            ..app.clone()
        }),
    }
}

/// Asks for a token with the configured scopes, as a run does; names each needed scope that
/// is not asked for or not granted.
async fn service_app(
    settings: &OktaSettings,
    app: &ServiceApp,
    needed: &[&'static str],
    http: &reqwest::Client,
    calls: &mut Calls,
) -> Evidence {
    let api = Api::new(settings.clone(), http.clone());
    let granted = match api.token(calls).await {
        Ok(token) => granted_scopes(token, &app.scopes),
        Err(f) if is_scope_refusal(&f) => match scope_by_scope(settings, app, http, calls).await {
            Ok(granted) => granted,
            Err(f) => return Evidence::new(Err(describe(&f)), Vec::new()),
        },
        Err(f) => return Evidence::new(Err(describe(&f)), Vec::new()),
    };
    let mut evidence = Evidence::new(
        Ok(format!(
            "service app {} got a token; granted: {}",
            app.client_id,
            if granted.is_empty() {
                "none of the scopes asked for".into()
            } else {
                granted.join(" ")
            }
        )),
        Vec::new(),
    );
    for scope in needed {
        evidence.grant(scope, scope_verdict(scope, &app.scopes, &granted));
    }
    if !granted.is_empty() {
        let reader = Api::new(with_scopes(settings, app, &granted), http.clone());
        let answer = read_one_user(&reader, calls).await;
        evidence.reads.push(
            Probe::new("one user", &["okta.users.read"]).from(&answer, |_| "answered".into()),
        );
    }
    let role = admin_role(settings, app, http, calls).await;
    evidence.grant("Super Administrator", role);
    evidence
}

fn describe(f: &ActionFailure) -> String {
    format!("{} ({})", f.message, f.code)
}

/// Okta refuses the whole request when one asked-for scope is not granted.
fn is_scope_refusal(f: &ActionFailure) -> bool {
    matches!(
        f.code.as_str(),
        "invalid_scope" | "access_denied" | "unauthorized_client"
    )
}

/// The scopes Okta says it granted (`scope` of the answer, else `scp` of the token); if it
/// says neither, what was asked for, since Okta refuses a request it would not grant whole.
fn granted_scopes(token: Option<crate::oauth::Token>, asked: &[String]) -> Vec<String> {
    let Some(token) = token else {
        return asked.to_vec();
    };
    if let Some(scope) = &token.scope {
        return scope.split_whitespace().map(str::to_owned).collect();
    }
    let scp = token_claims(token.value.expose())
        .map(|c| strings(&c, "scp"))
        .unwrap_or_default();
    if scp.is_empty() { asked.to_vec() } else { scp }
}

/// One token request per configured scope, each alone: the granted ones.
async fn scope_by_scope(
    settings: &OktaSettings,
    app: &ServiceApp,
    http: &reqwest::Client,
    calls: &mut Calls,
) -> Result<Vec<String>, ActionFailure> {
    let mut granted = Vec::new();
    for scope in &app.scopes {
        let api = Api::new(
            with_scopes(settings, app, std::slice::from_ref(scope)),
            http.clone(),
        );
        match api.token(calls).await {
            Ok(_) => granted.push(scope.clone()),
            Err(f) if is_scope_refusal(&f) => {}
            Err(f) => return Err(f),
        }
    }
    Ok(granted)
}

fn scope_verdict(scope: &str, asked: &[String], granted: &[String]) -> Verdict {
    let Some(p) = permissions::find(Provider::Okta, scope) else {
        return Verdict::Unproven(String::new());
    };
    if let Some(g) = granted.iter().find(|g| p.satisfied_by(g)) {
        return Verdict::Held(if g == scope {
            "in the token's scope".into()
        } else {
            format!("covered by {g} in the token's scope")
        });
    }
    if !asked.iter().any(|a| p.satisfied_by(a)) {
        return Verdict::Missing(
            "not in [tenants.okta] scopes, so Passage never asks for it; add it there (and grant \
             it to the app)"
                .into(),
        );
    }
    Verdict::Missing("Okta did not grant it to the service app".into())
}

async fn read_one_user(api: &Api, calls: &mut Calls) -> Result<usize, ActionFailure> {
    let mut url = api.url("/api/v1/users");
    url.query_pairs_mut().append_pair("limit", "1");
    let answer = api.call(Method::GET, url, &[], calls).await?;
    Ok(answer.body.as_array().map_or(0, Vec::len))
}

/// The app's admin roles, readable only with `okta.roles.read`; without it the role stays
/// unproven, never failed.
async fn admin_role(
    settings: &OktaSettings,
    app: &ServiceApp,
    http: &reqwest::Client,
    calls: &mut Calls,
) -> Verdict {
    let api = Api::new(
        with_scopes(settings, app, &[ROLES_READ.to_owned()]),
        http.clone(),
    );
    let url = api.url(&format!("/oauth2/v1/clients/{}/roles", app.client_id));
    let roles = match api.call(Method::GET, url, &[], calls).await {
        Ok(answer) => answer.body,
        Err(_) => {
            return Verdict::Unproven(format!(
                "the app's admin roles could not be read (it would need {ROLES_READ})"
            ));
        }
    };
    let types: Vec<&str> = roles
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["type"].as_str()).collect())
        .unwrap_or_default();
    if types.contains(&"SUPER_ADMIN") {
        Verdict::Held("the app is assigned SUPER_ADMIN".into())
    } else if types.is_empty() {
        Verdict::Missing("the app has no admin role".into())
    } else {
        Verdict::Unproven(format!(
            "the app holds {}; whether it covers every leaver depends on its resource set",
            types.join(", ")
        ))
    }
}
