//! `passage sandbox`: the provider emulators on fixed loopback ports, as unkind as asked
//! (latency, 5xx, 429 storms, lost responses, read lag, a clock that is off, long operations),
//! with the `[[tenants]]` section that points `passage serve` at them.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use jiff::SignedDuration;
use passage_sandbox::common::knobs::{FaultConfig, Latency, LostResponse, Storm};
use passage_sandbox::{google, jumpcloud, microsoft, okta};

use super::init::{
    SANDBOX_GOOGLE_ADMIN, SANDBOX_MS_CLIENT_ID as MS_CLIENT_ID, SANDBOX_MS_TENANT_ID,
};

/// The tenant id the printed section configures.
pub const TENANT: &str = "sandbox";
/// The Google service account registered with the Google emulator.
const GOOGLE_SA: &str = "offboarder@passage-sandbox.iam.gserviceaccount.com";
const GOOGLE_SA_ID: &str = "104729305811209384756";
const GOOGLE_KEY_ID: &str = "sandbox-key";

/// A provider the sandbox can emulate; its position is its offset from the base port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Provider {
    Okta,
    Microsoft,
    Google,
    Jumpcloud,
}

#[derive(Args)]
pub struct SandboxArgs {
    /// Which providers to run.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "okta,microsoft,google,jumpcloud"
    )]
    providers: Vec<Provider>,
    /// Base loopback port: Okta on it, Microsoft, Google and JumpCloud on the next three.
    #[arg(long, default_value_t = 8181)]
    port: u16,
    #[arg(long)]
    okta_port: Option<u16>,
    #[arg(long)]
    microsoft_port: Option<u16>,
    #[arg(long)]
    google_port: Option<u16>,
    #[arg(long)]
    jumpcloud_port: Option<u16>,
    /// Write each emulator's credentials into this folder (files, mode 0600), where a config
    /// from `passage init --sandbox` reads them, and print a section that references them.
    #[arg(long)]
    secrets_dir: Option<std::path::PathBuf>,
    #[command(flatten)]
    faults: FaultArgs,
}

impl SandboxArgs {
    /// Every provider on a free loopback port, credentials inline: what a chaos run starts
    /// beside its `passage serve`.
    pub fn ephemeral() -> Self {
        Self {
            providers: vec![
                Provider::Okta,
                Provider::Microsoft,
                Provider::Google,
                Provider::Jumpcloud,
            ],
            port: 0,
            okta_port: Some(0),
            microsoft_port: Some(0),
            google_port: Some(0),
            jumpcloud_port: Some(0),
            secrets_dir: None,
            faults: FaultArgs::default(),
        }
    }
}

/// The fault knobs, the same for every provider started.
#[derive(Args, Clone, Debug, Default)]
pub struct FaultArgs {
    /// Added delay per request (the base, with --latency-spread-ms).
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Uniform spread above --latency-ms.
    #[arg(long, default_value_t = 0)]
    latency_spread_ms: u64,
    /// Share of requests answered with a provider 5xx.
    #[arg(long, default_value_t = 0.0)]
    error_rate_5xx: f64,
    /// A 429 storm: a share of the time (0.3: 30 % of one-second slots), or a duration (20s:
    /// throttled that long in every --storm-every).
    #[arg(long)]
    storm_429: Option<String>,
    /// How often a duration storm recurs.
    #[arg(long, default_value = "60s")]
    storm_every: String,
    /// Share of applied changes whose answer is lost.
    #[arg(long, default_value_t = 0.0)]
    lost_responses: f64,
    /// How a lost answer is lost.
    #[arg(long, value_enum, default_value = "dropped")]
    lost_as: LostAs,
    /// How long eventually consistent reads show the state before a write.
    #[arg(long, default_value_t = 0)]
    read_lag_ms: u64,
    /// How far the emulators' clocks run ahead (negative: behind), in seconds.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    clock_offset_s: i64,
    /// How long long operations take (transfers, device actions, mailbox conversion, ...).
    #[arg(long)]
    long_ops_s: Option<u64>,
    /// Seed of every random fault decision, for a storm that can be replayed.
    #[arg(long)]
    seed: Option<u64>,
}

/// How lost answers are lost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LostAs {
    /// The provider's 502.
    BadGateway,
    /// The connection closes with no response.
    #[default]
    Dropped,
    /// No answer for a minute, then the connection closes.
    Timeout,
}

impl FaultArgs {
    /// The emulators' fault settings these arguments describe.
    pub fn to_config(&self) -> Result<FaultConfig> {
        let base = Duration::from_millis(self.latency_ms);
        let spread = Duration::from_millis(self.latency_spread_ms);
        let latency = match (base.is_zero(), spread.is_zero()) {
            (true, true) => Latency::None,
            (_, true) => Latency::Fixed(base),
            _ => Latency::Uniform { base, spread },
        };
        let storm_429 = self
            .storm_429
            .as_deref()
            .map(|s| parse_storm(s, &self.storm_every))
            .transpose()?;
        Ok(FaultConfig {
            latency,
            error_rate_5xx: self.error_rate_5xx,
            storm_429,
            lost_response_rate: self.lost_responses,
            lost_response: match self.lost_as {
                LostAs::BadGateway => LostResponse::ServerError(502),
                LostAs::Dropped => LostResponse::Dropped,
                LostAs::Timeout => LostResponse::TimedOut(Duration::from_secs(60)),
            },
            read_lag: Duration::from_millis(self.read_lag_ms),
            clock_offset: SignedDuration::from_secs(self.clock_offset_s),
            long_ops: self.long_ops_s.map(Duration::from_secs),
            seed: self.seed,
        })
    }
}

/// `0.3` is a share of one-second slots; `20s` (any jiff duration) a window recurring every
/// `every` (`0s`: once, from the start).
fn parse_storm(value: &str, every: &str) -> Result<Storm> {
    if let Ok(share) = value.parse::<f64>() {
        if !(0.0..=1.0).contains(&share) {
            bail!("--storm-429 share {share} is not between 0 and 1");
        }
        return Ok(Storm::share(share));
    }
    let length = parse_duration(value).context("--storm-429 is a share or a duration")?;
    let every = parse_duration(every).context("--storm-every")?;
    Ok(Storm::Window {
        length,
        every: (!every.is_zero()).then_some(every),
    })
}

fn parse_duration(value: &str) -> Result<Duration> {
    let signed: SignedDuration = value
        .parse()
        .with_context(|| format!("{value:?} is not a duration such as 20s or 2m"))?;
    Duration::try_from(signed).with_context(|| format!("{value:?} is negative"))
}

/// Where the credentials go: inline in the printed section, or into files of a folder.
struct Secrets(Option<std::path::PathBuf>);

impl Secrets {
    /// The TOML value for a credential: `"value"`, or `"file:<dir>/<name>"` once written.
    fn keep(&self, name: &str, value: &str) -> Result<String> {
        let Some(dir) = &self.0 else {
            return Ok(format!("{value:?}"));
        };
        super::init::create_private_dir(dir)?;
        let path = dir.join(name);
        let _ = std::fs::remove_file(&path);
        super::init::keep_or_write(&path, || value.to_owned())?;
        Ok(format!("\"file:{}\"", path.display()))
    }
}

/// The emulators started, kept until Ctrl-C.
#[derive(Default)]
pub struct Running {
    okta: Option<okta::OktaEmulator>,
    microsoft: Option<microsoft::MicrosoftEmulator>,
    google: Option<google::GoogleEmulator>,
    jumpcloud: Option<jumpcloud::JumpCloudEmulator>,
    /// The `[[tenants]]` section pointing at them.
    pub snippet: String,
    /// The tenant's webhook secret in that section (`whsec_…`).
    pub webhook_secret: String,
}

pub async fn run(args: SandboxArgs) -> Result<()> {
    let faults = args.faults.to_config()?;
    let running = start(&args, &faults).await?;
    println!("{}", running.snippet);
    println!("# Emulators running; press Ctrl-C to stop.");
    tokio::signal::ctrl_c().await?;
    running.shutdown().await;
    Ok(())
}

fn port(args: &SandboxArgs, provider: Provider) -> u16 {
    let (explicit, offset) = match provider {
        Provider::Okta => (args.okta_port, 0),
        Provider::Microsoft => (args.microsoft_port, 1),
        Provider::Google => (args.google_port, 2),
        Provider::Jumpcloud => (args.jumpcloud_port, 3),
    };
    explicit.unwrap_or_else(|| args.port.saturating_add(offset))
}

/// Starts and seeds the chosen emulators with `faults`, registers Passage's credentials with
/// each, and renders the section that connects a tenant to them.
pub async fn start(args: &SandboxArgs, faults: &FaultConfig) -> Result<Running> {
    let mut running = Running {
        webhook_secret: crate::harness::random_secret().to_whsec(),
        ..Running::default()
    };
    let mut out = header(faults, &running.webhook_secret);
    let secrets = Secrets(args.secrets_dir.clone());
    for provider in &args.providers {
        let port = port(args, *provider);
        let section = match provider {
            Provider::Okta => start_okta(&mut running, port, faults, &secrets).await?,
            Provider::Microsoft => start_microsoft(&mut running, port, faults, &secrets).await?,
            Provider::Google => start_google(&mut running, port, faults, &secrets).await?,
            Provider::Jumpcloud => start_jumpcloud(&mut running, port, faults, &secrets).await?,
        };
        out.push_str(&section);
    }
    running.snippet = out;
    Ok(running)
}

fn header(faults: &FaultConfig, secret: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# passage sandbox: faults {faults:?}");
    let _ = writeln!(
        out,
        "# Paste into passage.toml. Demo leaver in every provider: jane.doe@example.com"
    );
    let _ = writeln!(out, "[[tenants]]\nid = \"{TENANT}\"\nname = \"Sandbox\"");
    let _ = writeln!(out, "default_time_zone = \"America/New_York\"");
    let _ = writeln!(out, "webhook_secrets = [\"{secret}\"]\n");
    out
}

async fn start_okta(
    running: &mut Running,
    port: u16,
    faults: &FaultConfig,
    secrets: &Secrets,
) -> Result<String> {
    let emulator = okta::OktaEmulator::start(okta::OktaConfig {
        faults: faults.clone(),
        ..okta::OktaConfig::on_port(port)
    })
    .await
    .with_context(|| format!("starting the Okta emulator on port {port}"))?;
    okta::demo_seed(&emulator);
    let section = format!(
        "[tenants.okta]\norg_url = \"{}\"\napi_token = {}\n\
         grants_critical = false   # so a rehearsal can waive okta.revoke_grants\n\n",
        emulator.base_url(),
        secrets.keep("okta-api-token", &emulator.api_token())?
    );
    running.okta = Some(emulator);
    Ok(section)
}

async fn start_microsoft(
    running: &mut Running,
    port: u16,
    faults: &FaultConfig,
    secrets: &Secrets,
) -> Result<String> {
    let emulator = microsoft::MicrosoftEmulator::start(microsoft::MicrosoftConfig {
        faults: faults.clone(),
        tenant_id: Some(SANDBOX_MS_TENANT_ID.to_owned()),
        ..microsoft::MicrosoftConfig::on_port(port)
    })
    .await
    .with_context(|| format!("starting the Microsoft emulator on port {port}"))?;
    microsoft::demo_seed(&emulator);
    let secret = format!("sbx~{}", uuid::Uuid::new_v4().simple());
    emulator.register_app(
        MS_CLIENT_ID,
        microsoft::AppCredential::Secret(secret.clone()),
    );
    let base = emulator.base_url();
    let section = format!(
        "[tenants.microsoft]\ntenant_id = \"{}\"\nclient_id = \"{MS_CLIENT_ID}\"\n\
         client_secret = {}\nlogin_url = \"{base}\"\ngraph_url = \"{base}\"\n\
         exchange_url = \"{base}\"\n\n",
        emulator.tenant_id(),
        secrets.keep("microsoft-client-secret", &secret)?
    );
    running.microsoft = Some(emulator);
    Ok(section)
}

async fn start_google(
    running: &mut Running,
    port: u16,
    faults: &FaultConfig,
    secrets: &Secrets,
) -> Result<String> {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let emulator = google::GoogleEmulator::start(google::GoogleConfig {
        faults: faults.clone(),
        ..google::GoogleConfig::on_port(port)
    })
    .await
    .with_context(|| format!("starting the Google emulator on port {port}"))?;
    google::demo_seed(&emulator);
    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048)?;
    let private = key.to_pkcs8_pem(LineEnding::LF)?.to_string();
    let public = key.to_public_key().to_public_key_pem(LineEnding::LF)?;
    emulator
        .register_service_account(
            GOOGLE_SA,
            GOOGLE_SA_ID,
            &public,
            GOOGLE_KEY_ID,
            passage_connectors::google::DELEGATED_SCOPES,
        )
        .map_err(|e| anyhow::anyhow!("registering the sandbox service account: {e:?}"))?;
    let base = emulator.base_url();
    // Google's downloaded key file, as an administrator would configure a real tenant.
    let key_file = serde_json::json!({
        "type": "service_account",
        "client_email": GOOGLE_SA,
        "client_id": GOOGLE_SA_ID,
        "private_key_id": GOOGLE_KEY_ID,
        "private_key": private,
        "token_uri": emulator.token_url(),
    });
    let credential = if secrets.0.is_some() {
        format!(
            "key_file = {}",
            secrets.keep("google-key.json", &key_file.to_string())?
        )
    } else {
        format!(
            "service_account_email = \"{GOOGLE_SA}\"\nkey_id = \"{GOOGLE_KEY_ID}\"\n\
             private_key = '''\n{}'''",
            private.trim_end()
        )
    };
    debug_assert_eq!(emulator.admin_email(), SANDBOX_GOOGLE_ADMIN);
    let section = format!(
        "[tenants.google]\n{credential}\nadmin_subject = \"{}\"\napi_base = \"{base}\"\n\
         licensing_base = \"{base}\"\ngmail_base = \"{base}\"\ndrive_base = \"{base}\"\ntoken_url = \"{}\"\n\n",
        emulator.admin_email(),
        emulator.token_url(),
    );
    running.google = Some(emulator);
    Ok(section)
}

async fn start_jumpcloud(
    running: &mut Running,
    port: u16,
    faults: &FaultConfig,
    secrets: &Secrets,
) -> Result<String> {
    let emulator = jumpcloud::JumpCloudEmulator::start(jumpcloud::JumpCloudConfig {
        faults: faults.clone(),
        ..jumpcloud::JumpCloudConfig::on_port(port)
    })
    .await
    .with_context(|| format!("starting the JumpCloud emulator on port {port}"))?;
    jumpcloud::demo_seed(&emulator);
    let section = format!(
        "[tenants.jumpcloud]\nbase_url = \"{}\"\napi_key = {}\n\n",
        emulator.base_url(),
        secrets.keep("jumpcloud-api-key", &emulator.api_key())?
    );
    running.jumpcloud = Some(emulator);
    Ok(section)
}

impl Running {
    pub fn okta(&self) -> Option<&okta::OktaEmulator> {
        self.okta.as_ref()
    }

    pub fn microsoft(&self) -> Option<&microsoft::MicrosoftEmulator> {
        self.microsoft.as_ref()
    }

    pub fn google(&self) -> Option<&google::GoogleEmulator> {
        self.google.as_ref()
    }

    pub fn jumpcloud(&self) -> Option<&jumpcloud::JumpCloudEmulator> {
        self.jumpcloud.as_ref()
    }

    /// Stops every emulator, letting in-flight requests finish.
    pub async fn shutdown(self) {
        if let Some(e) = self.okta {
            e.shutdown().await;
        }
        if let Some(e) = self.microsoft {
            e.shutdown().await;
        }
        if let Some(e) = self.google {
            e.shutdown().await;
        }
        if let Some(e) = self.jumpcloud {
            e.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        sandbox: SandboxArgs,
    }

    #[test]
    fn storms_are_a_share_or_a_recurring_window() {
        assert_eq!(parse_storm("0.3", "60s").unwrap(), Storm::share(0.3));
        assert_eq!(
            parse_storm("20s", "1m").unwrap(),
            Storm::Window {
                length: Duration::from_secs(20),
                every: Some(Duration::from_secs(60)),
            }
        );
        assert_eq!(
            parse_storm("45s", "0s").unwrap(),
            Storm::window(Duration::from_secs(45))
        );
        assert!(parse_storm("1.5", "60s").is_err());
        assert!(parse_storm("soon", "60s").is_err());
    }

    #[test]
    fn flags_become_fault_settings() {
        let cli = Cli::parse_from([
            "sandbox",
            "--providers",
            "okta,google",
            "--latency-ms",
            "50",
            "--latency-spread-ms",
            "20",
            "--error-rate-5xx",
            "0.1",
            "--storm-429",
            "0.25",
            "--lost-responses",
            "0.2",
            "--lost-as",
            "timeout",
            "--read-lag-ms",
            "1500",
            "--clock-offset-s",
            "-30",
            "--long-ops-s",
            "120",
            "--seed",
            "9",
        ]);
        assert_eq!(cli.sandbox.providers, [Provider::Okta, Provider::Google]);
        let faults = cli.sandbox.faults.to_config().unwrap();
        assert_eq!(
            faults.latency,
            Latency::Uniform {
                base: Duration::from_millis(50),
                spread: Duration::from_millis(20)
            }
        );
        assert_eq!(faults.storm_429, Some(Storm::share(0.25)));
        assert_eq!(
            faults.lost_response,
            LostResponse::TimedOut(Duration::from_secs(60))
        );
        assert_eq!(faults.read_lag, Duration::from_millis(1500));
        assert_eq!(faults.clock_offset, SignedDuration::from_secs(-30));
        assert_eq!(faults.long_ops, Some(Duration::from_secs(120)));
        assert_eq!(faults.seed, Some(9));
        assert_eq!(port(&cli.sandbox, Provider::Google), 8183);
    }

    #[tokio::test]
    async fn the_printed_section_is_a_tenant_passage_can_load() {
        let cli = Cli::parse_from([
            "sandbox",
            "--okta-port=0",
            "--microsoft-port=0",
            "--google-port=0",
            "--jumpcloud-port=0",
            "--storm-429",
            "0.5",
        ]);
        let faults = cli.sandbox.faults.to_config().unwrap();
        let running = start(&cli.sandbox, &faults).await.unwrap();
        let config = passage_config::Config::parse(&running.snippet).unwrap();
        let (policies, connections) = config.resolve().unwrap();
        assert_eq!(policies.len(), 1);
        let settings = &connections[&passage_core::TenantId::new(TENANT)];
        assert!(settings.okta.is_some());
        assert!(settings.microsoft.is_some());
        assert!(settings.google.is_some());
        assert!(settings.jumpcloud.is_some());
        running.shutdown().await;
    }
}
