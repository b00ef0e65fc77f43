//! OpenID Connect sign-in for people, the way Okta's org authorization server offers it to a
//! web app (here, the operator console): discovery, the authorization-code flow with PKCE, an
//! Okta-style sign-in form, RS256 ID tokens and the key set they verify against.
//!
//! - `GET /.well-known/openid-configuration`: the issuer is the org's origin, as for Okta's
//!   org authorization server.
//! - `GET /oauth2/v1/authorize`: an unknown `client_id` or a `redirect_uri` that is not one of
//!   the app's sign-in redirect URIs answers a 400 error page and never redirects (Okta will
//!   not send a code to an unregistered address). Every later refusal goes back to the
//!   redirect URI as `error=…&state=…`: a `response_type` other than `code`
//!   (`unsupported_response_type`), no `openid` scope (`invalid_scope`), no `state`, or a PKCE
//!   method other than `S256` (`invalid_request`). Otherwise the sign-in form is shown.
//! - `POST /oauth2/v1/authorize` (the form): a user who does not exist, is not `ACTIVE`
//!   (suspended, deactivated, locked out) or gives the wrong password sees "Unable to sign
//!   in" again, as Okta shows it; a good one is redirected with a one-time code.
//! - `POST /oauth2/v1/token` with `grant_type=authorization_code`: the client authenticates
//!   with `client_secret_basic` or `client_secret_post` (`401 invalid_client` otherwise). The
//!   code must be unused, at most 60 seconds old, issued to this client for this redirect URI,
//!   and its PKCE verifier must match (`400 invalid_grant`); a code is spent by its first
//!   exchange, even a failed one. The answer carries an RS256 ID token with `iss`, `sub` (the
//!   user id), `aud` (the client id), `iat`, `exp` (one hour), `auth_time`, the `nonce` sent
//!   to the authorize endpoint, and, with the `email` scope, `email` and `email_verified`.
//! - `GET /oauth2/v1/keys`: the public signing key as a JWK set.
//!
//! A knob signs ID tokens with a key the key set does not publish, as a forged token would
//! be. Approximations: one signing key, generated on first use; no consent screen, MFA or
//! session cookie at the IdP (every authorization shows the form); `prompt`, `login_hint`
//! and `max_age` are ignored.

use std::collections::{HashMap, HashSet};

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::RngCore;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::okta::model::UserStatus;
use crate::okta::oauth::now_secs;
use crate::okta::service::AppState;

/// How long an authorization code can be exchanged, as Okta documents it.
const CODE_TTL_SECS: u64 = 60;
/// How long an ID token is valid.
const ID_TOKEN_TTL_SECS: u64 = 3600;
/// How long a shown sign-in form can be submitted.
const FORM_TTL_SECS: u64 = 600;

/// A web app registered for sign-in.
#[derive(Clone, Debug)]
struct WebApp {
    secret: String,
    redirect_uris: HashSet<String>,
}

/// An authorization request waiting for its sign-in form.
#[derive(Clone, Debug)]
struct Pending {
    client_id: String,
    redirect_uri: String,
    state: String,
    nonce: Option<String>,
    challenge: Option<String>,
    scopes: Vec<String>,
    until: u64,
}

/// Who signed in, as the ID token will say it.
#[derive(Clone, Debug)]
struct SignedIn {
    sub: String,
    email: String,
    name: String,
    login: String,
}

/// A code waiting for its exchange.
#[derive(Clone, Debug)]
struct Code {
    request: Pending,
    user: SignedIn,
    issued: u64,
}

/// An RSA signing key and its public JWK.
struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    jwk: Value,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish()
    }
}

impl SigningKey {
    fn generate(kid: &str) -> Self {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::pkcs8::LineEnding;
        use rsa::traits::PublicKeyParts;
        let private =
            rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("RSA key generation");
        let pem = private.to_pkcs1_pem(LineEnding::LF).expect("PEM encoding");
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("PEM reading");
        let jwk = json!({
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
        });
        Self {
            kid: kid.to_owned(),
            encoding,
            jwk,
        }
    }
}

/// The sign-in side of the org authorization server.
#[derive(Debug)]
pub struct SignInServer {
    issuer: String,
    apps: HashMap<String, WebApp>,
    /// Login (lower case) → password.
    passwords: HashMap<String, String>,
    pending: HashMap<String, Pending>,
    codes: HashMap<String, Code>,
    key: Option<SigningKey>,
    /// A key the key set does not publish, with the published key's `kid`.
    forged: Option<SigningKey>,
    sign_with_unpublished_key: bool,
}

impl SignInServer {
    pub fn new(issuer: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            apps: HashMap::new(),
            passwords: HashMap::new(),
            pending: HashMap::new(),
            codes: HashMap::new(),
            key: None,
            forged: None,
            sign_with_unpublished_key: false,
        }
    }

    /// Registers (or replaces) a web app with its client secret and sign-in redirect URIs.
    pub fn register(&mut self, client_id: &str, secret: &str, redirect_uris: &[String]) {
        self.apps.insert(
            client_id.to_owned(),
            WebApp {
                secret: secret.to_owned(),
                redirect_uris: redirect_uris.iter().cloned().collect(),
            },
        );
    }

    pub fn set_password(&mut self, login: &str, password: &str) {
        self.passwords
            .insert(login.to_lowercase(), password.to_owned());
    }

    pub fn sign_with_unpublished_key(&mut self, on: bool) {
        self.sign_with_unpublished_key = on;
    }

    fn key(&mut self) -> &SigningKey {
        self.key
            .get_or_insert_with(|| SigningKey::generate(&random(12)))
    }

    fn discovery(&self) -> Value {
        let base = &self.issuer;
        json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/oauth2/v1/authorize"),
            "token_endpoint": format!("{base}/oauth2/v1/token"),
            "jwks_uri": format!("{base}/oauth2/v1/keys"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post", "private_key_jwt"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["iss", "sub", "aud", "iat", "exp", "auth_time", "nonce",
                "email", "email_verified", "name", "preferred_username"],
        })
    }

    /// Checks an authorization request; the pending id of its form, or the refusal.
    fn authorize(&mut self, q: &HashMap<String, String>, now: u64) -> Result<String, Refusal> {
        self.pending.retain(|_, p| p.until > now);
        let client_id = q.get("client_id").cloned().unwrap_or_default();
        let Some(app) = self.apps.get(&client_id) else {
            return Err(Refusal::Page(
                "invalid_client",
                "The client_id is not valid for this authorization server.",
            ));
        };
        let redirect_uri = q.get("redirect_uri").cloned().unwrap_or_default();
        if !app.redirect_uris.contains(&redirect_uri) {
            return Err(Refusal::Page(
                "invalid_request",
                "The 'redirect_uri' parameter must be a Login redirect URI in the client app settings.",
            ));
        }
        let state = q.get("state").cloned().unwrap_or_default();
        let back = |error: &'static str, description: &'static str| Refusal::Redirect {
            to: redirect_uri.clone(),
            state: state.clone(),
            error,
            description,
        };
        if q.get("response_type").map(String::as_str) != Some("code") {
            return Err(back(
                "unsupported_response_type",
                "The response type is not supported by the authorization server.",
            ));
        }
        let scopes: Vec<String> = q
            .get("scope")
            .map(|s| s.split(' ').map(str::to_owned).collect())
            .unwrap_or_default();
        if !scopes.iter().any(|s| s == "openid") {
            return Err(back("invalid_scope", "The 'openid' scope is required."));
        }
        if state.is_empty() {
            return Err(back(
                "invalid_request",
                "The authentication request has an invalid 'state' parameter.",
            ));
        }
        let challenge = q.get("code_challenge").cloned();
        if challenge.is_some() && q.get("code_challenge_method").map(String::as_str) != Some("S256")
        {
            return Err(back(
                "invalid_request",
                "The 'code_challenge_method' must be S256.",
            ));
        }
        let id = random(16);
        self.pending.insert(
            id.clone(),
            Pending {
                client_id,
                redirect_uri,
                state,
                nonce: q.get("nonce").cloned(),
                challenge,
                scopes,
                until: now + FORM_TTL_SECS,
            },
        );
        Ok(id)
    }

    /// The password check of a submitted form: the redirect with a code, or `None` when the
    /// sign-in fails (the form is shown again).
    fn sign_in(
        &mut self,
        pending: &str,
        user: Option<SignedIn>,
        password: &str,
        now: u64,
    ) -> Result<Option<String>, Refusal> {
        let Some(request) = self.pending.get(pending).cloned().filter(|p| p.until > now) else {
            return Err(Refusal::Page(
                "invalid_request",
                "This sign-in has expired. Go back to the application and sign in again.",
            ));
        };
        let Some(user) = user.filter(|u| {
            self.passwords
                .get(&u.login.to_lowercase())
                .is_some_and(|p| p == password)
        }) else {
            return Ok(None);
        };
        self.pending.remove(pending);
        let code = random(24);
        let to = with_query(
            &request.redirect_uri,
            &[("code", code.as_str()), ("state", request.state.as_str())],
        );
        self.codes.insert(
            code,
            Code {
                request,
                user,
                issued: now,
            },
        );
        Ok(Some(to))
    }

    /// The token endpoint's authorization-code grant.
    fn exchange(
        &mut self,
        client: Option<(String, String)>,
        form: &HashMap<String, String>,
        now: u64,
    ) -> Result<Value, (StatusCode, &'static str, &'static str)> {
        let invalid_client = (
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.",
        );
        let (client_id, secret) = client.ok_or(invalid_client)?;
        if self.apps.get(&client_id).is_none_or(|a| a.secret != secret) {
            return Err(invalid_client);
        }
        let invalid_grant = (
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The authorization code is invalid or has expired.",
        );
        let code = form.get("code").ok_or(invalid_grant)?;
        // Spent by its first exchange, whatever the outcome.
        let code = self.codes.remove(code).ok_or(invalid_grant)?;
        if code.issued + CODE_TTL_SECS < now
            || code.request.client_id != client_id
            || form.get("redirect_uri") != Some(&code.request.redirect_uri)
        {
            return Err(invalid_grant);
        }
        if let Some(challenge) = &code.request.challenge {
            let verifier = form.get("code_verifier").map(String::as_str).unwrap_or("");
            if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != *challenge {
                return Err((
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "PKCE verification failed.",
                ));
            }
        }
        let id_token = self.id_token(&code, &client_id, now);
        Ok(json!({
            "token_type": "Bearer",
            "expires_in": ID_TOKEN_TTL_SECS,
            "access_token": random(32),
            "scope": code.request.scopes.join(" "),
            "id_token": id_token,
        }))
    }

    fn id_token(&mut self, code: &Code, client_id: &str, now: u64) -> String {
        let mut claims = json!({
            "iss": self.issuer,
            "sub": code.user.sub,
            "aud": client_id,
            "iat": now,
            "exp": now + ID_TOKEN_TTL_SECS,
            "auth_time": code.issued,
            "amr": ["pwd"],
            "preferred_username": code.user.login,
            "name": code.user.name,
        });
        if let Some(nonce) = &code.request.nonce {
            claims["nonce"] = json!(nonce);
        }
        if code.request.scopes.iter().any(|s| s == "email") {
            claims["email"] = json!(code.user.email);
            claims["email_verified"] = json!(true);
        }
        let kid = self.key().kid.clone();
        let key = if self.sign_with_unpublished_key {
            self.forged
                .get_or_insert_with(|| SigningKey::generate(&kid))
        } else {
            self.key()
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, &claims, &key.encoding).expect("ID token signing")
    }
}

/// Why an authorization request stops.
enum Refusal {
    /// Shown at the IdP: the redirect URI cannot be trusted with an answer.
    Page(&'static str, &'static str),
    /// Sent back to the app.
    Redirect {
        to: String,
        state: String,
        error: &'static str,
        description: &'static str,
    },
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Page(error, description) => (
                StatusCode::BAD_REQUEST,
                Html(format!(
                    "<!doctype html><html lang=\"en\"><head><title>Error</title></head><body><main>\
                     <h1>{error}</h1><p>{}</p></main></body></html>",
                    escape(description)
                )),
            )
                .into_response(),
            Refusal::Redirect {
                to,
                state,
                error,
                description,
            } => Redirect::to(&with_query(
                &to,
                &[
                    ("error", error),
                    ("error_description", description),
                    ("state", state.as_str()),
                ],
            ))
            .into_response(),
        }
    }
}

fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{query}")
}

fn random(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn form_page(pending: &str, failed: bool) -> Response {
    let status = if failed {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let error = if failed {
        "<p role=\"alert\">Unable to sign in</p>"
    } else {
        ""
    };
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign In</title></head>\
         <body><main><h1>Sign In</h1>{error}\
         <form method=\"post\" action=\"/oauth2/v1/authorize\">\
         <input type=\"hidden\" name=\"pending\" value=\"{}\">\
         <label for=\"username\">Username</label> <input id=\"username\" name=\"username\" autocomplete=\"username\">\
         <label for=\"password\">Password</label> <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\">\
         <button type=\"submit\" id=\"okta-signin-submit\">Sign In</button></form></main></body></html>",
        escape(pending)
    );
    (status, Html(page)).into_response()
}

/// `GET /.well-known/openid-configuration`.
pub(crate) async fn discovery(State(app): State<AppState>) -> Response {
    axum::Json(app.shared.oidc().discovery()).into_response()
}

/// `GET /oauth2/v1/keys`.
pub(crate) async fn keys(State(app): State<AppState>) -> Response {
    let jwk = app.shared.oidc().key().jwk.clone();
    axum::Json(json!({ "keys": [jwk] })).into_response()
}

/// `GET /oauth2/v1/authorize`.
pub(crate) async fn authorize(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match app.shared.oidc().authorize(&q, now_secs()) {
        Ok(pending) => form_page(&pending, false),
        Err(refusal) => refusal.into_response(),
    }
}

/// `POST /oauth2/v1/authorize`: the sign-in form.
pub(crate) async fn submit(
    State(app): State<AppState>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let user = {
        let mut org = app.org();
        org.settle();
        org.user(field("username").trim())
            .filter(|u| u.status == UserStatus::Active)
            .map(|u| SignedIn {
                sub: u.id,
                email: u.email,
                name: format!("{} {}", u.first_name, u.last_name),
                login: u.login,
            })
    };
    let pending = field("pending");
    match app
        .shared
        .oidc()
        .sign_in(pending, user, field("password"), now_secs())
    {
        Ok(Some(to)) => Redirect::to(&to).into_response(),
        Ok(None) => form_page(pending, true),
        Err(refusal) => refusal.into_response(),
    }
}

/// The token endpoint's `authorization_code` grant (the other grants are the service apps').
pub(crate) fn exchange(
    app: &AppState,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Response {
    let client = basic_client(headers).or_else(|| {
        Some((
            form.get("client_id")?.clone(),
            form.get("client_secret")?.clone(),
        ))
    });
    match app.shared.oidc().exchange(client, form, now_secs()) {
        Ok(body) => {
            let mut response = axum::Json(body).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, "no-store".parse().expect("static"));
            response
        }
        Err((status, error, description)) => (
            status,
            axum::Json(json!({ "error": error, "error_description": description })),
        )
            .into_response(),
    }
}

/// `Authorization: Basic base64(client_id:client_secret)`.
fn basic_client(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let decoded = STANDARD.decode(value.strip_prefix("Basic ")?.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}
