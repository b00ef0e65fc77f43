//! Graph and Exchange HTTP calls: tokens, `client-request-id`, call records, errors, and
//! `@odata.nextLink` pagination.

use super::MicrosoftSettings;
use super::auth::{Auth, Resource};
use super::errors::{ErrorBody, classify};
use crate::http;
use passage_core::CallRecord;
use passage_core::ports::{ActionFailure, FailureClass};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Instant;

pub struct Api {
    graph: url::Url,
    exchange: url::Url,
    tenant_id: String,
    http: reqwest::Client,
    auth: Auth,
}

/// A successful (or accepted) answer: status, parsed body (`Null` when empty), and the error
/// code when the status was an accepted failure.
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub error_code: Option<String>,
}

pub type Calls = Vec<CallRecord>;

/// Error answers a caller handles itself instead of failing: HTTP statuses, and (Exchange)
/// the cmdlet exceptions named in `details[0].message` (`…|Namespace.NameException|…`).
struct Accept<'a> {
    statuses: &'a [StatusCode],
    exceptions: &'a [&'a str],
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
                &settings.tenant_id,
                &settings.client_id,
                settings.credential.clone(),
            ),
            graph,
            exchange: settings.exchange_url,
            tenant_id: settings.tenant_id,
            http,
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
        let accept = Accept {
            statuses: accept,
            exceptions: &[],
        };
        self.send(Resource::Graph, method, url, body, &accept, calls)
            .await
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
            let accept = Accept {
                statuses: &[],
                exceptions: &[],
            };
            let answer = self
                .send(
                    Resource::Exchange,
                    Method::POST,
                    url,
                    Some(&body),
                    &accept,
                    calls,
                )
                .await?;
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
        self.send(
            Resource::Exchange,
            Method::POST,
            self.exchange_command_url(),
            Some(&body),
            &Accept {
                statuses: &[],
                exceptions: tolerated,
            },
            calls,
        )
        .await
    }

    async fn send(
        &self,
        resource: Resource,
        method: Method,
        url: url::Url,
        body: Option<&Value>,
        accept: &Accept<'_>,
        calls: &mut Calls,
    ) -> Result<Answer, ActionFailure> {
        let token = self.auth.bearer(&self.http, resource, calls).await?;
        let started = Instant::now();
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .bearer_auth(token)
            .header("client-request-id", uuid::Uuid::new_v4().to_string())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                calls.push(http::record(
                    method.as_str(),
                    &url,
                    None,
                    started,
                    "request-id",
                ));
                return Err(http::transport_failure(e));
            }
        };
        let mut record = http::record(
            method.as_str(),
            &url,
            Some(&response),
            started,
            "request-id",
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
        let parsed = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        if status.is_success() {
            calls.push(record);
            return Ok(Answer {
                status,
                body: parsed,
                error_code: None,
            });
        }
        let error: ErrorBody = serde_json::from_value(parsed.clone()).unwrap_or_default();
        let detail = error.describe();
        if let Some(exception) = accept
            .exceptions
            .iter()
            .find(|e| detail.contains(&format!(".{e}|")))
        {
            record.error_code = Some((*exception).to_owned());
            calls.push(record);
            return Ok(Answer {
                status,
                body: parsed,
                error_code: Some((*exception).to_owned()),
            });
        }
        if accept.statuses.contains(&status) {
            record.error_code = Some(error.error.code.clone()).filter(|c| !c.is_empty());
            calls.push(record);
            return Ok(Answer {
                status,
                body: parsed,
                error_code: Some(error.error.code),
            });
        }
        if status == StatusCode::UNAUTHORIZED {
            // A revoked or expired token: the next attempt fetches a new one.
            self.auth.forget(resource).await;
        }
        let mut failure = classify(resource, &method, url.path(), status, &error, retry_after);
        if resource == Resource::Exchange && detail.contains("ManagementObjectNotFoundException") {
            let cmdlet = body
                .and_then(|b| b["CmdletInput"]["CmdletName"].as_str())
                .unwrap_or_default();
            failure = if cmdlet.contains("DistributionGroup") {
                ActionFailure {
                    class: FailureClass::Permanent,
                    code: "group_not_found".into(),
                    message: format!(
                        "Exchange Online cannot find the distribution group or recipient (deleted, or not yet synchronised to Exchange): {detail}"
                    ),
                }
            } else {
                ActionFailure {
                    class: FailureClass::Permanent,
                    code: "mailbox_not_found".into(),
                    message: format!(
                        "Exchange Online cannot find the mailbox (was its Exchange licence removed before conversion?): {detail}"
                    ),
                }
            };
        }
        record.error_code = Some(failure.code.clone());
        calls.push(record);
        Err(failure)
    }
}

pub fn unexpected(what: &str) -> ActionFailure {
    ActionFailure {
        class: FailureClass::Retryable { retry_after: None },
        code: "unexpected_body".into(),
        message: format!("Microsoft returned {what}"),
    }
}

/// A link a provider returned is followed only to the origin Passage's token is for, so a
/// tampered or misrouted link can never carry the bearer token elsewhere.
fn same_origin(url: &url::Url, expected: &url::Url, api: &str) -> Result<(), ActionFailure> {
    if url.origin() == expected.origin() {
        return Ok(());
    }
    Err(ActionFailure {
        class: FailureClass::Permanent,
        code: "foreign_link".into(),
        message: format!(
            "{api} returned a link to another origin ({}); not followed",
            url.origin().ascii_serialization()
        ),
    })
}
