//! The operator API seen from the command line: `passage --server URL --token …` sends the
//! operator commands to a running Passage instead of opening its database, so operators need
//! not work on the host. The server decides who acts (the token's operator) and what they may
//! see; this client only shapes requests and shows answers.

use anyhow::{Context, Result, anyhow, bail};
use reqwest::Method;
use serde_json::Value;

/// A server and the operator token to present to it.
pub struct Remote {
    http: reqwest::Client,
    base: url::Url,
    token: String,
}

impl Remote {
    /// Refuses a plain-http server other than loopback: the token would cross the network in
    /// clear.
    pub fn new(server: &str, token: Option<&str>) -> Result<Self> {
        let mut base = url::Url::parse(server).with_context(|| {
            format!("--server {server:?} is not a URL (e.g. https://passage.example.com)")
        })?;
        // A stage prefix (API Gateway's `/prod`) stays when routes are joined to it.
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let loopback = matches!(base.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if base.scheme() != "https" && !(base.scheme() == "http" && loopback) {
            bail!(
                "--server must be an https:// URL (plain http only to localhost), got {server:?}"
            );
        }
        let token = token
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| anyhow!("--server needs an operator token: --token or PASSAGE_TOKEN"))?;
        Ok(Self {
            http: reqwest::Client::new(),
            base,
            token: token.trim().to_owned(),
        })
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value> {
        self.send(Method::GET, path, query, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Result<Value> {
        self.send(Method::POST, path, &[], Some(body)).await
    }

    /// The tenant a run belongs to, as the server sees it for this operator.
    pub async fn tenant_of(&self, run: &str) -> Result<String> {
        let found = self
            .get(&format!("/v1/operator/runs/{}", seg(run)), &[])
            .await?;
        found["tenant"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("the server's answer for run {run} names no tenant"))
    }

    /// `/v1/operator/tenants/{tenant}/runs/{run}` and what follows it.
    pub async fn run_path(&self, run: &str, rest: &str) -> Result<String> {
        let tenant = self.tenant_of(run).await?;
        Ok(format!(
            "/v1/operator/tenants/{}/runs/{}{rest}",
            seg(&tenant),
            seg(run)
        ))
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> Result<Value> {
        let url = self
            .base
            .join(path.trim_start_matches('/'))
            .context("building the URL")?;
        let mut request = self
            .http
            .request(method, url.clone())
            .bearer_auth(&self.token)
            .query(query);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request
            .send()
            .await
            .with_context(|| format!("could not reach {}", self.base))?;
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status.is_success() {
            return Ok(value);
        }
        let code = value["error"]["code"].as_str().unwrap_or("error");
        let message = value["error"]["message"].as_str().unwrap_or("(no message)");
        bail!("the server refused ({status}, {code}): {message}")
    }
}

/// One path segment, percent-encoded.
pub fn seg(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
