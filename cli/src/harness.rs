//! A complete embedded Passage wired to the sandbox Okta, in one process: what `passage demo`
//! and `passage bench` run, and what the end-to-end tests drive over real HTTP.

use anyhow::{Context, Result, bail};
use passage_connectors::okta::OktaSettings;
use passage_connectors::{ConnectionSettings, Registry};
use passage_core::engine::EngineSettings;
use passage_core::ports::RunStore;
use passage_core::secret::Secret;
use passage_core::{DisableMode, OktaPolicy, Run, RunId, RunState, TenantId, TenantPolicy};
use passage_hris::WebhookSecret;
use passage_sandbox::{OktaConfig, OktaEmulator};
use passage_server::System;
use passage_server::host::{Host, HostSettings, Running};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The tenant every sandbox uses.
pub const TENANT: &str = "demo";

/// Adjusts a tenant policy before the sandbox starts.
pub type PolicyHook = Arc<dyn Fn(&mut TenantPolicy) + Send + Sync>;

pub struct SandboxOptions {
    pub data_dir: PathBuf,
    /// Also run Microsoft, Google and JumpCloud emulators and act on all four providers.
    pub all_providers: bool,
    pub okta_latency: Duration,
    pub workers: usize,
    pub disable: DisableMode,
    pub end_of_day: jiff::civil::Time,
    /// Adjusts the tenant policy before the system starts (time rules, human steps, HR webhooks).
    pub customize: Option<PolicyHook>,
    /// The tenant's HR system API.
    pub hr: Option<passage_hrapi::HrSettings>,
    /// Delivers reminders (default: none configured).
    pub notifier: Option<Arc<dyn passage_core::ports::Notifier>>,
    pub operators: passage_http::Operators,
    /// Sign hand-over confirmation links into reminders (pointing at this sandbox).
    pub confirm_links: bool,
}

impl SandboxOptions {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            all_providers: false,
            okta_latency: Duration::ZERO,
            workers: 8,
            disable: DisableMode::Suspend,
            end_of_day: jiff::civil::Time::constant(17, 0, 0, 0),
            customize: None,
            hr: None,
            notifier: None,
            operators: passage_http::Operators::default(),
            confirm_links: false,
        }
    }
}

pub struct Sandbox {
    pub okta: OktaEmulator,
    /// The other providers, when started with `all_providers`.
    pub others: Option<Others>,
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
        ..ConnectionSettings::default()
    };
    (policy, settings)
}

/// The Microsoft, Google and JumpCloud emulators of an all-provider sandbox.
pub struct Others {
    pub microsoft: passage_sandbox::microsoft::MicrosoftEmulator,
    pub google: passage_sandbox::google::GoogleEmulator,
    pub jumpcloud: passage_sandbox::jumpcloud::JumpCloudEmulator,
}

impl Others {
    /// Starts and seeds the three emulators, registers Passage's credentials with each (a
    /// certificate app in Entra, a delegated service account in Google, an API key in
    /// JumpCloud), and adds their policies and connections to the tenant.
    async fn start(policy: &mut TenantPolicy, settings: &mut ConnectionSettings) -> Result<Self> {
        use passage_connectors::google::{DELEGATED_SCOPES, GoogleSettings};
        use passage_connectors::jumpcloud::{JumpCloudCredential, JumpCloudSettings};
        use passage_connectors::microsoft::{MicrosoftCredential, MicrosoftSettings};
        use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
        let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048)?;
        let private = key.to_pkcs8_pem(LineEnding::LF)?.to_string();
        let public = key.to_public_key().to_public_key_pem(LineEnding::LF)?;

        let microsoft =
            passage_sandbox::microsoft::MicrosoftEmulator::start(Default::default()).await?;
        passage_sandbox::microsoft::demo_seed(&microsoft);
        let (x5t, _) = passage_sandbox::microsoft::key_thumbprints(&public)
            .context("thumbprint of the sandbox key")?;
        let client_id = "5a1e2b3c-4d5e-6f70-8192-a3b4c5d6e7f8";
        microsoft.register_app(
            client_id,
            passage_sandbox::microsoft::AppCredential::PublicKey {
                pem: public.clone(),
                x5t: x5t.clone(),
            },
        );
        let ms_base = url::Url::parse(&microsoft.base_url())?;
        let ms_policy = passage_core::MicrosoftPolicy {
            auto_reply: Some("I have left the company; please contact my manager.".into()),
            ..Default::default()
        };
        settings.microsoft = Some(MicrosoftSettings {
            login_url: ms_base.clone(),
            graph_url: ms_base.clone(),
            exchange_url: ms_base,
            tenant_id: microsoft.tenant_id(),
            client_id: client_id.into(),
            credential: MicrosoftCredential::Certificate {
                private_key: Secret::new(private.clone()),
                x5t,
            },
            policy: ms_policy.clone(),
        });
        policy.microsoft = Some(ms_policy);

        let google = passage_sandbox::google::GoogleEmulator::start(Default::default()).await?;
        passage_sandbox::google::demo_seed(&google);
        let sa = "offboarder@passage-demo.iam.gserviceaccount.com";
        google
            .register_service_account(
                sa,
                "104729305811209384756",
                &public,
                "demo-key",
                DELEGATED_SCOPES,
            )
            .map_err(|e| anyhow::anyhow!("registering the service account: {e:?}"))?;
        let g_policy = passage_core::GooglePolicy {
            vacation_reply: Some("I have left the company; please contact my manager.".into()),
            ..Default::default()
        };
        settings.google = Some(GoogleSettings {
            api_base: url::Url::parse(&google.base_url())?,
            licensing_base: None,
            gmail_base: None,
            token_url: url::Url::parse(&google.token_url())?,
            service_account_email: sa.into(),
            private_key: Secret::new(private),
            key_id: "demo-key".into(),
            admin_subject: google.admin_email(),
            customer_id: "my_customer".into(),
            license_skus: Vec::new(),
            policy: g_policy.clone(),
        });
        policy.google = Some(g_policy);

        let jumpcloud =
            passage_sandbox::jumpcloud::JumpCloudEmulator::start(Default::default()).await?;
        passage_sandbox::jumpcloud::demo_seed(&jumpcloud);
        let jc_policy = passage_core::JumpCloudPolicy::default();
        settings.jumpcloud = Some(JumpCloudSettings {
            base_url: url::Url::parse(&jumpcloud.base_url())?,
            token_url: Some(url::Url::parse(&jumpcloud.token_url())?),
            credential: JumpCloudCredential::ApiKey(Secret::new(jumpcloud.api_key())),
            org_id: None,
            policy: jc_policy.clone(),
        });
        policy.jumpcloud = Some(jc_policy);
        Ok(Self {
            microsoft,
            google,
            jumpcloud,
        })
    }
}

impl Sandbox {
    /// Starts the Okta emulator (demo org seeded) and a full embedded Passage host on loopback.
    pub async fn start(options: SandboxOptions) -> Result<Self> {
        let okta = OktaEmulator::start(OktaConfig::default()).await?;
        okta.knobs().set_latency(options.okta_latency);
        passage_sandbox::demo_seed(&okta);
        let secret = random_secret();
        let (mut policy, mut settings) = tenant(&okta, &secret, &options);
        let others = if options.all_providers {
            Some(Others::start(&mut policy, &mut settings).await?)
        } else {
            None
        };
        if let Some(customize) = &options.customize {
            customize(&mut policy);
        }
        let mut connections = HashMap::new();
        connections.insert(TenantId::new(TENANT), settings);
        let mut integrations =
            passage_server::Integrations::connectors_only(Arc::new(Registry::new(connections)));
        if let Some(hr) = &options.hr {
            let mut by_tenant = HashMap::new();
            by_tenant.insert(TenantId::new(TENANT), hr.clone());
            integrations.hr = Arc::new(passage_hrapi::HrRegistry::new(by_tenant));
        }
        if let Some(n) = &options.notifier {
            integrations.notifier = n.clone();
        }
        let mut engine_settings = EngineSettings::default();
        if options.confirm_links {
            // The base URL is filled in by the test from the sandbox's address; the key is the
            // installation's link key.
            engine_settings.confirm_links = Some(passage_core::engine::ConfirmLinks {
                base_url: String::new(),
                key: Secret::new(""),
                valid_for: Duration::from_secs(7 * 86_400),
            });
        }
        let system = System::open(
            &options.data_dir,
            vec![policy],
            integrations,
            engine_settings,
        )
        .context("opening the sandbox data directory")?;
        let mut h = host(&system, options.workers);
        h.settings.operators = options.operators.clone();
        let running = h.start().await?;
        let base_url = format!("http://{}", running.addr);
        Ok(Self {
            okta,
            others,
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
        if let Some(o) = self.others {
            o.microsoft.shutdown().await;
            o.google.shutdown().await;
            o.jumpcloud.shutdown().await;
        }
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
        passage_server::Integrations::connectors_only(Arc::new(Registry::new(connections))),
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
            operators: passage_http::Operators::default(),
            reconcile: Vec::new(),
            reconcile_every: Duration::from_secs(3600),
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
