//! The leaver's sign-ins from the System Log (`GET /api/v1/logs`): sign-ins to Okta
//! (`user.session.start`) and through it to apps (`user.authentication.sso`), successful and
//! failed, with the user as actor. Needs `okta.logs.read` for a service app.
//!
//! The read is bounded (`until` = now): without it Okta treats the request as a poll and always
//! answers a `next` link. Every page is followed; a page that fails ends the read with what was
//! found and `complete: false`, since the sign-in that matters may be on the page not read.

use super::OktaConnector;
use super::api::{Api, next_link};
use async_trait::async_trait;
use jiff::Timestamp;
use passage_core::ports::{ActionFailure, SignInError, SignInLog, SignInRead};
use passage_core::{CallRecord, Provider, SignIn, Subject};
use reqwest::Method;
use serde_json::Value;

/// Entries per page: Okta's own default, so a busy leaver's log pages.
const PAGE: &str = "100";

#[async_trait]
impl SignInLog for OktaConnector {
    async fn sign_ins(
        &self,
        subject: &Subject,
        since: Timestamp,
    ) -> Result<SignInRead, SignInError> {
        let mut calls = Vec::new();
        let user_id = user_id(&self.api, subject, &mut calls).await?;
        let mut url = logs_url(&self.api, &user_id, since);
        let mut read = SignInRead {
            sign_ins: Vec::new(),
            complete: false,
            stopped: None,
            calls: Vec::new(),
        };
        loop {
            let answer = match self.api.call(Method::GET, url, &[], &mut calls).await {
                Ok(answer) => answer,
                Err(e) => {
                    read.stopped = Some(format!(
                        "a page of the System Log failed: {}: {}",
                        e.code, e.message
                    ));
                    break;
                }
            };
            let Some(entries) = answer.body.as_array() else {
                read.stopped = Some("the System Log answered something other than a list".into());
                break;
            };
            read.sign_ins.extend(entries.iter().filter_map(sign_in));
            match next_link(&answer.headers) {
                Some(next) => url = next,
                None => {
                    read.complete = true;
                    break;
                }
            }
        }
        read.calls = calls;
        Ok(read)
    }
}

/// The leaver's Okta id, found exactly as the actions find them (login, then e-mail).
async fn user_id(
    api: &Api,
    subject: &Subject,
    calls: &mut Vec<CallRecord>,
) -> Result<String, SignInError> {
    let email = subject.email.as_str();
    let user = super::actions::find_by_key(api, email, email, calls)
        .await
        .map_err(failed)?;
    Ok(user.id)
}

fn logs_url(api: &Api, user_id: &str, since: Timestamp) -> url::Url {
    let mut url = api.url("/api/v1/logs");
    let filter = format!(
        "(eventType eq \"user.session.start\" or eventType eq \"user.authentication.sso\") and actor.id eq \"{}\"",
        user_id.replace('"', "")
    );
    url.query_pairs_mut()
        .append_pair("since", &since.to_string())
        .append_pair("until", &Timestamp::now().to_string())
        .append_pair("filter", &filter)
        .append_pair("sortOrder", "ASCENDING")
        .append_pair("limit", PAGE);
    url
}

/// One log entry as a sign-in; `None` for an entry Passage cannot read the time of.
fn sign_in(entry: &Value) -> Option<SignIn> {
    let at: Timestamp = entry["published"].as_str()?.parse().ok()?;
    let outcome = entry["outcome"]["result"].as_str().unwrap_or_default();
    let app = entry["target"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["type"] == "AppInstance"))
        .and_then(|t| t["displayName"].as_str())
        .unwrap_or("Okta");
    Some(SignIn {
        provider: Provider::Okta,
        at,
        success: outcome == "SUCCESS",
        event_id: entry["uuid"].as_str()?.to_owned(),
        app: Some(app.to_owned()),
        ip: entry["client"]["ipAddress"].as_str().map(str::to_owned),
        request_id: entry["debugContext"]["debugData"]["requestId"]
            .as_str()
            .map(str::to_owned),
        failure: (outcome != "SUCCESS").then(|| {
            entry["outcome"]["reason"]
                .as_str()
                .unwrap_or(outcome)
                .to_owned()
        }),
    })
}

fn failed(e: ActionFailure) -> SignInError {
    SignInError {
        code: e.code,
        message: e.message,
    }
}
