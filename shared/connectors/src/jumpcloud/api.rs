//! JumpCloud HTTP calls: credentials and `x-org-id` on every call, call records, error
//! classification, and `limit`/`skip` pagination (v1 `{totalCount, results}`, v2 bare arrays,
//! and v1 searches, which page in their body).

use super::JumpCloudSettings;
use super::auth::{Auth, default_token_url};
use super::errors::{JcError, classify};
use super::pace;
use crate::call::{self, Answer, Call, Dialect, Refused, Verdict};
use crate::pace::{OrgPace, Paced};
use passage_core::ports::{ActionFailure, FailureClass};
use passage_core::{CallRecord, Provider};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

/// Whether a list operation's spec declares `sort`. Most do, and paging by `skip` is stable
/// only with `sort=_id`; the v2 traversals (`/users/{id}/systems`) and the Apple MDM list do
/// not, and get none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    ById,
    Undeclared,
}

/// JumpCloud's largest page.
pub const PAGE: usize = 100;
/// A backstop against a provider that never stops paging.
const MAX_PAGES: usize = 1000;

pub struct Api {
    base_url: url::Url,
    insights_url: url::Url,
    org_id: Option<String>,
    http: reqwest::Client,
    auth: Auth,
    /// The org's budgets (unpaced until the registry paces the connector).
    pub pace: OrgPace,
    /// Whether the snapshot records the leaver's sudo rights (the tenant's sweep).
    pub admin_access: bool,
}

pub(crate) fn unexpected(what: &str, e: impl std::fmt::Display) -> ActionFailure {
    ActionFailure {
        class: FailureClass::Retryable { retry_after: None },
        code: "unexpected_body".into(),
        message: format!("JumpCloud returned {what} Passage could not read: {e}"),
    }
}

/// Directory Insights lives on `api.jumpcloud.com` (`api.eu.jumpcloud.com` in the EU); any
/// other base (the emulator) serves it on its own origin.
fn insights_base(base_url: &url::Url) -> url::Url {
    let host = match base_url.host_str() {
        Some("console.jumpcloud.com") => "https://api.jumpcloud.com",
        Some("console.eu.jumpcloud.com") => "https://api.eu.jumpcloud.com",
        _ => return base_url.clone(),
    };
    url::Url::parse(host).expect("static URL")
}

impl Api {
    pub fn new(settings: JumpCloudSettings, http: reqwest::Client) -> Self {
        let token_url = settings
            .token_url
            .clone()
            .unwrap_or_else(|| default_token_url(&settings.base_url));
        Self {
            insights_url: insights_base(&settings.base_url),
            base_url: settings.base_url,
            org_id: settings.org_id.filter(|o| !o.trim().is_empty()),
            http,
            auth: Auth::new(settings.credential, token_url),
            pace: OrgPace::off(Provider::Jumpcloud),
            admin_access: false,
        }
    }

    /// `{base}/{segments…}`, each segment escaped.
    pub fn url(&self, segments: &[&str]) -> url::Url {
        let mut u = self.base_url.clone();
        u.set_query(None);
        u.path_segments_mut()
            .expect("http urls have paths")
            .clear()
            .extend(segments);
        u
    }

    pub fn insights_url(&self) -> url::Url {
        let mut u = self.insights_url.clone();
        u.set_path("/insights/directory/v1/events");
        u
    }

    /// Sends one call and records it. Non-2xx answers become classified failures, except those
    /// in `accept` (e.g. a 404 the caller treats as "already gone").
    pub async fn call(
        &self,
        method: Method,
        url: url::Url,
        body: Option<&Value>,
        accept: &[StatusCode],
        calls: &mut Vec<CallRecord>,
    ) -> Result<Answer, ActionFailure> {
        let call = Call {
            method,
            url,
            body,
            accept,
        };
        call::send(&self.http, self, &call, calls).await
    }

    /// Every item of a v1 list (`{totalCount, results}`), paged with limit and skip, sorted
    /// as `sort` says.
    pub async fn list_v1(
        &self,
        url: url::Url,
        sort: Sort,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Vec<Value>, ActionFailure> {
        let mut items = Vec::new();
        for page in 0..MAX_PAGES {
            let answer = self
                .call(
                    Method::GET,
                    paged(&url, page * PAGE, sort),
                    None,
                    &[],
                    calls,
                )
                .await?;
            if v1_page(&answer.body, &mut items)? {
                return Ok(items);
            }
        }
        Err(too_many_pages())
    }

    /// Every item a v1 search (`POST /api/search/…`) finds for `filter`: the search's body
    /// carries the filter, `limit` and `skip`, as its spec declares (the list operation
    /// beside it takes no filter).
    pub async fn search_v1(
        &self,
        url: url::Url,
        filter: Value,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Vec<Value>, ActionFailure> {
        let mut items = Vec::new();
        for page in 0..MAX_PAGES {
            let body = json!({"filter": filter, "limit": PAGE, "skip": page * PAGE});
            let answer = self
                .call(Method::POST, url.clone(), Some(&body), &[], calls)
                .await?;
            if v1_page(&answer.body, &mut items)? {
                return Ok(items);
            }
        }
        Err(too_many_pages())
    }

    /// Every item of a v2 list (a bare array), paged with limit and skip, sorted as `sort`
    /// says.
    pub async fn list_v2(
        &self,
        url: url::Url,
        sort: Sort,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Vec<Value>, ActionFailure> {
        let mut items = Vec::new();
        for page in 0..MAX_PAGES {
            let answer = self
                .call(
                    Method::GET,
                    paged(&url, page * PAGE, sort),
                    None,
                    &[],
                    calls,
                )
                .await?;
            let Value::Array(results) = answer.body else {
                return Err(unexpected("a list", "not a JSON array"));
            };
            let got = results.len();
            items.extend(results);
            if got < PAGE {
                return Ok(items);
            }
        }
        Err(too_many_pages())
    }
}

/// JumpCloud's part of every call: its credential, `x-org-id` for a multi-tenant one, and
/// its two error dialects.
impl Dialect for Api {
    const REQUEST_ID: &'static str = "x-request-id";

    async fn authorize(
        &self,
        request: RequestBuilder,
        _call: &Call<'_>,
        calls: &mut Vec<CallRecord>,
    ) -> Result<RequestBuilder, ActionFailure> {
        let (name, value) = self.auth.header(&self.http, calls).await?;
        let request = request.header(name, value);
        Ok(match &self.org_id {
            Some(org) => request.header("x-org-id", org),
            None => request,
        })
    }

    fn paced(&self, call: &Call<'_>) -> Option<Paced<'_>> {
        self.pace.turn(pace::family(call.url.path()))
    }

    fn refusal(&self, refused: &Refused<'_>) -> Verdict {
        let error = JcError::parse(refused.body);
        let org_id_sent = self.org_id.is_some();
        Verdict::Fail(classify(refused.status, &error, refused.wait, org_id_sent))
    }

    /// A service-account token refused before its announced expiry is fetched again, once.
    async fn credential_refused(&self) -> bool {
        if !self.auth.uses_token() {
            return false;
        }
        self.auth.forget_token().await;
        true
    }
}

/// Adds one v1 page (`{totalCount, results}`) to `items`; true when it was the last.
fn v1_page(body: &Value, items: &mut Vec<Value>) -> Result<bool, ActionFailure> {
    let total = body["totalCount"].as_u64();
    let Some(results) = body["results"].as_array() else {
        return Err(unexpected("a list", "no `results` array"));
    };
    items.extend(results.iter().cloned());
    let all_read = total.is_some_and(|t| items.len() as u64 >= t);
    Ok(all_read || results.len() < PAGE)
}

fn paged(url: &url::Url, skip: usize, sort: Sort) -> url::Url {
    let mut u = url.clone();
    u.query_pairs_mut()
        .append_pair("limit", &PAGE.to_string())
        .append_pair("skip", &skip.to_string());
    if sort == Sort::ById {
        u.query_pairs_mut().append_pair("sort", "_id");
    }
    u
}

fn too_many_pages() -> ActionFailure {
    ActionFailure {
        class: FailureClass::Permanent,
        code: "too_many_pages".into(),
        message: format!("JumpCloud kept paging past {} items", MAX_PAGES * PAGE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insights_host_follows_the_region() {
        let us = url::Url::parse(super::super::US_BASE_URL).unwrap();
        assert_eq!(insights_base(&us).as_str(), "https://api.jumpcloud.com/");
        let eu = url::Url::parse(super::super::EU_BASE_URL).unwrap();
        assert_eq!(insights_base(&eu).as_str(), "https://api.eu.jumpcloud.com/");
        let local = url::Url::parse("http://127.0.0.1:4000").unwrap();
        assert_eq!(insights_base(&local), local);
    }

    #[test]
    fn pages_carry_limit_skip_and_sort() {
        let u = url::Url::parse("http://x/api/systemusers?filter=email:$eq:a@b").unwrap();
        let p = paged(&u, 200, Sort::ById);
        assert_eq!(
            p.query(),
            Some("filter=email:$eq:a@b&limit=100&skip=200&sort=_id")
        );
        let unsorted = paged(&u, 0, Sort::Undeclared);
        assert_eq!(
            unsorted.query(),
            Some("filter=email:$eq:a@b&limit=100&skip=0")
        );
    }
}
