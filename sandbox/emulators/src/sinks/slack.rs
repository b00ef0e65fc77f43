//! A Slack incoming webhook on loopback: `POST /services/{team}/{bot}/{token}` with a JSON
//! message, answered the way Slack answers — `200 ok`, or a plain-text error string with a
//! 4xx status (`invalid_payload`, `no_text`, `action_prohibited`, `no_service`,
//! `channel_not_found`, `channel_is_archived`) and `429` with `Retry-After` when rate
//! limited. Accepted messages are kept so a test can see what reached the channel.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;

use crate::common::ids::alnum;
use crate::common::lock;
use crate::common::server::ServerHandle;

/// How one hook behaves when posted to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookState {
    /// Posts land in the channel.
    Active,
    /// The channel was archived: `410 channel_is_archived`.
    Archived,
    /// The channel was deleted: `404 channel_not_found`.
    ChannelDeleted,
    /// A workspace policy forbids the post: `403 action_prohibited`.
    Prohibited,
}

/// One message a hook accepted.
#[derive(Clone, Debug, PartialEq)]
pub struct SlackMessage {
    /// The hook's `{team}/{bot}` path segments (the token is left out on purpose).
    pub hook: String,
    /// The top-level `text`, when present.
    pub text: Option<String>,
    /// The `blocks` array, when present.
    pub blocks: Option<Value>,
    /// The whole JSON payload as received.
    pub payload: Value,
}

#[derive(Debug)]
struct Hook {
    path: (String, String, String),
    state: HookState,
}

#[derive(Debug, Default)]
struct Inner {
    hooks: Vec<Hook>,
    received: Vec<SlackMessage>,
    rate_limited: u32,
    retry_after_secs: u64,
    requests: u32,
}

type Shared = Arc<Mutex<Inner>>;

/// A running Slack incoming-webhook emulator with one hook created at start.
#[derive(Debug)]
pub struct SlackSink {
    server: ServerHandle,
    inner: Shared,
    default_hook: String,
}

impl SlackSink {
    /// Starts the emulator on a free loopback port with one active hook.
    pub async fn start() -> io::Result<Self> {
        let listener = ServerHandle::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let inner: Shared = Arc::default();
        let router = Router::new()
            .route("/services/{team}/{bot}/{token}", post(receive))
            .fallback(unknown_service)
            .with_state(Arc::clone(&inner));
        let server = ServerHandle::serve(listener, router)?;
        let mut sink = Self {
            server,
            inner,
            default_hook: String::new(),
        };
        sink.default_hook = sink.add_hook();
        Ok(sink)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The webhook URL of the hook created at start. Like a real one, it is a credential.
    pub fn url(&self) -> String {
        self.default_hook.clone()
    }

    /// A URL on this server whose path names no hook (`404 no_service`).
    pub fn unknown_url(&self) -> String {
        format!(
            "http://{}/services/T00000000/B00000000/{}",
            self.addr(),
            "x".repeat(24)
        )
    }

    /// Creates another active hook and returns its URL.
    pub fn add_hook(&self) -> String {
        let mut rng = rand::thread_rng();
        let path = (
            format!("T{}", alnum(&mut rng, 10).to_ascii_uppercase()),
            format!("B{}", alnum(&mut rng, 10).to_ascii_uppercase()),
            alnum(&mut rng, 24),
        );
        let url = format!(
            "http://{}/services/{}/{}/{}",
            self.addr(),
            path.0,
            path.1,
            path.2
        );
        lock(&self.inner).hooks.push(Hook {
            path,
            state: HookState::Active,
        });
        url
    }

    /// Changes how the hook at `url` answers. Unknown URLs are ignored.
    pub fn set_hook_state(&self, url: &str, state: HookState) {
        let mut inner = lock(&self.inner);
        for hook in &mut inner.hooks {
            let (t, b, k) = &hook.path;
            if url.ends_with(&format!("/services/{t}/{b}/{k}")) {
                hook.state = state;
            }
        }
    }

    /// Answers the next `count` posts with `429` and `Retry-After: retry_after_secs`.
    pub fn rate_limit(&self, count: u32, retry_after_secs: u64) {
        let mut inner = lock(&self.inner);
        inner.rate_limited = count;
        inner.retry_after_secs = retry_after_secs;
    }

    /// Messages accepted so far, oldest first.
    pub fn received(&self) -> Vec<SlackMessage> {
        lock(&self.inner).received.clone()
    }

    /// Every post seen, accepted or not.
    pub fn requests(&self) -> u32 {
        lock(&self.inner).requests
    }

    /// Stops the server.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Slack answers incoming webhooks with a bare word (`ok` or an error code), not JSON.
fn slack_answer(status: StatusCode, text: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html")], text).into_response()
}

async fn unknown_service() -> Response {
    slack_answer(StatusCode::NOT_FOUND, "no_service")
}

async fn receive(
    State(inner): State<Shared>,
    Path((team, bot, token)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut inner = lock(&inner);
    inner.requests += 1;
    if inner.rate_limited > 0 {
        inner.rate_limited -= 1;
        let mut response = slack_answer(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(inner.retry_after_secs),
        );
        return response;
    }
    let Some(state) = inner
        .hooks
        .iter()
        .find(|h| h.path.0 == team && h.path.1 == bot && h.path.2 == token)
        .map(|h| h.state)
    else {
        return slack_answer(StatusCode::NOT_FOUND, "no_service");
    };
    match state {
        HookState::Active => {}
        HookState::Archived => return slack_answer(StatusCode::GONE, "channel_is_archived"),
        HookState::ChannelDeleted => {
            return slack_answer(StatusCode::NOT_FOUND, "channel_not_found");
        }
        HookState::Prohibited => {
            return slack_answer(StatusCode::FORBIDDEN, "action_prohibited");
        }
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    let payload = match serde_json::from_slice::<Value>(&body) {
        Ok(value @ Value::Object(_)) if is_json => value,
        _ => return slack_answer(StatusCode::BAD_REQUEST, "invalid_payload"),
    };
    let text = match payload.get("text") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return slack_answer(StatusCode::BAD_REQUEST, "invalid_payload"),
    };
    let blocks = match payload.get("blocks") {
        None | Some(Value::Null) => None,
        Some(Value::Array(blocks))
            if blocks
                .iter()
                .all(|b| b.get("type").is_some_and(Value::is_string)) =>
        {
            Some(Value::Array(blocks.clone()))
        }
        Some(_) => return slack_answer(StatusCode::BAD_REQUEST, "invalid_blocks"),
    };
    let has_text = text.as_deref().is_some_and(|t| !t.trim().is_empty());
    let has_blocks = blocks
        .as_ref()
        .and_then(Value::as_array)
        .is_some_and(|b| !b.is_empty());
    if !has_text && !has_blocks {
        return slack_answer(StatusCode::BAD_REQUEST, "no_text");
    }
    inner.received.push(SlackMessage {
        hook: format!("{team}/{bot}"),
        text,
        blocks,
        payload,
    });
    slack_answer(StatusCode::OK, "ok")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    async fn post(url: &str, body: &str) -> (u16, String, Option<String>) {
        let response = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let retry = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, response.text().await.unwrap(), retry)
    }

    #[tokio::test]
    async fn accepts_text_and_blocks_and_keeps_them() {
        let sink = SlackSink::start().await.unwrap();
        let body = json!({"text": "Laptop overdue", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]});
        let (status, text, _) = post(&sink.url(), &body.to_string()).await;
        assert_eq!((status, text.as_str()), (200, "ok"));
        let got = sink.received();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].text.as_deref(), Some("Laptop overdue"));
        assert_eq!(got[0].payload, body);
        assert!(!got[0].hook.contains(sink.url().rsplit('/').next().unwrap()));
    }

    #[tokio::test]
    async fn answers_slack_error_strings() {
        let sink = SlackSink::start().await.unwrap();
        assert_eq!(post(&sink.url(), "{not json").await.1, "invalid_payload");
        assert_eq!(post(&sink.url(), r#"{"text": ""}"#).await.1, "no_text");
        assert_eq!(
            post(&sink.url(), r#"{"blocks": {}}"#).await.1,
            "invalid_blocks"
        );
        let (status, text, _) = post(&sink.unknown_url(), r#"{"text":"x"}"#).await;
        assert_eq!((status, text.as_str()), (404, "no_service"));

        let hook = sink.add_hook();
        sink.set_hook_state(&hook, HookState::Archived);
        assert_eq!(post(&hook, r#"{"text":"x"}"#).await.0, 410);
        sink.set_hook_state(&hook, HookState::Prohibited);
        assert_eq!(post(&hook, r#"{"text":"x"}"#).await.1, "action_prohibited");
        sink.set_hook_state(&hook, HookState::ChannelDeleted);
        assert_eq!(post(&hook, r#"{"text":"x"}"#).await.1, "channel_not_found");
        assert!(sink.received().is_empty());
    }

    #[tokio::test]
    async fn rate_limit_answers_429_with_retry_after_then_recovers() {
        let sink = SlackSink::start().await.unwrap();
        sink.rate_limit(1, 3);
        let (status, _, retry) = post(&sink.url(), r#"{"text":"x"}"#).await;
        assert_eq!((status, retry.as_deref()), (429, Some("3")));
        assert_eq!(post(&sink.url(), r#"{"text":"x"}"#).await.0, 200);
        assert_eq!(sink.requests(), 2);
    }
}
