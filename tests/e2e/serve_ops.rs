//! Running `passage serve` under a supervisor: `--log-format json` writes one JSON object a
//! line with an event per run and step transition; `/healthz` answers 503 when the database
//! cannot be read; SIGTERM stops taking work, finishes the steps in hand and exits 0, leaving
//! no claim for the next start to wait out.

use crate::common::process::{free_base_port, passage, spawn, terminate};
use passage::harness::{Cutoff, TENANT, leaver_event};
use std::path::Path;
use std::time::{Duration, Instant};

async fn post_leaver(dir: &Path, url: &str, email: &str, id: &str) -> String {
    let whsec =
        std::fs::read_to_string(dir.join(format!("secrets/{TENANT}-webhook-secret"))).unwrap();
    let secret = passage_hris::WebhookSecret::parse(whsec.trim()).unwrap();
    let body = leaver_event(email, "E-OPS", Cutoff::Immediate);
    let mut req = reqwest::Client::new()
        .post(format!("{url}/v1/tenants/{TENANT}/webhooks/leaver"))
        .header("content-type", "application/json")
        .body(body.clone());
    for (k, v) in
        passage_hris::signed_headers(&secret, id, jiff::Timestamp::now().as_second(), &body)
    {
        req = req.header(k, v);
    }
    let answer = req.send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 202);
    let v: serde_json::Value = answer.json().await.unwrap();
    v["run_id"].as_str().unwrap().to_owned()
}

fn run_json(config: &str, run_id: &str, dir: &Path) -> serde_json::Value {
    let shown = passage(&["--config", config, "runs", "show", run_id, "--json"], dir);
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    serde_json::from_slice(&shown.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_logs_json_reports_health_and_stops_cleanly_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("passage-ops-{}", uuid::Uuid::new_v4().simple()));
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
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let secrets = dir.join("secrets/sandbox");
    // Slow answers, so steps are in hand when the stop comes.
    let (mut sandbox, _, _) = spawn(
        &[
            "sandbox",
            "--providers",
            "okta",
            "--port",
            &base,
            "--latency-ms",
            "400",
            "--secrets-dir",
            secrets.to_str().unwrap(),
        ],
        &dir,
        "# Emulators running",
        "warn",
    );
    let (mut server, line, logs) = spawn(
        &["--config", config_arg, "serve", "--log-format", "json"],
        &dir,
        "listening on ",
        "info",
    );
    let url = line.trim_start_matches("listening on ").to_owned();
    let http = reqwest::Client::new();

    // Health follows the store: a database file that cannot be opened answers 503.
    let health = http.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let db = dir.join("passage-data/passage.db");
    let aside = dir.join("passage-data/passage.db.aside");
    std::fs::rename(&db, &aside).unwrap();
    let health = http.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 503);
    let said = health.text().await.unwrap();
    assert!(said.contains("store cannot be read"), "{said}");
    std::fs::rename(&aside, &db).unwrap();
    let health = http.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);

    let run_id = post_leaver(&dir, &url, "jane.doe@example.com", "msg_ops").await;
    // Wait until a step is in hand, then ask the server to stop.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let shown = run_json(config_arg, &run_id, &dir);
        let attempts = shown["attempts"].as_array().map_or(0, Vec::len);
        if attempts > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "no step started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stopped_at = Instant::now();
    terminate(&server);
    let status = server.wait().unwrap();
    assert!(status.success(), "serve exited with {status:?}");
    assert!(stopped_at.elapsed() < Duration::from_secs(25));

    // Nothing is left claimed: no step in flight, no lease held.
    let shown = run_json(config_arg, &run_id, &dir);
    for step in shown["steps"].as_array().unwrap() {
        assert_ne!(step["state"], "in_flight", "{step}");
        assert!(step.get("lease").is_none(), "{step}");
    }

    // Every stderr line is a JSON object; run and step transitions are events of their own.
    let lines = logs.lock().unwrap().clone();
    let parsed: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    let kinds: Vec<&str> = parsed
        .iter()
        .filter(|v| v["target"] == "passage::events" && v["run"] == run_id.as_str())
        .filter_map(|v| v["kind"].as_str())
        .collect();
    for expected in ["run.created", "run.started", "step.ready"] {
        assert!(kinds.contains(&expected), "{expected} not in {kinds:?}");
    }

    // The next start takes the run over at once and closes it (no lease to wait out).
    let (mut server, line, _) = spawn(
        &["--config", config_arg, "serve"],
        &dir,
        "listening on ",
        "warn",
    );
    let _ = line;
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let shown = run_json(config_arg, &run_id, &dir);
        let done = shown["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["state"] == "verified");
        if done {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the run did not resume: {}",
            shown["steps"]
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let _ = server.kill();
    let _ = sandbox.kill();
    let _ = server.wait();
    let _ = sandbox.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
