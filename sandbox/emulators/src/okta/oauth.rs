//! OAuth 2.0 for service apps, the way Okta's org authorization server
//! grants access to its own management API: a `client_credentials` token
//! request authenticated with a `private_key_jwt` client assertion, optionally
//! sender-constrained with DPoP (RFC 9449), and access tokens that the
//! request gate accepts as `Bearer` or `DPoP` credentials next to the `SSWS`
//! API token.
//!
//! What is checked, and how it answers:
//!
//! - `POST /oauth2/v1/token` (form): `grant_type=client_credentials`,
//!   `scope`, `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`,
//!   `client_assertion`. The assertion must be signed with the app's
//!   registered key (`alg` as registered, `kid` matching when present), with
//!   `aud` = the token URL, `iss` = `sub` = the client id, an `exp` that has
//!   not passed and is at most one hour ahead (60 s of clock skew), an `iat`
//!   not in the future, and a `jti` never used before. Failures are
//!   `401 invalid_client`. Requested scopes must be a non-empty subset of the
//!   granted ones (`400 invalid_scope`).
//! - With DPoP required, the `DPoP` header must hold a `dpop+jwt` proof signed
//!   by the public key in its `jwk` header, with `htm` = `POST`, `htu` = the
//!   token URL, a fresh `iat` and an unused `jti` (`400 invalid_dpop_proof`
//!   otherwise), and carry the server's current (or previous) nonce — else
//!   `400 use_dpop_nonce` with a `dpop-nonce` header. The token is then bound
//!   to the proof key's RFC 7638 thumbprint and issued as `token_type: DPoP`.
//! - Resource calls: `Bearer <token>` for unbound tokens; `DPoP <token>` plus
//!   a fresh proof (`htm`/`htu` of the request, `ath` = base64url(SHA-256 of
//!   the token), the bound key) for DPoP tokens. No nonce is required there,
//!   as Okta documents for its resource calls. Failures are 401 E0000011
//!   with a `WWW-Authenticate` challenge naming the OAuth error.
//!
//! Approximations: the token endpoint is outside the management API's
//! rate-limit bucket and fault knobs; token grants are not written to the
//! System Log; access tokens are HS256 JWTs the emulator recognises by value
//! (Okta signs them with the RS256 keys published at `/oauth2/v1/keys`, which
//! here publishes only the ID-token key of `oidc.rs`); only one key per app; a DPoP header sent for an app that does not
//! require DPoP is ignored and a Bearer token issued.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::time::SystemTime;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::clock;
use crate::okta::service::AppState;
use crate::okta::syslog::LogActor;

/// `client_assertion_type` for `private_key_jwt`.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Path of the org authorization server's token endpoint.
pub const TOKEN_PATH: &str = "/oauth2/v1/token";
/// Access token lifetime, as Okta issues them (`expires_in`).
pub const ACCESS_TOKEN_TTL_SECS: u64 = 3600;
/// Response header carrying the server's DPoP nonce.
pub const DPOP_NONCE_HEADER: &str = "dpop-nonce";

/// Longest a client assertion may live, counted from now.
const MAX_ASSERTION_LIFETIME_SECS: u64 = 3600;
/// Clock skew tolerated on `exp` and `iat`.
const SKEW_SECS: u64 = 60;
/// How old a DPoP proof's `iat` may be.
const PROOF_MAX_AGE_SECS: u64 = 300;
/// DPoP signing algorithms accepted (Okta advertises RS/ES 256–512; ES512
/// is not available to the emulator's JWT library).
const DPOP_ALGS: [Algorithm; 5] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::ES256,
    Algorithm::ES384,
];
const DPOP_ALGS_CHALLENGE: &str = "RS256 RS384 RS512 ES256 ES384";

/// Signature algorithm of a service app's client-assertion key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// ECDSA on P-256 with SHA-256.
    ES256,
}

impl SigningAlg {
    fn algorithm(self) -> Algorithm {
        match self {
            Self::RS256 => Algorithm::RS256,
            Self::ES256 => Algorithm::ES256,
        }
    }
}

/// The public half of a client-assertion key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyMaterial {
    /// A PEM public key (`BEGIN PUBLIC KEY`, or `BEGIN RSA PUBLIC KEY`).
    Pem(String),
    /// A public JWK (`{"kty":"RSA","n":…,"e":…}` or
    /// `{"kty":"EC","crv":"P-256","x":…,"y":…}`), as registered in the app's
    /// JWKS.
    Jwk(Value),
}

/// A service app's registered public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientKey {
    /// Key id; an assertion whose header names another `kid` is refused.
    pub kid: String,
    /// Algorithm the app signs assertions with.
    pub alg: SigningAlg,
    /// The key itself.
    pub material: KeyMaterial,
}

impl ClientKey {
    /// A key given as PEM.
    pub fn pem(kid: &str, alg: SigningAlg, pem: &str) -> Self {
        Self {
            kid: kid.to_owned(),
            alg,
            material: KeyMaterial::Pem(pem.to_owned()),
        }
    }

    /// A key given as a public JWK.
    pub fn jwk(kid: &str, alg: SigningAlg, jwk: Value) -> Self {
        Self {
            kid: kid.to_owned(),
            alg,
            material: KeyMaterial::Jwk(jwk),
        }
    }

    fn decoding_key(&self) -> Result<DecodingKey, ServiceAppError> {
        let invalid = |e: jsonwebtoken::errors::Error| ServiceAppError::InvalidKey(e.to_string());
        match (&self.material, self.alg) {
            (KeyMaterial::Pem(pem), SigningAlg::RS256) => {
                DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(invalid)
            }
            (KeyMaterial::Pem(pem), SigningAlg::ES256) => {
                DecodingKey::from_ec_pem(pem.as_bytes()).map_err(invalid)
            }
            (KeyMaterial::Jwk(value), alg) => {
                if value.get("d").is_some() {
                    return Err(ServiceAppError::InvalidKey(
                        "the JWK holds a private key; register the public key only".to_owned(),
                    ));
                }
                let jwk: Jwk = serde_json::from_value(value.clone())
                    .map_err(|e| ServiceAppError::InvalidKey(e.to_string()))?;
                let expected = match alg {
                    SigningAlg::RS256 => "RSA",
                    SigningAlg::ES256 => "EC",
                };
                if value.get("kty").and_then(Value::as_str) != Some(expected) {
                    return Err(ServiceAppError::InvalidKey(format!(
                        "a {alg:?} key must be a JWK with kty {expected}"
                    )));
                }
                DecodingKey::from_jwk(&jwk).map_err(invalid)
            }
        }
    }
}

/// Why a service app could not be registered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ServiceAppError {
    /// The client id was blank.
    #[error("a service app needs a client id")]
    EmptyClientId,
    /// The public key could not be read.
    #[error("invalid public key: {0}")]
    InvalidKey(String),
}

#[derive(Clone)]
struct ServiceApp {
    kid: String,
    alg: Algorithm,
    key: DecodingKey,
    scopes: BTreeSet<String>,
    require_dpop: bool,
}

#[derive(Clone, Debug)]
struct IssuedToken {
    client_id: String,
    scopes: BTreeSet<String>,
    /// RFC 7638 thumbprint of the DPoP key the token is bound to.
    jkt: Option<String>,
    expires_at: u64,
}

/// Who a management API request acts as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Principal {
    /// The `SSWS` API token: every operation, logged as the admin.
    ApiToken,
    /// An OAuth access token issued to a service app.
    OAuth {
        client_id: String,
        scopes: BTreeSet<String>,
        dpop: bool,
    },
}

impl Principal {
    /// Whether the principal may call an operation needing `scope`. A
    /// `*.manage` scope also grants the matching `*.read`, as Okta's scope
    /// reference describes the manage scopes.
    pub fn allows(&self, scope: &str) -> bool {
        match self {
            Self::ApiToken => true,
            Self::OAuth { scopes, .. } => {
                scopes.contains(scope)
                    || scope
                        .strip_suffix(".read")
                        .is_some_and(|base| scopes.contains(&format!("{base}.manage")))
            }
        }
    }

    /// The System Log actor for OAuth requests: the service app.
    pub fn actor(&self) -> Option<LogActor> {
        match self {
            Self::ApiToken => None,
            Self::OAuth { client_id, .. } => Some(LogActor {
                id: client_id.clone(),
                kind: "PublicClientApp".to_owned(),
                alternate_id: client_id.clone(),
                display_name: client_id.clone(),
                detail_entry: None,
            }),
        }
    }
}

/// A rejected resource-call credential: 401 E0000011 plus this challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Challenge {
    dpop: bool,
    error: &'static str,
    description: String,
    scope: Option<String>,
}

impl Challenge {
    fn invalid_token(dpop: bool, description: &str) -> Self {
        Self {
            dpop,
            error: "invalid_token",
            description: description.to_owned(),
            scope: None,
        }
    }

    fn invalid_proof(description: impl Into<String>) -> Self {
        Self {
            dpop: true,
            error: "invalid_dpop_proof",
            description: description.into(),
            scope: None,
        }
    }

    /// The `insufficient_scope` challenge for a 403.
    pub fn insufficient_scope(dpop: bool, scope: &str) -> Self {
        Self {
            dpop,
            error: "insufficient_scope",
            description: "The access token provided does not contain the required scopes."
                .to_owned(),
            scope: Some(scope.to_owned()),
        }
    }

    /// The `WWW-Authenticate` value, shaped like Okta's
    /// (`Bearer authorization_uri=…, realm=…, error=…, error_description=…`,
    /// with `DPoP algs=…` for DPoP tokens).
    pub fn header_value(&self, base_url: &str, resource: &str) -> String {
        let mut parts = Vec::new();
        if self.dpop {
            parts.push(format!("DPoP algs=\"{DPOP_ALGS_CHALLENGE}\""));
        } else {
            parts.push("Bearer".to_owned());
        }
        let mut params = vec![
            format!("authorization_uri=\"{base_url}/oauth2/v1/authorize\""),
            format!("realm=\"{base_url}\""),
        ];
        if let Some(scope) = &self.scope {
            params.push(format!("scope=\"{scope}\""));
        }
        params.push(format!("error=\"{}\"", self.error));
        params.push(format!(
            "error_description=\"{}\"",
            self.description.replace('"', "'")
        ));
        params.push(format!("resource=\"{resource}\""));
        if self.dpop {
            format!("{}, {}", parts.join(" "), params.join(", "))
        } else {
            format!("{} {}", parts.join(" "), params.join(", "))
        }
    }
}

/// An RFC 6749 error from the token endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TokenError {
    status: StatusCode,
    error: &'static str,
    description: String,
    nonce: Option<String>,
}

impl TokenError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            nonce: None,
        }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }

    fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", description)
    }

    fn invalid_proof(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_dpop_proof", description)
    }

    fn use_nonce(nonce: &str) -> Self {
        Self {
            nonce: Some(nonce.to_owned()),
            ..Self::new(
                StatusCode::BAD_REQUEST,
                "use_dpop_nonce",
                "Authorization server requires nonce in DPoP proof.",
            )
        }
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        no_store(headers);
        if let Some(nonce) = self.nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
            headers.insert(DPOP_NONCE_HEADER, nonce);
        }
        response
    }
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// A successful token response.
#[derive(Clone, Debug)]
struct Granted {
    access_token: String,
    token_type: &'static str,
    scope: String,
}

/// A verified DPoP proof.
struct Proof {
    claims: Value,
    jkt: String,
    jti: String,
    iat: u64,
}

impl Proof {
    fn claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
}

/// The org authorization server: registered service apps, issued tokens,
/// used `jti`s and the DPoP nonce.
pub(crate) struct AuthServer {
    base_url: String,
    token_url: String,
    apps: HashMap<String, ServiceApp>,
    tokens: HashMap<String, IssuedToken>,
    /// `client_id` + `jti` of accepted client assertions → when to forget.
    used_assertions: HashMap<String, u64>,
    /// `jti` of accepted DPoP proofs → when to forget.
    used_proofs: HashMap<String, u64>,
    nonce: String,
    previous_nonce: Option<String>,
    token_secret: Vec<u8>,
}

impl fmt::Debug for AuthServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthServer")
            .field("token_url", &self.token_url)
            .field("apps", &self.apps.keys().collect::<Vec<_>>())
            .field("tokens", &self.tokens.len())
            .finish_non_exhaustive()
    }
}

pub(crate) fn now_secs() -> u64 {
    clock::epoch_millis(SystemTime::now()) / 1000
}

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// base64url(SHA-256(`value`)), the DPoP `ath` of an access token.
pub fn access_token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// Compares two URLs as RFC 9449 compares `htu`: after normalisation, and
/// without query or fragment.
fn same_htu(claimed: &str, expected: &str) -> bool {
    let strip = |raw: &str| {
        url::Url::parse(raw).ok().map(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        })
    };
    matches!((strip(claimed), strip(expected)), (Some(a), Some(b)) if a == b)
}

fn numeric(value: Option<&Value>) -> Option<u64> {
    value.and_then(|v| {
        v.as_u64()
            .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
    })
}

impl AuthServer {
    pub fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.to_owned(),
            token_url: format!("{base_url}{TOKEN_PATH}"),
            apps: HashMap::new(),
            tokens: HashMap::new(),
            used_assertions: HashMap::new(),
            used_proofs: HashMap::new(),
            nonce: random_token(24),
            previous_nonce: None,
            token_secret: random_token(32).into_bytes(),
        }
    }

    pub fn token_url(&self) -> &str {
        &self.token_url
    }

    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// Issues a new nonce; the previous one stays valid until the next
    /// rotation (Okta keeps old nonces working for a while).
    pub fn rotate_nonce(&mut self) -> String {
        let next = random_token(24);
        self.previous_nonce = Some(std::mem::replace(&mut self.nonce, next));
        self.nonce.clone()
    }

    /// Makes every issued access token expired.
    pub fn expire_tokens(&mut self) {
        let now = now_secs();
        for token in self.tokens.values_mut() {
            token.expires_at = now;
        }
    }

    pub fn register(
        &mut self,
        client_id: &str,
        key: &ClientKey,
        scopes: Vec<String>,
        require_dpop: bool,
    ) -> Result<(), ServiceAppError> {
        let client_id = client_id.trim();
        if client_id.is_empty() {
            return Err(ServiceAppError::EmptyClientId);
        }
        let decoding = key.decoding_key()?;
        self.apps.insert(
            client_id.to_owned(),
            ServiceApp {
                kid: key.kid.clone(),
                alg: key.alg.algorithm(),
                key: decoding,
                scopes: scopes.into_iter().collect(),
                require_dpop,
            },
        );
        Ok(())
    }

    fn prune(&mut self, now: u64) {
        self.used_assertions.retain(|_, until| *until > now);
        self.used_proofs.retain(|_, until| *until > now);
        self.tokens.retain(|_, t| t.expires_at + 3600 > now);
    }

    // ----- token endpoint ---------------------------------------------------

    fn grant(
        &mut self,
        form: &HashMap<String, String>,
        dpop: &[&str],
        now: u64,
    ) -> Result<Granted, TokenError> {
        self.prune(now);
        let grant_type = form
            .get("grant_type")
            .filter(|g| !g.is_empty())
            .ok_or_else(|| {
                TokenError::invalid_request(
                    "The request is missing a required parameter: 'grant_type'.",
                )
            })?;
        if grant_type != "client_credentials" {
            return Err(TokenError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!(
                    "The authorization grant type '{grant_type}' is not supported by the authorization server for this client."
                ),
            ));
        }
        let (client_id, assertion_key, assertion_until) = self.authenticate_client(form, now)?;
        let app = self.apps[&client_id].clone();

        let requested: BTreeSet<String> = form
            .get("scope")
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        if requested.is_empty() {
            return Err(TokenError::invalid_scope(
                "The authorization server resource does not have any configured default scopes, 'scope' must be provided.",
            ));
        }
        let missing: Vec<&str> = requested
            .iter()
            .filter(|s| !app.scopes.contains(*s))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(TokenError::invalid_scope(format!(
                "The following scopes were requested, but not granted to the client: {}.",
                missing.join(" ")
            )));
        }

        let bound = if app.require_dpop {
            Some(self.check_token_proof(dpop, now)?)
        } else {
            None
        };

        self.used_assertions.insert(assertion_key, assertion_until);
        let jkt = bound.map(|proof| {
            self.used_proofs.insert(
                proof.jti.clone(),
                proof.iat + PROOF_MAX_AGE_SECS + SKEW_SECS,
            );
            proof.jkt
        });
        let token_type = if jkt.is_some() { "DPoP" } else { "Bearer" };
        let access_token = self.mint(&client_id, &requested, jkt.as_deref(), now);
        self.tokens.insert(
            access_token.clone(),
            IssuedToken {
                client_id,
                scopes: requested.clone(),
                jkt,
                expires_at: now + ACCESS_TOKEN_TTL_SECS,
            },
        );
        Ok(Granted {
            access_token,
            token_type,
            scope: requested.into_iter().collect::<Vec<_>>().join(" "),
        })
    }

    /// Verifies the `private_key_jwt` assertion; returns the client id, the
    /// replay key of its `jti` and until when to remember it.
    fn authenticate_client(
        &self,
        form: &HashMap<String, String>,
        now: u64,
    ) -> Result<(String, String, u64), TokenError> {
        match form.get("client_assertion_type").map(String::as_str) {
            Some(JWT_BEARER) => {}
            Some(other) => {
                return Err(TokenError::invalid_client(format!(
                    "The client_assertion_type '{other}' is not supported; use '{JWT_BEARER}'."
                )));
            }
            None => {
                return Err(TokenError::invalid_client(
                    "Client authentication failed: service apps must authenticate with a private_key_jwt client_assertion.",
                ));
            }
        }
        let assertion = form
            .get("client_assertion")
            .filter(|a| !a.is_empty())
            .ok_or_else(|| {
                TokenError::invalid_client(
                    "The request is missing a required parameter: 'client_assertion'.",
                )
            })?;
        let not_jwt = || TokenError::invalid_client("The client_assertion is not a valid JWT.");
        let header = jsonwebtoken::decode_header(assertion).map_err(|_| not_jwt())?;
        let unverified: Value =
            jsonwebtoken::dangerous::insecure_decode_claims(assertion).map_err(|_| not_jwt())?;
        let client_id = unverified
            .get("iss")
            .and_then(Value::as_str)
            .or_else(|| form.get("client_id").map(String::as_str))
            .ok_or_else(|| {
                TokenError::invalid_client("The client_assertion has no issuer [iss] claim.")
            })?
            .to_owned();
        let app = self.apps.get(&client_id).ok_or_else(|| {
            TokenError::invalid_client("Invalid value for 'client_id' parameter.")
        })?;
        if form.get("client_id").is_some_and(|c| *c != client_id) {
            return Err(TokenError::invalid_client(
                "The client_id parameter does not match the client_assertion issuer [iss].",
            ));
        }
        if header.kid.as_deref().is_some_and(|kid| kid != app.kid) {
            return Err(TokenError::invalid_client(
                "The client_assertion key id [kid] does not match any key registered for the client.",
            ));
        }
        if header.alg != app.alg {
            return Err(TokenError::invalid_client(format!(
                "The client_assertion signature algorithm {:?} is not the one registered for the client.",
                header.alg
            )));
        }
        let mut validation = Validation::new(app.alg);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<Value>(assertion, &app.key, &validation)
            .map_err(|_| TokenError::invalid_client("The client_assertion signature is invalid."))?
            .claims;

        let aud_ok = match claims.get("aud") {
            Some(Value::String(aud)) => *aud == self.token_url,
            Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(&self.token_url)),
            _ => false,
        };
        if !aud_ok {
            return Err(TokenError::invalid_client(format!(
                "The audience [aud] claim in the client_assertion must be '{}'.",
                self.token_url
            )));
        }
        let sub = claims.get("sub").and_then(Value::as_str);
        if sub != Some(client_id.as_str()) {
            return Err(TokenError::invalid_client(
                "The issuer [iss] and subject [sub] claims in the client_assertion must both be the client_id.",
            ));
        }
        let exp = numeric(claims.get("exp")).ok_or_else(|| {
            TokenError::invalid_client("The client_assertion has no expiration [exp] claim.")
        })?;
        if exp <= now {
            return Err(TokenError::invalid_client(
                "The client_assertion token is expired.",
            ));
        }
        if exp > now + MAX_ASSERTION_LIFETIME_SECS + SKEW_SECS {
            return Err(TokenError::invalid_client(
                "The client_assertion token has an expiration [exp] too far in the future: it may be valid for at most one hour.",
            ));
        }
        if numeric(claims.get("iat")).is_some_and(|iat| iat > now + SKEW_SECS) {
            return Err(TokenError::invalid_client(
                "The client_assertion token was issued [iat] in the future.",
            ));
        }
        let jti = claims
            .get("jti")
            .and_then(Value::as_str)
            .filter(|j| !j.is_empty())
            .ok_or_else(|| {
                TokenError::invalid_client("The client_assertion has no JWT ID [jti] claim.")
            })?;
        let replay_key = format!("{client_id}\u{0}{jti}");
        if self.used_assertions.contains_key(&replay_key) {
            return Err(TokenError::invalid_client(
                "The client_assertion JWT ID [jti] has already been used.",
            ));
        }
        Ok((client_id, replay_key, exp + SKEW_SECS))
    }

    fn check_token_proof(&self, dpop: &[&str], now: u64) -> Result<Proof, TokenError> {
        let raw = match dpop {
            [] => {
                return Err(TokenError::invalid_proof(
                    "The DPoP proof JWT header is missing.",
                ));
            }
            [one] => *one,
            _ => {
                return Err(TokenError::invalid_proof(
                    "Only one DPoP proof may be sent.",
                ));
            }
        };
        let proof = self
            .verify_proof(raw, now)
            .map_err(TokenError::invalid_proof)?;
        if proof.claim("htm") != Some("POST") {
            return Err(TokenError::invalid_proof(
                "The DPoP proof 'htm' claim does not match the request method.",
            ));
        }
        if !proof
            .claim("htu")
            .is_some_and(|htu| same_htu(htu, &self.token_url))
        {
            return Err(TokenError::invalid_proof(
                "The DPoP proof 'htu' claim does not match the token endpoint URL.",
            ));
        }
        let nonce_ok = proof
            .claim("nonce")
            .is_some_and(|n| n == self.nonce || self.previous_nonce.as_deref() == Some(n));
        if !nonce_ok {
            return Err(TokenError::use_nonce(&self.nonce));
        }
        Ok(proof)
    }

    /// Checks what every DPoP proof must satisfy: `typ`, `alg`, a public
    /// `jwk` that verifies the signature, a fresh `iat`, and an unused `jti`.
    fn verify_proof(&self, raw: &str, now: u64) -> Result<Proof, String> {
        let malformed = || "The DPoP proof is not a valid JWT.".to_owned();
        let header_json: Value = raw
            .split('.')
            .next()
            .and_then(|h| URL_SAFE_NO_PAD.decode(h.trim_end_matches('=')).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(malformed)?;
        if header_json.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
            return Err("The DPoP proof 'typ' header must be 'dpop+jwt'.".to_owned());
        }
        let jwk_json = header_json
            .get("jwk")
            .filter(|j| j.is_object())
            .ok_or_else(|| "The DPoP proof has no 'jwk' header.".to_owned())?;
        if jwk_json.get("d").is_some() {
            return Err("The DPoP proof 'jwk' header must not contain a private key.".to_owned());
        }
        let header: Header = jsonwebtoken::decode_header(raw).map_err(|_| malformed())?;
        if !DPOP_ALGS.contains(&header.alg) {
            return Err(format!(
                "The DPoP proof algorithm {:?} is not supported.",
                header.alg
            ));
        }
        let jwk = header
            .jwk
            .ok_or_else(|| "The DPoP proof 'jwk' header is not a supported key.".to_owned())?;
        let key = DecodingKey::from_jwk(&jwk)
            .map_err(|_| "The DPoP proof 'jwk' header is not a supported key.".to_owned())?;
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<Value>(raw, &key, &validation)
            .map_err(|_| "The DPoP proof signature is invalid.".to_owned())?
            .claims;
        let iat = numeric(claims.get("iat"))
            .ok_or_else(|| "The DPoP proof has no 'iat' claim.".to_owned())?;
        if iat > now + SKEW_SECS || iat + PROOF_MAX_AGE_SECS < now {
            return Err("The DPoP proof 'iat' claim is not recent.".to_owned());
        }
        let jti = claims
            .get("jti")
            .and_then(Value::as_str)
            .filter(|j| !j.is_empty())
            .ok_or_else(|| "The DPoP proof has no 'jti' claim.".to_owned())?
            .to_owned();
        if self.used_proofs.contains_key(&jti) {
            return Err("The DPoP proof 'jti' has already been used.".to_owned());
        }
        let jkt = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|_| "The DPoP proof 'jwk' header is not a supported key.".to_owned())?;
        Ok(Proof {
            claims,
            jkt,
            jti,
            iat,
        })
    }

    fn mint(
        &self,
        client_id: &str,
        scopes: &BTreeSet<String>,
        jkt: Option<&str>,
        now: u64,
    ) -> String {
        let mut claims = json!({
            "ver": 1,
            "jti": format!("AT.{}", random_token(32)),
            "iss": self.base_url,
            "aud": self.base_url,
            "iat": now,
            "exp": now + ACCESS_TOKEN_TTL_SECS,
            "cid": client_id,
            "sub": client_id,
            "scp": scopes.iter().collect::<Vec<_>>(),
        });
        if let (Some(jkt), Some(map)) = (jkt, claims.as_object_mut()) {
            map.insert("cnf".to_owned(), json!({ "jkt": jkt }));
        }
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("sandbox-org-as".to_owned());
        jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_secret(&self.token_secret),
        )
        .unwrap_or_else(|_| random_token(48))
    }

    // ----- resource calls -----------------------------------------------------

    /// Authenticates a `Bearer` or `DPoP` credential on a management API
    /// request to `url` (absolute, as the client addressed it).
    pub fn authenticate(
        &mut self,
        scheme_is_dpop: bool,
        token: &str,
        proofs: &[&str],
        method: &str,
        url: &str,
    ) -> Result<Principal, Challenge> {
        let now = now_secs();
        self.prune(now);
        let issued = self.tokens.get(token).cloned().ok_or_else(|| {
            Challenge::invalid_token(scheme_is_dpop, "The access token is invalid.")
        })?;
        if issued.expires_at <= now {
            return Err(Challenge::invalid_token(
                scheme_is_dpop,
                "The access token is expired.",
            ));
        }
        match (&issued.jkt, scheme_is_dpop) {
            (Some(_), false) => {
                return Err(Challenge::invalid_token(
                    true,
                    "The access token is DPoP-bound; send it with the DPoP scheme and a DPoP proof.",
                ));
            }
            (None, true) => {
                return Err(Challenge::invalid_token(
                    false,
                    "The access token is not DPoP-bound; send it with the Bearer scheme.",
                ));
            }
            _ => {}
        }
        if let Some(jkt) = &issued.jkt {
            let raw = match proofs {
                [] => return Err(Challenge::invalid_proof("The DPoP proof is missing.")),
                [one] => *one,
                _ => return Err(Challenge::invalid_proof("Only one DPoP proof may be sent.")),
            };
            let proof = self
                .verify_proof(raw, now)
                .map_err(Challenge::invalid_proof)?;
            if proof.claim("htm") != Some(method) {
                return Err(Challenge::invalid_proof(
                    "The DPoP proof 'htm' claim does not match the request method.",
                ));
            }
            if !proof.claim("htu").is_some_and(|htu| same_htu(htu, url)) {
                return Err(Challenge::invalid_proof(
                    "The DPoP proof 'htu' claim does not match the request URL.",
                ));
            }
            if proof.claim("ath") != Some(access_token_hash(token).as_str()) {
                return Err(Challenge::invalid_proof(
                    "The DPoP proof 'ath' claim does not match the access token.",
                ));
            }
            if proof.jkt != *jkt {
                return Err(Challenge::invalid_proof(
                    "The DPoP proof key does not match the key the access token is bound to.",
                ));
            }
            self.used_proofs
                .insert(proof.jti, proof.iat + PROOF_MAX_AGE_SECS + SKEW_SECS);
        }
        Ok(Principal::OAuth {
            client_id: issued.client_id,
            scopes: issued.scopes,
            dpop: issued.jkt.is_some(),
        })
    }
}

/// `POST /oauth2/v1/token`.
pub(crate) async fn token(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if form.get("grant_type").map(String::as_str) == Some("authorization_code") {
        return crate::okta::oidc::exchange(&app, &headers, &form);
    }
    let proofs: Vec<&str> = headers
        .get_all("dpop")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let granted = app.shared.oauth().grant(&form, &proofs, now_secs());
    match granted {
        Ok(granted) => {
            let body = json!({
                "token_type": granted.token_type,
                "expires_in": ACCESS_TOKEN_TTL_SECS,
                "access_token": granted.access_token,
                "scope": granted.scope,
            });
            let mut response = (StatusCode::OK, Json(body)).into_response();
            no_store(response.headers_mut());
            response
        }
        Err(e) => e.into_response(),
    }
}
