//! Shared helpers for the Okta emulator tests: a started emulator and a
//! small HTTP client that authenticates like an Okta SDK.

#![allow(dead_code)]

use passage_sandbox::okta::{OktaConfig, OktaEmulator};
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;

pub struct Harness {
    pub okta: OktaEmulator,
    pub http: reqwest::Client,
}

impl Harness {
    pub async fn start() -> Self {
        Self::with_config(OktaConfig::default()).await
    }

    pub async fn with_config(config: OktaConfig) -> Self {
        let okta = OktaEmulator::start(config).await.expect("emulator starts");
        Self {
            okta,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.okta.base_url())
    }

    pub async fn send(&self, method: Method, path: &str) -> Response {
        self.http
            .request(method, self.url(path))
            .header("Authorization", self.okta.authorization())
            .header("Accept", "application/json")
            .send()
            .await
            .expect("request is sent")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send(Method::GET, path).await
    }

    pub async fn post(&self, path: &str) -> Response {
        self.send(Method::POST, path).await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.send(Method::DELETE, path).await
    }

    /// GET with query parameters encoded by reqwest, as SDKs do.
    pub async fn get_query(&self, path: &str, query: &[(&str, &str)]) -> Response {
        self.http
            .get(self.url(path))
            .query(query)
            .header("Authorization", self.okta.authorization())
            .send()
            .await
            .expect("request is sent")
    }

    /// Follows `rel="next"` links from `first` until there are none,
    /// returning every page's body.
    pub async fn walk(&self, first: &str) -> Vec<Vec<Value>> {
        let mut pages = Vec::new();
        let mut url = self.url(first);
        loop {
            let response = self
                .http
                .get(&url)
                .header("Authorization", self.okta.authorization())
                .send()
                .await
                .expect("request is sent");
            assert_eq!(response.status(), StatusCode::OK);
            let next = next_link(&response);
            pages.push(response.json::<Vec<Value>>().await.expect("array body"));
            match next {
                Some(next) => url = next,
                None => return pages,
            }
            assert!(pages.len() < 100, "pagination does not terminate");
        }
    }

    pub async fn shutdown(self) {
        self.okta.shutdown().await;
    }
}

/// Every `Link` header field, in order.
pub fn links(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all("link")
        .iter()
        .map(|v| v.to_str().expect("ascii link").to_owned())
        .collect()
}

/// The URL of the `rel="next"` link, if any.
pub fn next_link(response: &Response) -> Option<String> {
    links(response).into_iter().find_map(|l| {
        l.strip_suffix("; rel=\"next\"")
            .and_then(|u| u.strip_prefix('<'))
            .and_then(|u| u.strip_suffix('>'))
            .map(str::to_owned)
    })
}

pub fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("ascii header").to_owned())
}

pub fn header_u64(response: &Response, name: &str) -> u64 {
    header(response, name)
        .unwrap_or_else(|| panic!("missing header {name}"))
        .parse()
        .expect("numeric header")
}

/// Asserts an Okta error body and returns it.
pub async fn expect_error(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let body: Value = response.json().await.expect("json error body");
    assert_eq!(body["errorCode"], code, "errorCode in {body}");
    assert!(body["errorLink"].is_string(), "errorLink in {body}");
    assert!(
        body["errorId"]
            .as_str()
            .is_some_and(|id| id.starts_with("oae")),
        "errorId in {body}"
    );
    assert!(body["errorSummary"].is_string(), "errorSummary in {body}");
    assert!(body["errorCauses"].is_array(), "errorCauses in {body}");
    body
}

/// Percent-encodes a login for use in a path segment.
pub fn encode_login(login: &str) -> String {
    login.replace('@', "%40").replace('+', "%2B")
}

pub fn epoch_secs_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after epoch")
        .as_secs_f64()
}
