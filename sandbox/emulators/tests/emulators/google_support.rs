//! Shared helpers for the Google emulator tests: a started, demo-seeded
//! emulator with a registered service account, and a client that signs
//! assertions and calls the APIs the way Google's client libraries do.
//! Included by the other `google_*` test files as a module.

#![cfg(feature = "google")]
#![allow(dead_code)]

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use passage_sandbox::google::{DemoDomain, GoogleConfig, GoogleEmulator, demo_seed, scopes};
use reqwest::{Method, Response, StatusCode};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde_json::{Value, json};

pub const SA_EMAIL: &str = "offboarder@passage-test.iam.gserviceaccount.com";
pub const SA_CLIENT_ID: &str = "104729305811209384756";
pub const KEY_ID: &str = "3f9c1e7a5b2d4c6e8f0a1b3c5d7e9f2a4b6c8d0e";

/// Every scope an offboarding run needs, all delegated to the test
/// service account.
pub const ADMIN_SCOPES: &[&str] = &[
    scopes::DIRECTORY_USER,
    scopes::DIRECTORY_USER_SECURITY,
    scopes::DIRECTORY_GROUP,
    scopes::DIRECTORY_DEVICE_MOBILE_ACTION,
    scopes::LICENSING,
    scopes::DATATRANSFER,
    scopes::REPORTS_AUDIT_READONLY,
    scopes::DRIVE,
];
pub const GMAIL_SCOPES: &[&str] = &[scopes::GMAIL_SETTINGS_SHARING, scopes::GMAIL_SETTINGS_BASIC];

/// An RSA key pair in PEM form.
pub struct KeyPair {
    pub private_pem: String,
    pub public_pem: String,
}

fn generate() -> KeyPair {
    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("rsa key");
    KeyPair {
        private_pem: key.to_pkcs8_pem(LineEnding::LF).expect("pem").to_string(),
        public_pem: key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("public pem"),
    }
}

/// The service account's key, generated once per test binary.
pub fn key() -> &'static KeyPair {
    static KEY: OnceLock<KeyPair> = OnceLock::new();
    KEY.get_or_init(generate)
}

/// A key nobody registered.
pub fn stranger_key() -> &'static KeyPair {
    static KEY: OnceLock<KeyPair> = OnceLock::new();
    KEY.get_or_init(generate)
}

pub fn now_secs() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// Signs `claims` with RS256 under `kid`.
pub fn sign(claims: &Value, private_pem: &str, kid: Option<&str>) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    let key = EncodingKey::from_rsa_pem(private_pem.as_bytes()).expect("encoding key");
    jsonwebtoken::encode(&header, claims, &key).expect("signed")
}

pub struct Harness {
    pub google: GoogleEmulator,
    pub http: reqwest::Client,
    pub demo: DemoDomain,
}

impl Harness {
    pub async fn start() -> Self {
        Self::with_config(GoogleConfig::default()).await
    }

    pub async fn with_config(config: GoogleConfig) -> Self {
        let google = GoogleEmulator::start(config)
            .await
            .expect("emulator starts");
        let demo = demo_seed(&google);
        let all: Vec<&str> = ADMIN_SCOPES.iter().chain(GMAIL_SCOPES).copied().collect();
        google
            .register_service_account(SA_EMAIL, SA_CLIENT_ID, &key().public_pem, KEY_ID, &all)
            .expect("service account registers");
        Self {
            google,
            http: reqwest::Client::new(),
            demo,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.google.base_url())
    }

    /// Standard claims for `sub` and `scopes`, valid for an hour.
    pub fn claims(&self, sub: Option<&str>, scopes: &[&str]) -> Value {
        let now = now_secs();
        let mut claims = json!({
            "iss": SA_EMAIL,
            "scope": scopes.join(" "),
            "aud": self.google.token_url(),
            "iat": now,
            "exp": now + 3600,
        });
        if let Some(sub) = sub {
            claims["sub"] = json!(sub);
        }
        claims
    }

    /// Posts an assertion to the token endpoint.
    pub async fn exchange(&self, assertion: &str) -> Response {
        self.http
            .post(self.google.token_url())
            .form(&[
                ("grant_type", passage_sandbox::google::JWT_BEARER),
                ("assertion", assertion),
            ])
            .send()
            .await
            .expect("token request is sent")
    }

    /// Signs `claims` with the registered key and exchanges them.
    pub async fn exchange_claims(&self, claims: &Value) -> Response {
        self.exchange(&sign(claims, &key().private_pem, Some(KEY_ID)))
            .await
    }

    /// A token for `sub` with `scopes`; panics unless Google says 200.
    pub async fn token(&self, sub: Option<&str>, scopes: &[&str]) -> String {
        let response = self.exchange_claims(&self.claims(sub, scopes)).await;
        assert_eq!(response.status(), StatusCode::OK, "token exchange");
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// A token impersonating the domain's super administrator.
    pub async fn admin_token(&self) -> String {
        self.token(Some(&self.demo.admin_email), ADMIN_SCOPES).await
    }

    /// A Gmail-settings token impersonating `user`.
    pub async fn gmail_token(&self, user: &str) -> String {
        self.token(Some(user), GMAIL_SCOPES).await
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Response {
        let mut request = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request is sent")
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn get_json(&self, path: &str, token: &str) -> Value {
        let response = self.get(path, token).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.call(Method::DELETE, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Option<Value>) -> Response {
        self.call(Method::POST, path, token, body).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Response {
        self.call(Method::PUT, path, token, Some(body)).await
    }

    pub async fn shutdown(self) {
        self.google.shutdown().await;
    }
}

/// Directory path of a user resource.
pub fn user_path(key: &str) -> String {
    format!("/admin/directory/v1/users/{key}")
}

/// Gmail settings path for `user_id`.
pub fn gmail_path(user_id: &str, rest: &str) -> String {
    format!("/gmail/v1/users/{user_id}/settings/{rest}")
}

/// Asserts a Google API error body and returns it.
pub async fn expect_error(response: Response, status: u16, reason: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let body: Value = response.json().await.expect("json error body");
    let error = &body["error"];
    assert_eq!(error["code"], status, "code in {body}");
    assert!(error["message"].is_string(), "message in {body}");
    assert_eq!(error["errors"][0]["reason"], reason, "reason in {body}");
    assert!(error["errors"][0]["domain"].is_string(), "domain in {body}");
    assert!(
        error["errors"][0]["message"].is_string(),
        "errors[0].message in {body}"
    );
    body
}

/// Asserts an OAuth token-endpoint error and returns its description.
pub async fn expect_token_error(response: Response, status: u16, error: &str) -> String {
    assert_eq!(response.status().as_u16(), status, "status");
    let body: Value = response.json().await.expect("json error body");
    assert_eq!(body["error"], error, "error in {body}");
    body["error_description"]
        .as_str()
        .unwrap_or_else(|| panic!("error_description in {body}"))
        .to_owned()
}
