//! The leaver's sign-ins from Directory Insights: `POST /insights/directory/v1/events` for
//! services `sso` and `directory` from `start_time`, filtered to the user as `initiated_by`,
//! paged with `search_after` (the `X-Search_after` of the page before) until a page comes back
//! short. `sso_auth` and `user_login_attempt` events are sign-ins; their `success` says how
//! they went. A page that fails ends the read as incomplete.

use super::JumpCloudConnector;
use super::api::Api;
use async_trait::async_trait;
use jiff::Timestamp;
use passage_core::ports::{SignInError, SignInLog, SignInRead};
use passage_core::{CallRecord, Provider, SignIn, Subject};
use reqwest::Method;
use serde_json::{Value, json};

/// Events per page asked for.
const PAGE: usize = 100;

/// The event types that are a user signing in.
const SIGN_INS: [&str; 2] = ["sso_auth", "user_login_attempt"];

#[async_trait]
impl SignInLog for JumpCloudConnector {
    async fn sign_ins(
        &self,
        subject: &Subject,
        since: Timestamp,
    ) -> Result<SignInRead, SignInError> {
        let mut calls = Vec::new();
        let user_id = user_id(&self.api, subject, &mut calls).await?;
        let mut read = SignInRead {
            sign_ins: Vec::new(),
            complete: false,
            stopped: None,
            calls: Vec::new(),
        };
        let mut after: Option<Value> = None;
        loop {
            let mut body = json!({
                "service": ["sso", "directory"],
                "start_time": since.to_string(),
                "sort": "ASC",
                "limit": PAGE,
                "search_term": {"and": {"initiated_by.id": user_id}},
            });
            if let Some(after) = &after {
                body["search_after"] = after.clone();
            }
            let answer = match self
                .api
                .call(
                    Method::POST,
                    self.api.insights_url(),
                    Some(&body),
                    &[],
                    &mut calls,
                )
                .await
            {
                Ok(answer) => answer,
                Err(e) => {
                    read.stopped = Some(format!(
                        "a page of Directory Insights failed: {}: {}",
                        e.code, e.message
                    ));
                    break;
                }
            };
            let Some(rows) = answer.body.as_array() else {
                read.stopped =
                    Some("Directory Insights answered something other than a list".into());
                break;
            };
            read.sign_ins.extend(rows.iter().filter_map(sign_in));
            if rows.len() < PAGE {
                read.complete = true;
                break;
            }
            let next = answer
                .headers
                .get("x-search_after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| serde_json::from_str::<Value>(v).ok());
            match next {
                Some(next) if next.as_array().is_some_and(|a| !a.is_empty()) => after = Some(next),
                _ => {
                    read.stopped = Some("a full page without X-Search_after to go on from".into());
                    break;
                }
            }
        }
        read.calls = calls;
        Ok(read)
    }
}

/// The leaver's JumpCloud id, found by e-mail exactly as the actions find them.
async fn user_id(
    api: &Api,
    subject: &Subject,
    calls: &mut Vec<CallRecord>,
) -> Result<String, SignInError> {
    let user = super::actions::find_by_email(api, subject.email.trim(), calls)
        .await
        .map_err(|e| SignInError {
            code: e.code,
            message: e.message,
        })?;
    Ok(user.id)
}

fn sign_in(event: &Value) -> Option<SignIn> {
    let kind = event["event_type"].as_str()?;
    if !SIGN_INS.contains(&kind) {
        return None;
    }
    let at: Timestamp = event["timestamp"].as_str()?.parse().ok()?;
    let success = event["success"].as_bool().unwrap_or(false);
    let app = event["application"]["display_label"]
        .as_str()
        .or_else(|| event["application"]["name"].as_str())
        .unwrap_or("JumpCloud User Portal");
    Some(SignIn {
        provider: Provider::Jumpcloud,
        at,
        success,
        event_id: event["id"].as_str()?.to_owned(),
        app: Some(app.to_owned()),
        ip: event["client_ip"].as_str().map(str::to_owned),
        request_id: event["id"].as_str().map(str::to_owned),
        failure: (!success).then(|| {
            event["error_message"]
                .as_str()
                .unwrap_or("unsuccessful")
                .to_owned()
        }),
    })
}
