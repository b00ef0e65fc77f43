//! Client-credentials tokens from the Microsoft identity platform, one cached token per resource
//! (Graph, Exchange Online), refreshed a minute before expiry.

use super::MicrosoftCredential;
use super::cloud::Cloud;
use crate::http::permanent;
use crate::jwt::{RsaSigner, jti};
use crate::oauth::{self, Token, TokenSlot};
use passage_core::CallRecord;
use passage_core::ports::ActionFailure;
use serde_json::json;

/// The API a token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    Graph,
    Exchange,
}

impl Resource {
    /// The client-credentials scope for this resource in `cloud`: the resource URI is the
    /// cloud's, whatever host the calls themselves go to.
    pub fn scope(self, cloud: Cloud) -> String {
        let uri = match self {
            Resource::Graph => cloud.graph_url(),
            Resource::Exchange => cloud.exchange_url(),
        };
        format!("{uri}/.default")
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

pub(crate) struct Auth {
    token_url: url::Url,
    cloud: Cloud,
    client_id: String,
    credential: MicrosoftCredential,
    signer: Option<Result<RsaSigner, String>>,
    graph: TokenSlot,
    exchange: TokenSlot,
}

impl Auth {
    pub fn new(
        login_url: &url::Url,
        cloud: Cloud,
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
            cloud,
            client_id: client_id.to_owned(),
            credential,
            signer,
            graph: TokenSlot::default(),
            exchange: TokenSlot::default(),
        }
    }

    /// A bearer token for `resource`, from the cache or freshly issued.
    pub async fn bearer(
        &self,
        http_client: &reqwest::Client,
        resource: Resource,
        calls: &mut Vec<CallRecord>,
    ) -> Result<String, ActionFailure> {
        let token = self
            .slot(resource)
            .get_or_fetch(async || self.fetch(http_client, resource, calls).await)
            .await?;
        Ok(token.value.expose().to_owned())
    }

    /// Forgets a cached token (after a 401, so the next attempt fetches a new one).
    pub async fn forget(&self, resource: Resource) {
        self.slot(resource).forget().await;
    }

    fn slot(&self, resource: Resource) -> &TokenSlot {
        match resource {
            Resource::Graph => &self.graph,
            Resource::Exchange => &self.exchange,
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
            ("scope", resource.scope(self.cloud)),
        ];
        match &self.credential {
            MicrosoftCredential::Secret(secret) => {
                form.push(("client_secret", secret.expose().to_owned()));
            }
            MicrosoftCredential::Certificate { x5t, .. } => {
                form.push((
                    "client_assertion_type",
                    oauth::CLIENT_ASSERTION_TYPE.to_owned(),
                ));
                form.push(("client_assertion", self.assertion(x5t)?));
            }
        }
        let request = http_client
            .post(self.token_url.clone())
            .header("client-request-id", uuid::Uuid::new_v4().to_string())
            .form(&form);
        let provider = "the identity platform";
        let refusal =
            match oauth::request_token(request, &self.token_url, "request-id", provider, calls)
                .await?
            {
                Ok(token) => return Ok(token),
                Err(refusal) => refusal,
            };
        let failure = refusal.failure(provider, |r| {
            format!(
                "the identity platform refused a {} token for app {} ({}): {}",
                resource.name(),
                self.client_id,
                r.status,
                r.error.error_description
            )
        });
        Err(oauth::record_failure(calls, failure))
    }
}
