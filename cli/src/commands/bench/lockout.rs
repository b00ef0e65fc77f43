//! Time to lockout: from the cutoff until a provider refuses a new sign-in (its suspension or
//! sign-in block verified by reading it back), per provider, and until all four refuse it and
//! their sessions are revoked (read back).

use super::stats::summary;
use crate::harness::chaos::seed::{self, Providers};
use crate::harness::{Cutoff, Sandbox, SandboxOptions, leaver_event};
use anyhow::{Context, Result};
use passage_core::ports::RunStore;
use passage_core::{Action, Provider, Step};
use std::path::Path;
use std::time::Duration;

const PROVIDERS: [Provider; 4] = [
    Provider::Okta,
    Provider::Microsoft,
    Provider::Google,
    Provider::Jumpcloud,
];

/// `leavers` leavers one at a time through one four-provider sandbox, `latency` on every call.
pub async fn measure(root: &Path, leavers: usize, latency: Duration) -> Result<()> {
    let mut o = SandboxOptions::new(root.join("lockout"));
    o.all_providers = true;
    o.okta_latency = latency;
    let sb = Sandbox::start(o).await?;
    let others = sb.others.as_ref().context("all providers run")?;
    others.microsoft.knobs().set_latency(latency);
    others.google.knobs().set_latency(latency);
    others.jumpcloud.knobs().set_latency(latency);
    let providers = Providers {
        okta: &sb.okta,
        microsoft: &others.microsoft,
        google: &others.google,
        jumpcloud: &others.jumpcloud,
    };
    let mut blocked: Vec<Vec<Duration>> = vec![Vec::new(); PROVIDERS.len()];
    let mut everywhere = Vec::new();
    for i in 0..leavers {
        seed::leaver(&providers, i);
        let body = leaver_event(&seed::login(i), &format!("K{i}"), Cutoff::Immediate);
        let run_id = super::post(&sb, &format!("msg_lockout_{i}"), &body).await?;
        let run = sb.wait_closed(&run_id, Duration::from_secs(120)).await?;
        let steps = sb.system.store.steps(&run_id).await?;
        let since = |s: &Step| {
            s.verified_at
                .map(|t| Duration::try_from(t.duration_since(run.cutoff.at)).unwrap_or_default())
        };
        let mut last = Duration::ZERO;
        for (n, provider) in PROVIDERS.iter().enumerate() {
            for step in steps.iter().filter(|s| s.provider == *provider) {
                let Some(at) = since(step) else { continue };
                if step.action == Action::Suspend {
                    blocked[n].push(at);
                }
                if matches!(step.action, Action::Suspend | Action::RevokeSessions) {
                    last = last.max(at);
                }
            }
        }
        everywhere.push(last);
    }
    let ms = latency.as_millis();
    for (n, provider) in PROVIDERS.iter().enumerate() {
        println!(
            "time to lockout, {provider:?} sign-in blocked (1 leaver at a time, 4 providers, {ms} ms per call): {}",
            summary(std::mem::take(&mut blocked[n]))
        );
    }
    println!(
        "time to lockout, all four blocked and sessions revoked ({ms} ms per call): {}",
        summary(everywhere)
    );
    sb.shutdown().await;
    Ok(())
}
