//! `passage demo`: one leaver, end to end, against the sandbox Okta (and with all providers,
//! Microsoft, Google, JumpCloud, Slack, GitHub, a SCIM app and an app without an API) — then
//! the proof, with each SaaS seat's outcome, and the day's period report as an auditor reads
//! it (HTML, and PDF when Chromium is installed).

use crate::harness::{Cutoff, Sandbox, SandboxOptions, leaver_event};
use anyhow::{Context, Result, bail};
use clap::Args;
use passage_core::evidence::{verify_bundle, verify_chain};
use passage_core::ports::RunStore;
use passage_core::{RunId, StepState};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct DemoArgs {
    /// Where to copy the signed bundle.
    #[arg(long, default_value = "passage-demo")]
    out: PathBuf,
    /// Latency the sandbox Okta adds to every call, in milliseconds.
    #[arg(long, default_value_t = 40)]
    latency_ms: u64,
    /// Seconds from now to the leaver's cutoff.
    #[arg(long, default_value_t = 3)]
    cutoff_in: i64,
    /// Act on Okta alone instead of all four providers.
    #[arg(long)]
    okta_only: bool,
}

pub async fn run(args: DemoArgs) -> Result<()> {
    let data_dir =
        std::env::temp_dir().join(format!("passage-demo-{}", uuid::Uuid::new_v4().simple()));
    let mut options = SandboxOptions::new(&data_dir);
    options.okta_latency = Duration::from_millis(args.latency_ms);
    options.all_providers = !args.okta_only;
    options.saas = !args.okta_only;
    if options.all_providers {
        // The full demo shows every Okta action and the laptop coming back to IT.
        options.customize = Some(std::sync::Arc::new(|p: &mut passage_core::TenantPolicy| {
            if let Some(okta) = p.okta.as_mut() {
                okta.reset_factors = true;
                okta.unassign_apps = true;
            }
            p.human.device_return = Some(passage_core::HumanStepPolicy::device_return());
            // As a tenant configured in passage.toml has it: the shared-resource sweep on.
            p.sweep = passage_core::SweepPolicy::default();
        }));
    }
    let sandbox = Sandbox::start(options).await?;
    let result = drive(&sandbox, &args).await;
    sandbox.shutdown().await;
    let _ = std::fs::remove_dir_all(&data_dir);
    result
}

async fn drive(sb: &Sandbox, args: &DemoArgs) -> Result<()> {
    let leaver = passage_sandbox::okta::DEMO_LEAVER;
    print_intro(sb, args, leaver)?;
    let cutoff = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(args.cutoff_in);
    let cutoff = cutoff.round(jiff::Unit::Second)?;
    let run_id = post_termination(sb, leaver, cutoff).await?;
    let limit = Duration::from_secs(60 + args.cutoff_in.max(0) as u64);
    let run = follow_until_closed(sb, &run_id, limit).await?;
    let bundle = run.bundle.clone().context("closed run without a bundle")?;
    let dest = args.out.join(run.id.as_str());
    if dest.exists() {
        std::fs::remove_dir_all(&dest)?;
    }
    copy_dir(&PathBuf::from(&bundle.location), &dest)?;
    let files = passage_embedded::read_bundle_dir(&dest)?;
    let verified = verify_bundle(&files, None)?;
    verify_chain(std::slice::from_ref(&verified))?;
    print_providers(sb, leaver)?;
    if let Some(apps) = &sb.saas {
        print_saas(apps, leaver, &dest)?;
    }
    print_access(&dest)?;
    print_bundle(&verified, &dest);
    write_period_report(sb, &args.out, &run).await
}

/// Where everything runs, and the leaver as the providers hold them before the cutoff.
fn print_intro(sb: &Sandbox, args: &DemoArgs, leaver: &str) -> Result<()> {
    println!("Passage demo");
    println!(
        "  sandbox Okta   {}  (+{} ms per call)",
        sb.okta.base_url(),
        args.latency_ms
    );
    println!("  passage        {}", sb.base_url);
    if let Some(apps) = &sb.saas {
        println!(
            "  SaaS apps      Slack {}, GitHub {}, SCIM app {} (removal {} s after the cutoff), Figma by hand",
            apps.slack.api_url(),
            apps.github.base_url(),
            apps.scim.base_url(),
            crate::harness::SAAS_GRACE.as_secs()
        );
    }
    let before = sb
        .okta
        .user(leaver)
        .context("demo leaver missing from the sandbox")?;
    println!(
        "  leaver         {leaver}: {:?}, {} groups, {} sessions, {} grants",
        before.status,
        sb.okta.user_groups(leaver).len(),
        sb.okta.sessions(leaver).unwrap_or(0),
        sb.okta.grants(leaver).unwrap_or(0)
    );
    Ok(())
}

/// The HR system's termination webhook; the run it created.
async fn post_termination(sb: &Sandbox, leaver: &str, cutoff: jiff::Timestamp) -> Result<RunId> {
    let body = leaver_event(leaver, "E1001", Cutoff::At(cutoff));
    let response = sb.post("msg_demo_0001", &body).await?;
    let status = response.status();
    let accepted: serde_json::Value = response.json().await?;
    if !status.is_success() {
        bail!("the webhook was refused ({status}): {accepted}");
    }
    let run_id = RunId::new(
        accepted["run_id"]
            .as_str()
            .context("no run_id in the answer")?,
    );
    println!("\nHR webhook accepted ({status}): run {run_id}, cutoff {cutoff}");
    Ok(run_id)
}

/// Prints each run and step transition as it happens, doing the demo IT team's part (laptop
/// returns, accepted exceptions) until the run closes.
async fn follow_until_closed(
    sb: &Sandbox,
    run_id: &RunId,
    limit: Duration,
) -> Result<passage_core::Run> {
    let started = Instant::now();
    let mut last: BTreeMap<String, StepState> = BTreeMap::new();
    let mut last_run = None;
    let store = &sb.system.store;
    loop {
        let run = store.run(run_id).await?.context("run vanished")?;
        if last_run != Some(run.state) {
            println!(
                "  [{:>6.2}s] run      {}",
                started.elapsed().as_secs_f64(),
                run.state.as_str()
            );
            last_run = Some(run.state);
        }
        for s in store.steps(run_id).await? {
            if last.get(s.key.as_str()) != Some(&s.state) {
                print_step(&s, started);
                last.insert(s.key.to_string(), s.state);
            }
        }
        if run.state == passage_core::RunState::Closed {
            return Ok(run);
        }
        confirm_returns(sb, run_id, started).await?;
        accept_exceptions(sb, &run, started).await?;
        if run.state == passage_core::RunState::Blocked {
            bail!("run blocked: {}", run.blocked_reason.unwrap_or_default());
        }
        if started.elapsed() > limit {
            bail!("run did not close within a minute of its cutoff");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn print_step(s: &passage_core::Step, started: Instant) {
    let detail = match (&s.result, &s.last_error) {
        (Some(r), _) if s.state == StepState::Verified => format!("  {}", r.summary),
        (_, Some(e)) => format!("  {}: {}", e.code, e.message),
        _ => String::new(),
    };
    println!(
        "  [{:>6.2}s] {:<20} {}{}",
        started.elapsed().as_secs_f64(),
        s.key,
        s.state.as_str(),
        detail
    );
}

/// The leaver as each sandbox provider holds them after the run.
fn print_providers(sb: &Sandbox, leaver: &str) -> Result<()> {
    let after = sb.okta.user(leaver).context("leaver missing")?;
    let groups_after = sb.okta.user_groups(leaver);
    println!("\nIn the sandbox providers now:");
    println!(
        "  Okta: {leaver} {:?}, {} groups ({}), {} sessions, {} grants",
        after.status,
        groups_after.len(),
        groups_after
            .iter()
            .map(|g| g.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        sb.okta.sessions(leaver).unwrap_or(0),
        sb.okta.grants(leaver).unwrap_or(0)
    );
    let Some(o) = &sb.others else {
        return Ok(());
    };
    let ms = o
        .microsoft
        .user(leaver)
        .context("leaver missing in Microsoft")?;
    println!(
        "  Microsoft: sign-in {}, mailbox {:?}",
        if ms.account_enabled {
            "ENABLED"
        } else {
            "blocked"
        },
        o.microsoft.mailbox(leaver).map(|m| m.purpose)
    );
    let g = o.google.user(leaver).context("leaver missing in Google")?;
    println!(
        "  Google: {}, {} data transfer(s) to the manager",
        if g.suspended { "suspended" } else { "ACTIVE" },
        o.google.transfers().len()
    );
    let jc = o
        .jumpcloud
        .user(leaver)
        .context("leaver missing in JumpCloud")?;
    println!(
        "  JumpCloud: {}, {} device command(s) issued",
        if jc.suspended { "suspended" } else { "ACTIVE" },
        o.jumpcloud.commands().len()
    );
    Ok(())
}

/// The bundle's identity and how to check it with stock tools.
fn print_bundle(verified: &passage_core::evidence::VerifiedBundle, dest: &Path) {
    println!(
        "\nSigned evidence bundle #{}: {}",
        verified.sequence,
        dest.display()
    );
    println!("  manifest sha256  {}", verified.manifest_sha256);
    println!("  signing key      sha256:{}", verified.key_fingerprint);
    println!(
        "  verified         signature, manifest and {} files OK",
        verified.files_checked
    );
    println!("\nCheck it yourself:");
    println!("  passage verify {}", dest.display());
    println!(
        "  cd {} && openssl dgst -sha256 -verify signing-key.pem -signature statement.sig statement.txt",
        dest.display()
    );
    println!("  (VERIFY.md in the bundle lists every check with openssl, sha256sum and jq)");
}

/// The signed report of the day the demo leaver left, beside the bundle.
async fn write_period_report(sb: &Sandbox, out: &Path, run: &passage_core::Run) -> Result<()> {
    let day = passage_core::report::termination_date_of(run);
    let period = passage_core::report::Period::new(day, day)?;
    let chromium = passage_report::pdf::Chromium::find();
    let signed = passage_report::signed_period_report(
        &sb.system.engine,
        &run.tenant,
        period,
        chromium.as_ref(),
    )
    .await?;
    let dir = out.join(format!("report-{}", period.id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    crate::commands::report::write_dir(&dir, &signed.files)?;
    println!("\nThe period report for {period} (signed; `passage verify` checks it too):");
    println!("  {}", dir.join("report.html").display());
    match chromium {
        Some(_) => println!("  {}", dir.join("report.pdf").display()),
        None => println!("  (no PDF: install Debian's `chromium` package to print one)"),
    }
    Ok(())
}

/// The SaaS apps as they are now, and each seat's outcome as the bundle's run summary lists it.
fn print_saas(
    apps: &crate::harness::SaasApps,
    leaver: &str,
    bundle: &std::path::Path,
) -> Result<()> {
    use passage_sandbox::github::DEMO_LOGIN;
    let member = apps
        .slack
        .member(leaver)
        .context("leaver missing in Slack")?;
    println!(
        "  Slack: {}, {} session(s), {} billed seat(s) in the organisation",
        if member.deleted {
            "deactivated"
        } else {
            "ACTIVE"
        },
        member.sessions,
        apps.slack.billed_seats()
    );
    println!(
        "  GitHub: membership {}, {} credential authorization(s), Copilot {}",
        apps.github.membership(DEMO_LOGIN).unwrap_or("none"),
        apps.github.credentials(DEMO_LOGIN),
        apps.github
            .copilot_seat(DEMO_LOGIN)
            .and_then(|s| s.pending_cancellation)
            .map_or("unchanged".into(), |d| format!("released on {d}"))
    );
    println!(
        "  SCIM app: {}, {} seat(s) held",
        match apps.scim.user(leaver) {
            None => "account removed".to_owned(),
            Some(u) => format!("account {}", if u.active { "ACTIVE" } else { "inactive" }),
        },
        apps.scim.seats_held()
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.json"))?)?;
    println!("\nSeats in the bundle (manifest.json `seats`):");
    for seat in manifest["seats"].as_array().into_iter().flatten() {
        println!(
            "  {:<8} {:<26} seat freed: {:<34} restorable: {}",
            seat["app"].as_str().unwrap_or("?"),
            seat["outcome"].as_str().unwrap_or("?"),
            seat["seat_freed"].as_str().unwrap_or("?"),
            seat["restorable"].as_str().unwrap_or("?")
        );
    }
    Ok(())
}

/// Plays IT receiving the leaver's devices, and each app owner removing the leaver's account
/// by hand: confirms each outstanding item of an awaiting step, as an operator (or the owner,
/// from the reminder's link) would.
async fn confirm_returns(sb: &Sandbox, run_id: &RunId, started: Instant) -> Result<()> {
    for s in sb.system.store.steps(run_id).await? {
        let (StepState::Awaiting, Some(task)) = (s.state, &s.human) else {
            continue;
        };
        if s.action == passage_core::Action::ConfirmAppRemoval {
            attest_removals(sb, run_id, &s, started).await?;
            continue;
        }
        for item in task.outstanding() {
            let mdm = item
                .device
                .as_ref()
                .map(|d| format!(" [{}: {}]", d.source, d.mdm_state))
                .unwrap_or_default();
            sb.system
                .engine
                .confirm(
                    run_id,
                    &s.key,
                    &passage_core::engine::ConfirmRequest {
                        item: item.id.clone(),
                        outcome: passage_core::ItemOutcome::Received,
                        actor: "operator:demo-it".into(),
                        condition: Some("good".into()),
                        note: Some("received at the IT desk".into()),
                    },
                )
                .await?;
            println!(
                "  [{:>6.2}s] {:<20} {} received by demo-it{mdm}",
                started.elapsed().as_secs_f64(),
                s.key,
                item.label
            );
        }
    }
    Ok(())
}

/// The bundle's account of the leaver's access (manifest.json `access`): each grade's count,
/// and every item that stays with who accepted it.
fn print_access(bundle: &std::path::Path) -> Result<()> {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.json"))?)?;
    let access = &manifest["access"];
    let counts = &access["counts"];
    println!(
        "\nAccess in the bundle (access.json): {} removed, {} absent, {} remain, {} pending, {} attested",
        counts["removed"],
        counts["absent"],
        counts["remains"],
        counts["pending"],
        counts["attested"]
    );
    let exceptions: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("exceptions.json"))?)?;
    for e in exceptions.as_array().into_iter().flatten() {
        println!(
            "  {:<8} {} ({}): exception accepted by {}: {}",
            e["grade"].as_str().unwrap_or("?"),
            e["name"].as_str().unwrap_or("?"),
            e["provider"].as_str().unwrap_or("?"),
            e["accepted_by"].as_str().unwrap_or("?"),
            e["reason"].as_str().unwrap_or("?")
        );
    }
    Ok(())
}

/// The demo's IT lead accepts, by name, what no step could remove and the device commands
/// still waiting for a device; each is printed as the bundle's `exceptions.json` records it.
async fn accept_exceptions(sb: &Sandbox, run: &passage_core::Run, started: Instant) -> Result<()> {
    for item in crate::harness::accept_what_stays(&sb.system.engine, run).await? {
        println!(
            "  [{:>6.2}s] exception        {} ({}, {}) accepted by {}",
            started.elapsed().as_secs_f64(),
            item.name,
            item.key,
            item.grade.as_str(),
            crate::harness::IT_LEAD
        );
    }
    Ok(())
}

/// The app's owner attests the account is removed, as from the reminder's signed link.
async fn attest_removals(
    sb: &Sandbox,
    run_id: &RunId,
    step: &passage_core::Step,
    started: Instant,
) -> Result<()> {
    let Some(task) = &step.human else {
        return Ok(());
    };
    for item in task.outstanding() {
        let actor = format!("owner:{}", crate::harness::saas_owner());
        sb.system
            .engine
            .confirm(
                run_id,
                &step.key,
                &passage_core::engine::ConfirmRequest {
                    item: item.id.clone(),
                    outcome: passage_core::ItemOutcome::Attested,
                    actor: actor.clone(),
                    condition: None,
                    note: Some("account removed in the admin console".into()),
                },
            )
            .await?;
        println!(
            "  [{:>6.2}s] {:<20} attested by {actor}: {}",
            started.elapsed().as_secs_f64(),
            step.key,
            item.label
        );
    }
    Ok(())
}

fn copy_dir(src: &std::path::Path, dest: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(dest)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let to = dest.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &to)?;
        } else {
            std::fs::copy(entry.path(), &to)?;
        }
    }
    Ok(())
}
