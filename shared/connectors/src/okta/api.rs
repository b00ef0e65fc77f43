//! Okta HTTP calls: authentication, request ids, rate-limit headers, `Link` pagination.

use super::OktaSettings;
use super::auth::Auth;
use super::errors::{OktaError, classify};
use crate::http;
use passage_core::CallRecord;
use passage_core::ports::ActionFailure;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant};

pub struct Api {
    settings: OktaSettings,
    http: reqwest::Client,
    auth: Auth,
}

/// A successful answer: status and parsed body (or `Null` for 204s).
pub struct Answer {
    pub status: StatusCode,
    pub body: serde_json::Value,
    next: Option<url::Url>,
}

impl Api {
    pub fn new(settings: OktaSettings, http: reqwest::Client) -> Self {
        Self {
            auth: Auth::new(settings.credentials.clone()),
            settings,
            http,
        }
    }

    pub fn url(&self, path: &str) -> url::Url {
        let mut u = self.settings.org_url.clone();
        u.set_path(path);
        u
    }

    /// Sends one call and records it. Non-2xx answers become classified failures, except
    /// those listed in `accept` (e.g. a 404 the caller treats as "already gone").
    pub async fn call(
        &self,
        method: Method,
        url: url::Url,
        accept: &[StatusCode],
        calls: &mut Vec<CallRecord>,
    ) -> Result<Answer, ActionFailure> {
        // Follow only links on the org's own origin: the token must never go elsewhere.
        if url.origin() != self.settings.org_url.origin() {
            return Err(ActionFailure {
                class: passage_core::ports::FailureClass::Permanent,
                code: "foreign_link".into(),
                message: format!(
                    "Okta returned a link to another origin ({}); not followed",
                    url.origin().ascii_serialization()
                ),
            });
        }
        let auth = self
            .auth
            .headers(&self.http, &self.settings.org_url, &method, &url, calls)
            .await?;
        let started = Instant::now();
        let mut request = self.http.request(method.clone(), url.clone());
        for (name, value) in auth {
            request = request.header(name, value);
        }
        let result = request
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .send()
            .await;
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                calls.push(http::record(
                    method.as_str(),
                    &url,
                    None,
                    started,
                    "x-okta-request-id",
                ));
                return Err(http::transport_failure(e));
            }
        };
        let mut record = http::record(
            method.as_str(),
            &url,
            Some(&response),
            started,
            "x-okta-request-id",
        );
        record.rate_limit_remaining = header_u64(&response, "x-rate-limit-remaining");
        let status = response.status();
        let wait = rate_limit_wait(&response);
        let next = next_link(&response);
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
                serde_json::Value::Null
            } else {
                serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null)
            };
            return Ok(Answer { status, body, next });
        }
        let error: OktaError = serde_json::from_slice(&bytes).unwrap_or_default();
        let failure = classify(status, &error, wait);
        record.error_code = Some(failure.code.clone());
        calls.push(record);
        Err(failure)
    }

    /// GETs every page of a list, following `Link: <…>; rel="next"`.
    pub async fn list<T: DeserializeOwned>(
        &self,
        mut url: url::Url,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Vec<T>, ActionFailure> {
        let mut items = Vec::new();
        loop {
            let answer = self.call(Method::GET, url, &[], calls).await?;
            let page: Vec<T> = serde_json::from_value(answer.body).map_err(|e| ActionFailure {
                class: passage_core::ports::FailureClass::Retryable { retry_after: None },
                code: "unexpected_body".into(),
                message: format!("Okta returned a list Passage could not read: {e}"),
            })?;
            items.extend(page);
            match answer.next {
                Some(next) => url = next,
                None => return Ok(items),
            }
        }
    }
}

fn header_u64(response: &reqwest::Response, name: &str) -> Option<u64> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// How long Okta asks us to wait: until `X-Rate-Limit-Reset` (UTC epoch seconds), or
/// Retry-After. Only meaningful on a 429, where it is read.
fn rate_limit_wait(response: &reqwest::Response) -> Option<Duration> {
    if response.status() != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    if let Some(reset) = header_u64(response, "x-rate-limit-reset") {
        let now = jiff::Timestamp::now().as_millisecond();
        let wait_ms = (reset as i64 * 1000).saturating_sub(now).max(0);
        return Some(Duration::from_millis(wait_ms as u64));
    }
    http::retry_after(response)
}

/// The `rel="next"` target of a `Link` header, if any.
fn next_link(response: &reqwest::Response) -> Option<url::Url> {
    for value in response.headers().get_all(reqwest::header::LINK) {
        let Ok(value) = value.to_str() else { continue };
        for part in value.split(',') {
            let mut pieces = part.split(';');
            let target = pieces.next()?.trim();
            let is_next = pieces.any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            });
            if is_next {
                let target = target.trim_start_matches('<').trim_end_matches('>');
                return url::Url::parse(target).ok();
            }
        }
    }
    None
}
