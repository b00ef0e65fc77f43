//! Google Workspace: a token per delegated scope (Google names a scope it will not delegate),
//! one read per API with the scope that API's steps use, and whether `admin_subject` is a
//! super admin.

use super::{Evidence, Probe, Verdict};
use crate::google::api::{Api, As, Service};
use crate::google::{GoogleSettings, WORKSPACE_SKUS, scopes};
use crate::permissions::{self, Kind};
use passage_core::{CallRecord, Provider, Step};
use reqwest::{Method, StatusCode};
use serde_json::Value;

type Calls = Vec<CallRecord>;

pub(super) async fn check(
    settings: GoogleSettings,
    plan: &[Step],
    http: &reqwest::Client,
) -> Evidence {
    let api = Api::new(settings, http.clone());
    let mut calls = Calls::new();
    let needed: Vec<&'static str> = permissions::needed(Provider::Google, plan)
        .iter()
        .filter(|(p, _)| p.kind == Kind::GoogleScope)
        .map(|(p, _)| p.name)
        .collect();
    let mut delegated = Vec::new();
    let mut evidence = Evidence::new(Ok(String::new()), Vec::new());
    for scope in &needed {
        match api.token(As::Admin, scope, &mut calls).await {
            Ok(()) => {
                delegated.push(*scope);
                let how = "a token with this scope alone was issued for admin_subject";
                evidence.grant(scope, Verdict::Held(how.into()));
            }
            Err(f) if f.code == "unauthorized_client" => {
                evidence.grant(
                    scope,
                    Verdict::Missing(
                        "Google refused a token with this scope (unauthorized_client): the \
                         service account's client id is not delegated it"
                            .into(),
                    ),
                );
            }
            Err(f) => {
                evidence.credential = Err(format!("{} ({})", f.message, f.code));
                evidence.calls = calls;
                return evidence;
            }
        }
    }
    evidence.credential = Ok(format!(
        "the service account's key signed its assertions; {} of {} scope(s) delegated",
        delegated.len(),
        needed.len()
    ));
    reads(&api, &delegated, &mut evidence, &mut calls).await;
    evidence.calls = calls;
    evidence
}

/// One read per API whose scope is delegated (a refused scope already has its finding).
async fn reads(api: &Api, delegated: &[&str], evidence: &mut Evidence, calls: &mut Calls) {
    let admin = api.settings.admin_subject.clone();
    let has = |s: &str| delegated.contains(&s);
    if has(scopes::DIRECTORY_USER) {
        let url = api.url(
            Service::Directory,
            &["admin", "directory", "v1", "users", &admin],
        );
        let answer = api.get(url, As::Admin, scopes::DIRECTORY_USER, calls).await;
        if let Ok(user) = &answer {
            evidence.grant("Super Admin", admin_role(&admin, user));
        }
        evidence.reads.push(
            Probe::new("admin_subject (users.get)", &[scopes::DIRECTORY_USER])
                .from(&answer, |_| format!("read {admin}")),
        );
    }
    let directory = |rest: &[&str]| {
        let mut segments = vec!["admin", "directory", "v1"];
        segments.extend_from_slice(rest);
        api.url(Service::Directory, &segments)
    };
    let mut plain = Vec::new();
    if has(scopes::DIRECTORY_USER_SECURITY) {
        let url = directory(&["users", &admin, "tokens"]);
        plain.push((
            "admin_subject's OAuth tokens",
            url,
            scopes::DIRECTORY_USER_SECURITY,
        ));
    }
    if has(scopes::DIRECTORY_GROUP_READONLY) {
        let mut url = directory(&["groups"]);
        url.query_pairs_mut()
            .append_pair("userKey", &admin)
            .append_pair("maxResults", "1");
        plain.push((
            "admin_subject's groups",
            url,
            scopes::DIRECTORY_GROUP_READONLY,
        ));
    }
    if has(scopes::DEVICE_MOBILE_READONLY) {
        let customer = api.settings.customer_id.clone();
        let mut url = directory(&["customer", &customer, "devices", "mobile"]);
        url.query_pairs_mut().append_pair("maxResults", "1");
        plain.push((
            "the mobile device list",
            url,
            scopes::DEVICE_MOBILE_READONLY,
        ));
    }
    if has(scopes::DATATRANSFER) {
        let mut url = api.url(
            Service::Directory,
            &["admin", "datatransfer", "v1", "applications"],
        );
        url.query_pairs_mut().append_pair("maxResults", "1");
        plain.push(("the data transfer applications", url, scopes::DATATRANSFER));
    }
    if has(scopes::DRIVE) {
        // The sweep reads every shared drive as a domain administrator.
        let mut url = api.url(Service::Drive, &["drive", "v3", "drives"]);
        url.query_pairs_mut()
            .append_pair("useDomainAdminAccess", "true")
            .append_pair("pageSize", "1");
        plain.push(("the shared drive list", url, scopes::DRIVE));
    }
    for (what, url, scope) in plain {
        let answer = api.get(url, As::Admin, scope, calls).await;
        evidence
            .reads
            .push(Probe::new(what, &[scope]).from(&answer, |_| "answered".into()));
    }
    if has(scopes::LICENSING) {
        evidence.reads.push(licence(api, &admin, calls).await);
    }
    if has(scopes::GMAIL_SETTINGS_BASIC) {
        evidence.reads.push(vacation(api, &admin, calls).await);
    }
}

/// A super admin has every Admin SDK privilege; a delegated admin's role cannot be read
/// without another scope, so its privileges stay unproven.
fn admin_role(admin: &str, user: &Value) -> Verdict {
    if user["isAdmin"].as_bool() == Some(true) {
        Verdict::Held(format!("{admin} is a super admin (isAdmin)"))
    } else if user["isDelegatedAdmin"].as_bool() == Some(true) {
        Verdict::Unproven(format!(
            "{admin} is a delegated admin; whether its role has every privilege Passage uses \
             cannot be read"
        ))
    } else {
        Verdict::Missing(format!("{admin} is not an administrator"))
    }
}

/// A licence of the administrator: 200 or 404 both show the API is enabled and allowed.
async fn licence(api: &Api, admin: &str, calls: &mut Calls) -> Probe {
    let (product, sku) = api
        .settings
        .license_skus
        .first()
        .map(|(p, s)| (p.clone(), s.clone()))
        .unwrap_or_else(|| (WORKSPACE_SKUS[0].0.into(), WORKSPACE_SKUS[0].1.into()));
    let url = api.url(
        Service::Licensing,
        &[
            "apps",
            "licensing",
            "v1",
            "product",
            &product,
            "sku",
            &sku,
            "user",
            admin,
        ],
    );
    let answer = api
        .call(
            Method::GET,
            url,
            As::Admin,
            scopes::LICENSING,
            None,
            &[StatusCode::NOT_FOUND],
            calls,
        )
        .await;
    Probe::new("a licence assignment", &[scopes::LICENSING])
        .from(&answer, |_| "the Licensing API answered".into())
}

/// The administrator's own vacation setting; Google refuses a mailbox-less user's settings
/// with 400 `failedPrecondition`, which still shows the scope works.
async fn vacation(api: &Api, admin: &str, calls: &mut Calls) -> Probe {
    let url = api.url(
        Service::Gmail,
        &["gmail", "v1", "users", admin, "settings", "vacation"],
    );
    let answer = api
        .call(
            Method::GET,
            url,
            As::User(admin),
            scopes::GMAIL_SETTINGS_BASIC,
            None,
            &[StatusCode::BAD_REQUEST],
            calls,
        )
        .await;
    Probe::new(
        "a Gmail setting (vacation)",
        &[scopes::GMAIL_SETTINGS_BASIC],
    )
    .from(&answer, |a| {
        if a.status == StatusCode::BAD_REQUEST {
            "allowed; admin_subject has no mailbox to read".into()
        } else {
            "the Gmail API answered".into()
        }
    })
}
