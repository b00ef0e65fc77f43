//! GitHub's REST API through the one call loop: a bearer token, the API version header,
//! `x-github-request-id`, `Link` pagination, and GitHub's throttling, which comes in two
//! kinds a refusal must tell apart from a missing permission — the primary limit (403 or 429
//! with `x-ratelimit-remaining: 0`, until `x-ratelimit-reset`) and secondary limits (403 or
//! 429 with `retry-after`).

use crate::call::{self, Answer, Call, Dialect, Refused, Verdict};
use crate::http;
use crate::scim::protocol::{ACCEPT, ErrorBody, MEDIA_TYPE};
use passage_core::CallRecord;
use passage_core::ports::{ActionFailure, FailureClass};
use passage_core::secret::Secret;
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, Response, StatusCode, header};
use serde_json::Value;
use std::time::Duration;

/// The REST API version Passage is written against.
pub const API_VERSION: &str = "2022-11-28";
/// A backstop against a list that never stops paging.
const MAX_PAGES: usize = 200;

pub struct Api {
    base: url::Url,
    token: Secret,
    http: reqwest::Client,
}

fn header_u64(response: &Response, name: &str) -> Option<u64> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

impl Dialect for Api {
    const REQUEST_ID: &'static str = "x-github-request-id";

    async fn authorize(
        &self,
        request: RequestBuilder,
        call: &Call<'_>,
        _calls: &mut Vec<CallRecord>,
    ) -> Result<RequestBuilder, ActionFailure> {
        let scim = call.url.path().starts_with("/scim/");
        let mut request = request
            .bearer_auth(self.token.expose())
            .header("x-github-api-version", API_VERSION)
            .header(
                header::ACCEPT,
                if scim {
                    ACCEPT
                } else {
                    "application/vnd.github+json"
                },
            );
        if scim && call.body.is_some() {
            request = request.header(header::CONTENT_TYPE, MEDIA_TYPE);
        }
        Ok(request)
    }

    /// `retry-after` (a secondary limit), else, with the primary budget spent, the time until
    /// `x-ratelimit-reset`.
    fn wait(&self, response: &Response) -> Option<Duration> {
        if let Some(wait) = http::retry_after(response) {
            return Some(wait);
        }
        if header_u64(response, "x-ratelimit-remaining") != Some(0) {
            return None;
        }
        let reset = header_u64(response, "x-ratelimit-reset")?;
        let now = jiff::Timestamp::now().as_second().max(0) as u64;
        Some(Duration::from_secs(reset.saturating_sub(now).max(1)))
    }

    fn note(&self, response: &Response, record: &mut CallRecord) {
        record.rate_limit_remaining = header_u64(response, "x-ratelimit-remaining");
    }

    fn refusal(&self, refused: &Refused<'_>) -> Verdict {
        let body = ErrorBody::parse(refused.body);
        Verdict::Fail(classify(refused.status, &body.detail, refused.wait))
    }
}

/// A refusal explained. A 403 or 429 that names a wait is throttling; a 403 that does not is
/// a permission the token lacks.
pub fn classify(status: StatusCode, message: &str, wait: Option<Duration>) -> ActionFailure {
    let throttled = matches!(status.as_u16(), 403 | 429)
        && (wait.is_some() || message.to_ascii_lowercase().contains("rate limit"));
    let (class, code, text) = match status.as_u16() {
        _ if throttled => (
            FailureClass::Throttled { retry_after: wait },
            if message.contains("secondary") {
                "secondary_rate_limit"
            } else {
                "rate_limited"
            },
            format!("GitHub rate limit: {message}"),
        ),
        401 => (
            FailureClass::Permanent,
            "bad_credentials",
            format!("GitHub rejected the token ({message}); issue a new one"),
        ),
        403 => (
            FailureClass::Permanent,
            "forbidden",
            format!(
                "GitHub refused ({message}): the token needs admin:org (memberships, credential authorizations), manage_billing:copilot (Copilot seats) or scim:enterprise (managed users), and its owner must be an organization owner"
            ),
        ),
        404 => (
            FailureClass::Permanent,
            "not_found",
            format!(
                "GitHub has no such resource ({message}); check the organization and enterprise names"
            ),
        ),
        _ if http::status_class(status, wait).is_some() => (
            http::status_class(status, wait).unwrap_or(FailureClass::Permanent),
            "server_error",
            format!("GitHub answered {status}: {message}"),
        ),
        _ => (
            FailureClass::Permanent,
            "refused",
            format!("GitHub refused the call ({status}): {message}"),
        ),
    };
    ActionFailure {
        class,
        code: code.into(),
        message: text,
    }
}

pub(crate) fn unexpected(what: &str) -> ActionFailure {
    ActionFailure {
        class: FailureClass::Retryable { retry_after: None },
        code: "unexpected_body".into(),
        message: format!("GitHub returned {what} Passage could not read"),
    }
}

impl Api {
    pub fn new(base: url::Url, token: Secret, http: reqwest::Client) -> Self {
        Self { base, token, http }
    }

    /// `{base}/{segments…}`, each segment escaped.
    pub fn url(&self, segments: &[&str]) -> url::Url {
        http::join(&self.base, segments)
    }

    pub async fn call(
        &self,
        method: Method,
        url: url::Url,
        body: Option<&Value>,
        accept: &[StatusCode],
        calls: &mut Vec<CallRecord>,
    ) -> Result<Answer, ActionFailure> {
        http::same_origin(&url, &self.base, "GitHub")?;
        let call = Call {
            method,
            url,
            body,
            accept,
        };
        call::send(&self.http, self, &call, calls).await
    }

    /// Every item of a list, following `Link: <…>; rel="next"` on GitHub's own origin.
    pub async fn list(
        &self,
        mut url: url::Url,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Vec<Value>, ActionFailure> {
        url.query_pairs_mut().append_pair("per_page", "100");
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            let answer = self.call(Method::GET, url, None, &[], calls).await?;
            let page = answer.body.as_array().ok_or_else(|| unexpected("a list"))?;
            items.extend(page.iter().cloned());
            match next_link(&answer.headers) {
                Some(next) => url = next,
                None => return Ok(items),
            }
        }
        Err(unexpected("a list that never ends"))
    }
}

/// The `rel="next"` target of a `Link` header.
fn next_link(headers: &HeaderMap) -> Option<url::Url> {
    let value = headers.get(header::LINK)?.to_str().ok()?;
    value.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"")
            .then(|| {
                url::Url::parse(target.trim().trim_start_matches('<').trim_end_matches('>')).ok()
            })
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_403_is_throttling_only_when_it_says_so() {
        let wait = Some(Duration::from_secs(60));
        let secondary = classify(
            StatusCode::FORBIDDEN,
            "You have exceeded a secondary rate limit.",
            wait,
        );
        assert_eq!(
            secondary.class,
            FailureClass::Throttled { retry_after: wait }
        );
        assert_eq!(secondary.code, "secondary_rate_limit");
        let primary = classify(
            StatusCode::FORBIDDEN,
            "API rate limit exceeded for user ID 1.",
            wait,
        );
        assert_eq!(primary.code, "rate_limited");
        let scope = classify(StatusCode::FORBIDDEN, "Must have admin:org scope", None);
        assert_eq!(scope.class, FailureClass::Permanent);
        assert!(scope.message.contains("admin:org"), "{}", scope.message);
    }

    #[test]
    fn links_are_read_for_next_only() {
        let mut h = HeaderMap::new();
        h.insert(
            header::LINK,
            "<https://api.github.com/x?page=2>; rel=\"next\", <https://api.github.com/x?page=5>; rel=\"last\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&h).unwrap().as_str(),
            "https://api.github.com/x?page=2"
        );
        assert_eq!(next_link(&HeaderMap::new()), None);
    }
}
