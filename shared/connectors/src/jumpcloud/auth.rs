//! JumpCloud authentication: an admin API key (`x-api-key`), or a service account's Bearer
//! token from the OAuth token endpoint (client credentials, HTTP Basic, `scope=api`), cached
//! until a minute before it expires.

use super::JumpCloudCredential;
use crate::http;
use passage_core::CallRecord;
use passage_core::ports::{ActionFailure, FailureClass};
use passage_core::secret::Secret;
use serde::Deserialize;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

const US_TOKEN_URL: &str = "https://admin-oauth.id.jumpcloud.com/oauth2/token";
const EU_TOKEN_URL: &str = "https://admin-oauth.id.eu.jumpcloud.com/oauth2/token";

/// The token endpoint for the console's region (EU consoles live under `eu.jumpcloud.com`).
pub fn default_token_url(base_url: &url::Url) -> url::Url {
    let eu = base_url
        .host_str()
        .is_some_and(|h| h.ends_with(".eu.jumpcloud.com"));
    url::Url::parse(if eu { EU_TOKEN_URL } else { US_TOKEN_URL }).expect("static URL")
}

struct Token {
    value: Secret,
    refresh_at: Instant,
}

pub(crate) struct Auth {
    credential: JumpCloudCredential,
    token_url: url::Url,
    token: Mutex<Option<Token>>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: u64,
}

#[derive(Deserialize, Default)]
struct OAuthError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

/// RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic encoding.
fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl Auth {
    pub fn new(credential: JumpCloudCredential, token_url: url::Url) -> Self {
        Self {
            credential,
            token_url,
            token: Mutex::new(None),
        }
    }

    pub fn uses_token(&self) -> bool {
        matches!(self.credential, JumpCloudCredential::ServiceAccount { .. })
    }

    /// Forgets the cached token (JumpCloud refused it before its announced expiry).
    pub async fn forget_token(&self) {
        *self.token.lock().await = None;
    }

    /// The credential header for one request.
    pub async fn header(
        &self,
        client: &reqwest::Client,
        calls: &mut Vec<CallRecord>,
    ) -> Result<(&'static str, String), ActionFailure> {
        let (client_id, client_secret) = match &self.credential {
            JumpCloudCredential::ApiKey(key) => return Ok(("x-api-key", key.expose().to_owned())),
            JumpCloudCredential::ServiceAccount {
                client_id,
                client_secret,
            } => (client_id, client_secret),
        };
        let mut cached = self.token.lock().await;
        if cached
            .as_ref()
            .is_none_or(|t| Instant::now() >= t.refresh_at)
        {
            *cached = Some(
                self.fetch_token(client, client_id, client_secret, calls)
                    .await?,
            );
        }
        let token = cached.as_ref().expect("just set");
        Ok(("authorization", format!("Bearer {}", token.value.expose())))
    }

    async fn fetch_token(
        &self,
        client: &reqwest::Client,
        client_id: &str,
        client_secret: &Secret,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Token, ActionFailure> {
        let started = Instant::now();
        let result = client
            .post(self.token_url.clone())
            .basic_auth(
                form_encode(client_id),
                Some(form_encode(client_secret.expose())),
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[("grant_type", "client_credentials"), ("scope", "api")])
            .send()
            .await;
        let response = match result {
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
                    message: format!("JumpCloud's token answer could not be read: {e}"),
                })?;
            // JumpCloud tokens last about an hour; refresh a minute early.
            let lifetime = Duration::from_secs(answer.expires_in.max(120) - 60);
            return Ok(Token {
                value: Secret::new(answer.access_token),
                refresh_at: Instant::now() + lifetime,
            });
        }
        let error: OAuthError = serde_json::from_slice(&bytes).unwrap_or_default();
        let failure = if http::is_retryable_status(status) {
            ActionFailure {
                class: FailureClass::Retryable { retry_after },
                code: format!("token_{}", status.as_u16()),
                message: format!("JumpCloud's token endpoint answered {status}"),
            }
        } else {
            ActionFailure {
                class: FailureClass::Permanent,
                code: if error.error.is_empty() {
                    "token_refused".into()
                } else {
                    error.error.clone()
                },
                message: format!(
                    "JumpCloud refused a token for service account {client_id} ({status}): {} {} (check the client id and secret, which rotate, and that scope api is allowed)",
                    error.error, error.error_description
                ),
            }
        };
        record.error_code = Some(failure.code.clone());
        calls.push(record);
        Err(failure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_url_follows_the_region() {
        let us = url::Url::parse(super::super::US_BASE_URL).unwrap();
        let eu = url::Url::parse(super::super::EU_BASE_URL).unwrap();
        assert_eq!(default_token_url(&us).as_str(), US_TOKEN_URL);
        assert_eq!(default_token_url(&eu).as_str(), EU_TOKEN_URL);
    }
}
