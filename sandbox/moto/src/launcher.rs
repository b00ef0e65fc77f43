//! A local AWS emulator for tests: `moto_server` from PyPI (`moto[server]`), on a free
//! loopback port, stopped when the [`Moto`] is dropped.
//!
//! It is started through `moto_serializable.py`, which runs DynamoDB requests one at a time:
//! real DynamoDB isolates every transaction and conditional write, and moto_server on its own
//! does not, so concurrent-intake tests would otherwise see moto's races rather than ours.
//!
//! Tests build their SDK configuration with [`sdk_config_for`], so they never depend on the
//! process environment (`AWS_ENDPOINT_URL`, profiles, real credentials).

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the emulator may take to answer after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `moto_server`, killed on drop.
pub struct Moto {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    child: Child,
}

/// The launcher that gives moto_server DynamoDB's isolation.
const LAUNCHER: &str = include_str!("moto_serializable.py");

/// The Python that `moto_server` runs with: the `python3` beside it on `PATH` (the virtual
/// environment scripts/test makes), so the launcher imports the same moto.
fn python_beside_moto_server() -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .find(|dir| dir.join("moto_server").is_file())
        .map(|dir| dir.join("python3"))
        .filter(|python| python.is_file())
        .unwrap_or_else(|| {
            panic!(
                "moto_server is not on PATH: install it with scripts/test, which pip-installs moto[server]"
            )
        })
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

/// True once `GET /moto-api/` answers with an HTTP status line.
fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}

impl Moto {
    /// Starts `moto_server` and waits until it answers. Panics with the reason if it cannot.
    pub fn start() -> Self {
        let port = free_port();
        let child = Command::new(python_beside_moto_server())
            .args(["-c", LAUNCHER, "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => panic!("starting moto_server failed: {e}"),
        };
        let started = Instant::now();
        loop {
            if answers(port) {
                return Self {
                    url: format!("http://127.0.0.1:{port}"),
                    child,
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("moto_server exited at start ({status}); is port {port} taken?");
            }
            if started.elapsed() > START_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("moto_server did not answer on port {port} within {START_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// An SDK configuration for this emulator.
    pub async fn sdk_config(&self) -> SdkConfig {
        sdk_config_for(&self.url).await
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An SDK configuration for the emulator at `url`: region us-east-1, static test credentials.
pub async fn sdk_config_for(url: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "passage-test"))
        .load()
        .await
}
