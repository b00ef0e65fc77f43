//! A receiving endpoint for Standard Webhooks: verifies `webhook-id`, `webhook-timestamp` and
//! `webhook-signature` against a configured `whsec_` secret exactly as the spec's reference
//! libraries do (HMAC-SHA256 over `id.timestamp.body`, any matching `v1,` entry, five-minute
//! tolerance, constant-time comparison) and keeps only verified deliveries. Verification is
//! written here independently of the sender so the two cannot share a mistake.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::common::ids::alnum;
use crate::common::lock;
use crate::common::server::ServerHandle;

/// Path the endpoint listens on.
pub const WEBHOOK_PATH: &str = "/hooks/passage";
/// How far `webhook-timestamp` may be from now, either way (all reference libraries: 300 s).
pub const TOLERANCE_SECS: i64 = 300;

/// A delivery whose signature verified.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedDelivery {
    pub id: String,
    pub timestamp: i64,
    /// The raw body exactly as signed.
    pub body: Vec<u8>,
    /// The body parsed as JSON (`Null` when it is not JSON).
    pub json: serde_json::Value,
}

/// Why a delivery was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("webhook-timestamp is not an integer number of seconds")]
    BadTimestamp,
    #[error("webhook-timestamp is more than {TOLERANCE_SECS} s from now")]
    OutsideTolerance,
    #[error("no v1 signature matches")]
    NoMatchingSignature,
}

impl Rejection {
    fn status(&self) -> StatusCode {
        match self {
            Rejection::MissingHeader(_) | Rejection::BadTimestamp => StatusCode::BAD_REQUEST,
            Rejection::OutsideTolerance | Rejection::NoMatchingSignature => {
                StatusCode::UNAUTHORIZED
            }
        }
    }
}

#[derive(Debug)]
struct Inner {
    key: Vec<u8>,
    verified: Vec<VerifiedDelivery>,
    rejected: Vec<Rejection>,
    answer: StatusCode,
}

type Shared = Arc<Mutex<Inner>>;

/// A running webhook endpoint.
#[derive(Debug)]
pub struct WebhookSink {
    server: ServerHandle,
    inner: Shared,
    secret: String,
}

impl WebhookSink {
    /// Starts an endpoint with a freshly generated `whsec_` secret (24 random bytes).
    pub async fn start() -> io::Result<Self> {
        let raw = alnum(&mut rand::thread_rng(), 24);
        Self::start_with_secret(&format!("whsec_{}", STANDARD.encode(raw))).await
    }

    /// Starts an endpoint that verifies with `secret` (`whsec_` prefix optional; the rest
    /// is base64, padded or not).
    pub async fn start_with_secret(secret: &str) -> io::Result<Self> {
        let key = decode_secret(secret).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "webhook secret must be base64 after an optional whsec_ prefix",
            )
        })?;
        let listener = ServerHandle::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let inner = Arc::new(Mutex::new(Inner {
            key,
            verified: Vec::new(),
            rejected: Vec::new(),
            answer: StatusCode::NO_CONTENT,
        }));
        let router = Router::new()
            .route(WEBHOOK_PATH, post(receive))
            .with_state(Arc::clone(&inner));
        let server = ServerHandle::serve(listener, router)?;
        Ok(Self {
            server,
            inner,
            secret: secret.to_owned(),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The endpoint URL to configure on the sender.
    pub fn url(&self) -> String {
        format!("http://{}{WEBHOOK_PATH}", self.addr())
    }

    /// The `whsec_` secret the sender must sign with.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// Verified deliveries, oldest first.
    pub fn received(&self) -> Vec<VerifiedDelivery> {
        lock(&self.inner).verified.clone()
    }

    /// Refused deliveries, oldest first.
    pub fn rejected(&self) -> Vec<Rejection> {
        lock(&self.inner).rejected.clone()
    }

    /// Status answered to verified deliveries (default 204), e.g. 500 to simulate a broken
    /// receiver. The delivery is still recorded.
    pub fn answer_with(&self, status: StatusCode) {
        lock(&self.inner).answer = status;
    }

    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

fn decode_secret(secret: &str) -> Option<Vec<u8>> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    STANDARD
        .decode(encoded)
        .or_else(|_| STANDARD_NO_PAD.decode(encoded))
        .ok()
        .filter(|key| !key.is_empty())
}

/// Checks one delivery against `key` at time `now` (Unix seconds).
pub fn verify(
    key: &[u8],
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(String, i64), Rejection> {
    let header = |name: &'static str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .ok_or(Rejection::MissingHeader(name))
    };
    let id = header("webhook-id")?;
    let timestamp_text = header("webhook-timestamp")?;
    let signatures = header("webhook-signature")?;
    let timestamp: i64 = timestamp_text
        .parse()
        .map_err(|_| Rejection::BadTimestamp)?;
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return Err(Rejection::OutsideTolerance);
    }
    let matches = signatures
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .any(|expected| {
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
                return false;
            };
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp_text.as_bytes());
            mac.update(b".");
            mac.update(body);
            mac.verify_slice(&expected).is_ok()
        });
    if matches {
        Ok((id.to_owned(), timestamp))
    } else {
        Err(Rejection::NoMatchingSignature)
    }
}

async fn receive(State(inner): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let now = jiff::Timestamp::now().as_second();
    let mut inner = lock(&inner);
    match verify(&inner.key, &headers, &body, now) {
        Ok((id, timestamp)) => {
            let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            inner.verified.push(VerifiedDelivery {
                id,
                timestamp,
                body: body.to_vec(),
                json,
            });
            inner.answer.into_response()
        }
        Err(rejection) => {
            let response = (rejection.status(), rejection.to_string()).into_response();
            inner.rejected.push(rejection);
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;

    fn headers(signature: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("webhook-id", ID.parse().unwrap());
        h.insert("webhook-timestamp", TS.to_string().parse().unwrap());
        h.insert("webhook-signature", signature.parse().unwrap());
        h
    }

    #[test]
    fn accepts_the_official_vector_and_a_rotation_list() {
        let key = decode_secret(SECRET).unwrap();
        let good = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        assert_eq!(verify(&key, &headers(good), BODY, TS), Ok((ID.into(), TS)));
        let list = format!("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,abc {good}");
        assert!(verify(&key, &headers(&list), BODY, TS + 299).is_ok());
    }

    #[test]
    fn refuses_tampering_bad_signatures_and_stale_timestamps() {
        let key = decode_secret(SECRET).unwrap();
        let good = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        for bad in [
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=",
            "v1,dawfeoifkpqwoekfpqoekf",
            "v1,",
            "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ] {
            assert_eq!(
                verify(&key, &headers(bad), BODY, TS),
                Err(Rejection::NoMatchingSignature),
                "{bad}"
            );
        }
        assert_eq!(
            verify(&key, &headers(good), br#"{"test": 2432232315}"#, TS),
            Err(Rejection::NoMatchingSignature)
        );
        assert_eq!(
            verify(&key, &headers(good), BODY, TS + 301),
            Err(Rejection::OutsideTolerance)
        );
        let mut missing = headers(good);
        missing.remove("webhook-id");
        assert_eq!(
            verify(&key, &missing, BODY, TS),
            Err(Rejection::MissingHeader("webhook-id"))
        );
    }

    #[tokio::test]
    async fn endpoint_answers_401_to_a_bad_signature_and_records_good_ones() {
        let sink = WebhookSink::start().await.unwrap();
        let key = decode_secret(sink.secret()).unwrap();
        let now = jiff::Timestamp::now().as_second();
        let body = r#"{"hello":"world"}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("msg_1.{now}.{body}").as_bytes());
        let signature = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        let client = reqwest::Client::new();
        let send = |sig: String| {
            client
                .post(sink.url())
                .header("webhook-id", "msg_1")
                .header("webhook-timestamp", now.to_string())
                .header("webhook-signature", sig)
                .body(body)
                .send()
        };
        let bad = send("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=".into())
            .await
            .unwrap();
        assert_eq!(bad.status(), 401);
        let good = send(signature).await.unwrap();
        assert_eq!(good.status(), 204);
        let received = sink.received();
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].json["hello"], "world");
        assert_eq!(sink.rejected(), [Rejection::NoMatchingSignature]);
    }
}
