//! What every connector needs from HTTP: one client, call records, and error classification.

use passage_core::CallRecord;
use passage_core::PendingOperation;
use passage_core::ports::{ActionFailure, ActionPending, FailureClass};
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

/// `{base}/{segments…}`, each segment escaped and the base's query dropped: every connector
/// builds its URLs this way, so a name with a `/` or `?` can never change which resource is
/// called.
pub fn join(base: &url::Url, segments: &[&str]) -> url::Url {
    let mut u = base.clone();
    u.set_query(None);
    u.path_segments_mut()
        .expect("http urls have paths")
        .pop_if_empty()
        .extend(segments);
    u
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

/// An instant a provider names on its own clock (a rate-limit reset in epoch seconds), moved
/// onto the local clock through the same answer's `Date`. Provider and host clocks disagree by
/// seconds or, on a badly kept host, hours; the wait the provider means is the distance between
/// two readings of *its* clock. `Date` is whole seconds and read after the provider's clock, so
/// the wait comes out never shorter than meant. Without a `Date`, the instant is taken as is.
pub fn on_local_clock(
    provider_instant: jiff::Timestamp,
    headers: &reqwest::header::HeaderMap,
) -> jiff::Timestamp {
    static PARSER: jiff::fmt::rfc2822::DateTimeParser = jiff::fmt::rfc2822::DateTimeParser::new();
    let date = headers
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| PARSER.parse_timestamp(v.trim()).ok());
    match date {
        Some(date) => jiff::Timestamp::now()
            .checked_add(provider_instant.duration_since(date))
            .unwrap_or(provider_instant),
        None => provider_instant,
    }
}

/// The class a refusal earns whatever the provider, or `None` for one the provider must
/// explain. A 429, or a 503 that names a wait, is the provider asking for a pause: throttled,
/// never counted as a failure. Other server faults and 408 are transient.
pub fn status_class(status: StatusCode, retry_after: Option<Duration>) -> Option<FailureClass> {
    let asks_for_a_pause = status == StatusCode::TOO_MANY_REQUESTS
        || (status == StatusCode::SERVICE_UNAVAILABLE && retry_after.is_some());
    if asks_for_a_pause {
        Some(FailureClass::Throttled { retry_after })
    } else if status == StatusCode::REQUEST_TIMEOUT || status.is_server_error() {
        Some(FailureClass::Retryable { retry_after })
    } else {
        None
    }
}

/// A refusal the provider's throttling explains (a Google 403 with a rate-limit reason).
pub fn throttled(code: &str, retry_after: Option<Duration>, message: String) -> ActionFailure {
    ActionFailure {
        class: FailureClass::Throttled { retry_after },
        code: code.into(),
        message,
    }
}

/// How a provider's long-running operation is polled: how soon first, how rarely at most,
/// and how long it may take in all before the step fails.
#[derive(Clone, Copy, Debug)]
pub struct Polling {
    pub first: Duration,
    pub most: Duration,
    pub deadline: Duration,
}

impl Polling {
    /// The pending answer for an operation still running. Each poll waits as long again as the
    /// operation has run so far (within `first..=most`), so one that finishes in seconds (a
    /// device that is online, a small Drive) is seen done soon, and one that takes hours is
    /// asked about rarely. `seen` is what an earlier attempt of the step reported.
    pub fn pending(
        &self,
        code: &str,
        what: String,
        seen: Option<&PendingOperation>,
    ) -> ActionPending {
        let ran = seen
            .and_then(|o| Duration::try_from(jiff::Timestamp::now().duration_since(o.since)).ok())
            .unwrap_or_default();
        ActionPending {
            code: code.into(),
            what,
            poll_after: ran.clamp(self.first, self.most),
            deadline: self.deadline,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_start_soon_and_grow_with_the_operation_up_to_a_cap() {
        let polling = Polling {
            first: Duration::from_secs(5),
            most: Duration::from_secs(900),
            deadline: Duration::from_secs(3600),
        };
        let seen_ago = |secs: i64| {
            let now = jiff::Timestamp::now();
            PendingOperation {
                code: "c".into(),
                what: "w".into(),
                since: now - jiff::SignedDuration::from_secs(secs),
                deadline: now,
            }
        };
        let after = |seen: Option<&PendingOperation>| polling.pending("c", "w".into(), seen);
        assert_eq!(after(None).poll_after, Duration::from_secs(5));
        assert_eq!(after(None).deadline, Duration::from_secs(3600));
        assert_eq!(after(Some(&seen_ago(1))).poll_after, Duration::from_secs(5));
        let grown = after(Some(&seen_ago(60))).poll_after;
        assert!((Duration::from_secs(60)..Duration::from_secs(62)).contains(&grown));
        assert_eq!(
            after(Some(&seen_ago(7200))).poll_after,
            Duration::from_secs(900)
        );
    }

    #[test]
    fn a_pause_asked_for_is_throttling_and_other_server_faults_are_transient() {
        let wait = Some(Duration::from_secs(3));
        let class = |status: u16, wait| status_class(StatusCode::from_u16(status).unwrap(), wait);
        assert_eq!(
            class(429, None),
            Some(FailureClass::Throttled { retry_after: None })
        );
        assert_eq!(
            class(429, wait),
            Some(FailureClass::Throttled { retry_after: wait })
        );
        assert_eq!(
            class(503, wait),
            Some(FailureClass::Throttled { retry_after: wait })
        );
        assert_eq!(
            class(503, None),
            Some(FailureClass::Retryable { retry_after: None })
        );
        assert_eq!(
            class(500, wait),
            Some(FailureClass::Retryable { retry_after: wait })
        );
        assert_eq!(
            class(408, None),
            Some(FailureClass::Retryable { retry_after: None })
        );
        assert_eq!(class(404, None), None);
        assert_eq!(class(403, wait), None);
    }
}
