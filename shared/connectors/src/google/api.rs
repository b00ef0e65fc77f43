//! Google HTTP calls: a token per (subject, scope), one retry after a 401 with a fresh token,
//! error classification and `nextPageToken` pagination.

use super::GoogleSettings;
use super::auth::Auth;
use super::errors::{CallContext, GoogleError, classify};
use crate::http;
use passage_core::CallRecord;
use passage_core::ports::{ActionFailure, FailureClass};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::Instant;

/// Google documents no request-id header; kept so one appears in evidence if it ever does.
const REQUEST_ID_HEADER: &str = "x-request-id";

/// Which API a URL is for (they may live on different hosts).
#[derive(Clone, Copy)]
pub enum Service {
    Directory,
    Licensing,
    Gmail,
}

/// Who a call acts as.
#[derive(Clone, Copy)]
pub enum As<'a> {
    /// The configured administrator.
    Admin,
    /// The mailbox owner.
    User(&'a str),
}

pub struct Api {
    pub settings: GoogleSettings,
    http: reqwest::Client,
    auth: Auth,
}

/// A successful (or accepted) answer: status and parsed body (`Null` when empty).
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Api {
    pub fn new(settings: GoogleSettings, http: reqwest::Client) -> Self {
        Self {
            auth: Auth::new(
                settings.token_url.clone(),
                settings.service_account_email.clone(),
                &settings.private_key,
                settings.key_id.clone(),
                settings.admin_subject.clone(),
            ),
            settings,
            http,
        }
    }

    /// `base + segments`, each segment percent-encoded.
    pub fn url(&self, service: Service, segments: &[&str]) -> url::Url {
        let base = match service {
            Service::Directory => &self.settings.api_base,
            Service::Licensing => self
                .settings
                .licensing_base
                .as_ref()
                .unwrap_or(&self.settings.api_base),
            Service::Gmail => self
                .settings
                .gmail_base
                .as_ref()
                .unwrap_or(&self.settings.api_base),
        };
        let mut url = base.clone();
        url.path_segments_mut()
            .expect("http urls have paths")
            .pop_if_empty()
            .extend(segments);
        url
    }

    fn subject<'a>(&'a self, who: As<'a>) -> &'a str {
        match who {
            As::Admin => &self.settings.admin_subject,
            As::User(email) => email,
        }
    }

    /// Sends one call and records it. Non-2xx answers become classified failures, except
    /// those listed in `accept` (e.g. a 404 the caller treats as "already gone").
    #[allow(clippy::too_many_arguments)]
    pub async fn call(
        &self,
        method: Method,
        url: url::Url,
        who: As<'_>,
        scope: &str,
        body: Option<&Value>,
        accept: &[StatusCode],
        calls: &mut Vec<CallRecord>,
    ) -> Result<Answer, ActionFailure> {
        let subject = self.subject(who);
        let mut retried = false;
        loop {
            let token = self.auth.token(&self.http, subject, scope, calls).await?;
            let started = Instant::now();
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token)
                .header(reqwest::header::ACCEPT, "application/json");
            request = match body {
                Some(b) => request.json(b),
                None if method == Method::POST || method == Method::PUT => {
                    request.header(reqwest::header::CONTENT_LENGTH, "0")
                }
                None => request,
            };
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) => {
                    calls.push(http::record(
                        method.as_str(),
                        &url,
                        None,
                        started,
                        REQUEST_ID_HEADER,
                    ));
                    return Err(http::transport_failure(e));
                }
            };
            let mut record = http::record(
                method.as_str(),
                &url,
                Some(&response),
                started,
                REQUEST_ID_HEADER,
            );
            let status = response.status();
            let retry_after = http::retry_after(&response);
            let bytes = match response.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    calls.push(record);
                    return Err(http::transport_failure(e));
                }
            };
            if status.is_success() || accept.contains(&status) {
                calls.push(record);
                let body = if bytes.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
                };
                return Ok(Answer { status, body });
            }
            let error = GoogleError::parse(&bytes);
            let failure = classify(status, &error, retry_after, &CallContext { subject, scope });
            record.error_code = Some(failure.code.clone());
            calls.push(record);
            // A cached token may have been revoked (or its subject suspended): mint a new one
            // once; the token endpoint then says why if it will not.
            if status == StatusCode::UNAUTHORIZED && !retried {
                retried = true;
                self.auth.forget(subject, scope).await;
                continue;
            }
            return Err(failure);
        }
    }

    /// GET as `who`, failing on any non-2xx.
    pub async fn get(
        &self,
        url: url::Url,
        who: As<'_>,
        scope: &str,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Value, ActionFailure> {
        Ok(self
            .call(Method::GET, url, who, scope, None, &[], calls)
            .await?
            .body)
    }

    /// GETs every page of a list (`nextPageToken` → `pageToken`), collecting `items_key`.
    pub async fn list(
        &self,
        url: url::Url,
        items_key: &str,
        who: As<'_>,
        scope: &str,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Vec<Value>, ActionFailure> {
        let mut items = Vec::new();
        let mut page_token: Option<String> = None;
        // A bound, so a provider that keeps answering the same page cannot loop forever.
        for _ in 0..1000 {
            let mut page_url = url.clone();
            if let Some(t) = &page_token {
                page_url.query_pairs_mut().append_pair("pageToken", t);
            }
            let body = self.get(page_url, who, scope, calls).await?;
            match body.get(items_key) {
                None | Some(Value::Null) => {}
                Some(Value::Array(page)) => items.extend(page.iter().cloned()),
                Some(_) => {
                    return Err(ActionFailure {
                        class: FailureClass::Retryable { retry_after: None },
                        code: "unexpected_body".into(),
                        message: format!(
                            "Google returned a list whose `{items_key}` is not an array"
                        ),
                    });
                }
            }
            match body.get("nextPageToken").and_then(Value::as_str) {
                Some(t) if !t.is_empty() => page_token = Some(t.to_owned()),
                _ => return Ok(items),
            }
        }
        Err(ActionFailure {
            class: FailureClass::Retryable { retry_after: None },
            code: "pagination_loop".into(),
            message: "Google kept returning more pages than Passage will follow".into(),
        })
    }
}
