//! Service-account authentication with domain-wide delegation, as
//! `oauth2.googleapis.com/token` performs it, and the access tokens it
//! issues.
//!
//! The client posts `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`
//! and an RS256 `assertion` whose header names the key (`kid`) and whose
//! claims carry `iss` (the service account's e-mail), `scope`
//! (space-separated), `aud` (the token endpoint), `iat`, `exp` and
//! optionally `sub` (the user to impersonate). The emulator verifies the
//! signature against the registered public key, the audience, the time
//! window, the scopes, the subject and the delegation allow-list, and
//! answers with Google's OAuth error codes.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::google::errors::{GoogleError, TokenError};
use crate::google::model;
use crate::google::scopes;
use crate::google::service::AppState;
use crate::google::state::{Caller, GoogleState};

/// The grant type for service-account assertions.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Google's token endpoint, accepted as `aud` besides the emulator's own
/// token URL.
pub const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// Older audiences Google still accepts for the same endpoint.
const LEGACY_AUDIENCES: [&str; 2] = [
    "https://www.googleapis.com/oauth2/v4/token",
    "https://accounts.google.com/o/oauth2/token",
];
/// Lifetime of an issued access token (`expires_in: 3599`).
pub const ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(3599);
/// Google accepts assertions whose `exp` is at most 65 minutes after `iat`.
const MAX_ASSERTION_LIFETIME_SECS: i64 = 65 * 60;
/// Tolerated clock skew for `iat` in the future.
const CLOCK_SKEW_SECS: i64 = 5 * 60;

/// Why a service account could not be registered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ServiceAccountError {
    /// The public key is not an RSA public key in PEM form.
    #[error("not an RSA public key in PEM form: {0}")]
    BadKey(String),
    /// The e-mail is registered under a different client id.
    #[error("{0} is already registered with client id {1}")]
    ClientIdMismatch(String, String),
}

#[derive(Clone)]
struct SaKey {
    key_id: String,
    key: DecodingKey,
    disabled: bool,
}

impl std::fmt::Debug for SaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaKey")
            .field("key_id", &self.key_id)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug)]
struct ServiceAccount {
    client_email: String,
    client_id: String,
    keys: Vec<SaKey>,
}

/// An issued access token.
#[derive(Clone, Debug)]
struct AccessToken {
    subject: Option<usize>,
    client_email: String,
    client_id: String,
    scopes: Vec<String>,
    expires_at: Instant,
}

/// What an API request's bearer token grants.
#[derive(Clone, Debug)]
pub(crate) struct Grant {
    pub caller: Caller,
    pub client_id: String,
    pub scopes: Vec<String>,
}

/// Service accounts, delegation allow-lists and live access tokens.
#[derive(Debug, Default)]
pub(crate) struct AuthState {
    accounts: Vec<ServiceAccount>,
    /// Domain-wide delegation: client id → authorised scopes.
    delegation: HashMap<String, BTreeSet<String>>,
    tokens: HashMap<String, AccessToken>,
}

impl AuthState {
    /// Registers a key for a service account (creating the account), and
    /// authorises its client id for `scopes` (replacing any earlier list).
    pub fn register(
        &mut self,
        client_email: &str,
        client_id: &str,
        public_key_pem: &str,
        key_id: &str,
        scopes: &[&str],
    ) -> Result<(), ServiceAccountError> {
        let key = DecodingKey::from_rsa_pem(public_key_pem.as_bytes())
            .map_err(|e| ServiceAccountError::BadKey(e.to_string()))?;
        let key = SaKey {
            key_id: key_id.to_owned(),
            key,
            disabled: false,
        };
        match self
            .accounts
            .iter_mut()
            .find(|a| a.client_email.eq_ignore_ascii_case(client_email))
        {
            Some(account) if account.client_id != client_id => {
                return Err(ServiceAccountError::ClientIdMismatch(
                    client_email.to_owned(),
                    account.client_id.clone(),
                ));
            }
            Some(account) => {
                account.keys.retain(|k| k.key_id != key_id);
                account.keys.push(key);
            }
            None => self.accounts.push(ServiceAccount {
                client_email: client_email.to_owned(),
                client_id: client_id.to_owned(),
                keys: vec![key],
            }),
        }
        self.delegate(client_id, scopes);
        Ok(())
    }

    /// Replaces a client id's delegation allow-list; an empty list removes
    /// the delegation entirely.
    pub fn delegate(&mut self, client_id: &str, scopes: &[&str]) {
        if scopes.is_empty() {
            self.delegation.remove(client_id);
        } else {
            self.delegation.insert(
                client_id.to_owned(),
                scopes.iter().map(|s| (*s).to_owned()).collect(),
            );
        }
    }

    /// Disables or re-enables one key.
    pub fn set_key_disabled(&mut self, key_id: &str, disabled: bool) -> bool {
        let mut found = false;
        for account in &mut self.accounts {
            for key in &mut account.keys {
                if key.key_id == key_id {
                    key.disabled = disabled;
                    found = true;
                }
            }
        }
        found
    }

    /// Makes every issued access token expire now.
    pub fn expire_all(&mut self) {
        self.tokens.clear();
    }

    /// Issued tokens still live.
    pub fn live_tokens(&self) -> usize {
        let now = Instant::now();
        self.tokens.values().filter(|t| t.expires_at > now).count()
    }
}

#[derive(Debug, Deserialize)]
struct Claims {
    iss: Option<String>,
    scope: Option<String>,
    aud: Option<Value>,
    iat: Option<i64>,
    exp: Option<i64>,
    sub: Option<String>,
}

/// `POST /token`.
pub(crate) async fn token(State(app): State<AppState>, body: Bytes) -> Response {
    match exchange(&app, &body) {
        Ok(token) => {
            let mut response = Json(json!({
                "access_token": token,
                "expires_in": ACCESS_TOKEN_LIFETIME.as_secs(),
                "token_type": "Bearer",
            }))
            .into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache, no-store, max-age=0, must-revalidate"),
            );
            response
        }
        Err(error) => error.into_response(),
    }
}

fn exchange(app: &AppState, body: &[u8]) -> Result<String, TokenError> {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let grant_type = field("grant_type").unwrap_or_default();
    if grant_type != JWT_BEARER {
        return Err(TokenError::unsupported_grant_type(grant_type));
    }
    let assertion = field("assertion")
        .filter(|a| !a.is_empty())
        .ok_or_else(|| TokenError::invalid_request("Missing required parameter: assertion"))?;

    let header = jsonwebtoken::decode_header(assertion).map_err(|_| TokenError::bad_signature())?;
    if header.alg != Algorithm::RS256 {
        return Err(TokenError::bad_signature());
    }
    let unverified: Claims = jsonwebtoken::dangerous::insecure_decode_claims(assertion)
        .map_err(|_| TokenError::bad_signature())?;
    let issuer = unverified
        .iss
        .clone()
        .ok_or_else(TokenError::account_not_found)?;

    // Find the candidate keys under the lock, verify outside it.
    let (client_email, client_id, keys) = {
        let domain = app.domain();
        let account = domain
            .auth
            .accounts
            .iter()
            .find(|a| a.client_email.eq_ignore_ascii_case(&issuer))
            .ok_or_else(TokenError::account_not_found)?;
        let keys: Vec<SaKey> = match header.kid.as_deref() {
            Some(kid) => account
                .keys
                .iter()
                .filter(|k| k.key_id == kid)
                .cloned()
                .collect(),
            None => account.keys.clone(),
        };
        (
            account.client_email.clone(),
            account.client_id.clone(),
            keys,
        )
    };
    if keys.is_empty() {
        return Err(TokenError::bad_signature());
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let (key, claims) = keys
        .iter()
        .find_map(|k| {
            jsonwebtoken::decode::<Claims>(assertion, &k.key, &validation)
                .ok()
                .map(|data| (k, data.claims))
        })
        .ok_or_else(TokenError::bad_signature)?;
    if key.disabled {
        return Err(TokenError::disabled_client());
    }

    let audience_ok = |aud: &str| {
        aud == app.shared.token_url || aud == GOOGLE_TOKEN_URL || LEGACY_AUDIENCES.contains(&aud)
    };
    let aud_ok = match &claims.aud {
        Some(Value::String(aud)) => audience_ok(aud.as_str()),
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).any(audience_ok),
        _ => false,
    };
    if !aud_ok {
        return Err(TokenError::bad_audience());
    }

    let (Some(iat), Some(exp)) = (claims.iat, claims.exp) else {
        return Err(TokenError::bad_timeframe());
    };
    let now = i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs(),
    )
    .unwrap_or(i64::MAX);
    if exp < iat
        || exp - iat > MAX_ASSERTION_LIFETIME_SECS
        || now >= exp
        || iat > now + CLOCK_SKEW_SECS
    {
        return Err(TokenError::bad_timeframe());
    }

    let scopes: Vec<String> = claims
        .scope
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if scopes.is_empty() || !scopes.iter().all(|s| scopes::is_known_scope(s)) {
        return Err(TokenError::invalid_scope());
    }

    let mut domain = app.domain();
    let subject = match claims.sub.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(sub) if sub.eq_ignore_ascii_case(&client_email) => None,
        Some(sub) => {
            if !sub.contains('@') {
                return Err(TokenError::malformed_subject(sub));
            }
            let user = domain
                .find_user(sub)
                .filter(|_| domain.in_domain(sub))
                .ok_or_else(TokenError::bad_subject)?;
            if domain.users[user].suspended || domain.users[user].archived {
                return Err(TokenError::bad_subject());
            }
            let allowed = domain
                .auth
                .delegation
                .get(&client_id)
                .ok_or_else(TokenError::client_not_delegated)?;
            if !scopes.iter().all(|s| allowed.contains(s)) {
                return Err(TokenError::scope_not_delegated());
            }
            Some(user)
        }
    };
    let token = model::access_token();
    domain.auth.tokens.insert(
        token.clone(),
        AccessToken {
            subject,
            client_email,
            client_id,
            scopes,
            expires_at: Instant::now() + ACCESS_TOKEN_LIFETIME,
        },
    );
    Ok(token)
}

/// Resolves an API request's `Authorization: Bearer` token. A token whose
/// subject has since been suspended no longer works: Google revokes a
/// suspended user's sessions and tokens.
pub(crate) fn authenticate(
    state: &mut GoogleState,
    headers: &HeaderMap,
) -> Result<Grant, GoogleError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default();
    let mut parts = value.splitn(2, ' ');
    let scheme = parts.next().unwrap_or_default();
    let credential = parts.next().unwrap_or_default().trim();
    if !scheme.eq_ignore_ascii_case("Bearer") || credential.is_empty() {
        return Err(GoogleError::login_required());
    }
    let now = Instant::now();
    let token = match state.auth.tokens.get(credential) {
        Some(t) if t.expires_at > now => t.clone(),
        Some(_) => {
            state.auth.tokens.remove(credential);
            return Err(GoogleError::invalid_credentials());
        }
        None => return Err(GoogleError::invalid_credentials()),
    };
    let actor = match token.subject {
        Some(user) => {
            let u = &state.users[user];
            if u.suspended || u.archived {
                return Err(GoogleError::invalid_credentials());
            }
            u.primary_email.clone()
        }
        None => token.client_email.clone(),
    };
    Ok(Grant {
        caller: Caller {
            subject: token.subject,
            actor,
        },
        client_id: token.client_id,
        scopes: token.scopes,
    })
}
