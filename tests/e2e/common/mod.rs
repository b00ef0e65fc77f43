//! Test set-ups shared by more than one suite.

#![allow(dead_code)]

pub mod aws;
pub mod hr_vendors;
pub mod process;

use std::path::{Path, PathBuf};

/// A passage.toml in `dir` for the tenant `demo` (Okta at an address nothing listens on, so
/// only runs that never start make sense), its data directory `dir/data`, and `server_extra`
/// added to `[server]`.
pub fn one_tenant_config(dir: &Path, server_extra: &str) -> PathBuf {
    let secret = passage::harness::random_secret();
    let config = dir.join("passage.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[server]
listen = "127.0.0.1:0"
data_dir = "{data}"
workers = 1
{server_extra}

[[tenants]]
id = "demo"
webhook_secrets = ["{secret}"]
default_time_zone = "America/New_York"

[tenants.okta]
org_url = "http://127.0.0.1:9"
api_token = "not-used"
disable = "suspend"
"#,
            data = dir.join("data").display(),
            secret = secret.to_whsec(),
        ),
    )
    .unwrap();
    config
}

/// The address from `passage serve`'s first line.
pub async fn listening_on(server: &mut tokio::process::Child) -> String {
    use tokio::io::AsyncBufReadExt;
    let stdout = server.stdout.take().unwrap();
    let mut line = String::new();
    tokio::io::BufReader::new(stdout)
        .read_line(&mut line)
        .await
        .unwrap();
    line.trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line from passage serve: {line:?}"))
        .to_owned()
}
