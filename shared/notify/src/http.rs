//! One HTTP POST with the single retry this crate does: when the receiver answers 429 with a
//! `Retry-After` of at most a few seconds, wait that long and try once more. Anything longer
//! is left to the engine, which reminds again later.

use std::error::Error as _;
use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode};

use crate::error::DeliveryError;

/// The longest `Retry-After` waited for before the one retry.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);
/// How much of a response body is kept in a delivery's detail.
const DETAIL_BODY_CHARS: usize = 200;

/// What the receiver finally answered.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: String,
    /// The `Retry-After` seconds of a 429 that was waited out and retried.
    pub retried_after: Option<u64>,
    /// The `Retry-After` of a final 429, when present.
    pub retry_after: Option<u64>,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// `HTTP <status> <body>` plus what happened about rate limiting.
    pub fn detail(&self) -> String {
        let mut detail = format!("HTTP {}", self.status.as_u16());
        let body = one_line(&self.body, DETAIL_BODY_CHARS);
        if !body.is_empty() {
            detail.push(' ');
            detail.push_str(&body);
        }
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            match self.retry_after {
                Some(secs) if self.retried_after.is_none() => detail.push_str(&format!(
                    " (Retry-After {secs} s is longer than the {} s waited here; not retried)",
                    MAX_RETRY_AFTER.as_secs()
                )),
                _ if self.retried_after.is_some() => detail.push_str(" (again after one retry)"),
                _ => detail.push_str(" (no Retry-After; not retried)"),
            }
        } else if let Some(secs) = self.retried_after {
            detail.push_str(&format!(
                " (after one retry: 429 with Retry-After {secs} s)"
            ));
        }
        detail
    }
}

/// Sends the request `build` makes, retrying once after a short 429. `build` is called per
/// attempt so each attempt can carry fresh headers (a new signature timestamp).
pub(crate) async fn post(
    mut build: impl FnMut() -> RequestBuilder,
) -> Result<Reply, DeliveryError> {
    let mut retried_after = None;
    loop {
        let response = build().send().await.map_err(describe)?;
        let status = response.status();
        let retry_after = retry_after_secs(response.headers());
        let body = response.text().await.unwrap_or_default();
        if status == StatusCode::TOO_MANY_REQUESTS
            && retried_after.is_none()
            && let Some(secs) = retry_after.filter(|s| Duration::from_secs(*s) <= MAX_RETRY_AFTER)
        {
            tokio::time::sleep(Duration::from_secs(secs)).await;
            retried_after = Some(secs);
            continue;
        }
        return Ok(Reply {
            status,
            body,
            retried_after,
            retry_after,
        });
    }
}

/// `Retry-After` as delay-seconds (the form Slack and Standard Webhooks receivers send).
fn retry_after_secs(headers: &HeaderMap) -> Option<u64> {
    headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()
}

/// A transport error with its causes, and without the request URL (which for Slack is the
/// credential itself).
fn describe(error: reqwest::Error) -> DeliveryError {
    let error = error.without_url();
    let mut text = if error.is_timeout() {
        "timed out".to_owned()
    } else {
        error.to_string()
    };
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    DeliveryError::Http(text)
}

/// `text` on one line, at most `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        let mut cut: String = flat.chars().take(max).collect();
        cut.push('…');
        cut
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_names_status_body_and_retry() {
        let reply = Reply {
            status: StatusCode::NOT_FOUND,
            body: "no_service\n".into(),
            retried_after: None,
            retry_after: None,
        };
        assert_eq!(reply.detail(), "HTTP 404 no_service");
        let reply = Reply {
            status: StatusCode::OK,
            body: "ok".into(),
            retried_after: Some(1),
            retry_after: None,
        };
        assert_eq!(
            reply.detail(),
            "HTTP 200 ok (after one retry: 429 with Retry-After 1 s)"
        );
        let reply = Reply {
            status: StatusCode::TOO_MANY_REQUESTS,
            body: "rate_limited".into(),
            retried_after: None,
            retry_after: Some(30),
        };
        assert!(
            reply.detail().contains("Retry-After 30 s"),
            "{}",
            reply.detail()
        );
    }

    #[test]
    fn long_bodies_are_cut() {
        assert_eq!(one_line(&"a".repeat(300), 5), "aaaaa…");
    }
}
