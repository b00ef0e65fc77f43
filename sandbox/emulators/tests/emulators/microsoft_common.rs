#![cfg(feature = "microsoft")]
//! Shared helpers for the Microsoft emulator tests (included with
//! `#[path]` by each `microsoft_*` test file): a started emulator with the
//! demo tenant and one app, a client that authenticates the way an SDK does
//! (token endpoint first, then Bearer), and assertion helpers.

#![allow(dead_code)]

use std::sync::OnceLock;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use passage_sandbox::microsoft::{
    AppCredential, DemoTenant, MicrosoftConfig, MicrosoftEmulator, Resource, demo_seed,
};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

pub const CLIENT_ID: &str = "7f3c3d2e-1b2a-4c5d-8e9f-0a1b2c3d4e5f";
pub const SECRET: &str = "Qx8~sandbox.client.secret";
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
pub const EXCHANGE_SCOPE: &str = "https://outlook.office365.com/.default";

pub struct Ms {
    pub ms: MicrosoftEmulator,
    pub http: reqwest::Client,
    pub demo: DemoTenant,
    pub graph_token: String,
    pub exchange_token: String,
}

impl Ms {
    /// Emulator + demo tenant + an app with the default permissions, with
    /// tokens fetched over HTTP with the client secret.
    pub async fn start() -> Self {
        Self::with_config(MicrosoftConfig::default()).await
    }

    pub async fn with_config(config: MicrosoftConfig) -> Self {
        let ms = MicrosoftEmulator::start(config)
            .await
            .expect("emulator starts");
        let demo = demo_seed(&ms);
        ms.register_app(CLIENT_ID, AppCredential::Secret(SECRET.to_owned()));
        let http = reqwest::Client::new();
        let mut h = Self {
            ms,
            http,
            demo,
            graph_token: String::new(),
            exchange_token: String::new(),
        };
        h.graph_token = h.secret_token(GRAPH_SCOPE).await;
        h.exchange_token = h.secret_token(EXCHANGE_SCOPE).await;
        h
    }

    pub async fn token_request(&self, form: &[(&str, &str)]) -> Response {
        self.http
            .post(self.ms.token_url())
            .form(form)
            .send()
            .await
            .expect("token request is sent")
    }

    pub async fn secret_token(&self, scope: &str) -> String {
        let response = self
            .token_request(&[
                ("client_id", CLIENT_ID),
                ("client_secret", SECRET),
                ("scope", scope),
                ("grant_type", "client_credentials"),
            ])
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.ms.base_url())
    }

    /// A Graph request with the default app's token.
    pub async fn graph(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        self.graph_as(&self.graph_token, method, path, body).await
    }

    pub async fn graph_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Response {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            self.url(path)
        };
        let method_writes = matches!(method, Method::POST | Method::PUT | Method::PATCH);
        let mut request = self
            .http
            .request(method, url)
            .bearer_auth(token)
            .header("client-request-id", uuid::Uuid::new_v4().to_string());
        request = match body {
            Some(body) => request.json(&body),
            // Graph answers 411 to a write without a length (tested in microsoft_faults).
            None if method_writes => request.header(reqwest::header::CONTENT_LENGTH, "0"),
            None => request,
        };
        request.send().await.expect("graph request is sent")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.graph(Method::GET, path, None).await
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: Option<Value>) -> Response {
        self.graph(Method::POST, path, body).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Response {
        self.graph(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.graph(Method::DELETE, path, None).await
    }

    /// An Exchange admin cmdlet with the default app's Exchange token.
    pub async fn cmdlet(&self, name: &str, parameters: Value) -> Response {
        self.cmdlet_as(&self.exchange_token, name, parameters).await
    }

    pub async fn cmdlet_as(&self, token: &str, name: &str, parameters: Value) -> Response {
        self.http
            .post(self.ms.exchange_url())
            .bearer_auth(token)
            .json(&json!({ "CmdletInput": { "CmdletName": name, "Parameters": parameters } }))
            .send()
            .await
            .expect("exchange request is sent")
    }

    /// A token for a second app with exactly these Graph permissions.
    pub fn token_with_roles(&self, client_id: &str, roles: &[&str]) -> String {
        self.ms.register(
            passage_sandbox::microsoft::AppRegistration::new(
                client_id,
                AppCredential::Secret("other".to_owned()),
            )
            .with_graph_roles(roles),
        );
        self.ms
            .access_token(client_id, Resource::Graph)
            .expect("registered")
    }

    pub async fn shutdown(self) {
        self.ms.shutdown().await;
    }
}

pub fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("ascii header").to_owned())
}

/// Asserts a Graph error (`{"error":{"code","message","innerError"}}`) whose
/// `innerError` repeats the response's ids; returns the body.
pub async fn expect_error(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let request_id = header(&response, "request-id").expect("request-id header");
    let client_request_id = header(&response, "client-request-id").expect("client-request-id");
    let body: Value = response.json().await.expect("json error body");
    assert_eq!(body["error"]["code"], code, "code in {body}");
    assert!(body["error"]["message"].is_string(), "message in {body}");
    assert_eq!(body["error"]["innerError"]["request-id"], request_id);
    assert_eq!(
        body["error"]["innerError"]["client-request-id"],
        client_request_id
    );
    assert!(body["error"]["innerError"]["date"].is_string());
    body
}

/// Asserts an identity-platform error and returns its body.
pub async fn expect_token_error(
    response: Response,
    status: u16,
    error: &str,
    aadsts: u64,
) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let body: Value = response.json().await.expect("json token error");
    assert_eq!(body["error"], error, "error in {body}");
    assert_eq!(body["error_codes"], json!([aadsts]), "codes in {body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("AADSTS{aadsts}: ")),
        "{description}"
    );
    assert!(description.contains("Trace ID: "));
    assert!(body["trace_id"].is_string() && body["correlation_id"].is_string());
    assert!(body["timestamp"].is_string());
    body
}

/// One RSA key pair per test binary (2048-bit keygen is slow unoptimised):
/// `(private PKCS#8 PEM, public SPKI PEM)`.
pub fn rsa_key() -> &'static (String, String) {
    static KEY: OnceLock<(String, String)> = OnceLock::new();
    KEY.get_or_init(|| {
        use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
        let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("keygen");
        let public = rsa::RsaPublicKey::from(&private);
        (
            private
                .to_pkcs8_pem(LineEnding::LF)
                .expect("pem")
                .to_string(),
            public.to_public_key_pem(LineEnding::LF).expect("pem"),
        )
    })
}

/// What to put in a client assertion.
pub struct Assertion {
    pub alg: Algorithm,
    pub x5t: Option<String>,
    pub x5t_s256: Option<String>,
    pub aud: Value,
    pub iss: String,
    pub sub: String,
    pub jti: String,
    pub nbf: i64,
    pub exp: i64,
}

impl Assertion {
    /// A valid RS256 assertion for `aud` naming the key by `x5t`.
    pub fn valid(aud: &str, x5t: &str) -> Self {
        let now = now();
        Self {
            alg: Algorithm::RS256,
            x5t: Some(x5t.to_owned()),
            x5t_s256: None,
            aud: json!(aud),
            iss: CLIENT_ID.to_owned(),
            sub: CLIENT_ID.to_owned(),
            jti: uuid::Uuid::new_v4().to_string(),
            nbf: now,
            exp: now + 600,
        }
    }

    pub fn sign(&self, private_pem: &str) -> String {
        let mut header = Header::new(self.alg);
        header.x5t = self.x5t.clone();
        header.x5t_s256 = self.x5t_s256.clone();
        let claims = json!({
            "aud": self.aud,
            "iss": self.iss,
            "sub": self.sub,
            "jti": self.jti,
            "nbf": self.nbf,
            "iat": self.nbf,
            "exp": self.exp,
        });
        jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_rsa_pem(private_pem.as_bytes()).expect("private key"),
        )
        .expect("signs")
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Decodes a JWT's claims without verifying (as a client inspecting its
/// own token would).
pub fn claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("jwt");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("json claims")
}

pub fn encode(upn: &str) -> String {
    upn.replace('@', "%40")
}
