//! People signing in to a web app through the Okta emulator (OpenID Connect, code flow with
//! PKCE), over real HTTP: the refusals Okta makes before and after the sign-in form, one-time
//! codes, and an ID token that verifies against the published key set only.

use crate::support::Harness;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use passage_sandbox::okta::SeedUser;
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::Value;
use sha2::{Digest, Sha256};

const APP: &str = "console";
const SECRET: &str = "console-secret";
const BACK: &str = "https://passage.example/console/sign-in/oidc/callback";
const VERIFIER: &str = "a-verifier-of-enough-length-for-pkce-0123456789";

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

async fn org() -> Harness {
    let h = Harness::start().await;
    h.okta
        .seed_user(SeedUser::new("pat@example.com", "Pat", "Lee"));
    h.okta.set_password("pat@example.com", "pw");
    h.okta.register_web_app(APP, SECRET, &[BACK.to_owned()]);
    h
}

fn authorize_query(redirect: &str) -> Vec<(&'static str, String)> {
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    vec![
        ("response_type", "code".into()),
        ("client_id", APP.into()),
        ("redirect_uri", redirect.into()),
        ("scope", "openid email".into()),
        ("state", "st4te".into()),
        ("nonce", "n0nce".into()),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256".into()),
    ]
}

/// Through the form to the redirect's query: `code` (or `error`) and `state`.
async fn sign_in(
    h: &Harness,
    login: &str,
    password: &str,
) -> Result<Vec<(String, String)>, String> {
    let http = no_redirects();
    let form = http
        .get(h.url("/oauth2/v1/authorize"))
        .query(&authorize_query(BACK))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let page = form.text().await.unwrap();
    let pending = page
        .split("name=\"pending\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let r = http
        .post(h.url("/oauth2/v1/authorize"))
        .form(&[
            ("pending", pending.as_str()),
            ("username", login),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    if r.status() != StatusCode::FOUND && r.status() != StatusCode::SEE_OTHER {
        return Err(r.text().await.unwrap());
    }
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with(BACK), "{to}");
    let query = to.split_once('?').unwrap().1;
    Ok(url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect())
}

async fn exchange(h: &Harness, code: &str, verifier: &str) -> (StatusCode, Value) {
    let r = no_redirects()
        .post(h.url("/oauth2/v1/token"))
        .basic_auth(APP, Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", BACK),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

fn get<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn a_person_signs_in_once_and_the_id_token_verifies_against_the_key_set() {
    let h = org().await;
    let d: Value = h
        .http
        .get(h.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["issuer"], h.okta.base_url());
    let q = sign_in(&h, "pat@example.com", "pw").await.unwrap();
    assert_eq!(get(&q, "state"), Some("st4te"));
    let code = get(&q, "code").unwrap().to_owned();
    let (status, body) = exchange(&h, &code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let keys: JwkSet = h
        .http
        .get(d["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = body["id_token"].as_str().unwrap();
    let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let key = DecodingKey::from_jwk(keys.find(&kid).unwrap()).unwrap();
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&[APP]);
    v.set_issuer(&[h.okta.base_url()]);
    let claims = jsonwebtoken::decode::<Value>(token, &key, &v)
        .unwrap()
        .claims;
    assert_eq!(claims["nonce"], "n0nce");
    assert_eq!(claims["email"], "pat@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["sub"], h.okta.user("pat@example.com").unwrap().id);

    // A code is spent by its first exchange.
    let (status, body) = exchange(&h, &code, VERIFIER).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    // A forged token: same kid, a key the set does not publish.
    h.okta.sign_id_tokens_with_unpublished_key(true);
    let q = sign_in(&h, "pat@example.com", "pw").await.unwrap();
    let (_, body) = exchange(&h, get(&q, "code").unwrap(), VERIFIER).await;
    let forged = body["id_token"].as_str().unwrap();
    assert!(jsonwebtoken::decode::<Value>(forged, &key, &v).is_err());
}

#[tokio::test]
async fn refusals_before_and_after_the_form() {
    let h = org().await;
    let http = no_redirects();
    // An unregistered redirect URI is never redirected to.
    let r = http
        .get(h.url("/oauth2/v1/authorize"))
        .query(&authorize_query("https://evil.example/cb"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    // Without the openid scope: back to the app with the error and the state.
    let mut q = authorize_query(BACK);
    q[3].1 = "email".into();
    let r = http
        .get(h.url("/oauth2/v1/authorize"))
        .query(&q)
        .send()
        .await
        .unwrap();
    let to = r.headers()["location"].to_str().unwrap();
    assert!(
        to.contains("error=invalid_scope") && to.contains("state=st4te"),
        "{to}"
    );

    // A wrong password, and a suspended person, are shown "Unable to sign in".
    assert!(
        sign_in(&h, "pat@example.com", "nope")
            .await
            .unwrap_err()
            .contains("Unable to sign in")
    );
    let id = h.okta.user("pat@example.com").unwrap().id;
    let r = h
        .post(&format!("/api/v1/users/{id}/lifecycle/suspend"))
        .await;
    assert!(r.status().is_success());
    assert!(
        sign_in(&h, "pat@example.com", "pw")
            .await
            .unwrap_err()
            .contains("Unable to sign in")
    );
}

#[tokio::test]
async fn the_code_needs_its_pkce_verifier_and_the_clients_secret() {
    let h = org().await;
    let q = sign_in(&h, "pat@example.com", "pw").await.unwrap();
    let (status, body) = exchange(&h, get(&q, "code").unwrap(), "another-verifier").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_description"], "PKCE verification failed.");
    let q = sign_in(&h, "pat@example.com", "pw").await.unwrap();
    let r = no_redirects()
        .post(h.url("/oauth2/v1/token"))
        .basic_auth(APP, Some("wrong"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", get(&q, "code").unwrap()),
            ("redirect_uri", BACK),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
