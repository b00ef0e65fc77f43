//! Credentials: admin API keys (`x-api-key`), service accounts (OAuth 2.0
//! client credentials at `POST /oauth2/token`, then `Authorization: Bearer`),
//! the organisations each may act on, and their role.
//!
//! The token request is the one JumpCloud documents for service accounts:
//! `Authorization: Basic base64(client_id:client_secret)` and the form body
//! `grant_type=client_credentials&scope=api`. Each service account has two
//! valid secrets (JumpCloud rotates between two). Tokens are opaque and last
//! [`TOKEN_LIFETIME_SECS`] seconds.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use rand::Rng;
use serde_json::{Value, json};

use crate::common::ids;
use crate::jumpcloud::errors::OAuthError;
use crate::jumpcloud::service::AppState;

/// Lifetime of a service-account access token ("about an hour").
pub const TOKEN_LIFETIME_SECS: u64 = 3600;

/// An administrator or service-account role. JumpCloud's admin roles are
/// richer; these are the distinctions the emulated endpoints observe.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Role {
    /// Full access.
    #[default]
    Administrator,
    /// Manages users, groups and devices (same as Administrator here).
    Manager,
    /// Reads only: every write is a 403.
    ReadOnly,
    /// Command runners get a 403 from the API (Directory Insights docs:
    /// "Only administrator roles can access the API. Command runners
    /// receive a 403 error.").
    CommandRunner,
}

impl Role {
    pub(crate) fn can_read(self) -> bool {
        !matches!(self, Self::CommandRunner)
    }

    pub(crate) fn can_write(self) -> bool {
        matches!(self, Self::Administrator | Self::Manager)
    }
}

/// Who a credential belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PrincipalKind {
    Admin,
    ServiceAccount,
}

/// An authenticated identity and its reach.
#[derive(Clone, Debug)]
pub(crate) struct Credential {
    pub kind: PrincipalKind,
    /// Admin or service-account object id.
    pub id: String,
    /// Admin e-mail or service-account name.
    pub label: String,
    pub role: Role,
    /// Organisations it may act on; more than one makes it multi-tenant.
    pub orgs: Vec<String>,
}

impl Credential {
    /// `initiated_by` as Directory Insights records it.
    pub fn initiated_by(&self, auth_method: &str) -> Value {
        match self.kind {
            PrincipalKind::Admin => json!({
                "id": self.id,
                "type": "admin",
                "email": self.label,
                "administrator": true,
                "auth_method": auth_method,
            }),
            PrincipalKind::ServiceAccount => json!({
                "id": self.id,
                "type": "service_account",
                "name": self.label,
                "auth_method": auth_method,
            }),
        }
    }
}

#[derive(Clone, Debug)]
struct ServiceAccount {
    secrets: Vec<String>,
    credential: Credential,
}

#[derive(Clone, Debug)]
struct IssuedToken {
    client_id: String,
    expires_at: Instant,
}

/// Every credential the emulator accepts.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    api_keys: HashMap<String, Credential>,
    accounts: HashMap<String, ServiceAccount>,
    tokens: HashMap<String, IssuedToken>,
    /// Every organisation that exists, for `x-org-id` validation.
    pub orgs: Vec<String>,
    /// The key and client id that `add_org` extends.
    pub default_key: String,
    pub default_client: String,
}

impl Registry {
    pub fn add_api_key(&mut self, key: String, credential: Credential) {
        self.api_keys.insert(key, credential);
    }

    pub fn add_service_account(
        &mut self,
        client_id: String,
        secrets: Vec<String>,
        credential: Credential,
    ) {
        self.accounts.insert(
            client_id,
            ServiceAccount {
                secrets,
                credential,
            },
        );
    }

    /// Grants the default key and service account access to `org`.
    pub fn extend_defaults(&mut self, org: &str) {
        if let Some(c) = self.api_keys.get_mut(&self.default_key) {
            c.orgs.push(org.to_owned());
        }
        if let Some(a) = self.accounts.get_mut(&self.default_client) {
            a.credential.orgs.push(org.to_owned());
        }
    }

    /// Changes the role of the administrator behind `key`; whether the key exists.
    pub fn set_api_key_role(&mut self, key: &str, role: Role) -> bool {
        self.api_keys.get_mut(key).map(|c| c.role = role).is_some()
    }

    pub fn by_api_key(&self, key: &str) -> Option<Credential> {
        self.api_keys.get(key).cloned()
    }

    pub fn by_token(&mut self, token: &str) -> Option<Credential> {
        let issued = self.tokens.get(token)?;
        if Instant::now() >= issued.expires_at {
            self.tokens.remove(token);
            return None;
        }
        let client_id = issued.client_id.clone();
        self.accounts.get(&client_id).map(|a| a.credential.clone())
    }

    fn check_client(&self, client_id: &str, secret: &str) -> bool {
        self.accounts
            .get(client_id)
            .is_some_and(|a| a.secrets.iter().any(|s| s == secret))
    }

    fn issue(&mut self, client_id: &str, lifetime: Duration) -> String {
        let token = format!("jct_{}", ids::url_safe(&mut rand::thread_rng(), 43));
        self.tokens.insert(
            token.clone(),
            IssuedToken {
                client_id: client_id.to_owned(),
                expires_at: Instant::now() + lifetime,
            },
        );
        token
    }

    /// Makes every issued token expired.
    pub fn expire_tokens(&mut self) {
        self.tokens.clear();
    }
}

/// A fresh JumpCloud-style admin API key (`jca_` + 36 characters).
pub(crate) fn new_api_key<R: Rng + ?Sized>(rng: &mut R) -> String {
    format!("jca_{}", ids::alnum(rng, 36))
}

/// A fresh (client id, secret) pair.
pub(crate) fn new_client<R: Rng + ?Sized>(rng: &mut R) -> (String, String) {
    let bytes: [u8; 16] = rng.r#gen();
    let client_id = uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string();
    (client_id, ids::alnum(rng, 64))
}

/// `POST /oauth2/token`.
pub(crate) async fn token(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match issue_token(&app, &headers, &body) {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

fn issue_token(app: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let Some((client_id, secret)) = basic_credentials(headers) else {
        return Err(OAuthError::invalid_client());
    };
    let form: HashMap<String, String> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut registry = app.shared.registry();
    if !registry.check_client(&client_id, &secret) {
        return Err(OAuthError::invalid_client());
    }
    match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {}
        Some(_) => {
            return Err(OAuthError::bad_request(
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            ));
        }
        None => {
            return Err(OAuthError::bad_request(
                "invalid_request",
                "The request is missing a required parameter: grant_type.",
            ));
        }
    }
    let scope = form.get("scope").map(String::as_str).unwrap_or_default();
    if !scope.split(' ').any(|s| s == "api") {
        return Err(OAuthError::bad_request(
            "invalid_scope",
            "The requested scope is invalid, unknown, or malformed: request scope=api.",
        ));
    }
    let lifetime = app.shared.token_lifetime;
    let access_token = registry.issue(&client_id, lifetime);
    let mut response = Json(json!({
        "access_token": access_token,
        "expires_in": lifetime.as_secs().saturating_sub(1),
        "scope": "api",
        "token_type": "bearer",
    }))
    .into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// `Authorization: Basic base64(client_id:secret)` (RFC 6749 §2.3.1:
/// both parts form-urlencoded before encoding).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map_or_else(|| s.to_owned(), |(_, v)| v.into_owned())
    };
    Some((unescape(id), unescape(secret)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_gate_reads_and_writes() {
        assert!(Role::Administrator.can_write());
        assert!(Role::ReadOnly.can_read() && !Role::ReadOnly.can_write());
        assert!(!Role::CommandRunner.can_read());
    }

    #[test]
    fn parses_basic_credentials() {
        let mut headers = HeaderMap::new();
        let encoded = base64::engine::general_purpose::STANDARD.encode("id:se%3Acret");
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {encoded}")).unwrap(),
        );
        assert_eq!(
            basic_credentials(&headers),
            Some(("id".to_owned(), "se:cret".to_owned()))
        );
    }
}
