//! Pacing, end to end: the embedded host's workers share one budget for the sandbox Okta,
//! whose org the emulator limits to a fixed number of calls a minute. A handful of leavers make
//! more calls than one minute allows, so the work outlasts the first window; the run must meet
//! no 429 at all and still keep every full window at least 90 % used.
//!
//! The emulator counts calls per fixed one-minute window, so this test takes a little over a
//! minute. Its assertions are counts, not times: a slow machine sends later, which the pacer's
//! burst makes up for, but it never sends more than the budget allows.

use passage::harness::{Cutoff, Sandbox, SandboxOptions, leaver_event};
use passage_core::pace::Rate;
use passage_core::ports::RunStore;
use passage_core::{RunId, StepState};
use passage_sandbox::okta::SeedUser;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// The org's limit: calls a minute.
const LIMIT: u32 = 60;
/// Leavers: each makes about fifteen calls, together a little more than one window holds.
const LEAVERS: usize = 5;

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn workers_sharing_an_org_meet_no_429_and_use_each_window() {
    let scratch = Scratch(
        std::env::temp_dir().join(format!("passage-pacing-{}", uuid::Uuid::new_v4().simple())),
    );
    let mut options = SandboxOptions::new(&scratch.0);
    // One budget for the org, sized from its limit as `[tenants.okta.pace] all` would be.
    options.okta_pace = Some(Rate::per_minute(LIMIT));
    let sb = Sandbox::start(options).await.expect("sandbox starts");
    sb.okta.knobs().set_rate_limit_per_minute(LIMIT);
    let logins = seed(&sb);
    sb.okta.reset_rate_limit();
    sb.okta.counters().reset();

    let mut runs = Vec::new();
    for (i, login) in logins.iter().enumerate() {
        runs.push(post(&sb, i, login).await);
    }
    for run in &runs {
        sb.wait_closed(run, Duration::from_secs(600))
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        for step in sb.system.store.steps(run).await.unwrap() {
            assert_eq!(step.state, StepState::Verified, "{}", step.key);
        }
    }

    let windows = sb.okta.rate_windows();
    let throttled = sb.okta.counters().rate_limited();
    assert_eq!(throttled, 0, "calls answered 429 (windows {windows:?})");
    assert!(
        windows.len() >= 2,
        "the work must outlast one window to show its use: {windows:?}"
    );
    // Every window but the last had work waiting the whole minute.
    for (i, used) in windows[..windows.len() - 1].iter().enumerate() {
        assert!(
            f64::from(*used) >= 0.9 * f64::from(LIMIT),
            "window {i} held {used} of {LIMIT} calls (windows {windows:?})"
        );
    }
    sb.shutdown().await;
}

fn seed(sb: &Sandbox) -> Vec<String> {
    (0..LEAVERS)
        .map(|i| {
            let login = format!("paced{i}@example.com");
            sb.okta.seed_user(SeedUser {
                groups: vec!["Engineering".into(), "VPN Users".into()],
                sessions: 1,
                grants: 1,
                ..SeedUser::new(&login, "Paced", &format!("User{i}"))
            });
            login
        })
        .collect()
}

async fn post(sb: &Sandbox, i: usize, login: &str) -> RunId {
    let body = leaver_event(login, &format!("P{i}"), Cutoff::Immediate);
    let resp = sb.post(&format!("msg_paced_{i}"), &body).await.unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    let json: Value = resp.json().await.unwrap();
    RunId::new(json["run_id"].as_str().unwrap())
}
