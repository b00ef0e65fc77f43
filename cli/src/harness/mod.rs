//! A complete embedded Passage wired to the sandbox Okta, in one process: what `passage demo`
//! and `passage bench` run, and what the end-to-end tests drive over real HTTP.

pub mod chaos;
mod saas;

pub use saas::{SAAS_GRACE, SaasApps, saas_owner};

use anyhow::{Context, Result, bail};
use passage_config::Integrations;
use passage_connectors::ConnectionSettings;
use passage_connectors::okta::OktaSettings;
use passage_core::access::{self, AccessItem, Grade};
use passage_core::engine::{Engine, EngineSettings};
use passage_core::gate::{Gate, evaluate_run};
use passage_core::ports::RunStore;
use passage_core::secret::Secret;
use passage_core::{
    DisableMode, OktaPolicy, Run, RunId, RunState, StepState, TenantId, TenantPolicy,
};
use passage_hris::WebhookSecret;
use passage_sandbox::{OktaConfig, OktaEmulator};
use passage_server::host::{Host, HostSettings, Running};
use passage_server::{HttpLimits, System};
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
    /// Also run the SaaS apps (Slack, GitHub, a SCIM app) and give an app without an API to
    /// its owner.
    pub saas: bool,
    pub okta_latency: Duration,
    /// Pace the workers' calls to the sandbox Okta in one budget of this rate, shared as
    /// `passage serve` shares it (`[tenants.okta.pace] all = …`); none: calls go at once.
    pub okta_pace: Option<passage_core::pace::Rate>,
    /// Pace every provider by its documented budgets as `passage serve` does, with these
    /// changes to them (applied once every connection is set up).
    pub pace: Option<fn(&mut passage_connectors::PacePlans)>,
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
    /// The HTTP listener's deadlines and connection cap.
    pub http: HttpLimits,
    /// Timestamps every bundle's signature.
    pub timestamps: Option<Arc<dyn passage_core::ports::TimestampAuthority>>,
}

impl SandboxOptions {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            all_providers: false,
            saas: false,
            okta_latency: Duration::ZERO,
            okta_pace: None,
            pace: None,
            workers: 8,
            disable: DisableMode::Suspend,
            end_of_day: jiff::civil::Time::constant(17, 0, 0, 0),
            customize: None,
            hr: None,
            notifier: None,
            operators: passage_http::Operators::default(),
            confirm_links: false,
            http: HttpLimits::default(),
            timestamps: None,
        }
    }
}

pub struct Sandbox {
    pub okta: OktaEmulator,
    /// The other providers, when started with `all_providers`.
    pub others: Option<Others>,
    /// The SaaS apps, when started with `saas`.
    pub saas: Option<SaasApps>,
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
    pub async fn start(
        policy: &mut TenantPolicy,
        settings: &mut ConnectionSettings,
    ) -> Result<Self> {
        let key = SandboxKey::generate()?;
        Ok(Self {
            microsoft: start_microsoft(&key, policy, settings).await?,
            google: start_google(&key, policy, settings).await?,
            jumpcloud: start_jumpcloud(policy, settings).await?,
        })
    }
}

/// One RSA key pair Passage signs its token requests with, registered with Entra and Google.
struct SandboxKey {
    private_pem: String,
    public_pem: String,
}

impl SandboxKey {
    fn generate() -> Result<Self> {
        use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
        let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048)?;
        Ok(Self {
            private_pem: key.to_pkcs8_pem(LineEnding::LF)?.to_string(),
            public_pem: key.to_public_key().to_public_key_pem(LineEnding::LF)?,
        })
    }
}

/// The Entra, Graph, Intune and Exchange emulator with a certificate app for Passage.
async fn start_microsoft(
    key: &SandboxKey,
    policy: &mut TenantPolicy,
    settings: &mut ConnectionSettings,
) -> Result<passage_sandbox::microsoft::MicrosoftEmulator> {
    use passage_connectors::microsoft::{MicrosoftCredential, MicrosoftSettings};
    use passage_sandbox::microsoft::{
        AppCredential, MicrosoftEmulator, demo_seed, key_thumbprints,
    };
    let microsoft = MicrosoftEmulator::start(Default::default()).await?;
    demo_seed(&microsoft);
    // Besides the dynamic group the demo seed gives the leaver, one synced from on-premises
    // AD: the two memberships Graph refuses to change, which the run grades as remaining.
    let synced = microsoft.seed_group(passage_sandbox::microsoft::SeedGroup {
        description: Some("Engineering, mastered in on-premises AD".to_owned()),
        on_prem_synced: true,
        ..passage_sandbox::microsoft::SeedGroup::new(
            "AD Engineering",
            passage_sandbox::microsoft::GroupKind::Security,
        )
    });
    microsoft.seed_membership(&synced, passage_sandbox::microsoft::DEMO_LEAVER);
    let (x5t, _) = key_thumbprints(&key.public_pem).context("thumbprint of the sandbox key")?;
    let client_id = "5a1e2b3c-4d5e-6f70-8192-a3b4c5d6e7f8";
    microsoft.register_app(
        client_id,
        AppCredential::PublicKey {
            pem: key.public_pem.clone(),
            x5t: x5t.clone(),
        },
    );
    let base = url::Url::parse(&microsoft.base_url())?;
    let ms_policy = passage_core::MicrosoftPolicy {
        auto_reply: Some("I have left the company; please contact my manager.".into()),
        ..Default::default()
    };
    settings.microsoft = Some(MicrosoftSettings {
        cloud: passage_connectors::microsoft::Cloud::Global,
        login_url: base.clone(),
        graph_url: base.clone(),
        exchange_url: base,
        tenant_id: microsoft.tenant_id(),
        client_id: client_id.into(),
        credential: MicrosoftCredential::Certificate {
            private_key: Secret::new(key.private_pem.clone()),
            x5t,
        },
        policy: ms_policy.clone(),
    });
    policy.microsoft = Some(ms_policy);
    Ok(microsoft)
}

/// The Google Workspace emulator with a delegated service account for Passage.
async fn start_google(
    key: &SandboxKey,
    policy: &mut TenantPolicy,
    settings: &mut ConnectionSettings,
) -> Result<passage_sandbox::google::GoogleEmulator> {
    use passage_connectors::google::{DELEGATED_SCOPES, GoogleSettings};
    use passage_sandbox::google::{GoogleEmulator, demo_seed};
    let google = GoogleEmulator::start(Default::default()).await?;
    demo_seed(&google);
    let sa = "offboarder@passage-demo.iam.gserviceaccount.com";
    google
        .register_service_account(
            sa,
            "104729305811209384756",
            &key.public_pem,
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
        drive_base: None,
        token_url: url::Url::parse(&google.token_url())?,
        service_account_email: sa.into(),
        private_key: Secret::new(key.private_pem.clone()),
        key_id: "demo-key".into(),
        admin_subject: google.admin_email(),
        customer_id: "my_customer".into(),
        license_skus: Vec::new(),
        policy: g_policy.clone(),
    });
    policy.google = Some(g_policy);
    Ok(google)
}

/// The JumpCloud emulator with an API key for Passage.
async fn start_jumpcloud(
    policy: &mut TenantPolicy,
    settings: &mut ConnectionSettings,
) -> Result<passage_sandbox::jumpcloud::JumpCloudEmulator> {
    use passage_connectors::jumpcloud::{JumpCloudCredential, JumpCloudSettings};
    use passage_sandbox::jumpcloud::{JumpCloudEmulator, demo_seed};
    let jumpcloud = JumpCloudEmulator::start(Default::default()).await?;
    demo_seed(&jumpcloud);
    let jc_policy = passage_core::JumpCloudPolicy::default();
    settings.jumpcloud = Some(JumpCloudSettings {
        base_url: url::Url::parse(&jumpcloud.base_url())?,
        token_url: Some(url::Url::parse(&jumpcloud.token_url())?),
        credential: JumpCloudCredential::ApiKey(Secret::new(jumpcloud.api_key())),
        org_id: None,
        policy: jc_policy.clone(),
    });
    policy.jumpcloud = Some(jc_policy);
    Ok(jumpcloud)
}

impl Sandbox {
    /// Starts the Okta emulator (demo org seeded) and a full embedded Passage host on loopback.
    pub async fn start(options: SandboxOptions) -> Result<Self> {
        let okta = OktaEmulator::start(OktaConfig::default()).await?;
        okta.knobs().set_latency(options.okta_latency);
        passage_sandbox::demo_seed(&okta);
        let secret = random_secret();
        let (mut policy, mut settings) = tenant(&okta, &secret, &options);
        if let Some(rate) = options.okta_pace {
            settings.pace.okta.single(rate);
        }
        let others = if options.all_providers {
            Some(Others::start(&mut policy, &mut settings).await?)
        } else {
            None
        };
        let saas = if options.saas {
            Some(SaasApps::start(&mut policy, &mut settings).await?)
        } else {
            None
        };
        if let Some(change) = options.pace {
            change(&mut settings.pace);
        }
        if let Some(customize) = &options.customize {
            customize(&mut policy);
        }
        let system = System::open_with(
            &options.data_dir,
            integrations(&options, policy, settings),
            engine_settings(&options),
            options.timestamps.clone(),
        )
        .context("opening the sandbox data directory")?;
        // As `passage serve` does: a tenant that lost its key stops the host here.
        system
            .engine
            .prepare_signing_key(&TenantId::new(TENANT))
            .await
            .context("the sandbox tenant's signing key")?;
        let mut h = host(&system, options.workers);
        h.settings.operators = options.operators.clone();
        h.settings.http = options.http.clone();
        let running = h.start().await?;
        let base_url = format!("http://{}", running.addr);
        Ok(Self {
            okta,
            others,
            saas,
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
        if let Some(s) = self.saas {
            s.shutdown().await;
        }
    }
}

/// The sandbox tenant's provider connections, with the HR system API and notifier the options
/// name.
fn integrations(
    options: &SandboxOptions,
    policy: TenantPolicy,
    settings: ConnectionSettings,
) -> Integrations {
    let tenant = TenantId::new(TENANT);
    let connections = HashMap::from([(tenant.clone(), settings)]);
    let paced = options.okta_pace.is_some() || options.pace.is_some();
    let mut integrations = match paced {
        true => {
            let lease = engine_settings(options).lease;
            Integrations::providers(vec![policy], connections, passage_server::pacing(lease))
        }
        false => Integrations::providers_only(vec![policy], connections),
    };
    if let Some(hr) = &options.hr {
        let by_tenant = HashMap::from([(tenant, hr.clone())]);
        integrations.hr = Arc::new(passage_hrapi::HrRegistry::new(by_tenant));
    }
    if let Some(n) = &options.notifier {
        integrations.notifier = n.clone();
    }
    integrations
}

fn engine_settings(options: &SandboxOptions) -> EngineSettings {
    let mut settings = EngineSettings::default();
    if options.confirm_links {
        // The base URL is filled in by the test from the sandbox's address; the key is the
        // installation's link key.
        settings.confirm_links = Some(passage_core::engine::ConfirmLinks {
            base_url: String::new(),
            key: Secret::new(""),
            valid_for: Duration::from_secs(7 * 86_400),
        });
    }
    settings
}

/// Opens the embedded system with one tenant.
pub fn open_system(
    data_dir: &Path,
    policy: TenantPolicy,
    settings: ConnectionSettings,
) -> Result<System> {
    let connections = HashMap::from([(TenantId::new(TENANT), settings)]);
    System::open(
        data_dir,
        Integrations::providers_only(vec![policy], connections),
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
            http: HttpLimits::default(),
        },
    }
}

/// The sandbox's named IT lead, who accepts exceptions.
pub const IT_LEAD: &str = "demo-it";

/// The sandbox's IT lead accepts what stays once nothing else holds the run: each critical
/// item that remains (an AD-synced group, a dynamic rule's membership) or is pending (a device
/// command waiting for its device), as the gate lists them, with a reason of its kind. Returns
/// the items accepted now. The sandbox's leavers hold such items by design, so every wait on a
/// sandbox run goes through here, as an operator watching the run would.
pub async fn accept_what_stays(engine: &Engine, run: &Run) -> Result<Vec<AccessItem>> {
    if !run.state.is_open() {
        return Ok(Vec::new());
    }
    let store = &engine.ports().store;
    let steps = store.steps(&run.id).await?;
    let graded = access::grade(&steps);
    let keys: Vec<String> = match evaluate_run(&steps, &run.exceptions, engine.now()) {
        Gate::Held { items } => items,
        Gate::Waiting { outstanding }
            if outstanding.iter().all(|k| {
                steps
                    .iter()
                    .any(|s| &s.key == k && s.state == StepState::AwaitingCompletion)
            }) =>
        {
            graded
                .iter()
                .filter(|i| outstanding.contains(&i.source.step) && i.grade.holds())
                .map(|i| i.key.clone())
                .collect()
        }
        _ => return Ok(Vec::new()),
    };
    let mut accepted = Vec::new();
    for item in graded.into_iter().filter(|i| keys.contains(&i.key)) {
        let reason = match (item.grade, item.kind) {
            (Grade::Pending, _) => {
                "the device is back at the IT desk; the command completes when it next connects"
            }
            (_, access::ItemKind::Ownership) => {
                "the app's owning team takes over its registration: ticket IT-4712 to the platform team"
            }
            _ => {
                "owned outside Passage (AD or a dynamic rule): ticket IT-4711 to the directory team"
            }
        };
        let taken = engine
            .except(&run.id, &item.key, IT_LEAD, reason, None)
            .await;
        if let Err(e) = taken {
            // The run closed (or moved on) meanwhile: nothing is left to accept.
            let open = store.run(&run.id).await?.is_some_and(|r| r.state.is_open());
            if open {
                return Err(e.into());
            }
            break;
        }
        accepted.push(item);
    }
    Ok(accepted)
}

/// Polls the store until `done(run)` holds, accepting what stays on the way
/// ([`accept_what_stays`]).
pub async fn wait_for(
    system: &System,
    run_id: &RunId,
    timeout: Duration,
    done: impl Fn(&Run) -> bool,
) -> Result<Run> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(run) = system.store.run(run_id).await? {
            if done(&run) {
                return Ok(run);
            }
            accept_what_stays(&system.engine, &run).await?;
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

/// A `passage.leaver.v1` body for the sandbox tenant.
pub fn leaver_event(email: &str, employee_id: &str, cutoff: Cutoff) -> Vec<u8> {
    tenant_leaver_event(TENANT, email, employee_id, cutoff)
}

/// A `passage.leaver.v1` body for `tenant`.
pub fn tenant_leaver_event(
    tenant: &str,
    email: &str,
    employee_id: &str,
    cutoff: Cutoff,
) -> Vec<u8> {
    let mut event = serde_json::json!({
        "type": "passage.leaver.v1",
        "tenant": tenant,
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
