//! The leaver's Entra sign-ins: `GET /auditLogs/signIns` filtered on `userId` and
//! `createdDateTime ge`, every `@odata.nextLink` followed (Graph chooses the page size). Needs `AuditLog.Read.All` (and an
//! Entra ID P1/P2 tenant). `status.errorCode` 0 is a success; anything else a failure with
//! its reason. A page that fails ends the read as incomplete.

use super::MicrosoftConnector;
use super::api::Api;
use async_trait::async_trait;
use jiff::Timestamp;
use passage_core::ports::{SignInError, SignInLog, SignInRead};
use passage_core::{CallRecord, Provider, SignIn, Subject};
use reqwest::Method;
use serde_json::Value;

#[async_trait]
impl SignInLog for MicrosoftConnector {
    async fn sign_ins(
        &self,
        subject: &Subject,
        since: Timestamp,
    ) -> Result<SignInRead, SignInError> {
        let mut calls = Vec::new();
        let user_id = user_id(&self.api, subject, &mut calls).await?;
        let filter = format!(
            "userId eq '{}' and createdDateTime ge {}",
            user_id.replace('\'', "''"),
            since.strftime("%Y-%m-%dT%H:%M:%SZ")
        );
        let mut url = self
            .api
            .graph_url(&["auditLogs", "signIns"], &[("$filter", &filter)]);
        let mut read = SignInRead {
            sign_ins: Vec::new(),
            complete: false,
            stopped: None,
            calls: Vec::new(),
        };
        loop {
            let answer = match self
                .api
                .graph(Method::GET, url, None, &[], &mut calls)
                .await
            {
                Ok(answer) => answer,
                Err(e) => {
                    read.stopped = Some(format!(
                        "a page of the sign-in log failed: {}: {}",
                        e.code, e.message
                    ));
                    break;
                }
            };
            let Some(page) = answer.body["value"].as_array() else {
                read.stopped = Some("the sign-in log answered without `value`".into());
                break;
            };
            read.sign_ins.extend(page.iter().filter_map(sign_in));
            match answer.body["@odata.nextLink"].as_str().map(url::Url::parse) {
                Some(Ok(next)) => url = next,
                Some(Err(_)) => {
                    read.stopped = Some("an unreadable @odata.nextLink".into());
                    break;
                }
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

/// The leaver's object id, found by address exactly as the actions find them.
async fn user_id(
    api: &Api,
    subject: &Subject,
    calls: &mut Vec<CallRecord>,
) -> Result<String, SignInError> {
    let email = subject.email.as_str();
    let user = super::actions::find_by_address(api, email, email, calls)
        .await
        .map_err(|e| SignInError {
            code: e.code,
            message: e.message,
        })?;
    Ok(user.id)
}

fn sign_in(entry: &Value) -> Option<SignIn> {
    let at: Timestamp = entry["createdDateTime"].as_str()?.parse().ok()?;
    let code = entry["status"]["errorCode"].as_i64().unwrap_or(-1);
    let text = |k: &str| {
        entry[k]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Some(SignIn {
        provider: Provider::Microsoft,
        at,
        success: code == 0,
        event_id: entry["id"].as_str()?.to_owned(),
        app: text("appDisplayName"),
        ip: text("ipAddress"),
        request_id: text("correlationId"),
        failure: (code != 0).then(|| {
            let reason = entry["status"]["failureReason"]
                .as_str()
                .unwrap_or_default();
            format!("{code} {reason}").trim().to_owned()
        }),
    })
}
