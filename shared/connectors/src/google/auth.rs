//! Service-account tokens: an RS256 assertion (header `kid`, `sub` = the user to impersonate)
//! exchanged at the token endpoint with the JWT-bearer grant. Tokens are cached per
//! (subject, scope) until a minute before they expire.

use super::errors::{CallContext, OAuthError, classify_token};
use crate::http;
use crate::jwt::{RsaSigner, jti};
use passage_core::CallRecord;
use passage_core::ports::{ActionFailure, FailureClass};
use passage_core::secret::Secret;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

struct Token {
    value: Secret,
    refresh_at: Instant,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: u64,
}

pub struct Auth {
    token_url: url::Url,
    service_account: String,
    key_id: String,
    admin_subject: String,
    signer: Option<RsaSigner>,
    cache: Mutex<HashMap<(String, String), Token>>,
}

impl Auth {
    pub fn new(
        token_url: url::Url,
        service_account: String,
        private_key: &Secret,
        key_id: String,
        admin_subject: String,
    ) -> Self {
        Self {
            token_url,
            service_account,
            key_id,
            admin_subject,
            signer: RsaSigner::from_pem(private_key.expose()).ok(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets a token the API rejected, so the next call mints a new one.
    pub async fn forget(&self, subject: &str, scope: &str) {
        self.cache
            .lock()
            .await
            .remove(&(subject.to_ascii_lowercase(), scope.to_owned()));
    }

    /// A bearer token for `subject` with `scope`, from the cache or freshly minted.
    pub async fn token(
        &self,
        http_client: &reqwest::Client,
        subject: &str,
        scope: &str,
        calls: &mut Vec<CallRecord>,
    ) -> Result<String, ActionFailure> {
        let key = (subject.to_ascii_lowercase(), scope.to_owned());
        let mut cache = self.cache.lock().await;
        if let Some(t) = cache.get(&key)
            && Instant::now() < t.refresh_at
        {
            return Ok(t.value.expose().to_owned());
        }
        let token = self.fetch(http_client, subject, scope, calls).await?;
        let value = token.value.expose().to_owned();
        cache.insert(key, token);
        Ok(value)
    }

    async fn fetch(
        &self,
        http_client: &reqwest::Client,
        subject: &str,
        scope: &str,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Token, ActionFailure> {
        let signer = self.signer.as_ref().ok_or_else(|| ActionFailure {
            class: FailureClass::Permanent,
            code: "bad_private_key".into(),
            message: format!(
                "the private key configured for service account {} is not an RSA PEM key",
                self.service_account
            ),
        })?;
        let now = jiff::Timestamp::now().as_second();
        let assertion = signer
            .sign(
                json!({"typ": "JWT", "kid": self.key_id}),
                &json!({
                    "iss": self.service_account,
                    "sub": subject,
                    "scope": scope,
                    "aud": self.token_url.as_str(),
                    "iat": now,
                    "exp": now + 3600,
                    "jti": jti(),
                }),
            )
            .map_err(|e| ActionFailure {
                class: FailureClass::Permanent,
                code: "bad_private_key".into(),
                message: e.to_string(),
            })?;
        let form = [
            ("grant_type", JWT_BEARER),
            ("assertion", assertion.as_str()),
        ];
        let started = Instant::now();
        let response = match http_client
            .post(self.token_url.clone())
            .form(&form)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                calls.push(http::record(
                    "POST",
                    &self.token_url,
                    None,
                    started,
                    "x-request-id",
                ));
                return Err(http::transport_failure(e));
            }
        };
        let mut record = http::record(
            "POST",
            &self.token_url,
            Some(&response),
            started,
            "x-request-id",
        );
        let status = response.status();
        let retry_after = http::retry_after(&response);
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                calls.push(record);
                return Err(http::transport_failure(e));
            }
        };
        if status.is_success() {
            calls.push(record);
            let answer: TokenAnswer =
                serde_json::from_slice(&bytes).map_err(|e| ActionFailure {
                    class: FailureClass::Retryable { retry_after: None },
                    code: "unexpected_body".into(),
                    message: format!("Google's token answer could not be read: {e}"),
                })?;
            let lifetime = Duration::from_secs(answer.expires_in.max(120) - 60);
            return Ok(Token {
                value: Secret::new(answer.access_token),
                refresh_at: Instant::now() + lifetime,
            });
        }
        let error: OAuthError = serde_json::from_slice(&bytes).unwrap_or_default();
        let failure = classify_token(
            status,
            &error,
            retry_after,
            &self.service_account,
            &CallContext { subject, scope },
            subject.eq_ignore_ascii_case(&self.admin_subject),
        );
        record.error_code = Some(failure.code.clone());
        calls.push(record);
        Err(failure)
    }
}
