//! The timestamp authority: RFC 3161 over HTTP (`application/timestamp-query`), so every
//! bundle's signature carries an outside witness of when it was made.

use async_trait::async_trait;
use passage_core::evidence::{check_timestamp, timestamp_request};
use passage_core::ports::{SignError, TimestampAuthority};
use std::time::Duration;

pub struct HttpTimestampAuthority {
    url: url::Url,
    http: reqwest::Client,
}

impl HttpTimestampAuthority {
    pub fn new(url: url::Url) -> Result<Self, SignError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| SignError(format!("timestamp client: {e}")))?;
        Ok(Self { url, http })
    }
}

#[async_trait]
impl TimestampAuthority for HttpTimestampAuthority {
    async fn timestamp(&self, data: &[u8]) -> Result<Vec<u8>, SignError> {
        let fail = |what: String| SignError(format!("timestamp authority {}: {what}", self.url));
        let query = timestamp_request(data).map_err(fail)?;
        let response = self
            .http
            .post(self.url.clone())
            .header("content-type", "application/timestamp-query")
            .body(query)
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(fail(format!("answered {status}")));
        }
        let body = response.bytes().await.map_err(|e| fail(e.to_string()))?;
        // Refuse a token that is not over what was asked: it would fail every verification.
        check_timestamp(&body, data).map_err(fail)?;
        Ok(body.to_vec())
    }
}
