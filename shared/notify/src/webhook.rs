//! Outbound webhooks signed per Standard Webhooks (standardwebhooks.com): the notice as a JSON
//! body with `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256
//! of "id.timestamp.body">`, keyed with the base64 part of the tenant's `whsec_` secret.
//! Receivers can then use any Standard Webhooks library to verify and de-duplicate.

use passage_core::ports::Notice;
use passage_core::secret::Secret;
use passage_hris::WebhookSecret;
use reqwest::header::CONTENT_TYPE;
use url::Url;

use crate::error::DeliveryError;
use crate::http::{self, Reply};

/// Decodes a `whsec_…` secret with the same rules Passage's own intake uses to verify them.
pub(crate) fn signing_key(secret: &Secret) -> Result<WebhookSecret, DeliveryError> {
    WebhookSecret::parse(secret.expose()).map_err(|_| DeliveryError::InvalidWebhookSecret)
}

/// A fresh message id. It is shared by a retry of the same delivery (so the receiver can
/// de-duplicate) but new for every notice delivery.
fn message_id() -> String {
    format!("msg_{}", uuid::Uuid::now_v7().simple())
}

/// POSTs `notice` to `url`, signed with `key`.
pub(crate) async fn deliver(
    client: &reqwest::Client,
    url: Url,
    key: &WebhookSecret,
    notice: &Notice,
) -> Result<Reply, DeliveryError> {
    let body = serde_json::to_vec(notice).map_err(|e| DeliveryError::Serialize(e.to_string()))?;
    let id = message_id();
    http::post(|| {
        // Each attempt is signed at its own time, as the spec asks.
        let timestamp = jiff::Timestamp::now().as_second();
        client
            .post(url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                passage_hris::sign(key, &id, timestamp, &body),
            )
            .body(body.clone())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_official_test_vector() {
        let key = signing_key(&Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")).unwrap();
        assert_eq!(
            passage_hris::sign(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn rejects_a_secret_that_is_not_base64_without_echoing_it() {
        let err = signing_key(&Secret::new("whsec_not base64!!")).unwrap_err();
        assert!(!err.to_string().contains("not base64!!"));
    }

    #[test]
    fn message_ids_are_fresh() {
        assert_ne!(message_id(), message_id());
        assert!(message_id().starts_with("msg_"));
    }
}
