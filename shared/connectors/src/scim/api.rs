//! One SCIM service provider's HTTP calls: the bearer token, SCIM's media type, `If-Match` on
//! writes when the server keeps versions, what the server says it supports
//! (`ServiceProviderConfig`, under either of the names servers use), and list pages.

use super::errors::classify;
use super::protocol::{ACCEPT, ErrorBody, MEDIA_TYPE, Page, ScimUser};
use crate::call::{self, Answer, Call, Dialect, Refused, Verdict};
use crate::http;
use passage_core::CallRecord;
use passage_core::ports::{ActionFailure, FailureClass};
use passage_core::secret::Secret;
use reqwest::{Method, RequestBuilder, StatusCode, header};
use serde_json::Value;
use tokio::sync::Mutex;

/// The most pages a listing reads before giving up on a server that never stops paging.
const MAX_PAGES: usize = 500;
/// Users asked for per page; servers may return fewer.
const PAGE: usize = 100;

/// What the server says it supports, from `ServiceProviderConfig`. A server without one is
/// taken to support what RFC 7644 makes common (PATCH, filters), and ETags only where it
/// sends them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Features {
    pub patch: bool,
    pub filter: bool,
    pub etag: bool,
}

impl Features {
    fn parse(body: &Value) -> Self {
        let flag = |k: &str, default: bool| body[k]["supported"].as_bool().unwrap_or(default);
        Self {
            patch: flag("patch", true),
            filter: flag("filter", true),
            etag: flag("etag", false),
        }
    }
}

pub struct Api {
    /// The tenant's name for the app, in messages.
    pub app: String,
    base: url::Url,
    token: Secret,
    http: reqwest::Client,
    features: Mutex<Option<Features>>,
}

/// One call's dialect: the API's credentials and media type, plus the version a write
/// expects.
struct Wire<'a> {
    api: &'a Api,
    if_match: Option<&'a str>,
}

impl Dialect for Wire<'_> {
    /// SCIM names no request-id header; this is the one most servers (and proxies) use.
    const REQUEST_ID: &'static str = "x-request-id";

    async fn authorize(
        &self,
        request: RequestBuilder,
        call: &Call<'_>,
        _calls: &mut Vec<CallRecord>,
    ) -> Result<RequestBuilder, ActionFailure> {
        let mut request = request
            .bearer_auth(self.api.token.expose())
            .header(header::ACCEPT, ACCEPT);
        if call.body.is_some() {
            request = request.header(header::CONTENT_TYPE, MEDIA_TYPE);
        }
        if let Some(tag) = self.if_match {
            request = request.header(header::IF_MATCH, tag);
        }
        Ok(request)
    }

    fn refusal(&self, refused: &Refused<'_>) -> Verdict {
        let body = ErrorBody::parse(refused.body);
        Verdict::Fail(classify(&self.api.app, refused.status, &body, refused.wait))
    }

    fn accepted_code(&self, body: &[u8]) -> Option<String> {
        Some(ErrorBody::parse(body).scim_type.unwrap_or_default())
    }
}

pub(crate) fn unexpected(app: &str, what: &str) -> ActionFailure {
    ActionFailure {
        class: FailureClass::Retryable { retry_after: None },
        code: "unexpected_body".into(),
        message: format!("{app}'s SCIM server returned {what} Passage could not read"),
    }
}

impl Api {
    pub fn new(app: String, base: url::Url, token: Secret, http: reqwest::Client) -> Self {
        Self {
            app,
            base,
            token,
            http,
            features: Mutex::new(None),
        }
    }

    /// `{base}/{segments…}`, each segment escaped.
    pub fn url(&self, segments: &[&str]) -> url::Url {
        http::join(&self.base, segments)
    }

    /// Sends one call. Statuses in `accept` come back as answers for the caller to read.
    pub async fn call(
        &self,
        method: Method,
        url: url::Url,
        body: Option<&Value>,
        if_match: Option<&str>,
        accept: &[StatusCode],
        calls: &mut Vec<CallRecord>,
    ) -> Result<Answer, ActionFailure> {
        http::same_origin(&url, &self.base, &self.app)?;
        let call = Call {
            method,
            url,
            body,
            accept,
        };
        let wire = Wire {
            api: self,
            if_match,
        };
        call::send(&self.http, &wire, &call, calls).await
    }

    /// What the server supports, asked once per connector (`/ServiceProviderConfig`, then the
    /// plural some servers use) and assumed when it answers neither.
    pub async fn features(&self, calls: &mut Vec<CallRecord>) -> Result<Features, ActionFailure> {
        let mut known = self.features.lock().await;
        if let Some(f) = *known {
            return Ok(f);
        }
        let missing = [StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED];
        let mut found = None;
        for name in ["ServiceProviderConfig", "ServiceProviderConfigs"] {
            let answer = self
                .call(Method::GET, self.url(&[name]), None, None, &missing, calls)
                .await?;
            if answer.status.is_success() {
                found = Some(Features::parse(&answer.body));
                break;
            }
        }
        let features = found.unwrap_or(Features {
            patch: true,
            filter: true,
            etag: false,
        });
        *known = Some(features);
        Ok(features)
    }

    /// One user by id; `None` when the server says there is none (404).
    pub async fn user(
        &self,
        id: &str,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Option<(ScimUser, Option<String>)>, ActionFailure> {
        let answer = self
            .call(
                Method::GET,
                self.url(&["Users", id]),
                None,
                None,
                &[StatusCode::NOT_FOUND],
                calls,
            )
            .await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let user = ScimUser::parse(&answer.body).ok_or_else(|| unexpected(&self.app, "a user"))?;
        let etag = answer
            .headers
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| user.version.clone());
        Ok(Some((user, etag)))
    }

    /// The users a filter finds; `None` when the server refuses the filter (400, 403, 501).
    pub async fn search(
        &self,
        filter: &str,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Option<Vec<ScimUser>>, ActionFailure> {
        let mut url = self.url(&["Users"]);
        url.query_pairs_mut().append_pair("filter", filter);
        let refused = [
            StatusCode::BAD_REQUEST,
            StatusCode::FORBIDDEN,
            StatusCode::NOT_IMPLEMENTED,
        ];
        let answer = self
            .call(Method::GET, url, None, None, &refused, calls)
            .await?;
        if !answer.status.is_success() {
            return Ok(None);
        }
        let page = Page::parse(&answer.body).ok_or_else(|| unexpected(&self.app, "a list"))?;
        Ok(Some(page.users))
    }

    /// Every user, page by page: `startIndex` advances by what each page holds (servers may
    /// return fewer than asked), until a page is empty or the total is reached.
    pub async fn all_users(
        &self,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Vec<ScimUser>, ActionFailure> {
        let mut users = Vec::new();
        let mut start = 1;
        for _ in 0..MAX_PAGES {
            let mut url = self.url(&["Users"]);
            url.query_pairs_mut()
                .append_pair("startIndex", &start.to_string())
                .append_pair("count", &PAGE.to_string());
            let answer = self.call(Method::GET, url, None, None, &[], calls).await?;
            let page = Page::parse(&answer.body).ok_or_else(|| unexpected(&self.app, "a list"))?;
            users.extend(page.users);
            start += page.count;
            if page.count == 0 || start > page.total {
                return Ok(users);
            }
        }
        Err(unexpected(&self.app, "a listing that never ends"))
    }
}
