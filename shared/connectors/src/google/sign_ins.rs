//! The leaver's logins from the Reports API:
//! `GET admin/reports/v1/activity/users/{userKey}/applications/login` with `startTime`,
//! every `nextPageToken` followed, as the delegated administrator with
//! `admin.reports.audit.readonly`. `login_success` is a success; `login_failure` (and the
//! other login events) are not. Google lists login events hours late, which the watch's
//! ingestion allowance covers. A page that fails ends the read as incomplete.

use super::GoogleConnector;
use super::api::{As, Service};
use super::scopes;
use async_trait::async_trait;
use jiff::Timestamp;
use passage_core::ports::{SignInError, SignInLog, SignInRead};
use passage_core::{Provider, SignIn, Subject};
use serde_json::Value;

/// Activities per page asked for (Google's maximum is 1000).
const PAGE: &str = "100";

#[async_trait]
impl SignInLog for GoogleConnector {
    async fn sign_ins(
        &self,
        subject: &Subject,
        since: Timestamp,
    ) -> Result<SignInRead, SignInError> {
        let mut calls = Vec::new();
        let mut url = self.api.url(
            Service::Directory,
            &[
                "admin",
                "reports",
                "v1",
                "activity",
                "users",
                &subject.email,
                "applications",
                "login",
            ],
        );
        url.query_pairs_mut()
            .append_pair(
                "startTime",
                &since.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            )
            .append_pair("maxResults", PAGE);
        let mut read = SignInRead {
            sign_ins: Vec::new(),
            complete: false,
            stopped: None,
            calls: Vec::new(),
        };
        let mut page_token: Option<String> = None;
        loop {
            let mut page_url = url.clone();
            if let Some(t) = &page_token {
                page_url.query_pairs_mut().append_pair("pageToken", t);
            }
            let body = match self
                .api
                .get(
                    page_url,
                    As::Admin,
                    scopes::REPORTS_AUDIT_READONLY,
                    &mut calls,
                )
                .await
            {
                Ok(body) => body,
                Err(e) => {
                    read.stopped = Some(format!(
                        "a page of the login activity failed: {}: {}",
                        e.code, e.message
                    ));
                    break;
                }
            };
            if let Some(items) = body["items"].as_array() {
                read.sign_ins.extend(items.iter().flat_map(sign_ins));
            }
            match body["nextPageToken"].as_str() {
                Some(t) if !t.is_empty() => page_token = Some(t.to_owned()),
                _ => {
                    read.complete = true;
                    break;
                }
            }
        }
        read.calls = calls;
        Ok(read)
    }
}

/// The login events of one activity, each a sign-in.
fn sign_ins(activity: &Value) -> Vec<SignIn> {
    let Some(at) = activity["id"]["time"]
        .as_str()
        .and_then(|t| t.parse::<Timestamp>().ok())
    else {
        return Vec::new();
    };
    let qualifier = activity["id"]["uniqueQualifier"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| activity["id"]["uniqueQualifier"].to_string());
    let ip = activity["ipAddress"].as_str().map(str::to_owned);
    let events = activity["events"].as_array().cloned().unwrap_or_default();
    events
        .iter()
        .enumerate()
        .map(|(i, event)| {
            let name = event["name"].as_str().unwrap_or_default();
            let param = |key: &str| {
                event["parameters"].as_array().and_then(|ps| {
                    ps.iter()
                        .find(|p| p["name"] == key)
                        .and_then(|p| p["value"].as_str())
                        .map(str::to_owned)
                })
            };
            SignIn {
                provider: Provider::Google,
                at,
                success: name == "login_success",
                event_id: format!("{qualifier}/{i}"),
                app: param("application_name").or_else(|| Some("Google".into())),
                ip: ip.clone(),
                request_id: Some(qualifier.clone()),
                failure: (name != "login_success")
                    .then(|| param("login_failure_type").unwrap_or_else(|| name.to_owned())),
            }
        })
        .collect()
}
