//! Signing in through the organisation's own identity provider: OpenID Connect's
//! authorization-code flow with PKCE, against a provider named in `[[oidc]]`.
//!
//! The flow keeps no server memory (a Lambda has none between requests): `state`, `nonce`
//! and the PKCE verifier travel in a short-lived cookie signed with the session key, scoped to
//! the sign-in paths and `SameSite=Lax`, since the provider sends the browser back with a
//! cross-site navigation. The ID token is verified here, not trusted: its signature against
//! the provider's published key set (never `none`, never a shared-secret algorithm), its
//! issuer against the configured one, its audience against the client id, its expiry, and
//! its nonce against the cookie's. The identity then names an operator of this deployment by
//! subject, or by an e-mail address the provider says it verified; the operator's tenants
//! come from `passage.toml` as for every other sign-in.
//!
//! The HTTP client is reqwest, and the token checks are jsonwebtoken's; what is written here
//! is only the flow's glue, which no maintained crate offers without a session store.

use super::layout::{self, Notice};
use super::session::{self, SessionKey};
use crate::ApiState;
use crate::operator::Operator;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use maud::html;
use passage_core::secret::Secret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::sync::OnceCell;

const FLOW_COOKIE: &str = "passage_oidc";
const FLOW_PATH: &str = "/console/sign-in/oidc";
/// Long enough to type a password and answer an MFA prompt, short enough that a stolen
/// half-finished sign-in is worthless soon.
const FLOW_LIFETIME_S: i64 = 600;
/// Clock difference tolerated on the ID token's times.
const LEEWAY_S: u64 = 60;
/// Where the provider sends the browser back.
pub const CALLBACK_PATH: &str = "/console/sign-in/oidc/callback";

/// An OpenID Connect provider people sign in with.
#[derive(Clone, Debug)]
pub struct OidcProvider {
    /// Shown on the sign-in page and named by operators' `oidc.provider`.
    pub name: String,
    /// The issuer, exactly as the provider's discovery document and ID tokens state it.
    pub issuer: String,
    pub client_id: String,
    client_secret: Secret,
    /// The callback registered at the provider; `None` derives it from the request's host.
    pub redirect_url: Option<String>,
    /// The discovery document, read once per process: the sign-in and its callback use the
    /// same endpoints. (The key set is read at each callback, so a rotated key is seen.)
    discovered: Arc<OnceCell<Discovery>>,
}

impl OidcProvider {
    pub fn new(
        name: impl Into<String>,
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Secret,
        redirect_url: Option<String>,
    ) -> Self {
        Self {
            name: name.into(),
            issuer: issuer.into().trim_end_matches('/').to_owned(),
            client_id: client_id.into(),
            client_secret,
            redirect_url,
            discovered: Arc::default(),
        }
    }

    fn redirect_uri(&self, headers: &HeaderMap) -> String {
        self.redirect_url.clone().unwrap_or_else(|| {
            let host = headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("localhost");
            let scheme = if session::is_loopback(headers) {
                "http"
            } else {
                "https"
            };
            format!("{scheme}://{host}{CALLBACK_PATH}")
        })
    }
}

/// How an operator is known at a provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OidcIdentity {
    /// The ID token's `sub`: stable, and what a provider never reassigns.
    Subject(String),
    /// An e-mail address, accepted only when the token says the provider verified it.
    Email(String),
}

/// What a verified ID token says about the person.
#[derive(Debug, Deserialize)]
struct IdClaims {
    sub: String,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<bool>,
}

impl IdClaims {
    fn matches(&self, identity: &OidcIdentity) -> bool {
        match identity {
            OidcIdentity::Subject(sub) => *sub == self.sub,
            OidcIdentity::Email(email) => {
                self.email_verified == Some(true)
                    && self
                        .email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(email))
            }
        }
    }

    /// How the person is shown in a refusal: their e-mail address, or their subject.
    fn shown(&self) -> &str {
        self.email.as_deref().unwrap_or(&self.sub)
    }
}

/// The provider's endpoints, from its discovery document.
#[derive(Debug, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

/// The signed, expiring state of one sign-in in progress.
#[derive(Serialize, Deserialize)]
struct Flow {
    provider: String,
    state: String,
    nonce: String,
    verifier: String,
    redirect_uri: String,
    exp: i64,
}

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .expect("an HTTP client")
    })
}

fn random(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Fetches and checks the discovery document: its issuer must be the configured one
/// (OpenID Connect Discovery 1.0, section 4.3), or a look-alike could name other endpoints.
async fn discover(p: &OidcProvider) -> Result<&Discovery, String> {
    p.discovered
        .get_or_try_init(|| async {
            let url = format!("{}/.well-known/openid-configuration", p.issuer);
            let d: Discovery = get_json(&url).await?;
            if d.issuer.trim_end_matches('/') != p.issuer {
                return Err(format!(
                    "{url} names the issuer {:?}, not the configured {:?}",
                    d.issuer, p.issuer
                ));
            }
            Ok(d)
        })
        .await
}

async fn get_json<T: serde::de::DeserializeOwned>(url: &str) -> Result<T, String> {
    let response = client()
        .get(url)
        .send()
        .await
        .map_err(|e| format!("{url} could not be reached: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{url} answered {}", response.status()));
    }
    response
        .json()
        .await
        .map_err(|e| format!("{url} answered something unreadable: {e}"))
}

/// `GET /console/sign-in/oidc/{provider}`: off to the provider's sign-in page.
pub(crate) async fn start(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(key) = SessionKey::of(&state) else {
        return no_session_key();
    };
    let Some(p) = state.operators.oidc_provider(&name) else {
        return refused(
            StatusCode::NOT_FOUND,
            format!("no sign-in provider is called {name:?} here"),
        );
    };
    let d = match discover(p).await {
        Ok(d) => d,
        Err(e) => {
            return refused(
                StatusCode::BAD_GATEWAY,
                format!("{name} cannot be used now: {e}"),
            );
        }
    };
    let flow = Flow {
        provider: p.name.clone(),
        state: random(16),
        nonce: random(16),
        verifier: random(32),
        redirect_uri: p.redirect_uri(&headers),
        exp: jiff::Timestamp::now().as_second() + FLOW_LIFETIME_S,
    };
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(flow.verifier.as_bytes()));
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", p.client_id.as_str()),
        ("redirect_uri", flow.redirect_uri.as_str()),
        ("scope", "openid email profile"),
        ("state", flow.state.as_str()),
        ("nonce", flow.nonce.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ])
    .unwrap_or_default();
    let sep = if d.authorization_endpoint.contains('?') {
        '&'
    } else {
        '?'
    };
    let to = format!("{}{sep}{query}", d.authorization_endpoint);
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, flow_cookie(&key, &flow, &headers)),
            (header::LOCATION, to),
        ],
    )
        .into_response()
}

fn flow_cookie(key: &SessionKey, flow: &Flow, headers: &HeaderMap) -> String {
    let sealed = key.seal("oidc flow", flow);
    let secure = if session::is_loopback(headers) {
        ""
    } else {
        "; Secure"
    };
    format!(
        "{FLOW_COOKIE}={sealed}; Max-Age={FLOW_LIFETIME_S}; Path={FLOW_PATH}; HttpOnly; SameSite=Lax{secure}"
    )
}

fn read_flow(key: &SessionKey, headers: &HeaderMap, now: i64) -> Option<Flow> {
    let flow: Flow = key.open("oidc flow", session::cookie_value(headers, FLOW_COOKIE)?)?;
    (flow.exp > now).then_some(flow)
}

/// What the provider sends the browser back with.
#[derive(Deserialize)]
pub(crate) struct Callback {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// `GET /console/sign-in/oidc/callback`: the code, exchanged and its ID token verified.
pub(crate) async fn callback(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(cb): Query<Callback>,
) -> Response {
    let Some(key) = SessionKey::of(&state) else {
        return no_session_key();
    };
    let now = jiff::Timestamp::now().as_second();
    let Some(flow) = read_flow(&key, &headers, now) else {
        return refused(
            StatusCode::BAD_REQUEST,
            "this sign-in was not started in this browser, or took longer than ten minutes; start it again".into(),
        );
    };
    if !bool::from(flow.state.as_bytes().ct_eq(cb.state.as_bytes())) {
        return refused(
            StatusCode::BAD_REQUEST,
            "the provider's answer does not belong to this sign-in (its state differs); start it again".into(),
        );
    }
    if let Some(error) = &cb.error {
        let why = cb.error_description.as_deref().unwrap_or("");
        return refused(
            StatusCode::UNAUTHORIZED,
            format!("{} refused the sign-in: {error} {why}", flow.provider),
        );
    }
    let Some(p) = state.operators.oidc_provider(&flow.provider) else {
        return refused(
            StatusCode::BAD_REQUEST,
            format!("{} is no longer a sign-in provider here", flow.provider),
        );
    };
    let claims = match verified_claims(p, &flow, &cb.code).await {
        Ok(c) => c,
        Err(e) => {
            return refused(
                StatusCode::UNAUTHORIZED,
                format!("signing in with {} failed: {e}", p.name),
            );
        }
    };
    let Some(op) = state.operators.by_oidc(&p.name, |id| claims.matches(id)) else {
        return refused(
            StatusCode::FORBIDDEN,
            format!(
                "{} says you are {}, but no operator of this deployment is that identity; an administrator adds `oidc = {{ provider = \"{}\", email = \"…\" }}` (or `subject`) to your operator in passage.toml",
                p.name,
                claims.shown(),
                p.name
            ),
        );
    };
    signed_in(&key, op, now, &headers, &p.name)
}

/// The session cookie, and a page that moves on to the console. A redirect would not do: the
/// session cookie is `SameSite=Strict`, and a browser does not send it on the rest of a
/// redirect chain the provider's site started.
fn signed_in(
    key: &SessionKey,
    op: &Operator,
    now: i64,
    headers: &HeaderMap,
    provider: &str,
) -> Response {
    tracing::info!(operator = %op.name, method = "oidc", provider, "console sign-in");
    let cleared = {
        let secure = if session::is_loopback(headers) {
            ""
        } else {
            "; Secure"
        };
        format!("{FLOW_COOKIE}=; Max-Age=0; Path={FLOW_PATH}; HttpOnly; SameSite=Lax{secure}")
    };
    let page = html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="refresh" content="0;url=/console";
                title { "Signed in · Passage" }
            }
            body { main { p { "Signed in as " (op.name) ". " a href="/console" { "Continue to the console" } } } }
        }
    };
    let mut response = (StatusCode::OK, page).into_response();
    let h = response.headers_mut();
    for cookie in [session::issue(key, op, now, headers), cleared] {
        if let Ok(v) = cookie.parse() {
            h.append(header::SET_COOKIE, v);
        }
    }
    response
}

/// The code exchanged at the token endpoint, and the ID token's claims once every check holds.
async fn verified_claims(p: &OidcProvider, flow: &Flow, code: &str) -> Result<IdClaims, String> {
    let d = discover(p).await?;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", flow.redirect_uri.as_str()),
        ("code_verifier", flow.verifier.as_str()),
    ];
    let response = client()
        .post(&d.token_endpoint)
        .basic_auth(
            form_encode(&p.client_id),
            Some(form_encode(p.client_secret.expose())),
        )
        .form(&form)
        .send()
        .await
        .map_err(|e| format!("the token endpoint could not be reached: {e}"))?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|e| format!("the token endpoint answered something unreadable: {e}"))?;
    if !status.is_success() {
        return Err(format!(
            "the token endpoint refused the code ({status}): {} {}",
            body["error"].as_str().unwrap_or(""),
            body["error_description"].as_str().unwrap_or("")
        ));
    }
    let id_token = body["id_token"]
        .as_str()
        .ok_or("the token endpoint sent no ID token (is the openid scope allowed for this app?)")?;
    let keys: JwkSet = get_json(&d.jwks_uri).await?;
    let claims = verify_id_token(id_token, &keys, p)?;
    let nonce_ok = claims
        .nonce
        .as_deref()
        .is_some_and(|n| bool::from(n.as_bytes().ct_eq(flow.nonce.as_bytes())));
    if !nonce_ok {
        return Err("the ID token's nonce is not this sign-in's (a replayed token?)".into());
    }
    Ok(claims)
}

/// `client_secret_basic` form-encodes the id and secret before the Basic encoding (RFC 6749,
/// section 2.3.1).
fn form_encode(value: &str) -> String {
    serde_urlencoded::to_string([("", value)])
        .map(|s| s.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

/// Signature, issuer, audience and expiry of an ID token, against the provider's key set.
fn verify_id_token(token: &str, keys: &JwkSet, p: &OidcProvider) -> Result<IdClaims, String> {
    let header = jsonwebtoken::decode_header(token)
        .map_err(|e| format!("the ID token is malformed: {e}"))?;
    // Asymmetric algorithms only: `none` and HS* would let anyone who knows the client
    // secret (or nothing at all) mint a token.
    let allowed = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::ES384,
    ];
    if !allowed.contains(&header.alg) {
        return Err(format!(
            "the ID token is signed with {:?}, which is not accepted",
            header.alg
        ));
    }
    let jwk = match &header.kid {
        Some(kid) => keys.find(kid),
        None if keys.keys.len() == 1 => keys.keys.first(),
        None => None,
    }
    .ok_or("the ID token names a key the provider does not publish")?;
    let key =
        DecodingKey::from_jwk(jwk).map_err(|e| format!("the provider's key is unusable: {e}"))?;
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[&p.issuer]);
    v.set_audience(&[&p.client_id]);
    v.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    v.leeway = LEEWAY_S;
    jsonwebtoken::decode::<IdClaims>(token, &key, &v)
        .map(|d| d.claims)
        .map_err(|e| format!("the ID token does not verify: {e}"))
}

fn no_session_key() -> Response {
    refused(
        StatusCode::SERVICE_UNAVAILABLE,
        "this deployment has no link key to sign console sessions with; set one and restart".into(),
    )
}

fn refused(status: StatusCode, why: String) -> Response {
    layout::respond(
        status,
        layout::page(
            "Sign in",
            "",
            None,
            Some(&Notice::Refused(why)),
            html! { p { a href="/console/sign-in" { "Back to sign-in" } } },
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> OidcProvider {
        OidcProvider::new(
            "acme",
            "https://acme.okta.com/",
            "0oa1",
            Secret::new("s"),
            None,
        )
    }

    #[test]
    fn a_token_signed_with_a_shared_secret_or_nothing_is_refused_before_any_key_is_read() {
        let claims = serde_json::json!({"iss": "https://acme.okta.com", "aud": "0oa1",
            "sub": "00u1", "iat": 1, "exp": 4_000_000_000u64});
        let hs = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(b"the client secret"),
        )
        .unwrap();
        let keys = JwkSet { keys: Vec::new() };
        let e = verify_id_token(&hs, &keys, &provider()).unwrap_err();
        assert!(e.contains("not accepted"), "{e}");
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let none = format!("{}.{body}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#));
        assert!(verify_id_token(&none, &keys, &provider()).is_err());
    }

    #[test]
    fn an_email_identity_needs_the_providers_word_that_it_was_verified() {
        let id = OidcIdentity::Email("Ann@Acme.example".into());
        let claims = |verified: Option<bool>| IdClaims {
            sub: "00u1".into(),
            nonce: None,
            email: Some("ann@acme.example".into()),
            email_verified: verified,
        };
        assert!(claims(Some(true)).matches(&id));
        assert!(!claims(Some(false)).matches(&id));
        assert!(!claims(None).matches(&id));
        assert!(claims(None).matches(&OidcIdentity::Subject("00u1".into())));
        assert!(!claims(None).matches(&OidcIdentity::Subject("00u2".into())));
    }

    #[test]
    fn the_callback_is_derived_from_the_host_unless_configured() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(
            provider().redirect_uri(&h),
            "http://127.0.0.1:8080/console/sign-in/oidc/callback"
        );
        h.insert(header::HOST, "passage.acme.example".parse().unwrap());
        assert_eq!(
            provider().redirect_uri(&h),
            "https://passage.acme.example/console/sign-in/oidc/callback"
        );
        assert_eq!(provider().issuer, "https://acme.okta.com");
    }
}
