//! JumpCloud authentication: an admin API key (`x-api-key`), or a service account's Bearer
//! token from the OAuth token endpoint (client credentials, HTTP Basic, `scope=api`), cached
//! until a minute before it expires.

use super::JumpCloudCredential;
use crate::oauth::{self, Token, TokenSlot};
use passage_core::CallRecord;
use passage_core::ports::ActionFailure;
use passage_core::secret::Secret;

const US_TOKEN_URL: &str = "https://admin-oauth.id.jumpcloud.com/oauth2/token";
const EU_TOKEN_URL: &str = "https://admin-oauth.id.eu.jumpcloud.com/oauth2/token";

/// The token endpoint for the console's region (EU consoles live under `eu.jumpcloud.com`).
pub fn default_token_url(base_url: &url::Url) -> url::Url {
    let eu = base_url
        .host_str()
        .is_some_and(|h| h.ends_with(".eu.jumpcloud.com"));
    url::Url::parse(if eu { EU_TOKEN_URL } else { US_TOKEN_URL }).expect("static URL")
}

pub(crate) struct Auth {
    credential: JumpCloudCredential,
    token_url: url::Url,
    token: TokenSlot,
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
            token: TokenSlot::default(),
        }
    }

    pub fn uses_token(&self) -> bool {
        matches!(self.credential, JumpCloudCredential::ServiceAccount { .. })
    }

    /// Forgets the cached token (JumpCloud refused it before its announced expiry).
    pub async fn forget_token(&self) {
        self.token.forget().await;
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
        let token = self
            .token
            .get_or_fetch(async || {
                self.fetch_token(client, client_id, client_secret, calls)
                    .await
            })
            .await?;
        Ok(("authorization", format!("Bearer {}", token.value.expose())))
    }

    async fn fetch_token(
        &self,
        client: &reqwest::Client,
        client_id: &str,
        client_secret: &Secret,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Token, ActionFailure> {
        let request = client
            .post(self.token_url.clone())
            .basic_auth(
                form_encode(client_id),
                Some(form_encode(client_secret.expose())),
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[("grant_type", "client_credentials"), ("scope", "api")]);
        let refusal = match oauth::request_token(
            request,
            &self.token_url,
            "x-request-id",
            "JumpCloud",
            calls,
        )
        .await?
        {
            Ok(token) => return Ok(token),
            Err(refusal) => refusal,
        };
        let failure = refusal.failure("JumpCloud", |r| {
            format!(
                "JumpCloud refused a token for service account {client_id} ({}): {} {} (check the client id and secret, which rotate, and that scope api is allowed)",
                r.status, r.error.error, r.error.error_description
            )
        });
        Err(oauth::record_failure(calls, failure))
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
