//! OAuth 2.0 for service apps against the Okta emulator: `private_key_jwt`
//! client assertions at `POST /oauth2/v1/token`, DPoP with the server nonce,
//! `Bearer` and `DPoP` access tokens on management calls, and per-route
//! scope checks — over real HTTP, with keys made by `rsa` and signed by
//! `jsonwebtoken`.

use crate::support;
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use passage_sandbox::okta::{
    ClientKey, DPOP_NONCE_HEADER, JWT_BEARER, SigningAlg, access_token_hash, demo_seed, event_type,
};
use reqwest::{Method, Response, StatusCode};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use serde_json::{Value, json};
use support::{Harness, expect_error, header};

/// A P-256 test key (PKCS#8), made once with
/// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`; `rsa`
/// cannot make EC keys and `jsonwebtoken` makes none.
const EC_PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgzPoQa2mcZ176KGMD
WWn4yBHcRasa3zaIKV2RYlcSNrahRANCAAQC1hhfAvyw0hGR1E7zDBSPKc+D17+q
YW1wWidHS9T/cCoJgH013YHdQG3zRba4gpk177CFPS154/lZq6ZeE7JO
-----END PRIVATE KEY-----
";
const EC_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEAtYYXwL8sNIRkdRO8wwUjynPg9e/
qmFtcFonR0vU/3AqCYB9Nd2B3UBt80W2uIKZNe+whT0teeP5WaumXhOyTg==
-----END PUBLIC KEY-----
";

/// A signing key with its public forms.
struct TestKey {
    alg: Algorithm,
    signing: EncodingKey,
    public_pem: String,
    /// Public JWK (for DPoP headers and JWK registration).
    jwk: Jwk,
}

impl TestKey {
    fn rsa() -> Self {
        let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("RSA key");
        let pem = private.to_pkcs1_pem(LineEnding::LF).expect("PKCS#1 PEM");
        let public_pem = private
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("SPKI PEM");
        let signing = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("RSA encoding key");
        let jwk = Jwk::from_encoding_key(&signing, Algorithm::RS256).expect("RSA JWK");
        Self {
            alg: Algorithm::RS256,
            signing,
            public_pem,
            jwk,
        }
    }

    fn ec() -> Self {
        let signing = EncodingKey::from_ec_pem(EC_PRIVATE_PEM.as_bytes()).expect("EC key");
        let jwk = Jwk::from_encoding_key(&signing, Algorithm::ES256).expect("EC JWK");
        Self {
            alg: Algorithm::ES256,
            signing,
            public_pem: EC_PUBLIC_PEM.to_owned(),
            jwk,
        }
    }

    fn client_key(&self, kid: &str) -> ClientKey {
        let alg = match self.alg {
            Algorithm::ES256 => SigningAlg::ES256,
            _ => SigningAlg::RS256,
        };
        ClientKey::pem(kid, alg, &self.public_pem)
    }

    /// The public JWK as JSON, without the `alg` member `from_encoding_key`
    /// adds.
    fn public_jwk(&self) -> Value {
        let mut value = serde_json::to_value(&self.jwk).unwrap();
        value.as_object_mut().unwrap().remove("alg");
        value
    }
}

/// RSA keys are slow to make in debug builds: make two per test binary.
fn rsa_keys() -> &'static (TestKey, TestKey) {
    static KEYS: OnceLock<(TestKey, TestKey)> = OnceLock::new();
    KEYS.get_or_init(|| (TestKey::rsa(), TestKey::rsa()))
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn jti() -> String {
    uuid::Uuid::new_v4().to_string()
}

const CLIENT: &str = "0oaPASSAGESVC0000001";
const DPOP_CLIENT: &str = "0oaPASSAGEDPOP000001";

fn scopes(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Claims of a valid client assertion for `client` at `h`'s token URL.
fn assertion_claims(h: &Harness, client: &str) -> Value {
    json!({
        "iss": client,
        "sub": client,
        "aud": h.okta.token_url(),
        "iat": now(),
        "exp": now() + 300,
        "jti": jti(),
    })
}

fn sign(key: &TestKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(key.alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &key.signing).expect("signed JWT")
}

/// A DPoP proof for `htm` `htu`, with optional nonce and access token hash.
fn proof(key: &TestKey, htm: &str, htu: &str, nonce: Option<&str>, token: Option<&str>) -> String {
    let mut claims = json!({ "htm": htm, "htu": htu, "iat": now(), "jti": jti() });
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    if let Some(token) = token {
        claims["ath"] = json!(access_token_hash(token));
    }
    proof_with(key, "dpop+jwt", &claims)
}

fn proof_with(key: &TestKey, typ: &str, claims: &Value) -> String {
    let mut header = Header::new(key.alg);
    header.typ = Some(typ.to_owned());
    header.jwk = Some(key.jwk.clone());
    jsonwebtoken::encode(&header, claims, &key.signing).expect("signed proof")
}

async fn token_request(h: &Harness, form: &[(&str, &str)], dpop: Option<&str>) -> Response {
    let mut request = h.http.post(h.okta.token_url()).form(form);
    if let Some(dpop) = dpop {
        request = request.header("DPoP", dpop);
    }
    request.send().await.expect("token request is sent")
}

async fn request_token(h: &Harness, assertion: &str, scope: &str, dpop: Option<&str>) -> Response {
    token_request(
        h,
        &[
            ("grant_type", "client_credentials"),
            ("scope", scope),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
        ],
        dpop,
    )
    .await
}

/// A Bearer access token for `CLIENT` with `scope`.
async fn bearer(h: &Harness, key: &TestKey, scope: &str) -> String {
    let assertion = sign(key, Some("k1"), &assertion_claims(h, CLIENT));
    let response = request_token(h, &assertion, scope, None).await;
    assert_eq!(response.status(), StatusCode::OK, "token for {scope}");
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// Asserts an RFC 6749 token error and returns its description.
async fn expect_oauth_error(response: Response, status: u16, error: &str) -> String {
    assert_eq!(response.status().as_u16(), status, "status for {error}");
    assert_eq!(
        header(&response, "cache-control").as_deref(),
        Some("no-store")
    );
    let body: Value = response.json().await.expect("json error body");
    let object = body.as_object().expect("object body");
    assert_eq!(object.len(), 2, "only error and error_description: {body}");
    assert_eq!(body["error"], error, "error in {body}");
    let description = body["error_description"].as_str().expect("description");
    assert!(!description.is_empty());
    description.to_owned()
}

async fn call(
    h: &Harness,
    method: Method,
    path: &str,
    authorization: &str,
    dpop: Option<&str>,
) -> Response {
    let mut request = h
        .http
        .request(method, h.url(path))
        .header("Authorization", authorization);
    if let Some(dpop) = dpop {
        request = request.header("DPoP", dpop);
    }
    request.send().await.expect("request is sent")
}

fn register(h: &Harness, key: &TestKey, granted: &[&str]) {
    h.okta
        .register_service_app(CLIENT, key.client_key("k1"), scopes(granted), false);
}

#[tokio::test]
async fn rs256_assertion_gets_a_bearer_token_for_the_management_api() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    let (key, _) = rsa_keys();
    register(
        &h,
        key,
        &["okta.users.read", "okta.users.manage", "okta.groups.read"],
    );

    let assertion = sign(key, Some("k1"), &assertion_claims(&h, CLIENT));
    let response = request_token(&h, &assertion, "okta.users.read okta.groups.read", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "cache-control").as_deref(),
        Some("no-store")
    );
    assert!(header(&response, "x-okta-request-id").is_some());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "okta.groups.read okta.users.read");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let auth = format!("Bearer {token}");

    let users = call(&h, Method::GET, "/api/v1/users", &auth, None).await;
    assert_eq!(users.status(), StatusCode::OK);
    assert!(header(&users, "x-rate-limit-remaining").is_some());
    let groups = call(&h, Method::GET, "/api/v1/groups", &auth, None).await;
    assert_eq!(groups.status(), StatusCode::OK);

    // A read token cannot suspend; nothing changes and nothing is logged.
    let suspend = format!("/api/v1/users/{}/lifecycle/suspend", demo.leaver_id);
    let refused = call(&h, Method::POST, &suspend, &auth, None).await;
    let challenge = header(&refused, "www-authenticate").unwrap();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(
        challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("scope=\"okta.users.manage\""),
        "{challenge}"
    );
    let body = expect_error(refused, 403, "E0000006").await;
    assert_eq!(
        body["errorSummary"],
        "The access token provided does not contain the required scopes."
    );
    assert!(h.okta.system_log().is_empty());

    // A manage token can, and the System Log names the service app.
    let manage = bearer(&h, key, "okta.users.manage").await;
    let done = call(
        &h,
        Method::POST,
        &suspend,
        &format!("Bearer {manage}"),
        None,
    )
    .await;
    assert_eq!(done.status(), StatusCode::OK);
    let log = h.okta.system_log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].event_type, event_type::USER_SUSPEND);
    assert_eq!(log[0].actor.id, CLIENT);
    assert_eq!(log[0].actor.kind, "PublicClientApp");

    // `*.manage` covers the matching reads.
    let read_with_manage = call(
        &h,
        Method::GET,
        &format!("/api/v1/users/{}", demo.leaver_id),
        &format!("Bearer {manage}"),
        None,
    )
    .await;
    assert_eq!(read_with_manage.status(), StatusCode::OK);

    // The API token still works exactly as before.
    assert_eq!(h.get("/api/v1/users").await.status(), StatusCode::OK);
    assert_eq!(h.okta.counters().count("POST", "/oauth2/v1/token"), 2);
    h.shutdown().await;
}

#[tokio::test]
async fn bad_assertions_are_invalid_client() {
    let h = Harness::start().await;
    let (key, other) = rsa_keys();
    register(&h, key, &["okta.users.read"]);
    let scope = "okta.users.read";

    // Signed by a key that is not the registered one.
    let forged = sign(other, Some("k1"), &assertion_claims(&h, CLIENT));
    let description = expect_oauth_error(
        request_token(&h, &forged, scope, None).await,
        401,
        "invalid_client",
    )
    .await;
    assert!(description.contains("signature"), "{description}");

    let mut wrong_aud = assertion_claims(&h, CLIENT);
    wrong_aud["aud"] = json!(format!("{}/oauth2/default/v1/token", h.okta.base_url()));
    let description = expect_oauth_error(
        request_token(&h, &sign(key, Some("k1"), &wrong_aud), scope, None).await,
        401,
        "invalid_client",
    )
    .await;
    assert!(description.contains("aud"), "{description}");

    let mut expired = assertion_claims(&h, CLIENT);
    expired["iat"] = json!(now() - 600);
    expired["exp"] = json!(now() - 10);
    let description = expect_oauth_error(
        request_token(&h, &sign(key, Some("k1"), &expired), scope, None).await,
        401,
        "invalid_client",
    )
    .await;
    assert!(description.contains("expired"), "{description}");

    let mut too_long = assertion_claims(&h, CLIENT);
    too_long["exp"] = json!(now() + 2 * 3600);
    expect_oauth_error(
        request_token(&h, &sign(key, Some("k1"), &too_long), scope, None).await,
        401,
        "invalid_client",
    )
    .await;

    let mut wrong_sub = assertion_claims(&h, CLIENT);
    wrong_sub["sub"] = json!("someone-else");
    expect_oauth_error(
        request_token(&h, &sign(key, Some("k1"), &wrong_sub), scope, None).await,
        401,
        "invalid_client",
    )
    .await;

    let unknown_kid = sign(key, Some("k2"), &assertion_claims(&h, CLIENT));
    let description = expect_oauth_error(
        request_token(&h, &unknown_kid, scope, None).await,
        401,
        "invalid_client",
    )
    .await;
    assert!(description.contains("kid"), "{description}");

    let unknown_client = sign(key, Some("k1"), &assertion_claims(&h, "0oaNOBODY"));
    expect_oauth_error(
        request_token(&h, &unknown_client, scope, None).await,
        401,
        "invalid_client",
    )
    .await;

    // A jti works once.
    let once = sign(key, Some("k1"), &assertion_claims(&h, CLIENT));
    assert_eq!(
        request_token(&h, &once, scope, None).await.status(),
        StatusCode::OK
    );
    let description = expect_oauth_error(
        request_token(&h, &once, scope, None).await,
        401,
        "invalid_client",
    )
    .await;
    assert!(description.contains("already been used"), "{description}");

    // Scopes beyond the grant, or none at all.
    let fresh = || sign(key, Some("k1"), &assertion_claims(&h, CLIENT));
    let description = expect_oauth_error(
        request_token(&h, &fresh(), "okta.users.read okta.users.manage", None).await,
        400,
        "invalid_scope",
    )
    .await;
    assert!(description.contains("okta.users.manage"), "{description}");
    expect_oauth_error(
        request_token(&h, &fresh(), "", None).await,
        400,
        "invalid_scope",
    )
    .await;

    // Wrong grant type and client authentication method.
    let assertion = fresh();
    expect_oauth_error(
        token_request(
            &h,
            &[
                ("grant_type", "password"),
                ("scope", scope),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &assertion),
            ],
            None,
        )
        .await,
        400,
        "unsupported_grant_type",
    )
    .await;
    expect_oauth_error(
        token_request(
            &h,
            &[
                ("grant_type", "client_credentials"),
                ("scope", scope),
                ("client_id", CLIENT),
                ("client_secret", "s3cret"),
            ],
            None,
        )
        .await,
        401,
        "invalid_client",
    )
    .await;
    expect_oauth_error(
        token_request(
            &h,
            &[
                ("grant_type", "client_credentials"),
                ("scope", scope),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", "not-a-jwt"),
            ],
            None,
        )
        .await,
        401,
        "invalid_client",
    )
    .await;
    h.shutdown().await;
}

#[tokio::test]
async fn es256_and_jwk_registered_keys_work() {
    let h = Harness::start().await;
    let ec = TestKey::ec();
    let (rsa_key, _) = rsa_keys();
    h.okta.register_service_app(
        "0oaECCLIENT000000001",
        ec.client_key("ec1"),
        scopes(&["okta.logs.read"]),
        false,
    );
    let claims = assertion_claims(&h, "0oaECCLIENT000000001");
    let response =
        request_token(&h, &sign(&ec, Some("ec1"), &claims), "okta.logs.read", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let token: Value = response.json().await.unwrap();
    let logs = call(
        &h,
        Method::GET,
        "/api/v1/logs",
        &format!("Bearer {}", token["access_token"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(logs.status(), StatusCode::OK);

    // An RS256 assertion for an ES256 app is refused.
    let claims = assertion_claims(&h, "0oaECCLIENT000000001");
    expect_oauth_error(
        request_token(
            &h,
            &sign(rsa_key, Some("ec1"), &claims),
            "okta.logs.read",
            None,
        )
        .await,
        401,
        "invalid_client",
    )
    .await;

    // Keys can be registered as JWKs (as in an app's JWKS), RSA or EC.
    h.okta.register_service_app(
        "0oaJWKCLIENT00000001",
        ClientKey::jwk("rsa-jwk", SigningAlg::RS256, rsa_key.public_jwk()),
        scopes(&["okta.users.read"]),
        false,
    );
    h.okta.register_service_app(
        "0oaJWKCLIENT00000002",
        ClientKey::jwk("ec-jwk", SigningAlg::ES256, ec.public_jwk()),
        scopes(&["okta.users.read"]),
        false,
    );
    for (client, key, kid) in [
        ("0oaJWKCLIENT00000001", rsa_key, "rsa-jwk"),
        ("0oaJWKCLIENT00000002", &ec, "ec-jwk"),
    ] {
        let claims = assertion_claims(&h, client);
        let response =
            request_token(&h, &sign(key, Some(kid), &claims), "okta.users.read", None).await;
        assert_eq!(response.status(), StatusCode::OK, "{client}");
    }

    // Bad registrations are refused up front.
    assert!(
        h.okta
            .try_register_service_app(
                "0oaBAD",
                ClientKey::pem("k", SigningAlg::RS256, "not a key"),
                vec![],
                false
            )
            .is_err()
    );
    let mut private = ec.public_jwk();
    private["d"] = json!("c2VjcmV0");
    assert!(
        h.okta
            .try_register_service_app(
                "0oaBAD",
                ClientKey::jwk("k", SigningAlg::ES256, private),
                vec![],
                false
            )
            .is_err()
    );
    h.shutdown().await;
}

#[tokio::test]
async fn dpop_nonce_dance_then_bound_resource_calls() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    let (client_key, other) = rsa_keys();
    let dpop_key = TestKey::ec();
    h.okta.register_service_app(
        DPOP_CLIENT,
        client_key.client_key("k1"),
        scopes(&["okta.users.read", "okta.users.manage"]),
        true,
    );
    let token_url = h.okta.token_url();
    let assertion = || sign(client_key, Some("k1"), &assertion_claims(&h, DPOP_CLIENT));
    let scope = "okta.users.read";

    // No proof at all.
    expect_oauth_error(
        request_token(&h, &assertion(), scope, None).await,
        400,
        "invalid_dpop_proof",
    )
    .await;

    // A proof without the nonce: use_dpop_nonce and the nonce to use.
    let first = request_token(
        &h,
        &assertion(),
        scope,
        Some(&proof(&dpop_key, "POST", &token_url, None, None)),
    )
    .await;
    let nonce = header(&first, DPOP_NONCE_HEADER).expect("dpop-nonce header");
    assert_eq!(nonce, h.okta.dpop_nonce());
    let description = expect_oauth_error(first, 400, "use_dpop_nonce").await;
    assert_eq!(
        description,
        "Authorization server requires nonce in DPoP proof."
    );

    // Malformed proofs: wrong method, wrong URL, wrong typ.
    for bad in [
        proof(&dpop_key, "GET", &token_url, Some(&nonce), None),
        proof(
            &dpop_key,
            "POST",
            &format!("{}/oauth2/v1/keys", h.okta.base_url()),
            Some(&nonce),
            None,
        ),
        proof_with(
            &dpop_key,
            "JWT",
            &json!({"htm": "POST", "htu": token_url, "iat": now(), "jti": jti(), "nonce": nonce}),
        ),
        proof_with(
            &dpop_key,
            "dpop+jwt",
            &json!({"htm": "POST", "htu": token_url, "iat": now() - 3600, "jti": jti(), "nonce": nonce}),
        ),
    ] {
        expect_oauth_error(
            request_token(&h, &assertion(), scope, Some(&bad)).await,
            400,
            "invalid_dpop_proof",
        )
        .await;
    }

    // The retry with the nonce gets a DPoP-bound token.
    let response = request_token(
        &h,
        &assertion(),
        scope,
        Some(&proof(&dpop_key, "POST", &token_url, Some(&nonce), None)),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], scope);
    let token = body["access_token"].as_str().unwrap().to_owned();
    let auth = format!("DPoP {token}");
    let path = format!("/api/v1/users/{}", demo.leaver_id);
    let url = h.url(&path);

    // Presented as a Bearer token, or without a proof: 401.
    let as_bearer = call(&h, Method::GET, &path, &format!("Bearer {token}"), None).await;
    let challenge = header(&as_bearer, "www-authenticate").unwrap();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    expect_error(as_bearer, 401, "E0000011").await;
    let no_proof = call(&h, Method::GET, &path, &auth, None).await;
    let challenge = header(&no_proof, "www-authenticate").unwrap();
    assert!(
        challenge.starts_with("DPoP algs=") && challenge.contains("invalid_dpop_proof"),
        "{challenge}"
    );
    expect_error(no_proof, 401, "E0000011").await;

    // Wrong htu, wrong ath, wrong method, another key: 401.
    let wrong_htu = proof(
        &dpop_key,
        "GET",
        &h.url("/api/v1/users"),
        None,
        Some(&token),
    );
    let wrong_ath = proof(&dpop_key, "GET", &url, None, Some("another-token"));
    let wrong_htm = proof(&dpop_key, "POST", &url, None, Some(&token));
    let other_key = proof(other, "GET", &url, None, Some(&token));
    let no_ath = proof(&dpop_key, "GET", &url, None, None);
    for bad in [wrong_htu, wrong_ath, wrong_htm, other_key, no_ath] {
        let response = call(&h, Method::GET, &path, &auth, Some(&bad)).await;
        expect_error(response, 401, "E0000011").await;
    }

    // A correct, fresh proof is accepted (no nonce needed on resource
    // calls); the same proof twice is not.
    let good = proof(&dpop_key, "GET", &url, None, Some(&token));
    let ok = call(&h, Method::GET, &path, &auth, Some(&good)).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let user: Value = ok.json().await.unwrap();
    assert_eq!(user["id"], demo.leaver_id.as_str());
    let replay = call(&h, Method::GET, &path, &auth, Some(&good)).await;
    expect_error(replay, 401, "E0000011").await;

    // htu excludes the query string.
    let list = proof(
        &dpop_key,
        "GET",
        &h.url("/api/v1/users"),
        None,
        Some(&token),
    );
    let listed = call(&h, Method::GET, "/api/v1/users?limit=2", &auth, Some(&list)).await;
    assert_eq!(listed.status(), StatusCode::OK);

    // Scopes apply to DPoP tokens too, with a DPoP challenge.
    let suspend = format!("/api/v1/users/{}/lifecycle/suspend", demo.leaver_id);
    let proof_suspend = proof(&dpop_key, "POST", &h.url(&suspend), None, Some(&token));
    let refused = call(&h, Method::POST, &suspend, &auth, Some(&proof_suspend)).await;
    assert!(
        header(&refused, "www-authenticate")
            .unwrap()
            .starts_with("DPoP ")
    );
    expect_error(refused, 403, "E0000006").await;

    // After a rotation the previous nonce still works; an unknown one gets
    // the current nonce back.
    let rotated = h.okta.rotate_dpop_nonce();
    assert_ne!(rotated, nonce);
    let with_old = request_token(
        &h,
        &assertion(),
        "okta.users.manage",
        Some(&proof(&dpop_key, "POST", &token_url, Some(&nonce), None)),
    )
    .await;
    assert_eq!(with_old.status(), StatusCode::OK);
    let manage: Value = with_old.json().await.unwrap();
    let manage = manage["access_token"].as_str().unwrap().to_owned();
    let stale = request_token(
        &h,
        &assertion(),
        scope,
        Some(&proof(&dpop_key, "POST", &token_url, Some("made-up"), None)),
    )
    .await;
    assert_eq!(header(&stale, DPOP_NONCE_HEADER), Some(rotated));
    expect_oauth_error(stale, 400, "use_dpop_nonce").await;

    let proof_suspend = proof(&dpop_key, "POST", &h.url(&suspend), None, Some(&manage));
    let done = call(
        &h,
        Method::POST,
        &suspend,
        &format!("DPoP {manage}"),
        Some(&proof_suspend),
    )
    .await;
    assert_eq!(done.status(), StatusCode::OK);
    assert_eq!(
        h.okta
            .count_events(event_type::USER_SUSPEND, &demo.leaver_id),
        1
    );
    h.shutdown().await;
}

#[tokio::test]
async fn expired_unknown_and_mismatched_tokens_get_401() {
    let h = Harness::start().await;
    demo_seed(&h.okta);
    let (key, _) = rsa_keys();
    register(&h, key, &["okta.users.read"]);
    let token = bearer(&h, key, "okta.users.read").await;
    let auth = format!("Bearer {token}");
    assert_eq!(
        call(&h, Method::GET, "/api/v1/users", &auth, None)
            .await
            .status(),
        StatusCode::OK
    );

    // An unbound token sent with the DPoP scheme.
    let dpop_key = TestKey::ec();
    let proof = proof(
        &dpop_key,
        "GET",
        &h.url("/api/v1/users"),
        None,
        Some(&token),
    );
    let response = call(
        &h,
        Method::GET,
        "/api/v1/users",
        &format!("DPoP {token}"),
        Some(&proof),
    )
    .await;
    expect_error(response, 401, "E0000011").await;

    for bad in [
        "Bearer eyJunknown.token.value".to_owned(),
        "Bearer ".to_owned(),
        format!("SSWS {token}"),
    ] {
        let response = call(&h, Method::GET, "/api/v1/users", &bad, None).await;
        let body = expect_error(response, 401, "E0000011").await;
        assert_eq!(body["errorSummary"], "Invalid token provided");
    }

    h.okta.expire_access_tokens();
    let expired = call(&h, Method::GET, "/api/v1/users", &auth, None).await;
    let challenge = header(&expired, "www-authenticate").unwrap();
    assert!(challenge.contains("expired"), "{challenge}");
    expect_error(expired, 401, "E0000011").await;
    h.shutdown().await;
}

/// Every emulated operation needs the scope its spec entry lists; a token
/// with any other single scope is refused with 403 before anything
/// happens.
#[tokio::test]
async fn scopes_are_enforced_per_route() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.okta);
    let (key, _) = rsa_keys();
    let all = [
        "okta.users.read",
        "okta.users.manage",
        "okta.groups.read",
        "okta.groups.manage",
        "okta.apps.read",
        "okta.apps.manage",
        "okta.logs.read",
    ];
    register(&h, key, &all);
    let mut tokens = std::collections::HashMap::new();
    for scope in all {
        tokens.insert(scope, bearer(&h, key, scope).await);
    }
    let user = demo.leaver_id.as_str();
    let jane = h.okta.user(user).unwrap();
    let engineering = h.okta.group("Engineering").unwrap().id;
    let slack = h.okta.app_id("Slack").unwrap();
    let sms = jane
        .factors
        .iter()
        .find(|f| f.factor_type == "sms")
        .unwrap()
        .id
        .clone();
    let client = h.okta.app_id("Expense Portal").unwrap();

    let routes: Vec<(Method, String, &str)> = vec![
        (Method::GET, "/api/v1/users".into(), "okta.users.read"),
        (
            Method::GET,
            format!("/api/v1/users/{user}"),
            "okta.users.read",
        ),
        (
            Method::GET,
            format!("/api/v1/users/{user}/groups"),
            "okta.users.read",
        ),
        (
            Method::GET,
            format!("/api/v1/users/{user}/appLinks"),
            "okta.users.read",
        ),
        (
            Method::GET,
            format!("/api/v1/users/{user}/clients"),
            "okta.users.read",
        ),
        (
            Method::GET,
            format!("/api/v1/users/{user}/grants"),
            "okta.users.read",
        ),
        (
            Method::GET,
            format!("/api/v1/users/{user}/factors"),
            "okta.users.read",
        ),
        (
            Method::GET,
            format!("/api/v1/users/{user}/factors/{sms}"),
            "okta.users.read",
        ),
        (
            Method::GET,
            format!("/api/v1/users/{user}/clients/{client}/tokens"),
            "okta.users.read",
        ),
        (Method::GET, "/api/v1/groups".into(), "okta.groups.read"),
        (
            Method::GET,
            format!("/api/v1/groups/{engineering}"),
            "okta.groups.read",
        ),
        (
            Method::GET,
            format!("/api/v1/groups/{engineering}/users"),
            "okta.groups.read",
        ),
        (
            Method::GET,
            format!("/api/v1/apps/{slack}/users/{user}"),
            "okta.apps.read",
        ),
        (Method::GET, "/api/v1/logs".into(), "okta.logs.read"),
        (
            Method::DELETE,
            format!("/api/v1/users/{user}/factors/{sms}"),
            "okta.users.manage",
        ),
        (
            Method::POST,
            format!("/api/v1/users/{user}/lifecycle/reset_factors"),
            "okta.users.manage",
        ),
        (
            Method::DELETE,
            format!("/api/v1/users/{user}/clients/{client}/tokens"),
            "okta.users.manage",
        ),
        (
            Method::DELETE,
            format!("/api/v1/users/{user}/grants"),
            "okta.users.manage",
        ),
        (
            Method::DELETE,
            format!("/api/v1/users/{user}/sessions"),
            "okta.users.manage",
        ),
        (
            Method::DELETE,
            format!("/api/v1/groups/{engineering}/users/{user}"),
            "okta.groups.manage",
        ),
        (
            Method::PUT,
            format!("/api/v1/groups/{engineering}/users/{user}"),
            "okta.groups.manage",
        ),
        (
            Method::DELETE,
            format!("/api/v1/apps/{slack}/users/{user}?sendEmail=false"),
            "okta.apps.manage",
        ),
        (
            Method::POST,
            format!("/api/v1/users/{user}/lifecycle/suspend"),
            "okta.users.manage",
        ),
        (
            Method::POST,
            format!("/api/v1/users/{user}/lifecycle/unsuspend"),
            "okta.users.manage",
        ),
        (
            Method::POST,
            format!("/api/v1/users/{user}/lifecycle/deactivate"),
            "okta.users.manage",
        ),
    ];
    for (method, path, needed) in &routes {
        let covering = |scope: &str| {
            scope == *needed
                || needed
                    .strip_suffix(".read")
                    .is_some_and(|base| scope == format!("{base}.manage"))
        };
        for scope in all.iter().filter(|s| !covering(s)) {
            let response = call(
                &h,
                method.clone(),
                path,
                &format!("Bearer {}", tokens[scope]),
                None,
            )
            .await;
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "{method} {path} with {scope}"
            );
        }
        let response = call(
            &h,
            method.clone(),
            path,
            &format!("Bearer {}", tokens[needed]),
            None,
        )
        .await;
        assert!(
            response.status().is_success(),
            "{method} {path} with {needed}: {}",
            response.status()
        );
    }
    // Unknown paths still answer 404 to any valid token.
    let missing = call(
        &h,
        Method::GET,
        "/api/v1/nothing-here",
        &format!("Bearer {}", tokens["okta.logs.read"]),
        None,
    )
    .await;
    expect_error(missing, 404, "E0000007").await;
    h.shutdown().await;
}

#[test]
fn access_token_hash_is_base64url_sha256() {
    use sha2::Digest;
    let expected = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(b"token"));
    assert_eq!(access_token_hash("token"), expected);
}
