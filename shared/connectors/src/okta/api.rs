//! Okta HTTP calls: authentication, request ids, rate-limit headers, `Link` pagination.

use super::OktaSettings;
use super::auth::Auth;
use super::errors::{OktaError, classify};
use super::pace;
use crate::call::{self, Answer, Call, Dialect, Refused, Verdict};
use crate::http;
use crate::pace::{OrgPace, Paced};
use passage_core::pace::PaceSignal;
use passage_core::ports::ActionFailure;
use passage_core::{CallRecord, Provider};
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use std::time::Duration;

pub struct Api {
    settings: OktaSettings,
    http: reqwest::Client,
    auth: Auth,
    /// The org's budgets (unpaced until the registry paces the connector).
    pub pace: OrgPace,
    /// Whether the snapshot records the leaver's admin roles (the tenant's sweep).
    pub admin_roles: bool,
    /// Whether the snapshot records each app assignment in full (the tenant unassigns apps,
    /// so a restore must be able to give them back).
    pub app_assignments: bool,
}

impl Api {
    pub fn new(settings: OktaSettings, http: reqwest::Client) -> Self {
        Self {
            auth: Auth::new(settings.credentials.clone()),
            settings,
            http,
            pace: OrgPace::off(Provider::Okta),
            admin_roles: false,
            app_assignments: false,
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
        http::same_origin(&url, &self.settings.org_url, "Okta")?;
        let call = Call {
            method,
            url,
            body: None,
            accept,
        };
        call::send(&self.http, self, &call, calls).await
    }

    /// Sends one call with a JSON body and records it, as [`Api::call`].
    pub async fn send(
        &self,
        method: Method,
        url: url::Url,
        body: &serde_json::Value,
        accept: &[StatusCode],
        calls: &mut Vec<CallRecord>,
    ) -> Result<Answer, ActionFailure> {
        http::same_origin(&url, &self.settings.org_url, "Okta")?;
        let call = Call {
            method,
            url,
            body: Some(body),
            accept,
        };
        call::send(&self.http, self, &call, calls).await
    }

    /// The service app's token (from the cache or newly issued), for the preflight to read
    /// the scopes Okta granted; `None` for an API token, which has no scopes.
    pub(crate) async fn token(
        &self,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Option<crate::oauth::Token>, ActionFailure> {
        self.auth
            .token(&self.http, &self.settings.org_url, calls)
            .await
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
            match next_link(&answer.headers) {
                Some(next) => url = next,
                None => return Ok(items),
            }
        }
    }
}

/// Okta's part of every call: its credentials (SSWS, Bearer or DPoP), `X-Okta-Request-Id`,
/// the rate-limit headers, and its error body.
impl Dialect for Api {
    const REQUEST_ID: &'static str = "x-okta-request-id";

    async fn authorize(
        &self,
        mut request: RequestBuilder,
        call: &Call<'_>,
        calls: &mut Vec<CallRecord>,
    ) -> Result<RequestBuilder, ActionFailure> {
        let auth = self
            .auth
            .headers(
                &self.http,
                &self.settings.org_url,
                &call.method,
                &call.url,
                calls,
            )
            .await?;
        for (name, value) in auth {
            request = request.header(name, value);
        }
        Ok(request.header(reqwest::header::CONTENT_TYPE, "application/json"))
    }

    fn wait(&self, response: &Response) -> Option<Duration> {
        rate_limit_wait(response)
    }

    fn note(&self, response: &Response, record: &mut CallRecord) {
        record.rate_limit_remaining = header_u64(response, "x-rate-limit-remaining");
    }

    fn paced(&self, call: &Call<'_>) -> Option<Paced<'_>> {
        self.pace.turn(pace::family(call.url.path()))
    }

    fn pace_signal(&self, status: StatusCode, headers: &HeaderMap, _body: &[u8]) -> PaceSignal {
        pace::signal(status, headers)
    }

    fn refusal(&self, refused: &Refused<'_>) -> Verdict {
        let error: OktaError = serde_json::from_slice(refused.body).unwrap_or_default();
        Verdict::Fail(classify(refused.status, &error, refused.wait))
    }
}

fn header_u64(response: &Response, name: &str) -> Option<u64> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// How long Okta asks us to wait: on a 429 until `X-Rate-Limit-Reset` (UTC epoch seconds on
/// Okta's clock, so measured from the answer's `Date`), else Retry-After. Okta sends its
/// rate-limit headers on every answer, so the reset is read only where it is a request to wait.
fn rate_limit_wait(response: &Response) -> Option<Duration> {
    if response.status() == StatusCode::TOO_MANY_REQUESTS
        && let Some(reset) = header_u64(response, "x-rate-limit-reset")
        && let Ok(reset) = jiff::Timestamp::from_second(reset.min(i64::MAX as u64) as i64)
    {
        let reset = http::on_local_clock(reset, response.headers());
        let wait = reset.duration_since(jiff::Timestamp::now());
        return Some(Duration::try_from(wait).unwrap_or_default());
    }
    http::retry_after(response)
}

/// The `rel="next"` target of a `Link` header, if any.
pub(crate) fn next_link(headers: &HeaderMap) -> Option<url::Url> {
    for value in headers.get_all(reqwest::header::LINK) {
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
