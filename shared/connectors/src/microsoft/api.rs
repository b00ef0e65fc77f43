//! Graph and Exchange HTTP calls: tokens, `client-request-id`, call records, errors, and
//! `@odata.nextLink` pagination.

use super::MicrosoftSettings;
use super::auth::{Auth, Resource};
use super::errors::{ErrorBody, Refusal, classify, exchange_object_missing};
use super::pace;
use crate::call::{self, Answer, Call, Dialect, Refused, Verdict};
use crate::http::same_origin;
use crate::pace::{OrgPace, Paced};
use passage_core::pace::PaceSignal;
use passage_core::ports::{ActionFailure, FailureClass};
use passage_core::{CallRecord, Provider};
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

pub struct Api {
    graph: url::Url,
    exchange: url::Url,
    tenant_id: String,
    http: reqwest::Client,
    auth: Auth,
    /// The tenant's budgets (unpaced until the registry paces the connector).
    pub pace: OrgPace,
    /// The tenant's shared-resource sweep (off until the registry says otherwise).
    pub sweep: passage_core::SweepPolicy,
}

pub type Calls = Vec<CallRecord>;

/// One call's view of the API: which resource its token is for, and (Exchange) the cmdlet
/// exceptions named in `details[0].message` (`…|Namespace.NameException|…`) that the caller
/// handles itself instead of failing.
struct Target<'a> {
    api: &'a Api,
    resource: Resource,
    tolerated: &'a [&'a str],
    /// The application permissions (`roles`) of the token the call carried: Graph answers a
    /// missing permission and a missing directory role with the same 403, and only what the
    /// token holds tells them apart.
    held: std::sync::Mutex<Vec<String>>,
}

/// Percent-encodes a query value, keeping what OData expressions use literally.
fn encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~,()'$:@/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Api {
    pub fn new(settings: MicrosoftSettings, http: reqwest::Client) -> Self {
        let mut graph = settings.graph_url.clone();
        graph.set_query(None);
        if let Ok(mut segs) = graph.path_segments_mut() {
            segs.pop_if_empty();
        }
        if !graph.path().ends_with("/v1.0")
            && let Ok(mut segs) = graph.path_segments_mut()
        {
            segs.push("v1.0");
        }
        Self {
            auth: Auth::new(
                &settings.login_url,
                settings.cloud,
                &settings.tenant_id,
                &settings.client_id,
                settings.credential.clone(),
            ),
            graph,
            exchange: settings.exchange_url,
            tenant_id: settings.tenant_id,
            http,
            pace: OrgPace::off(Provider::Microsoft),
            sweep: passage_core::SweepPolicy::off(),
        }
    }

    /// `{graph}/v1.0/{segments…}?{query}`; `$`-keys stay literal, values are encoded.
    pub fn graph_url(&self, segments: &[&str], query: &[(&str, &str)]) -> url::Url {
        let mut url = self.graph.clone();
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.extend(segments);
        }
        if !query.is_empty() {
            let q: Vec<String> = query
                .iter()
                .map(|(k, v)| format!("{k}={}", encode(v)))
                .collect();
            url.set_query(Some(&q.join("&")));
        }
        url
    }

    /// A token for `resource` newly issued, not one from the cache: a token carries the
    /// permissions granted when it was issued, and the preflight must see today's.
    pub(crate) async fn fresh_token(
        &self,
        resource: Resource,
        calls: &mut Calls,
    ) -> Result<String, ActionFailure> {
        self.auth.forget(resource).await;
        self.auth.bearer(&self.http, resource, calls).await
    }

    fn exchange_command_url(&self) -> url::Url {
        let mut url = self.exchange.clone();
        url.set_query(None);
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.pop_if_empty()
                .extend(["adminapi", "beta", &self.tenant_id, "InvokeCommand"]);
        }
        url
    }

    /// One Graph call. Non-2xx answers become classified failures, except those in `accept`.
    pub async fn graph(
        &self,
        method: Method,
        url: url::Url,
        body: Option<&Value>,
        accept: &[StatusCode],
        calls: &mut Calls,
    ) -> Result<Answer, ActionFailure> {
        same_origin(&url, &self.graph, "Graph")?;
        let call = Call {
            method,
            url,
            body,
            accept,
        };
        self.send(Resource::Graph, &[], &call, calls).await
    }

    /// GETs every page of a collection, following `@odata.nextLink` verbatim.
    pub async fn list(
        &self,
        mut url: url::Url,
        calls: &mut Calls,
    ) -> Result<Vec<Value>, ActionFailure> {
        let mut items = Vec::new();
        for _ in 0..1000 {
            let answer = self.graph(Method::GET, url, None, &[], calls).await?;
            let Some(page) = answer.body["value"].as_array() else {
                return Err(unexpected("a collection without `value`"));
            };
            items.extend(page.iter().cloned());
            match answer.body["@odata.nextLink"].as_str() {
                Some(next) => {
                    url = url::Url::parse(next)
                        .map_err(|_| unexpected("an unreadable @odata.nextLink"))?;
                }
                None => return Ok(items),
            }
        }
        Err(unexpected("a collection that never ends"))
    }

    /// Runs a listing cmdlet and returns every row: Exchange pages long answers, and the next
    /// page is the same command sent again to `@odata.nextLink`. A proof of absence read from
    /// one page would prove nothing, so every page is read.
    pub async fn cmdlet_rows(
        &self,
        name: &str,
        parameters: Value,
        calls: &mut Calls,
    ) -> Result<Vec<Value>, ActionFailure> {
        let body = json!({"CmdletInput": {"CmdletName": name, "Parameters": parameters}});
        let mut url = self.exchange_command_url();
        let mut rows = Vec::new();
        for _ in 0..1000 {
            let call = Call {
                method: Method::POST,
                url,
                body: Some(&body),
                accept: &[],
            };
            let answer = self.send(Resource::Exchange, &[], &call, calls).await?;
            let Some(page) = answer.body["value"].as_array() else {
                return Err(unexpected(&format!("a {name} answer without `value`")));
            };
            rows.extend(page.iter().cloned());
            match answer.body["@odata.nextLink"].as_str() {
                Some(next) => {
                    url = url::Url::parse(next)
                        .map_err(|_| unexpected("an unreadable @odata.nextLink"))?;
                    same_origin(&url, &self.exchange, "Exchange Online")?;
                }
                None => return Ok(rows),
            }
        }
        Err(unexpected("a cmdlet answer that never ends"))
    }

    /// Runs one Exchange Online cmdlet through the admin endpoint; returns its `value` and
    /// `@adminapi.warnings`.
    pub async fn cmdlet(
        &self,
        name: &str,
        parameters: Value,
        calls: &mut Calls,
    ) -> Result<Answer, ActionFailure> {
        self.cmdlet_unless(name, parameters, &[], calls).await
    }

    /// As [`Api::cmdlet`], but a failure whose exception names one of `tolerated` (e.g.
    /// `MemberNotFoundException`) comes back as an answer: non-2xx status, the error body,
    /// and `error_code` set to that exception's name.
    pub async fn cmdlet_unless(
        &self,
        name: &str,
        parameters: Value,
        tolerated: &[&str],
        calls: &mut Calls,
    ) -> Result<Answer, ActionFailure> {
        let body = json!({"CmdletInput": {"CmdletName": name, "Parameters": parameters}});
        let call = Call {
            method: Method::POST,
            url: self.exchange_command_url(),
            body: Some(&body),
            accept: &[],
        };
        self.send(Resource::Exchange, tolerated, &call, calls).await
    }

    async fn send(
        &self,
        resource: Resource,
        tolerated: &[&str],
        call: &Call<'_>,
        calls: &mut Calls,
    ) -> Result<Answer, ActionFailure> {
        let target = Target {
            api: self,
            resource,
            tolerated,
            held: std::sync::Mutex::new(Vec::new()),
        };
        call::send(&self.http, &target, call, calls).await
    }
}

/// Microsoft's part of every call: a token for the call's resource, `client-request-id` out
/// and `request-id` back, and the error dialect Graph and Exchange share.
impl Dialect for Target<'_> {
    const REQUEST_ID: &'static str = "request-id";

    async fn authorize(
        &self,
        request: RequestBuilder,
        call: &Call<'_>,
        calls: &mut Vec<CallRecord>,
    ) -> Result<RequestBuilder, ActionFailure> {
        let api = self.api;
        let token = api.auth.bearer(&api.http, self.resource, calls).await?;
        let roles = crate::preflight::token_claims(&token)
            .map(|claims| crate::preflight::strings(&claims, "roles"))
            .unwrap_or_default();
        *self.held.lock().unwrap_or_else(|e| e.into_inner()) = roles;
        let request = request
            .bearer_auth(token)
            .header("client-request-id", uuid::Uuid::new_v4().to_string());
        Ok(if is_advanced_query(&call.url) {
            request.header("ConsistencyLevel", "eventual")
        } else {
            request
        })
    }

    fn accepted_code(&self, body: &[u8]) -> Option<String> {
        Some(ErrorBody::parse(body).error.code)
    }

    fn paced(&self, call: &Call<'_>) -> Option<Paced<'_>> {
        let family = pace::family(self.resource, &call.method, call.url.path());
        self.api.pace.turn(family)
    }

    fn pace_signal(&self, status: StatusCode, headers: &HeaderMap, _body: &[u8]) -> PaceSignal {
        pace::signal(status, headers)
    }

    fn refusal(&self, refused: &Refused<'_>) -> Verdict {
        let error = ErrorBody::parse(refused.body);
        let detail = error.describe();
        if let Some(exception) = self
            .tolerated
            .iter()
            .find(|e| detail.contains(&format!(".{e}|")))
        {
            return Verdict::Accept(Some((*exception).to_owned()));
        }
        let resource = self.resource;
        if resource == Resource::Exchange && detail.contains("ManagementObjectNotFoundException") {
            let cmdlet = refused
                .call
                .body
                .and_then(|b| b["CmdletInput"]["CmdletName"].as_str())
                .unwrap_or_default();
            return Verdict::Fail(exchange_object_missing(cmdlet, &detail));
        }
        let (call, status, wait) = (refused.call, refused.status, refused.wait);
        let path = call.url.path();
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let refusal = Refusal {
            resource,
            method: &call.method,
            path,
            status,
            held: &held,
        };
        Verdict::Fail(classify(&refusal, &error, wait))
    }

    /// A token that expired or was revoked since it was cached: the call is sent once more
    /// with a freshly issued one. A second refusal is the app's credential or consent, which
    /// no further token would change, so it fails.
    async fn credential_refused(&self) -> bool {
        self.api.auth.forget(self.resource).await;
        true
    }
}

/// A directory query with `$count=true` is an advanced query: Graph serves it (and filters
/// such as `proxyAddresses/any(…)`) only with `ConsistencyLevel: eventual`. Its next pages keep
/// `$count`, so they say so too.
fn is_advanced_query(url: &url::Url) -> bool {
    url.query_pairs()
        .any(|(k, v)| k == "$count" && v.eq_ignore_ascii_case("true"))
}

pub fn unexpected(what: &str) -> ActionFailure {
    ActionFailure {
        class: FailureClass::Retryable { retry_after: None },
        code: "unexpected_body".into(),
        message: format!("Microsoft returned {what}"),
    }
}
