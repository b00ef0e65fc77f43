//! `passage init`: a starter `passage.toml` for the providers named, with fresh webhook and
//! operator secrets in files beside it (mode 0600), and every provider credential referenced,
//! never written inline. With `--sandbox` the connections point at `passage sandbox`, which
//! writes its credentials where this file looks for them.

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum InitProvider {
    Okta,
    Microsoft,
    Google,
    Jumpcloud,
}

#[derive(Args)]
pub struct InitArgs {
    /// The providers this tenant uses.
    #[arg(long, value_enum, value_delimiter = ',', required = true)]
    providers: Vec<InitProvider>,
    /// The tenant's id (1-64 of a-z, 0-9 and -).
    #[arg(long, default_value = "acme")]
    tenant: String,
    /// Point the connections at `passage sandbox` (its default ports) instead of real tenants.
    #[arg(long)]
    sandbox: bool,
    /// First of the four consecutive ports `passage sandbox --port` uses.
    #[arg(long, default_value_t = 8181)]
    sandbox_port: u16,
    /// Where `passage serve` listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Replace an existing file.
    #[arg(long)]
    force: bool,
}

/// Where `passage sandbox --secrets-dir` writes the emulators' credentials, relative to the
/// config file.
pub const SANDBOX_SECRETS: &str = "secrets/sandbox";
/// The Entra tenant and app `passage sandbox` registers with its Microsoft emulator.
pub const SANDBOX_MS_TENANT_ID: &str = "5a1e0000-0000-4000-8000-00000000a5ed";
pub const SANDBOX_MS_CLIENT_ID: &str = "5a1e2b3c-4d5e-6f70-8192-a3b4c5d6e7f8";
/// The super administrator the Google emulator creates.
pub const SANDBOX_GOOGLE_ADMIN: &str = "admin@example.com";
/// The credential files `passage sandbox --secrets-dir` writes.
pub const SANDBOX_FILES: [&str; 4] = [
    "okta-api-token",
    "microsoft-client-secret",
    "google-key.json",
    "jumpcloud-api-key",
];

pub fn run(config_path: &Path, args: InitArgs) -> Result<()> {
    if !passage_core::ids::is_valid_tenant_id(&args.tenant) {
        bail!("--tenant {:?} must be 1-64 of a-z, 0-9 and -", args.tenant);
    }
    if config_path.exists() && !args.force {
        bail!(
            "{} exists; pass --force to replace it (its secrets in secrets/ are kept)",
            config_path.display()
        );
    }
    let folder = config_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_owned);
    let secrets = folder.join("secrets");
    create_private_dir(&secrets)?;
    keep_or_write(
        &secrets.join(format!("{}-webhook-secret", args.tenant)),
        whsec,
    )?;
    keep_or_write(&secrets.join("operator-token"), token)?;
    std::fs::write(config_path, render(&args))
        .with_context(|| format!("writing {}", config_path.display()))?;
    println!("wrote {}", config_path.display());
    print_next_steps(config_path, &args);
    Ok(())
}

fn print_next_steps(config_path: &Path, args: &InitArgs) {
    let c = config_path.display();
    if args.sandbox {
        let list: Vec<&str> = args.providers.iter().map(|p| name(*p)).collect();
        println!("next:");
        println!(
            "  passage sandbox --providers {} --port {} --secrets-dir {}   # in another terminal",
            list.join(","),
            args.sandbox_port,
            config_path
                .parent()
                .map_or(PathBuf::from(SANDBOX_SECRETS), |p| p.join(SANDBOX_SECRETS))
                .display()
        );
        println!("  passage --config {c} serve");
    } else {
        println!("next: put each provider's credential where the file says (see docs/providers/),");
        println!("  then `passage --config {c} config check` lists anything still missing.");
    }
}

fn name(p: InitProvider) -> &'static str {
    match p {
        InitProvider::Okta => "okta",
        InitProvider::Microsoft => "microsoft",
        InitProvider::Google => "google",
        InitProvider::Jumpcloud => "jumpcloud",
    }
}

/// The file's text.
fn render(args: &InitArgs) -> String {
    let t = &args.tenant;
    let listen = &args.listen;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# passage.toml, written by `passage init`. Secrets live in files under secrets/ (mode\n\
         # 0600); paths are relative to this file. `passage config check` lists any problem.\n\n\
         [server]\nlisten = \"{listen}\"\ndata_dir = \"passage-data\"\n\n\
         [[tenants]]\nid = \"{t}\"\nname = \"{t}\"\nend_of_day = \"17:30\"\n\
         default_time_zone = \"America/New_York\"\n\
         webhook_secrets = [\"file:secrets/{t}-webhook-secret\"]\n"
    );
    for p in &args.providers {
        out.push_str(&if args.sandbox {
            sandbox_section(*p, args.sandbox_port)
        } else {
            real_section(*p, t)
        });
    }
    let _ = writeln!(
        out,
        "[[operators]]\nname = \"it\"\ntoken = \"file:secrets/operator-token\"\ntenants = [\"{t}\"]"
    );
    out
}

/// A connection to `passage sandbox` on its default ports, credentials from its secrets dir.
fn sandbox_section(p: InitProvider, base: u16) -> String {
    let s = SANDBOX_SECRETS;
    let url = |offset: u16| format!("http://127.0.0.1:{}", base + offset);
    let (okta, ms, google, jc) = (url(0), url(1), url(2), url(3));
    match p {
        InitProvider::Okta => format!(
            "[tenants.okta]\norg_url = \"{okta}\"\napi_token = \"file:{s}/okta-api-token\"\n\n"
        ),
        InitProvider::Microsoft => format!(
            "[tenants.microsoft]\ntenant_id = \"{SANDBOX_MS_TENANT_ID}\"\n\
             client_id = \"{SANDBOX_MS_CLIENT_ID}\"\n\
             client_secret = \"file:{s}/microsoft-client-secret\"\n\
             login_url = \"{ms}\"\ngraph_url = \"{ms}\"\n\
             exchange_url = \"{ms}\"\n\n"
        ),
        InitProvider::Google => format!(
            "[tenants.google]\nkey_file = \"file:{s}/google-key.json\"\n\
             admin_subject = \"{SANDBOX_GOOGLE_ADMIN}\"\napi_base = \"{google}\"\n\
             licensing_base = \"{google}\"\ngmail_base = \"{google}\"\ndrive_base = \"{google}\"\n\
             token_url = \"{google}/token\"\n\n"
        ),
        InitProvider::Jumpcloud => format!(
            "[tenants.jumpcloud]\nbase_url = \"{jc}\"\napi_key = \"file:{s}/jumpcloud-api-key\"\n\n"
        ),
    }
}

/// A connection to a real tenant: every credential a file to fill in.
fn real_section(p: InitProvider, t: &str) -> String {
    match p {
        InitProvider::Okta => format!(
            "# Okta: an API Services app with private_key_jwt (docs/providers/okta.md).\n\
             [tenants.okta]\norg_url = \"https://{t}.okta.com\"\nclient_id = \"0oa...\"\n\
             private_key = \"file:secrets/okta-private-key.pem\"\nkey_id = \"passage\"\n\n"
        ),
        InitProvider::Microsoft => "# Microsoft 365 / Entra: an app registration with a certificate (docs/providers/microsoft.md).\n\
             [tenants.microsoft]\ntenant_id = \"00000000-0000-0000-0000-000000000000\"\n\
             client_id = \"00000000-0000-0000-0000-000000000000\"\n\
             private_key = \"file:secrets/entra-private-key.pem\"\n\
             certificate_x5t = \"the certificate's thumbprint, as the portal shows it\"\n\n"
            .to_owned(),
        InitProvider::Google => format!(
            "# Google Workspace: a service account with domain-wide delegation (docs/providers/google.md).\n\
             [tenants.google]\nkey_file = \"file:secrets/google-key.json\"\n\
             admin_subject = \"it-admin@{t}.example\"\n\n"
        ),
        InitProvider::Jumpcloud => "# JumpCloud: a service account (docs/providers/jumpcloud.md).\n\
             [tenants.jumpcloud]\nclient_id = \"...\"\nclient_secret = \"file:secrets/jumpcloud-client-secret\"\n\n"
            .to_owned(),
    }
}

/// A directory only its owner can enter.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Writes a fresh secret to `path` (mode 0600) unless one is already there: re-running init
/// must not rotate a secret an HR system already uses.
pub fn keep_or_write(path: &Path, fresh: impl FnOnce() -> String) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    let mut f = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(fresh().as_bytes())?;
    Ok(())
}

/// A Standard Webhooks secret (`whsec_` and 32 random bytes).
fn whsec() -> String {
    let key: [u8; 32] = rand::random();
    passage_hris::WebhookSecret::from_bytes(&key)
        .expect("32 bytes is a valid key length")
        .to_whsec()
}

/// A bearer token for the operator API.
fn token() -> String {
    let key: [u8; 32] = rand::random();
    hex::encode(key)
}
