//! Shared helpers for the JumpCloud emulator tests: a started emulator and
//! a small HTTP client that authenticates like JumpCloud's SDKs. Included
//! by the other `jumpcloud_*` test files with `#[path]`; on its own it is a
//! test binary with no tests.

#![cfg(feature = "jumpcloud")]
#![allow(dead_code)]

use base64::Engine;
use passage_sandbox::jumpcloud::{JumpCloudConfig, JumpCloudEmulator};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;

pub struct Harness {
    pub jc: JumpCloudEmulator,
    pub http: reqwest::Client,
}

impl Harness {
    pub async fn start() -> Self {
        Self::with_config(JumpCloudConfig::default()).await
    }

    pub async fn with_config(config: JumpCloudConfig) -> Self {
        let jc = JumpCloudEmulator::start(config)
            .await
            .expect("emulator starts");
        Self {
            jc,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.jc.base_url())
    }

    /// A request with the default admin API key.
    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.with_key(method, path, &self.jc.api_key())
    }

    pub fn with_key(&self, method: Method, path: &str, key: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("x-api-key", key)
            .header("accept", "application/json")
    }

    pub fn with_bearer(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(token)
            .header("accept", "application/json")
    }

    pub async fn get(&self, path: &str) -> Response {
        send(self.req(Method::GET, path)).await
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> Response {
        send(self.req(Method::PUT, path).json(body)).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        send(self.req(Method::POST, path).json(body)).await
    }

    /// The service-account token request JumpCloud documents.
    pub async fn token_request(&self, client_id: &str, secret: &str, form: &str) -> Response {
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
        send(
            self.http
                .post(self.jc.token_url())
                .header("authorization", format!("Basic {basic}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.to_owned()),
        )
        .await
    }

    /// A bearer token for the default service account.
    pub async fn token(&self) -> String {
        let (id, secret) = self.jc.service_account();
        self.token_for(&id, &secret).await
    }

    pub async fn token_for(&self, client_id: &str, secret: &str) -> String {
        let response = self
            .token_request(client_id, secret, "grant_type=client_credentials&scope=api")
            .await;
        assert_eq!(response.status(), StatusCode::OK, "token request");
        let body: Value = response.json().await.expect("token json");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    pub async fn shutdown(self) {
        self.jc.shutdown().await;
    }
}

pub async fn send(request: RequestBuilder) -> Response {
    request.send().await.expect("request is sent")
}

pub async fn json(response: Response) -> Value {
    response.json().await.expect("json body")
}

/// Asserts a v1 / Directory Insights error (`{"message": …}` only) and
/// returns its message.
pub async fn expect_v1_error(response: Response, status: u16) -> String {
    assert_eq!(response.status().as_u16(), status, "status");
    let body = json(response).await;
    let map = body.as_object().expect("object body");
    assert_eq!(map.len(), 1, "only `message` in {body}");
    map["message"].as_str().expect("message").to_owned()
}

/// Asserts a v2 error (`{"code", "message", "status"}`) and returns its
/// message.
pub async fn expect_v2_error(response: Response, status: u16) -> String {
    assert_eq!(response.status().as_u16(), status, "status");
    let body = json(response).await;
    assert_eq!(body["code"], status, "code in {body}");
    let reason = StatusCode::from_u16(status)
        .unwrap()
        .canonical_reason()
        .unwrap();
    assert_eq!(body["status"], reason, "status in {body}");
    body["message"].as_str().expect("message").to_owned()
}

/// RFC 3339 for an hour ago, for Directory Insights `start_time`.
pub fn an_hour_ago() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after epoch")
        .as_secs();
    let ts = jiff::Timestamp::from_second(i64::try_from(now).unwrap() - 3600).unwrap();
    ts.to_string()
}
