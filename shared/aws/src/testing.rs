//! A local AWS emulator for tests: `moto_server` from PyPI (`moto[server]`), on a free
//! loopback port, stopped when the [`Moto`] is dropped.
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
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "moto_server is not on PATH: install it with scripts/test, which pip-installs moto[server]"
            ),
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
