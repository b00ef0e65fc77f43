use anyhow::Result;
use clap::Args;
use passage_sandbox::{OktaConfig, OktaEmulator, demo_seed};

#[derive(Args)]
pub struct SandboxArgs {
    /// Loopback port for the Okta emulator.
    #[arg(long, default_value_t = 8181)]
    port: u16,
}

pub async fn run(args: SandboxArgs) -> Result<()> {
    let okta = OktaEmulator::start(OktaConfig::on_port(args.port)).await?;
    let org = demo_seed(&okta);
    println!("sandbox Okta at {}", okta.base_url());
    println!("API token:     {}", okta.api_token());
    println!("demo leaver:   {} ({})", org.leaver_login, org.leaver_id);
    tokio::signal::ctrl_c().await?;
    okta.shutdown().await;
    Ok(())
}
