//! Client-credentials tokens from the Microsoft identity platform, one cached token per resource
//! (Graph, Exchange Online), refreshed a minute before expiry.

use super::MicrosoftCredential;
use crate::http;
use crate::jwt::{RsaSigner, jti};
use passage_core::CallRecord;
use passage_core::ports::{ActionFailure, FailureClass};
use passage_core::secret::Secret;
use serde::Deserialize;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The API a token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    Graph,
    Exchange,
}

impl Resource {
    pub fn scope(self) -> &'static str {
        match self {
            Resource::Graph => "https://graph.microsoft.com/.default",
            Resource::Exchange => "https://outlook.office365.com/.default",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Resource::Graph => "Microsoft Graph",
            Resource::Exchange => "Exchange Online",
        }
    }
}

/// Assertions live at most this long (the identity platform accepts up to ten minutes).
const ASSERTION_LIFETIME_SECS: i64 = 540;

struct Token {
    value: Secret,
    refresh_at: Instant,
}

pub(crate) struct Auth {
    token_url: url::Url,
    client_id: String,
    credential: MicrosoftCredential,
    signer: Option<Result<RsaSigner, String>>,
    graph: Mutex<Option<Token>>,
    exchange: Mutex<Option<Token>>,
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

fn permanent(code: &str, message: String) -> ActionFailure {
    ActionFailure {
        class: FailureClass::Permanent,
        code: code.into(),
        message,
    }
}

impl Auth {
    pub fn new(
        login_url: &url::Url,
        tenant_id: &str,
        client_id: &str,
        credential: MicrosoftCredential,
    ) -> Self {
        let mut token_url = login_url.clone();
        token_url.set_query(None);
        if let Ok(mut segs) = token_url.path_segments_mut() {
            segs.pop_if_empty()
                .extend([tenant_id, "oauth2", "v2.0", "token"]);
        }
        let signer = match &credential {
            MicrosoftCredential::Certificate { private_key, .. } => {
                Some(RsaSigner::from_pem(private_key.expose()).map_err(|e| e.to_string()))
            }
            MicrosoftCredential::Secret(_) => None,
        };
        Self {
            token_url,
            client_id: client_id.to_owned(),
            credential,
            signer,
            graph: Mutex::new(None),
            exchange: Mutex::new(None),
        }
    }

    /// A bearer token for `resource`, from the cache or freshly issued.
    pub async fn bearer(
        &self,
        http_client: &reqwest::Client,
        resource: Resource,
        calls: &mut Vec<CallRecord>,
    ) -> Result<String, ActionFailure> {
        let slot = match resource {
            Resource::Graph => &self.graph,
            Resource::Exchange => &self.exchange,
        };
        let mut cached = slot.lock().await;
        if let Some(t) = cached.as_ref()
            && Instant::now() < t.refresh_at
        {
            return Ok(t.value.expose().to_owned());
        }
        let token = self.fetch(http_client, resource, calls).await?;
        let value = token.value.expose().to_owned();
        *cached = Some(token);
        Ok(value)
    }

    /// Forgets a cached token (after a 401, so the next attempt fetches a new one).
    pub async fn forget(&self, resource: Resource) {
        match resource {
            Resource::Graph => *self.graph.lock().await = None,
            Resource::Exchange => *self.exchange.lock().await = None,
        }
    }

    fn assertion(&self, x5t: &str) -> Result<String, ActionFailure> {
        let signer = match &self.signer {
            Some(Ok(s)) => s,
            Some(Err(e)) => return Err(permanent("bad_private_key", e.clone())),
            None => {
                return Err(permanent(
                    "bad_private_key",
                    "no certificate key configured".into(),
                ));
            }
        };
        let now = jiff::Timestamp::now().as_second();
        signer
            .sign(
                json!({"typ": "JWT", "x5t": x5t}),
                &json!({
                    "aud": self.token_url.as_str(),
                    "iss": self.client_id,
                    "sub": self.client_id,
                    "jti": jti(),
                    "nbf": now,
                    "iat": now,
                    "exp": now + ASSERTION_LIFETIME_SECS,
                }),
            )
            .map_err(|e| permanent("bad_private_key", e.to_string()))
    }

    async fn fetch(
        &self,
        http_client: &reqwest::Client,
        resource: Resource,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Token, ActionFailure> {
        let mut form = vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", self.client_id.clone()),
            ("scope", resource.scope().to_owned()),
        ];
        match &self.credential {
            MicrosoftCredential::Secret(secret) => {
                form.push(("client_secret", secret.expose().to_owned()));
            }
            MicrosoftCredential::Certificate { x5t, .. } => {
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
                ));
                form.push(("client_assertion", self.assertion(x5t)?));
            }
        }
        let started = Instant::now();
        let sent = http_client
            .post(self.token_url.clone())
            .header("client-request-id", uuid::Uuid::new_v4().to_string())
            .form(&form)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                calls.push(http::record(
                    "POST",
                    &self.token_url,
                    None,
                    started,
                    "request-id",
                ));
                return Err(http::transport_failure(e));
            }
        };
        let mut record = http::record(
            "POST",
            &self.token_url,
            Some(&response),
            started,
            "request-id",
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
                    message: format!("the identity platform's token answer could not be read: {e}"),
                })?;
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
                message: format!(
                    "the identity platform's token endpoint answered {status}: {}",
                    error.error_description
                ),
            }
        } else {
            permanent(
                if error.error.is_empty() {
                    "token_refused"
                } else {
                    &error.error
                },
                format!(
                    "the identity platform refused a {} token for app {} ({status}): {}",
                    resource.name(),
                    self.client_id,
                    error.error_description
                ),
            )
        };
        record.error_code = Some(failure.code.clone());
        calls.push(record);
        Err(failure)
    }
}
