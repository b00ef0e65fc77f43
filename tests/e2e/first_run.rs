//! A new administrator's first hour, as the commands are written in the README: `passage init`
//! writes a config, `passage sandbox` stands in for the providers, `passage config check`
//! finds nothing, `passage plan` shows what a run would do to the first leaver, `passage serve` starts on the first try and a leaver closes; `runs list`
//! works from another folder with no secret in its environment.

use crate::common::process::{free_base_port, passage, spawn};
use passage::harness::{Cutoff, TENANT, leaver_event};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

/// Accepts, with `passage except`, each critical access item `passage runs show` lists as
/// remaining or pending once every step is done.
fn accept_held(config: &str, run_id: &str, cwd: &Path) {
    let shown = passage(&["--config", config, "runs", "show", run_id, "--json"], cwd);
    let Ok(shown) = serde_json::from_slice::<serde_json::Value>(&shown.stdout) else {
        return;
    };
    let steps_done = shown["steps"]
        .as_array()
        .is_some_and(|s| s.iter().all(|s| s["state"] == "verified"));
    if !steps_done {
        return;
    }
    let accepted = |key: &serde_json::Value| {
        shown["exceptions"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| &e["item"] == key))
    };
    for item in shown["access"].as_array().into_iter().flatten() {
        let holds = item["grade"] == "remains" || item["grade"] == "pending";
        if holds && item["critical"] == true && !accepted(&item["key"]) {
            let key = item["key"].as_str().unwrap();
            let out = passage(
                &[
                    "--config",
                    config,
                    "except",
                    run_id,
                    key,
                    "--reason",
                    "AD-sourced: the directory team removes it",
                    "--actor",
                    "it-lead",
                ],
                cwd,
            );
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_then_serve_works_on_the_first_try_against_the_sandbox() {
    let dir = std::env::temp_dir().join(format!("passage-first-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("passage.toml");
    let config_arg = config.to_str().unwrap();
    let base = free_base_port().to_string();

    let init = passage(
        &[
            "--config",
            config_arg,
            "init",
            "--providers",
            "okta",
            "--sandbox",
            "--tenant",
            TENANT,
            "--sandbox-port",
            &base,
            "--listen",
            "127.0.0.1:0",
        ],
        &dir,
    );
    assert!(
        init.status.success(),
        "init failed: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let again = passage(
        &["--config", config_arg, "init", "--providers", "okta"],
        &dir,
    );
    assert!(
        !again.status.success(),
        "init must not overwrite a config without --force"
    );

    // Before the sandbox has written its credentials, the check names the missing file.
    let check = passage(&["--config", config_arg, "config", "check"], &dir);
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(
        !check.status.success() && said.contains("tenants[demo].okta.api_token"),
        "{said}"
    );

    let secrets = dir.join("secrets/sandbox");
    let (mut sandbox, _, _) = spawn(
        &[
            "sandbox",
            "--providers",
            "okta",
            "--port",
            &base,
            "--secrets-dir",
            secrets.to_str().unwrap(),
        ],
        &dir,
        "# Emulators running",
        "warn",
    );
    let check = passage(&["--config", config_arg, "config", "check"], &dir);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    // Before the first leaver: what a run would do to Jane, read live, nothing changed.
    let plan = passage(
        &[
            "--config",
            config_arg,
            "plan",
            "--tenant",
            TENANT,
            "--email",
            "jane.doe@example.com",
        ],
        &dir,
    );
    let said = String::from_utf8_lossy(&plan.stdout);
    assert!(
        plan.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    for expected in [
        "Nothing was changed",
        "remove groups Engineering, VPN Users, GitHub Admins",
        "AD Engineering: membership is managed by the source directory",
        "revoke 2 consent grants",
        "suspend (now ACTIVE)",
    ] {
        assert!(said.contains(expected), "{expected:?} is not in:\n{said}");
    }

    let (mut server, line, _) = spawn(
        &["--config", config_arg, "serve"],
        &dir,
        "listening on ",
        "warn",
    );
    let url = line.trim_start_matches("listening on ").to_owned();

    let whsec =
        std::fs::read_to_string(dir.join(format!("secrets/{TENANT}-webhook-secret"))).unwrap();
    let secret = passage_hris::WebhookSecret::parse(whsec.trim()).unwrap();
    let hr = Hr {
        url: url.clone(),
        secret,
    };
    let run_id = hr
        .terminate("jane.doe@example.com", "E-FIRST", Cutoff::Immediate)
        .await;

    // From another folder, with no secret in the environment: the same database.
    let elsewhere = std::env::temp_dir();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = passage(
            &["--config", config_arg, "runs", "list", "--state", "closed"],
            &elsewhere,
        );
        assert!(
            list.status.success(),
            "{}",
            String::from_utf8_lossy(&list.stderr)
        );
        if String::from_utf8_lossy(&list.stdout).contains("jane.doe@example.com") {
            break;
        }
        // The sandbox leaver's AD-sourced group stays: IT accepts it from the command line.
        accept_held(config_arg, &run_id, &elsewhere);
        assert!(
            Instant::now() < deadline,
            "the first leaver did not close within a minute"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(
        !elsewhere.join("passage-data").exists(),
        "a relative data_dir followed the working folder"
    );
    a_way_out_and_the_guard_as_the_readme_writes_them(config_arg, &hr, &dir).await;
    let _ = server.kill();
    let _ = sandbox.kill();
    let _ = server.wait();
    let _ = sandbox.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The HR system of the first hour: signed leaver webhooks to the served tenant.
struct Hr {
    url: String,
    secret: passage_hris::WebhookSecret,
}

impl Hr {
    async fn terminate(&self, email: &str, employee: &str, cutoff: Cutoff) -> String {
        let body = leaver_event(email, employee, cutoff);
        let mut req = reqwest::Client::new()
            .post(format!("{}/v1/tenants/{TENANT}/webhooks/leaver", self.url))
            .header("content-type", "application/json")
            .body(body.clone());
        let id = format!("msg_{employee}");
        let now = jiff::Timestamp::now().as_second();
        for (k, v) in passage_hris::signed_headers(&self.secret, &id, now, &body) {
            req = req.header(k, v);
        }
        let answer = req.send().await.unwrap();
        assert_eq!(answer.status().as_u16(), 202);
        let accepted: serde_json::Value = answer.json().await.unwrap();
        accepted["run_id"].as_str().unwrap().to_owned()
    }
}

/// `passage runs show RUN --json`, parsed.
fn shown(config: &str, run_id: &str, cwd: &Path) -> serde_json::Value {
    let out = passage(&["--config", config, "runs", "show", run_id, "--json"], cwd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Waits until the run's state is `state`.
async fn wait_state(config: &str, run_id: &str, cwd: &Path, state: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let run = shown(config, run_id, cwd);
        if run["run"]["state"] == state {
            return run;
        }
        assert!(
            Instant::now() < deadline,
            "run {run_id} never became {state}: {run}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn ok(out: &Output) -> String {
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    said
}

/// The README's way out of a block and its go-live guard, typed as the README writes them
/// against the config `passage init` wrote: a contractor Okta never knew blocks at the
/// snapshot until `passage not-applicable` proves the absence; the sixth termination within
/// the hour is held until `passage approve --tenant T --all`.
async fn a_way_out_and_the_guard_as_the_readme_writes_them(config: &str, hr: &Hr, dir: &Path) {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(readme.contains(
        "passage not-applicable RUN_ID okta.snapshot --reason \"contractor, never had Okta\""
    ));
    assert!(readme.contains("passage approve --tenant T --all"));

    let contractor = hr
        .terminate("contractor@example.com", "E-CONTRACT", Cutoff::Immediate)
        .await;
    wait_state(config, &contractor, dir, "blocked").await;
    ok(&passage(
        &[
            "--config",
            config,
            "not-applicable",
            &contractor,
            "okta.snapshot",
            "--reason",
            "contractor, never had Okta",
        ],
        dir,
    ));
    let closed = wait_state(config, &contractor, dir, "closed").await;
    let snapshot = closed["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "okta.snapshot")
        .unwrap();
    assert_eq!(snapshot["state"], "not_applicable", "{snapshot}");

    // Jane and the contractor were two; four more in the hour pass the guard's five.
    let day = jiff::Zoned::now().date() + jiff::Span::new().days(30);
    let mut runs = Vec::new();
    for i in 0..4 {
        let email = format!("planned{i}@example.com");
        runs.push(
            hr.terminate(&email, &format!("E-PLAN{i}"), Cutoff::LastDay(day))
                .await,
        );
    }
    let held = shown(config, &runs[3], dir);
    assert!(!held["run"]["hold"].is_null(), "the sixth is held: {held}");
    assert!(shown(config, &runs[2], dir)["run"]["hold"].is_null());
    let said = ok(&passage(
        &["--config", config, "approve", "--tenant", TENANT, "--all"],
        dir,
    ));
    assert!(said.contains(&format!("{} approved by", runs[3])), "{said}");
    assert!(shown(config, &runs[3], dir)["run"]["hold"].is_null());
}
