//! Okta authentication: an SSWS API token, or an OAuth 2.0 service app (`private_key_jwt`
//! client assertion, optionally DPoP-bound tokens with the server-nonce retry).
//!
//! Service apps are what Okta recommends: scoped, not tied to a person, no long-lived secret
//! on the wire. Tokens are cached until a minute before they expire.

use crate::http::permanent;
use crate::jwt::{RsaSigner, access_token_hash, jti};
use crate::oauth::{self, Refusal, Token, TokenSlot};
use passage_core::CallRecord;
use passage_core::ports::ActionFailure;
use passage_core::secret::Secret;
use reqwest::StatusCode;
use serde_json::json;
use tokio::sync::Mutex;

/// How Passage proves itself to an Okta org.
#[derive(Clone, Debug)]
pub enum OktaCredentials {
    /// `Authorization: SSWS <token>`.
    ApiToken(Secret),
    ServiceApp(ServiceApp),
}

/// An API Services app with a registered public key.
#[derive(Clone, Debug)]
pub struct ServiceApp {
    pub client_id: String,
    /// PEM of the RSA private key whose public half is registered on the app.
    pub private_key: Secret,
    /// `kid` of the registered key.
    pub key_id: Option<String>,
    /// okta.* scopes granted to the app.
    pub scopes: Vec<String>,
    /// The app requires DPoP-bound tokens.
    pub dpop: bool,
}

pub(crate) struct Auth {
    credentials: OktaCredentials,
    signer: Option<RsaSigner>,
    token: TokenSlot,
    nonce: Mutex<Option<String>>,
}

/// `htu`: the request URL without query and fragment.
fn htu(url: &url::Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

impl Auth {
    pub fn new(credentials: OktaCredentials) -> Self {
        let signer = match &credentials {
            OktaCredentials::ServiceApp(app) => RsaSigner::from_pem(app.private_key.expose()).ok(),
            OktaCredentials::ApiToken(_) => None,
        };
        Self {
            credentials,
            signer,
            token: TokenSlot::default(),
            nonce: Mutex::new(None),
        }
    }

    /// The `Authorization` (and `DPoP`) headers for one request.
    pub async fn headers(
        &self,
        http_client: &reqwest::Client,
        org: &url::Url,
        method: &reqwest::Method,
        url: &url::Url,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Vec<(&'static str, String)>, ActionFailure> {
        let app = match &self.credentials {
            OktaCredentials::ApiToken(t) => {
                return Ok(vec![("authorization", format!("SSWS {}", t.expose()))]);
            }
            OktaCredentials::ServiceApp(app) => app,
        };
        let signer = self.signer(app)?;
        let token = self
            .token
            .get_or_fetch(async || self.fetch_token(http_client, org, app, signer, calls).await)
            .await?;
        if !token.token_type.eq_ignore_ascii_case("DPoP") {
            return Ok(vec![(
                "authorization",
                format!("Bearer {}", token.value.expose()),
            )]);
        }
        let proof = signer
            .sign(
                json!({"typ": "dpop+jwt", "jwk": signer.jwk()}),
                &json!({
                    "htm": method.as_str(),
                    "htu": htu(url),
                    "iat": jiff::Timestamp::now().as_second(),
                    "jti": jti(),
                    "ath": access_token_hash(token.value.expose()),
                }),
            )
            .map_err(|e| permanent("bad_private_key", e.to_string()))?;
        Ok(vec![
            ("authorization", format!("DPoP {}", token.value.expose())),
            ("dpop", proof),
        ])
    }

    /// The service app's token, from the cache or newly issued; `None` for an API token.
    pub async fn token(
        &self,
        http_client: &reqwest::Client,
        org: &url::Url,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Option<Token>, ActionFailure> {
        let OktaCredentials::ServiceApp(app) = &self.credentials else {
            return Ok(None);
        };
        let signer = self.signer(app)?;
        self.token
            .get_or_fetch(async || self.fetch_token(http_client, org, app, signer, calls).await)
            .await
            .map(Some)
    }

    fn signer(&self, app: &ServiceApp) -> Result<&RsaSigner, ActionFailure> {
        self.signer.as_ref().ok_or_else(|| {
            permanent(
                "bad_private_key",
                format!(
                    "the private key configured for Okta service app {} is not an RSA PEM key",
                    app.client_id
                ),
            )
        })
    }

    async fn fetch_token(
        &self,
        http_client: &reqwest::Client,
        org: &url::Url,
        app: &ServiceApp,
        signer: &RsaSigner,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Token, ActionFailure> {
        let mut token_url = org.clone();
        token_url.set_path("/oauth2/v1/token");
        let grant = Grant {
            app,
            signer,
            token_url: &token_url,
            now: jiff::Timestamp::now().as_second(),
        };
        // Okta may ask for a nonce once (use_dpop_nonce); answer it and try again, no more.
        for _ in 0..2 {
            let nonce = self.nonce.lock().await.clone();
            let request = grant.request(http_client, nonce)?;
            let refusal =
                match oauth::request_token(request, &token_url, "x-okta-request-id", "Okta", calls)
                    .await?
                {
                    Ok(token) => return Ok(token),
                    Err(refusal) => refusal,
                };
            if asks_for_nonce(&refusal) {
                *self.nonce.lock().await = refusal.dpop_nonce;
                continue;
            }
            return Err(oauth::record_failure(calls, grant.refused(&refusal)));
        }
        Err(permanent(
            "use_dpop_nonce",
            "Okta kept asking for a new DPoP nonce".into(),
        ))
    }
}

/// Okta answered a token request with `use_dpop_nonce` and the nonce to put in the next proof.
fn asks_for_nonce(refusal: &Refusal) -> bool {
    refusal.status == StatusCode::BAD_REQUEST
        && refusal.error.error == "use_dpop_nonce"
        && refusal.dpop_nonce.is_some()
}

/// One service app's client-credentials grant at the org's token endpoint.
struct Grant<'a> {
    app: &'a ServiceApp,
    signer: &'a RsaSigner,
    token_url: &'a url::Url,
    /// When the grant began: every assertion and proof it signs is issued at this second.
    now: i64,
}

impl Grant<'_> {
    /// The token request: a signed client assertion, and a DPoP proof (carrying the server's
    /// nonce, once it asked for one) when the app requires DPoP-bound tokens.
    fn request(
        &self,
        http_client: &reqwest::Client,
        nonce: Option<String>,
    ) -> Result<reqwest::RequestBuilder, ActionFailure> {
        let form = [
            ("grant_type", "client_credentials".to_owned()),
            ("scope", self.app.scopes.join(" ")),
            (
                "client_assertion_type",
                oauth::CLIENT_ASSERTION_TYPE.to_owned(),
            ),
            ("client_assertion", self.client_assertion()?),
        ];
        let request = http_client.post(self.token_url.clone()).form(&form);
        if !self.app.dpop {
            return Ok(request);
        }
        Ok(request.header("dpop", self.proof(nonce)?))
    }

    /// The `private_key_jwt` client assertion (RFC 7523), naming the registered key if known.
    fn client_assertion(&self) -> Result<String, ActionFailure> {
        let mut header = json!({"typ": "JWT"});
        if let Some(kid) = &self.app.key_id {
            header["kid"] = kid.clone().into();
        }
        let app = &self.app.client_id;
        self.sign(
            header,
            json!({
                "aud": self.token_url.as_str(),
                "iss": app,
                "sub": app,
                "iat": self.now,
                "exp": self.now + 300,
                "jti": jti(),
            }),
        )
    }

    /// The DPoP proof for the token request itself (RFC 9449 §4).
    fn proof(&self, nonce: Option<String>) -> Result<String, ActionFailure> {
        let mut claims =
            json!({"htm": "POST", "htu": htu(self.token_url), "iat": self.now, "jti": jti()});
        if let Some(nonce) = nonce {
            claims["nonce"] = nonce.into();
        }
        let header = json!({"typ": "dpop+jwt", "jwk": self.signer.jwk()});
        self.sign(header, claims)
    }

    fn sign(
        &self,
        header: serde_json::Value,
        claims: serde_json::Value,
    ) -> Result<String, ActionFailure> {
        self.signer
            .sign(header, &claims)
            .map_err(|e| permanent("bad_private_key", e.to_string()))
    }

    /// Okta's refusal of a token for this app, explained.
    fn refused(&self, refusal: &Refusal) -> ActionFailure {
        refusal.failure("Okta", |r| {
            format!(
                "Okta refused a token for service app {} ({}): {} {}",
                self.app.client_id, r.status, r.error.error, r.error.error_description
            )
        })
    }
}
