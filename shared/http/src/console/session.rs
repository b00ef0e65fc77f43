//! Console sessions without server memory (a Lambda keeps none between requests): a signed,
//! expiring cookie naming the operator. The operator's tenants are read from the deployment's
//! configuration on every request, so an operator removed or rescoped there loses access at
//! once; the cookie carries no secret and no scope.

use crate::ApiState;
use crate::operator::{Operator, Operators};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

pub(crate) const COOKIE: &str = "passage_console";
/// A working day: long enough not to interrupt a shift, short enough that a forgotten browser
/// does not stay signed in for a week.
const LIFETIME_S: i64 = 8 * 3600;

/// What the cookie says, signed.
#[derive(Serialize, Deserialize)]
struct Claims {
    /// The operator's name.
    op: String,
    /// Expiry, Unix seconds.
    exp: i64,
    /// Random per sign-in: what the CSRF token is bound to.
    sid: String,
}

/// The key sessions and CSRF tokens are signed with, derived from the deployment's link key
/// (or the confirmation key where links are not served) so no new secret must be provisioned,
/// yet a session can never pass for an auditor link.
pub(crate) struct SessionKey(Vec<u8>);

impl SessionKey {
    pub(crate) fn of(state: &ApiState) -> Option<Self> {
        Self::derive(&[&state.link_key, &state.confirm_key])
    }

    pub(crate) fn derive(secrets: &[&passage_core::secret::Secret]) -> Option<Self> {
        let base = secrets.iter().map(|k| k.expose()).find(|k| !k.is_empty())?;
        let mut mac = HmacSha256::new_from_slice(base.as_bytes()).ok()?;
        mac.update(b"passage console session v1");
        Some(Self(mac.finalize().into_bytes().to_vec()))
    }

    /// `value` as JSON, base64url, with this key's MAC for `purpose`: what a cookie carries.
    pub(crate) fn seal<T: Serialize>(&self, purpose: &str, value: &T) -> String {
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("serializable"));
        let sig = URL_SAFE_NO_PAD.encode(self.mac(purpose, body.as_bytes()));
        format!("{body}.{sig}")
    }

    /// What [`SessionKey::seal`] sealed for `purpose`, if the MAC holds.
    pub(crate) fn open<T: serde::de::DeserializeOwned>(
        &self,
        purpose: &str,
        sealed: &str,
    ) -> Option<T> {
        let (body, sig) = sealed.split_once('.')?;
        let presented = URL_SAFE_NO_PAD.decode(sig).ok()?;
        let expected = self.mac(purpose, body.as_bytes());
        if !bool::from(presented.ct_eq(&expected)) {
            return None;
        }
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()
    }

    pub(crate) fn mac(&self, purpose: &str, data: &[u8]) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("any key length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }
}

/// A signed-in operator, as every console page and form receives it.
pub(crate) struct Session {
    pub(crate) op: Operator,
    pub(crate) sid: String,
}

impl Session {
    /// The CSRF token every form of this session carries.
    pub(crate) fn csrf(&self, key: &SessionKey) -> String {
        hex::encode(key.mac("csrf", self.sid.as_bytes()))
    }
}

/// A fresh session cookie for `op`, after a successful sign-in.
pub(crate) fn issue(key: &SessionKey, op: &Operator, now: i64, headers: &HeaderMap) -> String {
    let mut sid = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut sid);
    let claims = Claims {
        op: op.name.clone(),
        exp: now + LIFETIME_S,
        sid: hex::encode(sid),
    };
    cookie(&key.seal("session", &claims), LIFETIME_S, headers)
}

/// A cookie that ends the session.
pub(crate) fn cleared(headers: &HeaderMap) -> String {
    cookie("", 0, headers)
}

/// HttpOnly, SameSite=Strict, scoped to the console; Secure except on a loopback address,
/// where a browser reaches `passage serve` over plain HTTP on the operator's own machine.
fn cookie(value: &str, max_age: i64, headers: &HeaderMap) -> String {
    let secure = if is_loopback(headers) { "" } else { "; Secure" };
    format!("{COOKIE}={value}; Max-Age={max_age}; Path=/console; HttpOnly; SameSite=Strict{secure}")
}

pub(crate) fn is_loopback(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    matches!(name, "localhost" | "127.0.0.1" | "[::1]")
}

/// The value of the request's cookie `name`.
pub(crate) fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(name)?.strip_prefix('='))
}

/// The session the request's cookie proves, if it is valid, unexpired and its operator still
/// configured.
pub(crate) fn read(
    key: &SessionKey,
    operators: &Operators,
    headers: &HeaderMap,
    now: i64,
) -> Option<Session> {
    let claims: Claims = key.open("session", cookie_value(headers, COOKIE)?)?;
    if claims.exp < now {
        return None;
    }
    let op = operators.by_name(&claims.op)?.clone();
    Some(Session {
        op,
        sid: claims.sid,
    })
}

impl FromRequestParts<ApiState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Response> {
        let now = jiff::Timestamp::now().as_second();
        SessionKey::of(state)
            .and_then(|key| read(&key, &state.operators, &parts.headers, now))
            .ok_or_else(|| Redirect::to("/console/sign-in").into_response())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use passage_core::secret::Secret;

    fn key() -> SessionKey {
        SessionKey::derive(&[&Secret::new(""), &Secret::new("link-key")]).unwrap()
    }

    fn ops(name: &str) -> Operators {
        Operators::new(vec![Operator::new(name, None, None, vec!["acme".into()])])
    }

    fn with_cookie(set_cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let pair = set_cookie.split(';').next().unwrap();
        h.insert(header::COOKIE, pair.parse().unwrap());
        h
    }

    #[test]
    fn a_session_reads_back_until_it_expires_and_not_once_altered() {
        let (key, ops) = (key(), ops("ann"));
        let op = ops.by_name("ann").unwrap().clone();
        let set = issue(&key, &op, 1_000, &HeaderMap::new());
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
        assert!(set.contains("Path=/console") && set.contains("Secure"));
        let s = read(&key, &ops, &with_cookie(&set), 1_000).unwrap();
        assert_eq!(s.op.name, "ann");
        assert!(read(&key, &ops, &with_cookie(&set), 1_000 + LIFETIME_S + 1).is_none());
        let tampered = set.replacen("passage_console=e", "passage_console=f", 1);
        assert_ne!(tampered, set);
        assert!(read(&key, &ops, &with_cookie(&tampered), 1_000).is_none());
        let other_key = SessionKey::derive(&[&Secret::new("another")]).unwrap();
        assert!(read(&other_key, &ops, &with_cookie(&set), 1_000).is_none());
    }

    #[test]
    fn a_session_of_a_removed_operator_is_refused() {
        let key = key();
        let op = ops("ann").by_name("ann").unwrap().clone();
        let set = issue(&key, &op, 1_000, &HeaderMap::new());
        assert!(read(&key, &ops("bob"), &with_cookie(&set), 1_000).is_none());
    }

    #[test]
    fn only_a_loopback_host_gets_a_cookie_without_secure() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert!(!cleared(&h).contains("Secure"));
        h.insert(header::HOST, "console.example.com".parse().unwrap());
        assert!(cleared(&h).contains("Secure"));
        h.insert(header::HOST, "localhost.example.com".parse().unwrap());
        assert!(cleared(&h).contains("Secure"));
    }
}
