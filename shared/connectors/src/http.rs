//! What every connector needs from HTTP: one client, call records, and error classification.

use passage_core::CallRecord;
use passage_core::ports::{ActionFailure, FailureClass};
use reqwest::{Response, StatusCode};
use std::time::{Duration, Instant};

/// The shared HTTP client: rustls, bounded connect and request time, no redirects (a redirect
/// from a provider API is unexpected, and following it could carry credentials elsewhere).
pub fn client() -> reqwest::Client {
    builder()
        .build()
        .expect("a client with static settings builds")
}

/// The settings of [`client`], for a caller that must add one of its own. The API-conformance
/// test adds a proxy here to observe every request a connector sends without the connectors
/// carrying any observation code of their own.
pub fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("passage/", env!("CARGO_PKG_VERSION")))
}

/// Records a call's metadata. The path is kept without its query string, which can carry
/// personal data (search filters) that has no place in evidence.
pub fn record(
    method: &str,
    url: &url::Url,
    response: Option<&Response>,
    started: Instant,
    request_id_header: &str,
) -> CallRecord {
    CallRecord {
        method: method.to_owned(),
        path: url.path().to_owned(),
        status: response.map(|r| r.status().as_u16()).unwrap_or(0),
        request_id: response
            .and_then(|r| r.headers().get(request_id_header))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        duration_ms: started.elapsed().as_millis() as u64,
        error_code: None,
        rate_limit_remaining: None,
    }
}

/// A failure no retry can mend (a refusal, a misconfiguration, a missing object).
pub fn permanent(code: &str, message: String) -> ActionFailure {
    ActionFailure {
        class: FailureClass::Permanent,
        code: code.into(),
        message,
    }
}

/// A link a provider returned is followed only to the origin Passage's credentials are for, so
/// a tampered or misrouted link can never carry a token elsewhere.
pub(crate) fn same_origin(
    url: &url::Url,
    expected: &url::Url,
    api: &str,
) -> Result<(), ActionFailure> {
    if url.origin() == expected.origin() {
        return Ok(());
    }
    Err(permanent(
        "foreign_link",
        format!(
            "{api} returned a link to another origin ({}); not followed",
            url.origin().ascii_serialization()
        ),
    ))
}

/// A read-back that disagrees with what was just done: usually the provider's own propagation
/// delay (eventual consistency), so worth retrying.
pub fn mismatch(message: String) -> ActionFailure {
    ActionFailure {
        class: FailureClass::Retryable { retry_after: None },
        code: "readback_mismatch".into(),
        message,
    }
}

/// A failure from a transport error (no HTTP answer): always worth retrying.
pub fn transport_failure(e: reqwest::Error) -> ActionFailure {
    let code = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect_failed"
    } else {
        "transport_error"
    };
    ActionFailure {
        class: FailureClass::Retryable { retry_after: None },
        code: code.into(),
        // reqwest's message names the URL's host but never headers, so it is safe to keep.
        message: format!("no answer from the provider: {}", e.without_url()),
    }
}

/// Retry-After in seconds (the only form providers use for API throttling).
pub fn retry_after(response: &Response) -> Option<Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Whether a status is worth retrying regardless of provider: throttling and server faults.
pub fn is_retryable_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
}
