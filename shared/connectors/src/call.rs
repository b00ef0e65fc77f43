//! The one HTTP call loop every connector sends its API calls through.
//!
//! Sending, recording, reading the answer and classifying transport failures are the same for
//! every provider; what differs is how a provider puts its credentials on a request, which
//! header names its request id, what wait it asks for when it throttles, how it explains a
//! refusal, and whether a refused credential is worth one fresh attempt. A [`Dialect`] says
//! those things for one provider, and [`send`] does the rest.
//!
//! Before each attempt the call waits its turn in the provider org's budget, and each answer
//! tells that budget what the provider said about it (see [`crate::pace`]).
//!
//! Connectors make one attempt per action and leave retrying to the engine, whose retry policy
//! (and its evidence of each attempt) owns retries. Two resends happen here: one with a fresh
//! token after the provider refused a cached one, and [`READ_REPEATS`] of a read that failed
//! transiently after the attempt had already made progress.

use crate::http;
use crate::pace::{self, Paced};
use passage_core::CallRecord;
use passage_core::pace::PaceSignal;
use passage_core::ports::ActionFailure;
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;
use std::time::{Duration, Instant};

/// One API call as a connector asks for it.
pub(crate) struct Call<'a> {
    pub method: Method,
    pub url: url::Url,
    /// Sent as JSON when present.
    pub body: Option<&'a Value>,
    /// Non-2xx statuses the caller handles itself (e.g. a 404 meaning "already gone").
    pub accept: &'a [StatusCode],
}

/// A successful answer, or a refusal the caller accepted.
pub(crate) struct Answer {
    pub status: StatusCode,
    /// The parsed body; `Null` when empty or not JSON.
    pub body: Value,
    /// Kept for providers that page through a header (Okta's `Link`).
    pub headers: HeaderMap,
    /// For an accepted refusal, the provider's error code where its dialect names one.
    pub error_code: Option<String>,
}

/// A refusal (a non-2xx answer) the caller did not accept, for the provider to explain.
pub(crate) struct Refused<'a> {
    pub call: &'a Call<'a>,
    pub status: StatusCode,
    pub body: &'a [u8],
    /// What [`Dialect::wait`] read from the answer.
    pub wait: Option<Duration>,
}

/// What a provider makes of a refusal.
pub(crate) enum Verdict {
    /// The caller handles the answer itself; the code goes into the answer, and into the call
    /// record unless it is empty.
    Accept(Option<String>),
    Fail(ActionFailure),
}

/// What one provider's API needs that the others' do not.
pub(crate) trait Dialect {
    /// The response header that carries the provider's request id.
    const REQUEST_ID: &'static str;

    /// Puts credentials and the provider's own headers on one attempt (`Accept: JSON` is
    /// already there). Fetching a token is itself a call, recorded in `calls`.
    async fn authorize(
        &self,
        request: RequestBuilder,
        call: &Call<'_>,
        calls: &mut Vec<CallRecord>,
    ) -> Result<RequestBuilder, ActionFailure>;

    /// How long the provider asks to be left alone before a retry.
    fn wait(&self, response: &Response) -> Option<Duration> {
        http::retry_after(response)
    }

    /// Adds what else the provider's answer says about the call to its record.
    fn note(&self, _response: &Response, _record: &mut CallRecord) {}

    /// The error code an accepted refusal carries to the caller, where the caller needs it.
    fn accepted_code(&self, _body: &[u8]) -> Option<String> {
        None
    }

    /// Explains a refusal the caller did not accept.
    fn refusal(&self, refused: &Refused<'_>) -> Verdict;

    /// The provider refused the credential (401): forget any cached token, and say whether one
    /// more attempt with a fresh one is worth making.
    async fn credential_refused(&self) -> bool {
        false
    }

    /// The budget the call waits its turn in, when the connector is paced.
    fn paced(&self, _call: &Call<'_>) -> Option<Paced<'_>> {
        None
    }

    /// What an answer says about that budget: by default, a 429 and its Retry-After.
    fn pace_signal(&self, status: StatusCode, headers: &HeaderMap, _body: &[u8]) -> PaceSignal {
        pace::refusal_signal(status, headers)
    }
}

/// How often a read that failed transiently (a 5xx without a throttle, a lost answer) is sent
/// again at once, when an earlier call of the same attempt succeeded. Repeating a read changes
/// nothing, and an action that reads a dozen resources in one attempt (a snapshot) would
/// otherwise need every one of them to succeed together: at 30 % failed requests, one attempt
/// in three hundred. A provider failing the attempt's first call is left to the engine's
/// backoff, which spares it; throttling always goes back to the engine, which waits as asked.
/// Writes are never repeated here: the engine's next attempt reads before it acts again.
pub(crate) const READ_REPEATS: u32 = 2;

/// Whether a failed call may be sent again within the attempt (see [`READ_REPEATS`]): a read,
/// failed without the provider naming a wait, after an earlier call of the attempt (`earlier`,
/// those recorded before this one began) succeeded.
fn repeatable(call: &Call<'_>, failure: &ActionFailure, earlier: &[CallRecord], done: u32) -> bool {
    call.method == Method::GET
        && done < READ_REPEATS
        && matches!(
            failure.class,
            passage_core::ports::FailureClass::Retryable { retry_after: None }
        )
        && earlier.iter().any(|c| (200..300).contains(&c.status))
}

/// A branch of an attempt's calls, for reads made at once: each branch starts from what the
/// attempt has recorded so far, so a read in it may be repeated like any other read of the
/// attempt ([`READ_REPEATS`]), and [`Branches::join`] adds back only what the branches recorded.
/// Without this, a branch started empty and a read in it was never repeated: at 30 % failed
/// requests, Google's snapshot (sixteen reads at once) failed nearly every attempt.
pub(crate) struct Branches {
    from: usize,
    base: Vec<CallRecord>,
}

impl Branches {
    pub(crate) fn of(calls: &[CallRecord]) -> Self {
        Self {
            from: calls.len(),
            base: calls.to_vec(),
        }
    }

    /// A new branch: the attempt's calls so far, to record more in.
    pub(crate) fn branch(&self) -> Vec<CallRecord> {
        self.base.clone()
    }

    /// Adds what `branch` recorded after it was made to the attempt's `calls`.
    pub(crate) fn join(&self, calls: &mut Vec<CallRecord>, branch: Vec<CallRecord>) {
        calls.extend(branch.into_iter().skip(self.from));
    }
}

/// Sends `call` and records every attempt in `calls`. A 2xx or an accepted status is an
/// [`Answer`]; anything else fails as the provider's [`Dialect::refusal`] explains it, and a
/// transport error fails as retryable.
pub(crate) async fn send<D: Dialect>(
    http: &reqwest::Client,
    dialect: &D,
    call: &Call<'_>,
    calls: &mut Vec<CallRecord>,
) -> Result<Answer, ActionFailure> {
    let mut fresh_credential_tried = false;
    let mut repeats = 0;
    let earlier = calls.len();
    loop {
        let reply = match attempt(http, dialect, call, calls).await {
            Ok(reply) => reply,
            Err(failure) if repeatable(call, &failure, &calls[..earlier], repeats) => {
                repeats += 1;
                continue;
            }
            Err(failure) => return Err(failure),
        };
        if reply.status.is_success() {
            return Ok(reply.into_answer(None, calls));
        }
        let verdict = if call.accept.contains(&reply.status) {
            Verdict::Accept(dialect.accepted_code(&reply.bytes))
        } else {
            dialect.refusal(&Refused {
                call,
                status: reply.status,
                body: &reply.bytes,
                wait: reply.wait,
            })
        };
        let failure = match verdict {
            Verdict::Accept(code) => return Ok(reply.into_answer(code, calls)),
            Verdict::Fail(failure) => failure,
        };
        let status = reply.status;
        let mut record = reply.record;
        record.error_code = Some(failure.code.clone());
        calls.push(record);
        if status == StatusCode::UNAUTHORIZED
            && !fresh_credential_tried
            && dialect.credential_refused().await
        {
            fresh_credential_tried = true;
            continue;
        }
        if repeatable(call, &failure, &calls[..earlier], repeats) {
            repeats += 1;
            continue;
        }
        return Err(failure);
    }
}

/// An answer read to its end, its record not yet kept.
struct Reply {
    record: CallRecord,
    status: StatusCode,
    wait: Option<Duration>,
    headers: HeaderMap,
    bytes: Vec<u8>,
}

impl Reply {
    fn into_answer(self, error_code: Option<String>, calls: &mut Vec<CallRecord>) -> Answer {
        let mut record = self.record;
        record.error_code = error_code.clone().filter(|c| !c.is_empty());
        calls.push(record);
        let body = if self.bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
        };
        Answer {
            status: self.status,
            body,
            headers: self.headers,
            error_code,
        }
    }
}

/// Sends one attempt and reads its whole answer. A call that got no (whole) answer is recorded
/// here; one that did is recorded by the caller once it knows the error code.
async fn attempt<D: Dialect>(
    http: &reqwest::Client,
    dialect: &D,
    call: &Call<'_>,
    calls: &mut Vec<CallRecord>,
) -> Result<Reply, ActionFailure> {
    let paced = dialect.paced(call);
    if let Some(turn) = &paced {
        turn.wait_turn().await?;
    }
    let request = http
        .request(call.method.clone(), call.url.clone())
        .header(reqwest::header::ACCEPT, "application/json");
    let mut request = dialect.authorize(request, call, calls).await?;
    request = match call.body {
        Some(body) => request.json(body),
        // A bodiless write says so: Graph's front end (and other HTTP/1.1 servers) answer 411
        // to a POST with neither a length nor chunking.
        None if call.method != Method::GET && call.method != Method::DELETE => {
            request.header(reqwest::header::CONTENT_LENGTH, "0")
        }
        None => request,
    };
    let started = Instant::now();
    let method = call.method.as_str();
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            calls.push(http::record(
                method,
                &call.url,
                None,
                started,
                D::REQUEST_ID,
            ));
            return Err(http::transport_failure(e));
        }
    };
    let mut record = http::record(method, &call.url, Some(&response), started, D::REQUEST_ID);
    dialect.note(&response, &mut record);
    let status = response.status();
    let wait = dialect.wait(&response);
    let headers = response.headers().clone();
    match response.bytes().await {
        Ok(bytes) => {
            if let Some(turn) = &paced {
                turn.observe(dialect.pace_signal(status, &headers, &bytes))
                    .await;
            }
            Ok(Reply {
                record,
                status,
                wait,
                headers,
                bytes: Vec::from(bytes),
            })
        }
        Err(e) => {
            calls.push(record);
            Err(http::transport_failure(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use passage_core::ports::FailureClass;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A provider that counts what the loop asks of it.
    #[derive(Default)]
    struct Counting {
        authorized: AtomicUsize,
        refused: AtomicUsize,
    }

    impl Dialect for Counting {
        const REQUEST_ID: &'static str = "x-test-request-id";

        async fn authorize(
            &self,
            request: RequestBuilder,
            _call: &Call<'_>,
            _calls: &mut Vec<CallRecord>,
        ) -> Result<RequestBuilder, ActionFailure> {
            self.authorized.fetch_add(1, Ordering::SeqCst);
            Ok(request.bearer_auth("token"))
        }

        fn accepted_code(&self, _body: &[u8]) -> Option<String> {
            Some(String::new())
        }

        fn refusal(&self, refused: &Refused<'_>) -> Verdict {
            Verdict::Fail(http::permanent(
                &format!("http_{}", refused.status.as_u16()),
                "refused".into(),
            ))
        }

        async fn credential_refused(&self) -> bool {
            self.refused.fetch_add(1, Ordering::SeqCst);
            true
        }
    }

    /// Answers `/{status}` with that status, a request id, and a JSON body.
    async fn provider() -> url::Url {
        use axum::extract::Path;
        use axum::http::StatusCode as Status;
        let router = axum::Router::new().route(
            "/{status}",
            axum::routing::any(|Path(status): Path<u16>| async move {
                let status = Status::from_u16(status).unwrap();
                (status, [("x-test-request-id", "req-1")], "{\"ok\":true}")
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        url
    }

    fn call(url: url::Url, accept: &[StatusCode]) -> Call<'_> {
        Call {
            method: Method::GET,
            url,
            body: None,
            accept,
        }
    }

    #[tokio::test]
    async fn an_answer_is_recorded_without_its_query() {
        let url = provider().await.join("/200?filter=email eq 'a@b'").unwrap();
        let mut calls = Vec::new();
        let answer = send(
            &http::client(),
            &Counting::default(),
            &call(url, &[]),
            &mut calls,
        )
        .await
        .unwrap();
        assert_eq!(answer.body["ok"], true);
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].path, "/200");
        assert_eq!(calls[0].status, 200);
        assert_eq!(calls[0].request_id.as_deref(), Some("req-1"));
        assert_eq!(calls[0].error_code, None);
    }

    #[tokio::test]
    async fn a_refused_credential_is_tried_fresh_once_and_both_attempts_are_recorded() {
        let url = provider().await.join("/401").unwrap();
        let dialect = Counting::default();
        let mut calls = Vec::new();
        let failure = send(&http::client(), &dialect, &call(url, &[]), &mut calls)
            .await
            .err()
            .unwrap();
        assert_eq!(failure.code, "http_401");
        assert_eq!(dialect.authorized.load(Ordering::SeqCst), 2);
        assert_eq!(dialect.refused.load(Ordering::SeqCst), 1);
        let codes: Vec<_> = calls.iter().map(|c| c.error_code.as_deref()).collect();
        assert_eq!(codes, [Some("http_401"), Some("http_401")]);
    }

    #[tokio::test]
    async fn an_accepted_refusal_is_an_answer_and_an_empty_code_is_not_recorded() {
        let url = provider().await.join("/404").unwrap();
        let mut calls = Vec::new();
        let accept = [StatusCode::NOT_FOUND];
        let answer = send(
            &http::client(),
            &Counting::default(),
            &call(url, &accept),
            &mut calls,
        )
        .await
        .unwrap();
        assert_eq!(answer.status, StatusCode::NOT_FOUND);
        assert_eq!(answer.error_code.as_deref(), Some(""));
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].error_code, None);
    }

    #[tokio::test]
    async fn no_answer_is_recorded_and_retryable() {
        // A port nothing listens on: bound, then released.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = url::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        drop(listener);
        let mut calls = Vec::new();
        let failure = send(
            &http::client(),
            &Counting::default(),
            &call(url, &[]),
            &mut calls,
        )
        .await
        .err()
        .unwrap();
        assert_eq!(failure.class, FailureClass::Retryable { retry_after: None });
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].status, 0);
    }

    /// A port nothing listens on: bound, then released.
    fn dead_port() -> url::Url {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = url::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        drop(listener);
        url
    }

    #[tokio::test]
    async fn a_read_failing_after_progress_is_repeated_and_every_try_recorded() {
        let ok = provider().await.join("/200").unwrap();
        let dialect = Counting::default();
        let mut calls = Vec::new();
        send(&http::client(), &dialect, &call(ok, &[]), &mut calls)
            .await
            .unwrap();
        let failure = send(
            &http::client(),
            &dialect,
            &call(dead_port(), &[]),
            &mut calls,
        )
        .await
        .err()
        .unwrap();
        assert_eq!(failure.class, FailureClass::Retryable { retry_after: None });
        let statuses: Vec<_> = calls.iter().map(|c| c.status).collect();
        assert_eq!(
            statuses,
            [200, 0, 0, 0],
            "one success, then the read and its repeats"
        );
    }

    #[tokio::test]
    async fn a_read_in_a_branch_is_repeated_after_the_attempts_progress_and_joined_once() {
        let ok = provider().await.join("/200").unwrap();
        let dialect = Counting::default();
        let mut calls = Vec::new();
        send(
            &http::client(),
            &dialect,
            &call(ok.clone(), &[]),
            &mut calls,
        )
        .await
        .unwrap();
        let branches = Branches::of(&calls);
        let (mut failing, mut passing) = (branches.branch(), branches.branch());
        let (client, dead, ok) = (http::client(), call(dead_port(), &[]), call(ok, &[]));
        let (failed, passed) = futures::join!(
            send(&client, &dialect, &dead, &mut failing),
            send(&client, &dialect, &ok, &mut passing),
        );
        assert!(failed.is_err() && passed.is_ok());
        branches.join(&mut calls, failing);
        branches.join(&mut calls, passing);
        let statuses: Vec<_> = calls.iter().map(|c| c.status).collect();
        assert_eq!(
            statuses,
            [200, 0, 0, 0, 200],
            "the attempt's success once, the branch's read and its repeats, the other branch's read"
        );
    }

    #[tokio::test]
    async fn a_write_is_never_repeated_even_after_progress() {
        let ok = provider().await.join("/200").unwrap();
        let dialect = Counting::default();
        let mut calls = Vec::new();
        send(&http::client(), &dialect, &call(ok, &[]), &mut calls)
            .await
            .unwrap();
        let write = Call {
            method: Method::POST,
            ..call(dead_port(), &[])
        };
        send(&http::client(), &dialect, &write, &mut calls)
            .await
            .err()
            .unwrap();
        let statuses: Vec<_> = calls.iter().map(|c| c.status).collect();
        assert_eq!(statuses, [200, 0]);
    }
}
