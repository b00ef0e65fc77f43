//! Slow and idle clients against the embedded host's HTTP listener, over raw TCP: many
//! connections trickling their headers or their body are closed within the configured
//! deadlines, an idle kept-alive connection is closed, and a connection beyond the cap is kept
//! waiting rather than served. The assertions are that the server closes (a read returns end of
//! file or a reset) within a generous bound, never that it does so at a precise moment.

use crate::common;
use passage::harness::{Sandbox, SandboxOptions};
use passage_core::ports::RunStore;
use passage_server::HttpLimits;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a test waits for something the server must do within a one-second deadline: long
/// enough that a loaded machine never fails it, short enough that a server without deadlines
/// fails the test quickly.
const PATIENCE: Duration = Duration::from_secs(20);

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("passage-{name}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn sandbox(name: &str, limits: HttpLimits) -> (Scratch, Sandbox) {
    let scratch = Scratch::new(name);
    let mut options = SandboxOptions::new(&scratch.0);
    options.http = limits;
    let sb = Sandbox::start(options).await.expect("sandbox starts");
    (scratch, sb)
}

fn short() -> HttpLimits {
    HttpLimits {
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        max_connections: 256,
    }
}

fn addr(sb: &Sandbox) -> String {
    sb.base_url.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection (end of file or a reset), returning what it
/// sent; panics if it is still open after [`PATIENCE`].
async fn until_closed(stream: &mut TcpStream, what: &str) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let read_all = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    if tokio::time::timeout(PATIENCE, read_all).await.is_err() {
        panic!("{what}: the server kept the connection open for {PATIENCE:?}");
    }
    got
}

/// Sends `bytes` one at a time, `gap` apart, while reading what the server answers. Returns the
/// answer once the server closes the connection; panics (naming `who`) if the server took every
/// byte or kept the connection past [`PATIENCE`].
async fn trickle_until_closed(
    mut stream: TcpStream,
    bytes: &[u8],
    gap: Duration,
    who: &str,
) -> String {
    let (mut read, mut write) = stream.split();
    let writing = async {
        for b in bytes {
            if write.write_all(&[*b]).await.is_err() {
                // Closed by the server: the reader sees it.
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(gap).await;
        }
    };
    let answer = async {
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => return got,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    let got = tokio::select! {
        got = answer => got,
        () = writing => panic!("{who}: every byte was taken and the connection is still open"),
        () = tokio::time::sleep(PATIENCE) => panic!("{who}: kept open for {PATIENCE:?}"),
    };
    String::from_utf8_lossy(&got).into_owned()
}

/// Headers of a webhook delivery that never end: the client keeps adding to one header line.
fn endless_headers() -> Vec<u8> {
    let mut head =
        b"POST /v1/tenants/demo/webhooks/leaver HTTP/1.1\r\nHost: passage\r\nX-Slow: ".to_vec();
    head.extend(std::iter::repeat_n(b'a', 10_000));
    head
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connections_trickling_headers_are_closed() {
    let (_dir, sb) = sandbox("slow-headers", short()).await;
    let addr = addr(&sb);
    let clients: Vec<_> = (0..100)
        .map(|n| {
            let addr = addr.clone();
            tokio::spawn(async move {
                let stream = TcpStream::connect(&addr).await.unwrap();
                let who = format!("header client {n}");
                trickle_until_closed(stream, &endless_headers(), Duration::from_millis(100), &who)
                    .await
            })
        })
        .collect();
    for c in clients {
        c.await.unwrap();
    }
    // The server still answers a prompt client.
    let r = sb.http.get(format!("{}/healthz", sb.base_url)).send().await;
    assert_eq!(r.unwrap().status(), 200);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_trickling_body_is_cut_off_with_408() {
    let (_dir, sb) = sandbox("slow-body", short()).await;
    let addr = addr(&sb);
    let clients: Vec<_> = (0..50)
        .map(|n| {
            let addr = addr.clone();
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(&addr).await.unwrap();
                let head = "POST /v1/tenants/demo/webhooks/leaver HTTP/1.1\r\nHost: passage\r\n\
                            Content-Type: application/json\r\nContent-Length: 2000\r\n\r\n";
                stream.write_all(head.as_bytes()).await.unwrap();
                let who = format!("body client {n}");
                trickle_until_closed(stream, &[b' '; 2000], Duration::from_millis(100), &who).await
            })
        })
        .collect();
    for c in clients {
        let answer = c.await.unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 408"),
            "a slow body is answered 408: {answer:?}"
        );
        let body = &answer[answer.find("\r\n\r\n").expect("a complete answer") + 4..];
        let v: serde_json::Value = serde_json::from_str(body).expect("a JSON error body");
        assert_eq!(v["error"]["code"], "request_timeout", "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("within 1s"),
            "{v}"
        );
    }
    let runs = sb
        .system
        .store
        .list_runs(&Default::default())
        .await
        .unwrap();
    assert!(runs.is_empty(), "nothing was stored");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idle_kept_alive_connection_is_closed() {
    let (_dir, sb) = sandbox("idle", short()).await;
    let mut stream = TcpStream::connect(addr(&sb)).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: passage\r\n\r\n")
        .await
        .unwrap();
    let got = until_closed(&mut stream, "an idle connection").await;
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.ends_with("ok"), "one answer, then closed: {text}");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_connection_beyond_the_cap_waits_until_one_closes() {
    let limits = HttpLimits {
        header_timeout: Duration::from_secs(60),
        body_timeout: Duration::from_secs(60),
        max_connections: 2,
    };
    let (_dir, sb) = sandbox("cap", limits).await;
    let addr = addr(&sb);
    // Two clients take both slots and hold them with unfinished headers.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: passage\r\n")
            .await
            .unwrap();
        held.push(s);
    }
    // A third, prompt client is not served while they hold them.
    let mut third = TcpStream::connect(&addr).await.unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: passage\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let early = tokio::time::timeout(Duration::from_millis(700), third.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "a connection beyond the cap was served: {:?}",
        early.map(|r| r.map(|n| String::from_utf8_lossy(&buf[..n]).into_owned()))
    );
    // One holder leaves: the third is served.
    drop(held.pop());
    let got = until_closed(&mut third, "the waiting connection").await;
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    drop(held);
    sb.shutdown().await;
}

/// `passage serve` takes its deadlines from `[server]` in passage.toml.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn passage_serve_applies_the_configured_deadlines() {
    let dir = Scratch::new("serve-limits");
    let config = common::one_tenant_config(
        &dir.0,
        "header_timeout_seconds = 1\nbody_timeout_seconds = 1\nmax_connections = 8",
    );
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_passage"))
        .args(["--config", config.to_str().unwrap(), "serve"])
        .env("PASSAGE_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("passage serve starts");
    let url = common::listening_on(&mut server).await;
    let stream = TcpStream::connect(url.trim_start_matches("http://"))
        .await
        .unwrap();
    let who = "passage serve";
    trickle_until_closed(stream, &endless_headers(), Duration::from_millis(100), who).await;
    server.kill().await.unwrap();
}
