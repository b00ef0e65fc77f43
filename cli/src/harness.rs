//! A complete embedded Passage wired to the sandbox Okta, in one process: what `passage demo`
//! and `passage bench` run, and what the end-to-end tests drive over real HTTP.

use anyhow::{Context, Result, bail};
use passage_connectors::okta::OktaSettings;
use passage_connectors::{ConnectionSettings, Registry};
use passage_core::engine::EngineSettings;
use passage_core::ports::RunStore;
use passage_core::secret::Secret;
use passage_core::{DisableMode, OktaPolicy, Run, RunId, RunState, TenantId, TenantPolicy};
use passage_embedded::System;
use passage_embedded::host::{Host, HostSettings, Running};
use passage_hris::WebhookSecret;
use passage_sandbox::{OktaConfig, OktaEmulator};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The tenant every sandbox uses.
pub const TENANT: &str = "demo";

pub struct SandboxOptions {
    pub data_dir: PathBuf,
    pub okta_latency: Duration,
    pub workers: usize,
    pub disable: DisableMode,
    pub end_of_day: jiff::civil::Time,
}

impl SandboxOptions {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            okta_latency: Duration::ZERO,
            workers: 8,
            disable: DisableMode::Suspend,
            end_of_day: jiff::civil::Time::constant(17, 0, 0, 0),
        }
    }
}

pub struct Sandbox {
    pub okta: OktaEmulator,
    pub system: System,
    pub running: Option<Running>,
    pub secret: WebhookSecret,
    pub http: reqwest::Client,
    pub base_url: String,
}

/// A fresh random `whsec_` secret.
pub fn random_secret() -> WebhookSecret {
    let bytes: [u8; 32] = rand_bytes();
    WebhookSecret::from_bytes(&bytes).expect("32 bytes is a valid secret length")
}

fn rand_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    for chunk in out.chunks_mut(16) {
        let r = uuid::Uuid::new_v4().into_bytes();
        chunk.copy_from_slice(&r[..chunk.len()]);
    }
    out
}

/// The tenant policy and Okta connection the sandbox configures.
pub fn tenant(
    okta: &OktaEmulator,
    secret: &WebhookSecret,
    options: &SandboxOptions,
) -> (TenantPolicy, ConnectionSettings) {
    let mut policy = TenantPolicy::new(TENANT);
    policy.name = "Demo Co".into();
    policy.end_of_day = options.end_of_day;
    policy.default_time_zone = "America/New_York".into();
    policy.webhook_secrets = vec![Secret::new(secret.to_whsec())];
    policy.okta = Some(OktaPolicy {
        disable: options.disable,
        grants_critical: true,
        reset_factors: false,
        unassign_apps: false,
    });
    let settings = ConnectionSettings {
        okta: Some(OktaSettings {
            org_url: url::Url::parse(&okta.base_url()).expect("emulator URL parses"),
            credentials: passage_connectors::okta::OktaCredentials::ApiToken(Secret::new(
                okta.api_token(),
            )),
        }),
    };
    (policy, settings)
}

impl Sandbox {
    /// Starts the Okta emulator (demo org seeded) and a full embedded Passage host on loopback.
    pub async fn start(options: SandboxOptions) -> Result<Self> {
        let okta = OktaEmulator::start(OktaConfig::default()).await?;
        okta.knobs().set_latency(options.okta_latency);
        passage_sandbox::demo_seed(&okta);
        let secret = random_secret();
        let (policy, settings) = tenant(&okta, &secret, &options);
        let system = open_system(&options.data_dir, policy, settings)?;
        let running = host(&system, options.workers).start().await?;
        let base_url = format!("http://{}", running.addr);
        Ok(Self {
            okta,
            system,
            running: Some(running),
            secret,
            http: reqwest::Client::new(),
            base_url,
        })
    }

    pub fn webhook_url(&self) -> String {
        format!("{}/v1/tenants/{TENANT}/webhooks/leaver", self.base_url)
    }

    /// Posts `body` as a Standard Webhooks delivery with id `id`, signed now.
    pub async fn post(&self, id: &str, body: &[u8]) -> Result<reqwest::Response> {
        let ts = jiff::Timestamp::now().as_second();
        let mut req = self.http.post(self.webhook_url()).body(body.to_vec());
        for (k, v) in passage_hris::signed_headers(&self.secret, id, ts, body) {
            req = req.header(k, v);
        }
        req = req.header("content-type", "application/json");
        Ok(req.send().await?)
    }

    /// Waits until the run is closed (or fails if it gets stuck or blocked).
    pub async fn wait_closed(&self, run_id: &RunId, timeout: Duration) -> Result<Run> {
        wait_for(&self.system, run_id, timeout, |r| {
            r.state == RunState::Closed
        })
        .await
    }

    pub async fn shutdown(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
        self.okta.shutdown().await;
    }
}

/// Opens the embedded system with one tenant.
pub fn open_system(
    data_dir: &Path,
    policy: TenantPolicy,
    settings: ConnectionSettings,
) -> Result<System> {
    let mut connections = HashMap::new();
    connections.insert(TenantId::new(TENANT), settings);
    System::open(
        data_dir,
        vec![policy],
        Arc::new(Registry::new(connections)),
        EngineSettings::default(),
    )
    .context("opening the sandbox data directory")
}

/// The embedded host over `system`, on a free loopback port.
pub fn host(system: &System, workers: usize) -> Host {
    Host {
        engine: system.engine.clone(),
        queue: system.queue.clone(),
        timer: system.timer.clone(),
        settings: HostSettings {
            listen: "127.0.0.1:0".parse().expect("static address"),
            workers,
            sweep_every: Duration::from_secs(2),
            idle_poll: Duration::from_millis(100),
            visibility: Duration::from_secs(150),
            link_key: system.link_key.clone(),
            lock_file: Some(system.data_dir.join("serve.lock")),
        },
    }
}

/// Polls the store until `done(run)` holds.
pub async fn wait_for(
    system: &System,
    run_id: &RunId,
    timeout: Duration,
    done: impl Fn(&Run) -> bool,
) -> Result<Run> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(run) = system.store.run(run_id).await?
            && done(&run)
        {
            return Ok(run);
        }
        if tokio::time::Instant::now() > deadline {
            let state = system.store.run(run_id).await?.map(|r| {
                format!(
                    "{} {}",
                    r.state.as_str(),
                    r.blocked_reason.unwrap_or_default()
                )
            });
            bail!("run {run_id} did not get there within {timeout:?} (now {state:?})");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A `passage.leaver.v1` body.
pub fn leaver_event(email: &str, employee_id: &str, cutoff: Cutoff) -> Vec<u8> {
    let mut event = serde_json::json!({
        "type": "passage.leaver.v1",
        "tenant": TENANT,
        "employee_id": employee_id,
        "email": email,
        "time_zone": "America/New_York",
        "manager": {"email": "sam.lee@example.com"},
    });
    match cutoff {
        Cutoff::Immediate => event["immediate"] = true.into(),
        Cutoff::At(at) => event["cutoff_at"] = at.to_string().into(),
        Cutoff::LastDay(d) => event["last_working_day"] = d.to_string().into(),
    }
    serde_json::to_vec(&event).expect("static JSON serialises")
}

pub enum Cutoff {
    Immediate,
    At(jiff::Timestamp),
    LastDay(jiff::civil::Date),
}
