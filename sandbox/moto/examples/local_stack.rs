//! A Passage deployment on a local AWS emulator, for running the Lambda functions locally.
//!
//! ```sh
//! .venv/bin/moto_server -H 127.0.0.1 -p 5000 &
//! cargo run -p passage-moto --example local_stack -- http://127.0.0.1:5000 [tenants.toml] > .env.local
//! ```
//!
//! Creates the table, queues, signing key, bucket and schedule group (`passage_moto::provision`)
//! and the secrets the functions read: one per tenant of the file (or one demo tenant `demo`
//! with a fresh webhook secret) under a prefix, the settings secret (the file's operators and
//! notices) and a random auditor-link key. Prints `export NAME=value` lines on stdout, one for every variable
//! `AwsHost::from_env` reads plus the SDK's endpoint, region and test credentials; progress goes
//! to stderr. With the demo tenant it also prints `PASSAGE_DEMO_WEBHOOK_SECRET`, the `whsec_`
//! secret to sign test webhooks with (no function reads it).

use aws_config::SdkConfig;
use base64::Engine as _;
use rand::Rng;
use rand::distributions::Alphanumeric;
use std::process::ExitCode;

const PREFIX: &str = "passage-local";
const REGION: &str = "us-east-1";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty()
        || args.len() > 2
        || args
            .iter()
            .any(|a| a == "-h" || a == "--help" || a.starts_with("--"))
    {
        eprintln!(
            "usage: cargo run -p passage-moto --example local_stack -- <endpoint-url> [tenants.toml]\n\
             \n\
             Provisions a Passage deployment on the emulator at <endpoint-url> (e.g. a moto\n\
             server at http://127.0.0.1:5000) and prints the functions' environment as\n\
             `export NAME=value` lines. Without tenants.toml, one demo tenant `demo` is configured."
        );
        return ExitCode::from(2);
    }
    match run(&args[0], args.get(1).map(String::as_str)).await {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("local_stack: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(endpoint: &str, tenants_file: Option<&str>) -> anyhow::Result<Vec<String>> {
    let endpoint = endpoint.trim_end_matches('/');
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        anyhow::bail!("endpoint {endpoint:?} is not an http:// or https:// URL");
    }

    let (tenants_toml, demo_secret) = match tenants_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("reading {path}: {e}"))?;
            let config = passage_config::Config::parse(&text)
                .map_err(|e| anyhow::anyhow!("{path} is not valid Passage configuration: {e:#}"))?;
            if config.tenants.is_empty() {
                eprintln!(
                    "local_stack: {path} configures no tenant; every webhook will answer unknown_tenant"
                );
            }
            (text, None)
        }
        None => {
            let key: [u8; 32] = rand::thread_rng().r#gen();
            let secret = format!(
                "whsec_{}",
                base64::engine::general_purpose::STANDARD.encode(key)
            );
            (demo_tenants(&secret), Some(secret))
        }
    };
    // A check before anything is created: a secret the functions cannot read is no use.
    passage_config::Config::parse(&tenants_toml)?;

    let sdk = passage_moto::sdk_config_for(endpoint).await;
    eprintln!("local_stack: provisioning on {endpoint}");
    let names = passage_moto::provision(&sdk, PREFIX).await?;
    // provision names everything `<prefix>-<what>-<id>`; the secrets share the table's id.
    let id = names.table.rsplit('-').next().unwrap_or("local").to_owned();

    let stored =
        passage_moto::store_configuration(&sdk, &format!("{PREFIX}-{id}/"), &tenants_toml).await?;
    // Like the template's generated key: 64 characters, the HMAC key is their UTF-8 bytes.
    let link_key: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(64)
        .map(char::from)
        .collect();
    let link_arn = create_secret(&sdk, &format!("{PREFIX}-link-key-{id}"), &link_key).await?;
    eprintln!(
        "local_stack: table {}, bucket {}, tenant secrets {}*",
        names.table, names.bucket, stored.tenant_prefix
    );

    let mut vars: Vec<(&str, String)> = vec![
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_REGION", REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("TABLE_NAME", names.table),
        ("STEP_QUEUE_URL", names.step_queue_url),
        ("FINALIZE_QUEUE_URL", names.finalize_queue_url),
        ("TENANT_JOBS_QUEUE_URL", names.tenant_jobs_queue_url),
        ("DLQ_URL", names.dead_letter_queue_url),
        ("KMS_KEY_ID", names.kms_key_id),
        ("KMS_ALIAS_PREFIX", names.kms_alias_prefix),
        ("BUCKET_NAME", names.bucket),
        ("SCHEDULE_GROUP", names.schedule_group),
        ("CUTOFF_FUNCTION_ARN", names.cutoff_target_arn),
        ("SCHEDULER_ROLE_ARN", names.scheduler_role_arn),
        (
            "OBJECT_LOCK_DAYS",
            names.object_lock_days.unwrap_or(0).to_string(),
        ),
        ("TENANT_SECRET_PREFIX", stored.tenant_prefix),
        ("SETTINGS_SECRET_ARN", stored.settings_arn),
        ("LINK_KEY_SECRET_ARN", link_arn),
    ];
    if let Some(secret) = demo_secret {
        vars.push(("PASSAGE_DEMO_WEBHOOK_SECRET", secret));
    }
    Ok(vars
        .into_iter()
        .map(|(name, value)| format!("export {name}={}", shell_quote(&value)))
        .collect())
}

/// One tenant, `demo` (the tenant of the fixtures in `events/`), with no identity provider: its
/// runs are accepted and scheduled, and have no steps to run.
fn demo_tenants(webhook_secret: &str) -> String {
    format!(
        "# Demo tenant written by the local_stack example.\n\
         [[tenants]]\n\
         id = \"demo\"\n\
         name = \"Demo Corp\"\n\
         end_of_day = \"17:00\"\n\
         default_time_zone = \"UTC\"\n\
         webhook_secrets = [\"{webhook_secret}\"]\n"
    )
}

async fn create_secret(sdk: &SdkConfig, name: &str, value: &str) -> anyhow::Result<String> {
    let out = aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "creating secret {name}: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
            )
        })?;
    out.arn
        .ok_or_else(|| anyhow::anyhow!("creating secret {name}: no ARN returned"))
}

/// The value as one shell word: bare when it is plain, otherwise in single quotes.
fn shell_quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:@%+,".contains(c));
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}
