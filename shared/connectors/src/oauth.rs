//! OAuth 2.0 token endpoints as every connector calls them. The providers differ in how they
//! build a token request (secret, signed assertion, DPoP proof) and in how they explain a
//! refusal; sending it, recording the call, reading the answer and caching the token until a
//! minute before it expires are the same everywhere, so they live here once.

use crate::http;
use passage_core::CallRecord;
use passage_core::ports::{ActionFailure, FailureClass};
use passage_core::secret::Secret;
use reqwest::StatusCode;
use serde::Deserialize;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// `client_assertion_type` for a signed JWT client assertion (RFC 7523 §2.2).
pub(crate) const CLIENT_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An issued access token and when to stop using it.
#[derive(Clone)]
pub(crate) struct Token {
    pub value: Secret,
    /// `Bearer`, or `DPoP` for a proof-of-possession token.
    pub token_type: String,
    /// The scopes the issuer says it granted (`scope`), where it says so (Okta does).
    pub scope: Option<String>,
    refresh_at: Instant,
}

impl Token {
    /// Still usable: a token is replaced a minute before the expiry its issuer announced.
    pub fn is_fresh(&self) -> bool {
        Instant::now() < self.refresh_at
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    token_type: String,
    #[serde(default)]
    expires_in: u64,
    #[serde(default)]
    scope: Option<String>,
}

/// The token endpoint's error body (RFC 6749 §5.2).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct OAuthError {
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub error_description: String,
}

/// A token request the endpoint answered with an error.
pub(crate) struct Refusal {
    pub status: StatusCode,
    pub retry_after: Option<Duration>,
    pub error: OAuthError,
    /// `DPoP-Nonce`, when the server asks for a nonce in the next proof.
    pub dpop_nonce: Option<String>,
}

impl Refusal {
    /// The common reading: throttling waits and server faults are retried; anything else is a
    /// permanent refusal under the endpoint's own error code, explained by `why`.
    pub fn failure(&self, provider: &str, why: impl FnOnce(&Self) -> String) -> ActionFailure {
        if let Some(class) = http::status_class(self.status, self.retry_after) {
            return ActionFailure {
                class,
                code: format!("token_{}", self.status.as_u16()),
                message: format!(
                    "{provider}'s token endpoint answered {}: {}",
                    self.status, self.error.error_description
                ),
            };
        }
        ActionFailure {
            class: FailureClass::Permanent,
            code: if self.error.error.is_empty() {
                "token_refused".into()
            } else {
                self.error.error.clone()
            },
            message: why(self),
        }
    }
}

/// Sends one token request and reads the answer: `Ok(Ok(token))` when issued, `Ok(Err(..))`
/// when refused (the caller decides what the refusal means), `Err` when there was no readable
/// answer. The call is recorded either way; a refusal's code is added by [`record_failure`].
pub(crate) async fn request_token(
    request: reqwest::RequestBuilder,
    url: &url::Url,
    request_id_header: &str,
    provider: &str,
    calls: &mut Vec<CallRecord>,
) -> Result<Result<Token, Refusal>, ActionFailure> {
    let started = Instant::now();
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            calls.push(http::record("POST", url, None, started, request_id_header));
            return Err(http::transport_failure(e));
        }
    };
    calls.push(http::record(
        "POST",
        url,
        Some(&response),
        started,
        request_id_header,
    ));
    let status = response.status();
    let retry_after = http::retry_after(&response);
    let dpop_nonce = response
        .headers()
        .get("dpop-nonce")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = response.bytes().await.map_err(http::transport_failure)?;
    if !status.is_success() {
        return Ok(Err(Refusal {
            status,
            retry_after,
            error: serde_json::from_slice(&bytes).unwrap_or_default(),
            dpop_nonce,
        }));
    }
    let answer: TokenAnswer = serde_json::from_slice(&bytes).map_err(|e| ActionFailure {
        class: FailureClass::Retryable { retry_after: None },
        code: "unexpected_body".into(),
        message: format!("{provider}'s token answer could not be read: {e}"),
    })?;
    let lifetime = Duration::from_secs(answer.expires_in.max(120) - 60);
    Ok(Ok(Token {
        value: Secret::new(answer.access_token),
        token_type: answer.token_type,
        scope: answer.scope,
        refresh_at: Instant::now() + lifetime,
    }))
}

/// Marks the last recorded call (the token request) with the failure's code, then returns it.
pub(crate) fn record_failure(calls: &mut [CallRecord], failure: ActionFailure) -> ActionFailure {
    if let Some(last) = calls.last_mut() {
        last.error_code = Some(failure.code.clone());
    }
    failure
}

/// One cached token, fetched when missing or stale. The lock is held while fetching, so
/// concurrent callers wait for one token instead of each asking for their own.
#[derive(Default)]
pub(crate) struct TokenSlot(Mutex<Option<Token>>);

impl TokenSlot {
    pub async fn get_or_fetch<F>(&self, fetch: F) -> Result<Token, ActionFailure>
    where
        F: AsyncFnOnce() -> Result<Token, ActionFailure>,
    {
        let mut cached = self.0.lock().await;
        if let Some(t) = cached.as_ref().filter(|t| t.is_fresh()) {
            return Ok(t.clone());
        }
        let token = fetch().await?;
        *cached = Some(token.clone());
        Ok(token)
    }

    /// Forgets the token (the API refused it before its announced expiry).
    pub async fn forget(&self) {
        *self.0.lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(status: u16, error: &str) -> Refusal {
        Refusal {
            status: StatusCode::from_u16(status).unwrap(),
            retry_after: Some(Duration::from_secs(7)),
            error: OAuthError {
                error: error.into(),
                error_description: "described".into(),
            },
            dpop_nonce: None,
        }
    }

    #[test]
    fn throttling_and_server_faults_are_retried_with_their_hint() {
        let hint = Some(Duration::from_secs(7));
        for (status, class) in [
            (429, FailureClass::Throttled { retry_after: hint }),
            (500, FailureClass::Retryable { retry_after: hint }),
            (503, FailureClass::Throttled { retry_after: hint }),
        ] {
            let f = refusal(status, "").failure("Okta", |_| unreachable!());
            assert_eq!(f.class, class, "{status}");
            assert_eq!(f.code, format!("token_{status}"));
        }
    }

    #[test]
    fn other_refusals_are_permanent_under_the_endpoints_code() {
        let f = refusal(401, "invalid_client").failure("Okta", |r| {
            format!("refused: {}", r.error.error_description)
        });
        assert_eq!(f.class, FailureClass::Permanent);
        assert_eq!(f.code, "invalid_client");
        assert_eq!(f.message, "refused: described");
        let f = refusal(400, "").failure("Okta", |_| String::new());
        assert_eq!(f.code, "token_refused");
    }
}
