//! Service-account tokens: an RS256 assertion (header `kid`, `sub` = the user to impersonate)
//! exchanged at the token endpoint with the JWT-bearer grant. Tokens are cached per
//! (subject, scope) until a minute before they expire.

use super::errors::{CallContext, classify_token};
use crate::http::permanent;
use crate::jwt::{RsaSigner, jti};
use crate::oauth::{self, Token};
use passage_core::CallRecord;
use passage_core::ports::ActionFailure;
use passage_core::secret::Secret;
use serde_json::json;
use std::collections::HashMap;
use tokio::sync::Mutex;

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

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
        if let Some(t) = cache.get(&key).filter(|t| t.is_fresh()) {
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
        let signer = self.signer.as_ref().ok_or_else(|| {
            permanent(
                "bad_private_key",
                format!(
                    "the private key configured for service account {} is not an RSA PEM key",
                    self.service_account
                ),
            )
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
            .map_err(|e| permanent("bad_private_key", e.to_string()))?;
        let form = [
            ("grant_type", JWT_BEARER),
            ("assertion", assertion.as_str()),
        ];
        let request = http_client.post(self.token_url.clone()).form(&form);
        let refusal =
            match oauth::request_token(request, &self.token_url, "x-request-id", "Google", calls)
                .await?
            {
                Ok(token) => return Ok(token),
                Err(refusal) => refusal,
            };
        let failure = classify_token(
            refusal.status,
            &refusal.error,
            refusal.retry_after,
            &self.service_account,
            &CallContext { subject, scope },
            subject.eq_ignore_ascii_case(&self.admin_subject),
        );
        Err(oauth::record_failure(calls, failure))
    }
}
